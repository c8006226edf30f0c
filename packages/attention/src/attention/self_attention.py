"""Self-attention: every step of a sequence attends over the same sequence."""

from typing import Any

import keras
from keras import ops

from attention._types import Shape, Tensor
from attention.base import SoftmaxAttention, masked_scores
from attention.scores import add_score_weights, get_score


def visible_steps(steps: Tensor, causal: bool = False, window: int | None = None) -> Tensor:
    """(steps, steps) booleans: row t says which steps query step t may see (every step by default;
    with `causal`, itself and the past; with `window`, the steps within `window` of it)."""
    queries = ops.expand_dims(ops.arange(steps), 1)
    keys = ops.expand_dims(ops.arange(steps), 0)
    visible = ops.ones((steps, steps), dtype="bool")
    if causal:
        visible = ops.logical_and(visible, keys <= queries)
    if window is not None:
        visible = ops.logical_and(visible, ops.abs(queries - keys) <= window)
    return visible


@keras.saving.register_keras_serializable(package="attention")
class SelfAttention(SoftmaxAttention):
    """Self-attention (keras-self-attention's `SeqSelfAttention`, on Keras 3): each step h_t of the
    sequence is a query that scores every step it may see.

    α_t = softmax over the visible steps s of score(h_t, h_s); output_t = Σ_s α_t,s h_s. One head,
    no projections of the values: for multi-head attention with learned query, key and value
    projections use `keras.layers.MultiHeadAttention`.

    Args:
        score: one of `attention.scores.SCORES` ('scaled_dot', Vaswani's, by default; 'luong',
            'bahdanau', 'dot', 'cosine', 'location' (a fixed number of steps) or 'uniform').
        causal: if True, step t sees steps 0..t only (`history_only` of keras-self-attention,
            `use_causal_mask` of Keras' layers).
        window: if an integer w, step t sees the steps t − w .. t + w only (with `causal`,
            t − w .. t); None: every step.

    Input (batch, steps, dim) → output (batch, steps, dim), with the input's mask. Weights: (batch,
    steps, steps), row t summing to 1 over the steps query t sees; every other weight is exactly 0,
    as is the weight of a masked step.
    """

    def __init__(self, score: str = "scaled_dot", causal: bool = False, window: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 0):
            raise ValueError(f"SelfAttention window must be None or an integer >= 0, got {window!r}")
        self.score_name, self.causal, self.window = score, bool(causal), window
        self.score_function = get_score(score)

    def build(self, input_shape: Shape) -> None:
        steps, dim = input_shape[-2], input_shape[-1]
        self.score_weights = add_score_weights(self, self.score_function, steps, dim, query_dim=dim)

    def query(self, inputs: Tensor, mask: Tensor | None) -> Tensor:
        return inputs

    def score(self, inputs: Tensor, query: Tensor | None) -> Tensor:
        scores = self.score_function(query, inputs, **self.score_weights)  # (batch, steps, steps)
        if not self.causal and self.window is None:
            return scores
        visible = visible_steps(ops.shape(inputs)[1], self.causal, self.window)
        return masked_scores(scores, ops.expand_dims(visible, 0))

    def combine(self, inputs: Tensor, weights: Tensor, query: Tensor | None) -> Tensor:
        return ops.matmul(weights, inputs)

    def compute_mask(self, inputs: Tensor, mask: Tensor | None = None) -> Tensor | None:
        return mask  # one output per step

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "score": self.score_name, "causal": self.causal, "window": self.window}
