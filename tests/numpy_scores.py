"""Each score's equation in plain NumPy, the reference the layers are tested against.

s_t: queries (batch, queries, query_dim); h_s: sources (batch, steps, dim); w: the layer's
weights by name. Each returns (batch, queries, steps).
"""

import numpy as np


def softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _additive(s_t, h_s, w):
    return np.tanh((s_t @ w["w_1"])[:, :, None] + (h_s @ w["w_2"])[:, None]) @ w["v_a"]


NUMPY_SCORES = {
    "luong": lambda s_t, h_s, w: np.einsum("bqd,de,bse->bqs", s_t, w["w_a"], h_s),
    "bahdanau": _additive,
    "dot": lambda s_t, h_s, w: np.einsum("bqd,bsd->bqs", s_t, h_s),
    "scaled_dot": lambda s_t, h_s, w: np.einsum("bqd,bsd->bqs", s_t, h_s) / np.sqrt(h_s.shape[-1]),
    "cosine": lambda s_t, h_s, w: np.einsum("bqd,bsd->bqs", _unit(s_t), _unit(h_s)),
    "location": lambda s_t, h_s, w: s_t @ w["w_a"],
    "uniform": lambda s_t, h_s, w: np.zeros((len(s_t), s_t.shape[1], h_s.shape[1])),
}
