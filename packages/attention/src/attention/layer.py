"""Many-to-one attention of keras-attention (original 004), on Keras 3 with every score function."""

from typing import Any

import keras
from keras import ops

from attention._types import Shape, Tensor
from attention.base import SoftmaxAttention
from attention.scores import add_score_weights, get_score


def last_step(inputs: Tensor, mask: Tensor | None = None) -> Tensor:
    """The last hidden state, (batch, dim): the last unmasked step where a mask is given."""
    if mask is None:
        return inputs[:, -1, :]
    steps = ops.shape(inputs)[1]
    positions = ops.where(ops.cast(mask, "bool"), ops.arange(steps), -1)
    last = ops.maximum(ops.max(positions, axis=1), 0)  # a fully masked row falls back to step 0
    # A gather, not a one-hot (batch, steps) times the states: the same numbers, bit for bit.
    return ops.squeeze(ops.take_along_axis(inputs, last[:, None, None], axis=1), axis=1)


def weighted_sum(weights: Tensor, inputs: Tensor) -> Tensor:
    """Σ_s weights[b, s] · inputs[b, s, :], (batch, dim), as one batched matmul: on TensorFlow the
    einsum that says the same costs more than twice as much in the backward pass (`make profile`),
    for the same numbers, bit for bit."""
    return ops.squeeze(ops.matmul(ops.expand_dims(weights, 1), inputs), axis=1)


@keras.saving.register_keras_serializable(package="attention")
class Attention(SoftmaxAttention):
    """Attention over the states of a recurrent layer, as `attention.Attention` of keras-attention.

    h_t = the last hidden state (the last unmasked step); score every h_s against h_t;
    α = softmax over time; context c = Σ α_s h_s; output = tanh(W_c [c; h_t]).

    Args:
        units: the size of the output.
        score: one of `attention.scores.SCORES`: 'luong' (general), 'bahdanau' (additive), 'dot',
            'scaled_dot', 'cosine', 'location' (needs a fixed number of steps) or 'uniform' (no
            weights: 1/n over the n unmasked steps, a baseline).

    Input (batch, steps, dim) → output (batch, units). Weights: (batch, steps), summing to 1 over
    the steps; masked steps get exactly 0.
    """

    def __init__(self, units: int = 128, score: str = "luong", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.score_name = score
        self.score_function = get_score(score)

    def build(self, input_shape: Shape) -> None:
        steps, dim = input_shape[-2], input_shape[-1]
        if dim is None:
            raise ValueError(f"Attention needs the size of the states it attends over; got input shape {input_shape}.")
        self.score_weights = add_score_weights(self, self.score_function, steps, dim, query_dim=dim)
        self.w_c = self.add_kernel("w_c", (2 * dim, self.units))

    def query(self, inputs: Tensor, mask: Tensor | None) -> Tensor:
        return last_step(inputs, mask)

    def score(self, inputs: Tensor, query: Tensor | None) -> Tensor:
        # One query step: (batch, 1, dim) against (batch, steps, dim) gives (batch, 1, steps).
        scores = self.score_function(ops.expand_dims(query, 1), inputs, **self.score_weights)
        return ops.squeeze(scores, axis=1)

    def combine(self, inputs: Tensor, weights: Tensor, query: Tensor | None) -> Tensor:
        context = weighted_sum(weights, inputs)
        return ops.tanh(ops.matmul(ops.concatenate([context, query], axis=-1), self.w_c))

    def compute_mask(self, inputs: Tensor, mask: Tensor | None = None) -> None:
        return None  # the time axis is summed away

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "score": self.score_name}
