"""The attention blocks of keras-attention-mechanism (original 000) and feed-forward pooling
(original 002)."""

from typing import Any

import keras
from keras import ops

from attention._types import Shape, Tensor
from attention.base import SoftmaxAttention


@keras.saving.register_keras_serializable(package="attention")
class FeatureAttention(SoftmaxAttention):
    """The 2D block: a softmax over the input features, multiplied with the input.

    Input (batch, features) → output (batch, features). Weights: (batch, features), summing to 1
    over the features. The scores are a dense layer over the features, as `Dense(features,
    activation='softmax')` in keras-attention-mechanism.
    """

    def build(self, input_shape: Shape) -> None:
        features = input_shape[-1]
        self.kernel = self.add_kernel("kernel", (features, features))
        self.bias = self.add_bias("bias", (features,))

    def score(self, inputs: Tensor, query: Tensor | None) -> Tensor:
        return ops.matmul(inputs, self.kernel) + self.bias

    def combine(self, inputs: Tensor, weights: Tensor, query: Tensor | None) -> Tensor:
        return inputs * weights


@keras.saving.register_keras_serializable(package="attention")
class TimeAttention(SoftmaxAttention):
    """The 3D block: a softmax over time steps, for each input dimension or shared by all.

    Input (batch, steps, dims) → output (batch, steps, dims), the inputs reweighted, so the block
    fits before a recurrent layer (on its inputs) or after one (on its sequence output).
    Weights: (batch, steps, dims), each column summing to 1 over the steps; with `shared=True`
    (keras-attention-mechanism's `SINGLE_ATTENTION_VECTOR`) the mean over the dimensions,
    (batch, steps). Each step's score is a learned mix of all steps, so the number of steps must be
    fixed.
    """

    def __init__(self, shared: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shared = shared

    def build(self, input_shape: Shape) -> None:
        steps = input_shape[-2]
        if steps is None:
            raise ValueError(f"TimeAttention needs a fixed number of time steps; got input shape {input_shape}.")
        self.kernel = self.add_kernel("kernel", (steps, steps))
        self.bias = self.add_bias("bias", (steps,))

    def score(self, inputs: Tensor, query: Tensor | None) -> Tensor:
        per_dimension = ops.transpose(inputs, (0, 2, 1))  # (batch, dims, steps)
        return ops.matmul(per_dimension, self.kernel) + self.bias

    def arrange(self, weights: Tensor) -> Tensor:
        if self.shared:
            return ops.mean(weights, axis=1)
        return ops.transpose(weights, (0, 2, 1))

    def combine(self, inputs: Tensor, weights: Tensor, query: Tensor | None) -> Tensor:
        if self.shared:
            weights = ops.expand_dims(weights, axis=-1)
        return inputs * weights

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "shared": self.shared}


@keras.saving.register_keras_serializable(package="attention")
class AttentionPooling(SoftmaxAttention):
    """Feed-forward attention pooling: a score per step from that step alone (no query), softmax
    over time, weighted sum.

    Args:
        units: None: the score is tanh(h_i·k + b), one weight vector (Raffel & Ellis, original 002).
            An integer: vᵀ tanh(W h_i + b), W (dim, units), v without bias: the `tanh` attention
            of Jain & Wallace's classifiers.
        score: "tanh" as above, or "uniform": every step scored alike, so the weights are 1/n over
            the n unmasked steps (Wiegreffe & Pinter's baseline) and the output is their mean.

    Input (batch, steps, dim) → output (batch, dim). Weights: (batch, steps), summing to 1
    over the steps; masked steps get exactly 0.
    """

    SCORES = ("tanh", "uniform")

    def __init__(self, units: int | None = None, score: str = "tanh", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if score not in self.SCORES:
            raise ValueError(f"AttentionPooling score {score!r} is not one of {', '.join(self.SCORES)}")
        if units is not None and (isinstance(units, bool) or not isinstance(units, int) or units < 1):
            raise ValueError(f"AttentionPooling units must be None or a positive integer, got {units!r}")
        self.units, self.score_name = units, score

    def build(self, input_shape: Shape) -> None:
        dim = input_shape[-1]
        if self.score_name == "uniform":
            return
        if self.units is None:
            self.kernel = self.add_kernel("kernel", (dim, 1))
            self.bias = self.add_bias("bias", (1,))
        else:
            self.kernel = self.add_kernel("kernel", (dim, self.units))
            self.bias = self.add_bias("bias", (self.units,))
            self.context = self.add_kernel("context", (self.units, 1))

    def score(self, inputs: Tensor, query: Tensor | None) -> Tensor:
        if self.score_name == "uniform":
            return ops.zeros_like(inputs[..., 0])
        hidden = ops.tanh(ops.matmul(inputs, self.kernel) + self.bias)
        if self.units is not None:
            hidden = ops.matmul(hidden, self.context)
        return ops.squeeze(hidden, axis=-1)

    def combine(self, inputs: Tensor, weights: Tensor, query: Tensor | None) -> Tensor:
        return ops.sum(inputs * ops.expand_dims(weights, axis=-1), axis=1)

    def compute_mask(self, inputs: Tensor, mask: Tensor | None = None) -> None:
        return None  # the time axis is summed away

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "score": self.score_name}
