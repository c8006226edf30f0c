"""The experiment half of the suite: Hydra entry point, runner, tasks, plots."""
