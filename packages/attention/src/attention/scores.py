"""The score functions of the attention survey table (as original 003 quotes it), one small class
each, and the uniform baseline.

A score compares every query step s_t (batch, queries, query_dim) with every source state h_i
(batch, steps, dim) and returns (batch, queries, steps). Many-to-one attention has one query: the
last hidden state. `weights(steps, dim, query_dim)` names the learned weights and their shapes
(the layer that uses the score owns them); `__call__` is the equation.
"""

from typing import TYPE_CHECKING, Any

from keras import ops

from attention._types import Shape, Tensor

if TYPE_CHECKING:  # the layers import the scores
    from attention.base import SoftmaxAttention


def _dot(s_t: Tensor, h_s: Tensor) -> Tensor:
    return ops.matmul(s_t, ops.swapaxes(h_s, -1, -2))


def _same_size(dim: int | None, query_dim: int | None, name: str) -> None:
    if dim != query_dim:
        raise ValueError(
            f"score={name!r} compares the query with the source directly, so their sizes must be "
            f"equal; got query size {query_dim} and source size {dim} (use 'luong' or 'bahdanau', "
            "which learn a projection)."
        )


# Every score function by name, in the order they are defined: a subclass of `Score` registers
# itself under the name it gives (`class Mine(Score, name="mine")`), and `score="mine"` selects it.
SCORES: dict[str, "Score"] = {}


class Score:
    """A score function: its learned weights, by name and shape, and its equation."""

    def __init_subclass__(cls, name: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if name in SCORES:
            raise ValueError(f"a score named {name!r} exists already: {type(SCORES[name]).__name__}")
        SCORES[name] = cls()

    def weights(self, steps: int | None, dim: int | None, query_dim: int | None) -> dict[str, Shape]:
        return {}

    # Each score takes its own weights, by the names `weights` gives them: `(*args: Any, **weights:
    # Any)` is what lets a subclass name its own parameters (mypy reads it as "any arguments").
    def __call__(self, s_t: Tensor, h_s: Tensor, *args: Any, **weights: Any) -> Tensor:
        raise NotImplementedError


class Luong(Score, name="luong"):
    """General (Luong, multiplicative): s_tᵀ W_a h_i."""

    def weights(self, steps: int | None, dim: int | None, query_dim: int | None) -> dict[str, Shape]:
        return {"w_a": (query_dim, dim)}

    def __call__(self, s_t: Tensor, h_s: Tensor, w_a: Tensor) -> Tensor:
        return _dot(ops.matmul(s_t, w_a), h_s)


class Bahdanau(Score, name="bahdanau"):
    """Additive (Bahdanau): v_aᵀ tanh(W_1 s_t + W_2 h_i)."""

    def weights(self, steps: int | None, dim: int | None, query_dim: int | None) -> dict[str, Shape]:
        return {"w_1": (query_dim, dim), "w_2": (dim, dim), "v_a": (dim,)}

    def __call__(self, s_t: Tensor, h_s: Tensor, w_1: Tensor, w_2: Tensor, v_a: Tensor) -> Tensor:
        # (batch, queries, 1, dim) + (batch, 1, steps, dim): every query against every step.
        hidden = ops.tanh(ops.expand_dims(ops.matmul(s_t, w_1), 2) + ops.expand_dims(ops.matmul(h_s, w_2), 1))
        return ops.einsum("bqsd,d->bqs", hidden, v_a)


class Dot(Score, name="dot"):
    """Dot product: s_tᵀ h_i."""

    def weights(self, steps: int | None, dim: int | None, query_dim: int | None) -> dict[str, Shape]:
        _same_size(dim, query_dim, "dot")
        return {}

    def __call__(self, s_t: Tensor, h_s: Tensor) -> Tensor:
        return _dot(s_t, h_s)


class ScaledDot(Score, name="scaled_dot"):
    """Scaled dot product: s_tᵀ h_i / √n, with n the state size."""

    def weights(self, steps: int | None, dim: int | None, query_dim: int | None) -> dict[str, Shape]:
        _same_size(dim, query_dim, "scaled_dot")
        return {}

    def __call__(self, s_t: Tensor, h_s: Tensor) -> Tensor:
        return _dot(s_t, h_s) / ops.sqrt(ops.cast(ops.shape(h_s)[-1], h_s.dtype))


class Cosine(Score, name="cosine"):
    """Content-based: cosine(s_t, h_i)."""

    def weights(self, steps: int | None, dim: int | None, query_dim: int | None) -> dict[str, Shape]:
        _same_size(dim, query_dim, "cosine")
        return {}

    def __call__(self, s_t: Tensor, h_s: Tensor) -> Tensor:
        return _dot(ops.normalize(s_t, axis=-1), ops.normalize(h_s, axis=-1))


class Location(Score, name="location"):
    """Location-based: W_a s_t, one learned score per step from the query alone."""

    def weights(self, steps: int | None, dim: int | None, query_dim: int | None) -> dict[str, Shape]:
        if steps is None:
            raise ValueError(
                "score='location' needs a fixed number of time steps (one learned weight row per "
                "step): give the input a length, for example keras.Input((20, 1))."
            )
        return {"w_a": (query_dim, steps)}

    def __call__(self, s_t: Tensor, h_s: Tensor, w_a: Tensor) -> Tensor:
        return ops.matmul(s_t, w_a)


class Uniform(Score, name="uniform"):
    """Uniform: every step scores alike, so the weights are 1/n over the n unmasked steps.

    No learned weights. Wiegreffe & Pinter's baseline: where it does as well as a learned score,
    the learned weights are not what the model needs.
    """

    def __call__(self, s_t: Tensor, h_s: Tensor) -> Tensor:
        # (batch, queries, 1) + (batch, 1, steps): zeros of the score's shape, from both inputs.
        return ops.zeros_like(s_t[..., :1]) + ops.expand_dims(ops.zeros_like(h_s[..., 0]), 1)


def get_score(name: str) -> Score:
    """The score function called `name`; an unknown name fails with the accepted ones."""
    if name not in SCORES:
        raise ValueError(f"Unknown score {name!r}; accepted: {', '.join(SCORES)}.")
    return SCORES[name]


def add_score_weights(
    layer: "SoftmaxAttention", score: Score, steps: int | None, dim: int | None, query_dim: int | None
) -> dict[str, Tensor]:
    """Creates `score`'s learned weights on `layer` (which then owns and saves them, made by its
    kernel initializer), by name."""
    return {name: layer.add_kernel(name, shape) for name, shape in score.weights(steps, dim, query_dim).items()}
