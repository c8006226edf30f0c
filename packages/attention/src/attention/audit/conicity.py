"""Conicity (Mohankumar et al. 2020, "Towards Transparent and Explainable Attention Models"): how
alike the states the attention reads are. Per sample, the mean over its valid steps of each
state's cosine similarity with the mean of those states ("alignment to mean"): near 1, the states
all point alike, and very different weights make nearly the same weighted sum, which is why
permuted and adversarial attention change the output so little on such models."""

from typing import ClassVar

from keras import ops

from attention._types import FloatArray
from attention.audit.forward import Forward
from attention.audit.importance import Importances
from attention.audit.measure import Column, Details, Measure, Request, Result, summary
from attention.diversity import conicity


def attended_states(forward: Forward) -> FloatArray | None:
    """The vectors the attention weighs, (samples, steps, dim): the last of the layer's inputs with
    one vector per step (for cross-attention, the attended sequence rather than the queries)."""
    read = forward.states[: forward.model.layer_inputs]
    matches = [s for s in read if s.ndim == 3 and s.shape[1] == forward.steps and s.dtype.kind == "f"]
    return matches[-1] if matches else None


class Conicity(Measure):
    name = "conicity"
    reads_importances = False
    omitted_when_none = True
    columns: ClassVar[dict[str, Column]] = {
        "audit_conicity": Column(("mean",), "conicity of the attended states"),
    }

    def compute(self, forward: Forward, importances: Importances, request: Request) -> tuple[Result | None, Details]:
        states = attended_states(forward)
        if states is None:
            return None, {}
        per_sample = ops.convert_to_numpy(conicity(states, forward.valid))
        return summary(per_sample), {"conicity": per_sample}
