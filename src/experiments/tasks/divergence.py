"""The attention term of Wiegreffe & Pinter's model-consistent adversary, as a layer that adds it to
the loss (so the model saves, reloads and trains with Keras' own `fit`)."""

from typing import Any

import keras
from keras import ops

TINY = 1e-30  # log(0) guard: a weight of exactly 0 (masked) adds 0, as PyTorch's KLDivLoss counts it


@keras.saving.register_keras_serializable(package="experiments")
class AwayFromBase(keras.layers.Layer):
    """Adds −λ · KL(α ‖ α_base) to the loss, the mean over the batch of each review's divergence of
    the model's attention α from a base model's α_base (Wiegreffe & Pinter 2019, §4: their code's
    `KLDivLoss(α_base.log(), α)`), and passes the context through unchanged.

    Args:
        weight: λ ≥ 0, how much the attention's distance from the base's is worth against the
            loss of prediction.

    Call inputs: [context (batch, dim), α (batch, steps), α_base (batch, steps)] → context.
    """

    def __init__(self, weight: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.weight = float(weight)

    def call(self, inputs: list) -> Any:
        context, weights, base = inputs
        self.add_loss(-self.weight * ops.mean(kl_divergence(weights, base)))
        return context

    def compute_output_shape(self, input_shape: list) -> Any:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "weight": self.weight}


def kl_divergence(p: Any, q: Any) -> Any:
    """KL(p ‖ q) in nats along the last axis; steps where p is 0 add 0."""
    terms = p * (ops.log(ops.maximum(p, TINY)) - ops.log(ops.maximum(q, TINY)))
    return ops.sum(ops.where(p > 0, terms, ops.zeros_like(terms)), axis=-1)
