"""Wiegreffe & Pinter's model-consistent adversary (2019, §4): a new model of Jain & Wallace's
architecture, trained on their reviews to give a base run's predictions while its attention moves
away from the base's: loss TVD(ŷ, ŷ_base) − λ·KL(α ‖ α_base), λ = `divergence_weight`.

Its targets are the base's outputs, not the labels: the training data's `y` is ŷ_base, and its
second input is α_base (the base run named by `base_run`, read on the same reviews). For two
classes the total variation distance is |ŷ − ŷ_base|, Keras' mean absolute error. Its test results
add its own F1 against the true labels, and how far it went from the base on the test reviews.
"""

import math

import keras
import numpy as np

from attention.audit import js_divergence
from experiments.run.classification import positive_class_scores
from experiments.tasks.base_run import base_model, predictions_and_attention, with_base_attention
from experiments.tasks.divergence import AwayFromBase
from experiments.tasks.imdb_jain_wallace import ImdbJainWallace


class ImdbAdversary(ImdbJainWallace):
    """The imdb_adversary task: Jain & Wallace's data and model, trained against a base run."""

    def make_data(self, cfg, rng):
        base = base_model(cfg.base_run, "task.base_run", cfg.data, tasks=("imdb_jain_wallace",))
        return with_base_attention(super().make_data(cfg, rng), base, cfg.probe_samples, targets="predictions")

    def build_model(self, cfg, attention, data):
        reviews = keras.Input((None,), dtype="int32", name="reviews")
        base = keras.Input((None,), name="base_attention")
        embedding, x = self.embedded(cfg, data, reviews)
        states = self.encoder(cfg)(x)
        attended = self.attended(cfg, reviews)
        mask = {} if attended is None else {"mask": attended}
        context, weights = attention(states, return_attention_scores=True, **mask)
        context = AwayFromBase(cfg.divergence_weight, name="away_from_base")([context, weights, base])
        model = keras.Model([reviews, base], self.decision(cfg)(context), name="imdb_adversary")
        self.start_from_vectors(cfg, data, embedding)
        return model

    def evaluate(self, cfg, model, data):
        """Its own scores against the true labels, and its distance from the base on the test
        reviews: the TVD of the predictions and the JSD (nats) of the attention, per review."""
        (x, base_weights), base_predictions = data.test
        ((predictions, weights),) = predictions_and_attention(model, x)
        divergence = js_divergence(weights, base_weights, base=math.e)
        return {
            **positive_class_scores(data.extras["labels"]["test"], predictions),
            "accuracy_on_labels": float(((predictions[:, 0] >= 0.5) == data.extras["labels"]["test"]).mean()),
            "agreement_with_base": float(((predictions >= 0.5) == (base_predictions >= 0.5)).mean()),
            "tvd_from_base": float(np.abs(predictions - base_predictions).mean()),
            "jsd_from_base": float(divergence.mean()),
            "jsd_from_base_median": float(np.median(divergence)),
        }
