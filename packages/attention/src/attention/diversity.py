"""The fix of Mohankumar et al. 2020 ("Towards Transparent and Explainable Attention Models", ACL):
a recurrent layer's states pushed apart by a penalty on their conicity, so that the attention over
them has to choose (their Diversity LSTM)."""

from typing import Any

import keras
from keras import ops

from attention._types import Tensor


def conicity(states: Tensor, mask: Tensor | None = None) -> Tensor:
    """Per sample, the mean absolute cosine similarity of the states (batch, steps, dim) with their
    mean, over the unmasked steps: (batch,). Near 1, the states all point alike (or against each
    other); near 0, each is orthogonal to their mean. Absolute, as Mohankumar et al.'s code has it
    (`_conicity`): a state pointing against the mean is no more diverse than one along it."""
    weight = ops.ones(ops.shape(states)[:2], dtype=states.dtype) if mask is None else ops.cast(mask, states.dtype)
    count = ops.maximum(ops.sum(weight, axis=1), 1.0)  # (batch,)
    mean = ops.sum(states * weight[..., None], axis=1) / count[:, None]  # (batch, dim)
    cosine = ops.abs(ops.sum(states * mean[:, None, :], axis=-1)) / (
        ops.norm(states, axis=-1) * ops.norm(mean, axis=-1)[:, None] + 1e-10
    )
    return ops.sum(cosine * weight, axis=1) / count


@keras.saving.register_keras_serializable(package="attention")
class Diversity(keras.layers.Layer):
    """Passes the states on unchanged (with their mask) and adds `weight` × their conicity, the
    mean over the batch, to the model's loss: put it after the recurrent layer whose states the
    attention reads, as Mohankumar et al.'s Diversity LSTM does (their weight for binary
    classification: 0.5). The conicity is over the steps of the mask it is called with (theirs: the
    words, without the marks around them), else over those of the states' own mask.

        states = Diversity(0.5)(keras.layers.Bidirectional(keras.layers.LSTM(128, return_sequences=True))(x))

    Input (batch, steps, dim) → the same.
    """

    supports_masking = True

    def __init__(self, weight: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
            raise ValueError(f"Diversity's weight must be a number of at least 0, got {weight!r}")
        self.weight = float(weight)

    def call(self, states: Tensor, mask: Tensor | None = None) -> Tensor:
        self.add_loss(self.weight * ops.mean(conicity(states, mask)))
        return states

    def compute_mask(self, inputs: Tensor, mask: Tensor | None = None) -> Tensor | None:
        return mask

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "weight": self.weight}
