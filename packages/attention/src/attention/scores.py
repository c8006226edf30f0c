"""The score functions of the attention survey table (seed 003), one small class each, and the
uniform baseline.

A score compares every query step s_t (batch, queries, query_dim) with every source state h_i
(batch, steps, dim) and returns (batch, queries, steps). Many-to-one attention has one query: the
last hidden state. `weights(steps, dim, query_dim)` names the learned weights and their shapes
(the layer that uses the score owns them); `__call__` is the equation.
"""

from keras import ops


def _dot(s_t, h_s):
    return ops.matmul(s_t, ops.swapaxes(h_s, -1, -2))


def _same_size(dim, query_dim, name):
    if dim != query_dim:
        raise ValueError(
            f"score={name!r} compares the query with the source directly, so their sizes must be "
            f"equal; got query size {query_dim} and source size {dim} (use 'luong' or 'bahdanau', "
            "which learn a projection)."
        )


# Every score function by name, in the order they are defined: a subclass of `Score` registers
# itself under the name it gives (`class Mine(Score, name="mine")`), and `score="mine"` selects it.
SCORES = {}


class Score:
    """A score function: its learned weights, by name and shape, and its equation."""

    def __init_subclass__(cls, name, **kwargs):
        super().__init_subclass__(**kwargs)
        if name in SCORES:
            raise ValueError(f"a score named {name!r} exists already: {type(SCORES[name]).__name__}")
        SCORES[name] = cls()

    def weights(self, steps, dim, query_dim):
        return {}

    def __call__(self, s_t, h_s, **weights):
        raise NotImplementedError


class Luong(Score, name="luong"):
    """General (Luong, multiplicative): s_tᵀ W_a h_i."""

    def weights(self, steps, dim, query_dim):
        return {"w_a": (query_dim, dim)}

    def __call__(self, s_t, h_s, w_a):
        return _dot(ops.matmul(s_t, w_a), h_s)


class Bahdanau(Score, name="bahdanau"):
    """Additive (Bahdanau): v_aᵀ tanh(W_1 s_t + W_2 h_i)."""

    def weights(self, steps, dim, query_dim):
        return {"w_1": (query_dim, dim), "w_2": (dim, dim), "v_a": (dim,)}

    def __call__(self, s_t, h_s, w_1, w_2, v_a):
        # (batch, queries, 1, dim) + (batch, 1, steps, dim): every query against every step.
        hidden = ops.tanh(ops.expand_dims(ops.matmul(s_t, w_1), 2) + ops.expand_dims(ops.matmul(h_s, w_2), 1))
        return ops.einsum("bqsd,d->bqs", hidden, v_a)


class Dot(Score, name="dot"):
    """Dot product: s_tᵀ h_i."""

    def weights(self, steps, dim, query_dim):
        _same_size(dim, query_dim, "dot")
        return {}

    def __call__(self, s_t, h_s):
        return _dot(s_t, h_s)


class ScaledDot(Score, name="scaled_dot"):
    """Scaled dot product: s_tᵀ h_i / √n, with n the state size."""

    def weights(self, steps, dim, query_dim):
        _same_size(dim, query_dim, "scaled_dot")
        return {}

    def __call__(self, s_t, h_s):
        return _dot(s_t, h_s) / ops.sqrt(ops.cast(ops.shape(h_s)[-1], h_s.dtype))


class Cosine(Score, name="cosine"):
    """Content-based: cosine(s_t, h_i)."""

    def weights(self, steps, dim, query_dim):
        _same_size(dim, query_dim, "cosine")
        return {}

    def __call__(self, s_t, h_s):
        return _dot(ops.normalize(s_t, axis=-1), ops.normalize(h_s, axis=-1))


class Location(Score, name="location"):
    """Location-based: W_a s_t, one learned score per step from the query alone."""

    def weights(self, steps, dim, query_dim):
        if steps is None:
            raise ValueError(
                "score='location' needs a fixed number of time steps (one learned weight row per "
                "step): give the input a length, for example keras.Input((20, 1))."
            )
        return {"w_a": (query_dim, steps)}

    def __call__(self, s_t, h_s, w_a):
        return ops.matmul(s_t, w_a)


class Uniform(Score, name="uniform"):
    """Uniform: every step scores alike, so the weights are 1/n over the n unmasked steps.

    No learned weights. Wiegreffe & Pinter's baseline: where it does as well as a learned score,
    the learned weights are not what the model needs.
    """

    def __call__(self, s_t, h_s):
        # (batch, queries, 1) + (batch, 1, steps): zeros of the score's shape, from both inputs.
        return ops.zeros_like(s_t[..., :1]) + ops.expand_dims(ops.zeros_like(h_s[..., 0]), 1)


def get_score(name):
    """The score function called `name`; an unknown name fails with the accepted ones."""
    if name not in SCORES:
        raise ValueError(f"Unknown score {name!r}; accepted: {', '.join(SCORES)}.")
    return SCORES[name]


def add_score_weights(layer, score, steps, dim, query_dim):
    """Creates `score`'s learned weights on `layer` (which then owns and saves them), by name."""
    return {
        name: layer.add_weight(name=name, shape=shape) for name, shape in score.weights(steps, dim, query_dim).items()
    }
