"""Wiegreffe & Pinter's diagnostic (2019, §3.3): a bag-of-words MLP on Jain & Wallace's reviews that
averages its tokens with weights from elsewhere. Does an LSTM's attention help a model that has no
context of its own more than uniform weights do? Then the weights carry what the task needs.

The model: their embedding, one tanh layer per token (`model.mlp_units`, Jain & Wallace's
`EncoderAverage`), a weighted average over the tokens, and one sigmoid unit. The weights by variant:
`uniform` (1/n over the words), `tanh` (learned by the MLP itself), `frozen_lstm` and
`frozen_adversary` (a trained run's attention on each review, given as a second input and never
trained: `frozen_runs.lstm`, a run of imdb_jain_wallace; `frozen_runs.adversary`, one of
imdb_adversary).
"""

from typing import Any

import keras

from attention import AttentionPooling
from attention.layer import weighted_sum
from experiments.tasks.base_run import base_model, with_base_attention
from experiments.tasks.imdb_jain_wallace import ImdbJainWallace, l2_penalty

SOURCE_TASKS = {"lstm": "imdb_jain_wallace", "adversary": "imdb_adversary"}


@keras.saving.register_keras_serializable(package="experiments")
class FrozenAttention(keras.layers.Layer):
    """A weighted average with weights given from outside, not learned: Σ_s α[b, s] · h[b, s, :].

    Call inputs: [states (batch, steps, dim), α (batch, steps)] → (batch, dim); with
    `return_attention_scores=True`, (output, α), as the attention layers give their weights.
    """

    def call(self, inputs: list, mask: Any = None, return_attention_scores: bool = False) -> Any:
        states, weights = inputs
        outputs = weighted_sum(weights, states)
        return (outputs, weights) if return_attention_scores else outputs

    def compute_mask(self, inputs: list, mask: Any = None) -> None:
        return None  # the time axis is summed away


def diagnostic_attention(units, score, source=None, **kwargs):
    """The diagnostic's weighted average: frozen from the run of `source`, or Jain & Wallace's
    pooling with `score` ('tanh': learned; 'uniform')."""
    if source is not None:
        return FrozenAttention(**kwargs)
    return AttentionPooling(units=units, score=score, **kwargs)


class ImdbDiagnostic(ImdbJainWallace):
    """The imdb_diagnostic task: Jain & Wallace's data, a bag-of-words MLP, weights by variant."""

    def make_data(self, cfg, rng):
        reviews = super().make_data(cfg, rng)
        source = cfg.attention_layer.source
        if source is None:
            return reviews
        run = cfg.frozen_runs.get(source)
        base = base_model(run, f"task.frozen_runs.{source}", cfg.data, tasks=(SOURCE_TASKS[source],))
        return with_base_attention(reviews, base, cfg.probe_samples, targets="labels")

    def build_model(self, cfg, attention, data):
        reviews = keras.Input((None,), dtype="int32", name="reviews")
        embedding, x = self.embedded(cfg, data, reviews)
        decay = l2_penalty(cfg)
        states = keras.layers.Dense(
            cfg.model.mlp_units, activation="tanh", kernel_regularizer=decay, bias_regularizer=decay, name="mlp"
        )(x)
        if isinstance(attention, FrozenAttention):
            frozen = keras.Input((None,), name="frozen_attention")
            inputs, context = [reviews, frozen], attention([states, frozen])
        else:
            attended = self.attended(cfg, reviews)
            inputs, context = reviews, attention(states) if attended is None else attention(states, mask=attended)
        model = keras.Model(inputs, self.decision(cfg)(context), name="imdb_diagnostic")
        self.start_from_vectors(cfg, data, embedding)
        return model
