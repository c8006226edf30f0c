"""Conicity (Mohankumar et al. 2020, "Towards Transparent and Explainable Attention Models"): how
alike the states the attention reads are. Per sample, the mean over its valid steps of each
state's cosine similarity with the mean of those states ("alignment to mean"): near 1, the states
all point alike, and very different weights make nearly the same weighted sum, which is why
permuted and adversarial attention change the output so little on such models."""

from typing import ClassVar

import numpy as np

from attention._types import BoolArray, FloatArray
from attention.audit.forward import Forward
from attention.audit.importance import Importances
from attention.audit.measure import Column, Details, Measure, Request, Result, summary


def conicity(states: FloatArray, valid: BoolArray) -> FloatArray:
    """Per sample, the conicity of `states` (samples, steps, dim) over its `valid` (samples, steps)
    steps: the mean cosine similarity of each valid state with their mean; nan with no valid step."""
    states = np.asarray(states, dtype="float64")
    kept = np.where(valid[..., None], states, 0.0)
    counts = valid.sum(axis=-1)
    mean = kept.sum(axis=1) / np.maximum(counts, 1)[:, None]  # (samples, dim)
    norms = np.linalg.norm(states, axis=-1) * np.linalg.norm(mean, axis=-1)[:, None]
    cosine = np.einsum("sd,std->st", mean, states) / np.maximum(norms, 1e-30)
    summed = np.where(valid, cosine, 0.0).sum(axis=-1)
    alignment: FloatArray = np.where(counts > 0, summed / np.maximum(counts, 1), np.nan)
    return alignment


def attended_states(forward: Forward) -> FloatArray | None:
    """The vectors the attention weighs, (samples, steps, dim): the last of the layer's inputs with
    one vector per step (for cross-attention, the attended sequence rather than the queries)."""
    read = forward.states[: forward.model.layer_inputs]
    matches = [s for s in read if s.ndim == 3 and s.shape[1] == forward.steps and s.dtype.kind == "f"]
    return matches[-1] if matches else None


class Conicity(Measure):
    name = "conicity"
    omitted_when_none = True
    columns: ClassVar[dict[str, Column]] = {
        "audit_conicity": Column(("mean",), "conicity of the attended states"),
    }

    def compute(self, forward: Forward, importances: Importances, request: Request) -> tuple[Result | None, Details]:
        states = attended_states(forward)
        if states is None:
            return None, {}
        per_sample = conicity(states, forward.valid)
        return summary(per_sample), {"conicity": per_sample}
