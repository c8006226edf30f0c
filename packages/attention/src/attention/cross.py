"""Many-to-many attention: every step of a query sequence attends over a source sequence."""

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from attention._types import Shape, Tensor
from attention.base import SoftmaxAttention
from attention.scores import add_score_weights, get_score


@keras.saving.register_keras_serializable(package="attention")
class CrossAttention(SoftmaxAttention):
    """Encoder-decoder attention (datalogue's date translation, original 003): each decoder state
    s_t scores every encoder state h_i.

    α_t = softmax over the source steps of score(s_t, h_i); context c_t = Σ_i α_t,i h_i. The
    layer returns the contexts; the model combines them with its decoder states, as
    `keras.layers.Attention` leaves that to the model too.

    Args:
        score: one of `attention.scores.SCORES`: 'bahdanau' (additive), 'luong' (general), 'dot',
            'scaled_dot', 'cosine' (these three need equal query and source sizes),
            'location' (needs a fixed number of source steps) or 'uniform' (1/n over the n
            unmasked steps, a baseline).

    Call arguments:
        inputs: `[query, source]`: query (batch, queries, query_dim), source (batch, steps, dim).
        mask: optional `[query_mask, source_mask]`; masked source steps get weight exactly 0.

    Output (batch, queries, dim). Weights: (batch, queries, steps), summing to 1 over the steps.
    """

    def __init__(self, score: str = "bahdanau", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.score_name = score
        self.score_function = get_score(score)

    def build(self, input_shape: Sequence[Shape]) -> None:
        query_shape, source_shape = input_shape
        steps, dim = source_shape[-2], source_shape[-1]
        self.score_weights = add_score_weights(self, self.score_function, steps, dim, query_shape[-1])

    def query(self, inputs: Sequence[Tensor], mask: Sequence[Tensor | None] | None) -> Tensor:
        return inputs[0]

    def attended_mask(self, mask: Sequence[Tensor | None] | None) -> Tensor | None:
        return None if mask is None else mask[1]

    def score(self, inputs: Tensor, query: Tensor | None) -> Tensor:
        return self.score_function(query, inputs[1], **self.score_weights)

    def combine(self, inputs: Tensor, weights: Tensor, query: Tensor | None) -> Tensor:
        return ops.matmul(weights, inputs[1])

    def compute_mask(self, inputs: Sequence[Tensor], mask: Sequence[Tensor | None] | None = None) -> Tensor | None:
        return None if mask is None else mask[0]  # one context per query step

    def compute_output_shape(self, input_shape: Sequence[Shape]) -> Shape:
        query_shape, source_shape = input_shape
        return (*query_shape[:-1], source_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "score": self.score_name}
