"""Tools that load a trained run's model: its audit, explanations of new inputs, translations, neighbours."""
