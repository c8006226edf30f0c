"""The score functions of the attention survey table (seed 003), one small class each.

A score compares the query h_t (batch, dim) with every source state h_s (batch, steps, dim) and
returns (batch, steps). `weights(steps, dim)` names the learned weights and their shapes (the layer
that uses the score owns them); `__call__` is the equation.
"""

from keras import ops


def _dot(h_t, h_s):
    return ops.einsum("bd,bsd->bs", h_t, h_s)


class Score:
    """A score function: its learned weights, by name and shape, and its equation."""

    def weights(self, steps, dim):
        return {}

    def __call__(self, h_t, h_s, **weights):
        raise NotImplementedError


class Luong(Score):
    """General (Luong, multiplicative): h_tᵀ W_a h_s."""

    def weights(self, steps, dim):
        return {"w_a": (dim, dim)}

    def __call__(self, h_t, h_s, w_a):
        return ops.einsum("bd,de,bse->bs", h_t, w_a, h_s)


class Bahdanau(Score):
    """Additive (Bahdanau): v_aᵀ tanh(W_1 h_t + W_2 h_s)."""

    def weights(self, steps, dim):
        return {"w_1": (dim, dim), "w_2": (dim, dim), "v_a": (dim,)}

    def __call__(self, h_t, h_s, w_1, w_2, v_a):
        hidden = ops.tanh(ops.expand_dims(ops.matmul(h_t, w_1), 1) + ops.matmul(h_s, w_2))
        return ops.einsum("bsd,d->bs", hidden, v_a)


class Dot(Score):
    """Dot product: h_tᵀ h_s."""

    def __call__(self, h_t, h_s):
        return _dot(h_t, h_s)


class ScaledDot(Score):
    """Scaled dot product: h_tᵀ h_s / √n, with n the state size."""

    def __call__(self, h_t, h_s):
        return _dot(h_t, h_s) / ops.sqrt(ops.cast(ops.shape(h_s)[-1], h_s.dtype))


class Cosine(Score):
    """Content-based: cosine(h_t, h_s)."""

    def __call__(self, h_t, h_s):
        return _dot(ops.normalize(h_t, axis=-1), ops.normalize(h_s, axis=-1))


class Location(Score):
    """Location-based: W_a h_t, one learned score per step from the query alone."""

    def weights(self, steps, dim):
        if steps is None:
            raise ValueError(
                "score='location' needs a fixed number of time steps (one learned weight row per "
                "step): give the input a length, for example keras.Input((20, 1))."
            )
        return {"w_a": (dim, steps)}

    def __call__(self, h_t, h_s, w_a):
        return ops.matmul(h_t, w_a)


SCORES = {
    "luong": Luong(),
    "bahdanau": Bahdanau(),
    "dot": Dot(),
    "scaled_dot": ScaledDot(),
    "cosine": Cosine(),
    "location": Location(),
}


def get_score(name):
    """The score function called `name`; an unknown name fails with the accepted ones."""
    if name not in SCORES:
        raise ValueError(f"Unknown score {name!r}; accepted: {', '.join(SCORES)}.")
    return SCORES[name]
