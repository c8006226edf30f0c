"""Ground truth, where the caller knows which steps decide each answer: how often the top step of
each explanation (attention, gradient, leave-one-out) is one of them. Ties at the top (uniform
weights: every step) count as a random pick among them."""

from typing import ClassVar

import numpy as np

from attention._types import BoolArray
from attention.audit.forward import Forward
from attention.audit.importance import Importances
from attention.audit.measure import Column, Details, Measure, Request, Result

EXPLANATIONS = ("attention", "gradient", "leave_one_out")


class GroundTruth(Measure):
    name = "ground_truth"
    columns: ClassVar[dict[str, Column]] = {
        f"audit_hit_{name}": Column(("hit_rate", name), f"top {name.replace('_', '-')} on the deciding step")
        for name in EXPLANATIONS
    }

    def compute(self, forward: Forward, importances: Importances, request: Request) -> tuple[Result | None, Details]:
        if request.deciding is None:
            return None, {}
        explanations = {
            "attention": forward.per_unit,
            "gradient": importances.gradient,
            "leave_one_out": importances.leave_one_out,
        }
        given = np.asarray(request.deciding, dtype=bool)
        deciding: BoolArray = given.reshape((len(given), -1, forward.steps))
        if deciding.shape[1] != forward.unit_count:
            deciding = np.any(deciding, axis=1, keepdims=True)
        known = deciding.any(axis=-1)
        rates: dict[str, float | None] = {}
        for name, importance in explanations.items():
            valid = forward.valid_for(importance)
            scores = np.where(valid, importance, -np.inf)
            top = scores == scores.max(axis=-1, keepdims=True)
            hit = (top & deciding).sum(axis=-1) / top.sum(axis=-1)
            rates[name] = float(hit[known].mean()) if known.any() else None
        return {"hit_rate": rates, "units": int(known.sum())}, {}
