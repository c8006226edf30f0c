"""ERASER (DeYoung et al. 2020), for classifiers: for 1, 5, 10, 20 and 50% of a sample's real
steps, the top of each explanation (attention, gradient, leave-one-out, and random as the floor)
removed from the input (comprehensiveness: the drop of the decided class's probability) or kept
alone (sufficiency: the drop then), and each one's mean over the fractions (AOPC)."""

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from attention._types import FloatArray
from attention.audit.forward import Forward
from attention.audit.importance import Importances
from attention.audit.inputs import keeping
from attention.audit.measure import Column, Details, Measure, Request, Result

# ERASER's shares of the real steps, for comprehensiveness and sufficiency.
FRACTIONS = (0.01, 0.05, 0.1, 0.2, 0.5)
# The explanations whose top steps are removed or kept.
EXPLANATIONS = ("attention", "gradient", "leave_one_out", "random")
MEASURES = ("comprehensiveness", "sufficiency")


def _drops(
    forward: Forward, rankings: dict[str, FloatArray], fractions: Sequence[float]
) -> dict[str, dict[str, FloatArray]]:
    """For each ranking (samples, 1, steps) and fraction f: the top ⌈f·n⌉ of a sample's n valid
    steps removed or kept alone, and per sample how much the probability of the decided class
    drops."""
    y, valid = forward.outputs, forward.valid
    decided = forward.decisions
    assert decided is not None  # a classifier decides (`Eraser` leaves a regression out)
    before = forward.predicted_probability(y, decided)
    counts = valid.sum(axis=-1)
    drops: dict[str, dict[str, list[FloatArray]]] = {}
    for name, ranking in rankings.items():
        order = np.argsort(-np.where(valid, ranking[:, 0], -np.inf), axis=-1, kind="stable")
        rank = np.argsort(order, axis=-1)  # each step's place in the ranking, 0 the highest
        drops[name] = {"comprehensiveness": [], "sufficiency": []}
        for fraction in fractions:
            top = valid & (rank < np.maximum(1, np.ceil(fraction * counts))[:, None])
            for measure, keep in (("comprehensiveness", valid & ~top), ("sufficiency", top)):
                after = forward.predict(keeping(forward.inputs, keep, forward.input_index))
                drops[name][measure].append(before - forward.predicted_probability(after, decided))
    return {name: {m: np.stack(v, axis=-1) for m, v in d.items()} for name, d in drops.items()}


class Eraser(Measure):
    """None for a regression, or a model with an attention row per output step."""

    name = "eraser"
    columns: ClassVar[dict[str, Column]] = {
        f"audit_{measure}_{explanation}": Column(
            (measure, explanation, "aopc"),
            f"{measure} AOPC, {explanation.replace('_', '-')} order",
            ranks_attention=explanation == "attention",
        )
        for measure in MEASURES
        for explanation in EXPLANATIONS
    }

    def compute(self, forward: Forward, importances: Importances, request: Request) -> tuple[Result | None, Details]:
        if forward.kind == "regression" or forward.unit_count != 1:
            return None, {"eraser": None}
        rankings = {
            "attention": forward.per_unit,
            "gradient": importances.gradient,
            "leave_one_out": importances.leave_one_out,
            # A generator of its own: the measures that came before it stay as they were.
            "random": np.random.default_rng([request.seed, 1]).random(forward.per_unit.shape),
        }
        drops = _drops(forward, rankings, FRACTIONS)
        result: Result = {
            "fractions": list(FRACTIONS),
            **{
                measure: {
                    name: {"by_fraction": [float(v) for v in d[measure].mean(axis=0)], "aopc": float(d[measure].mean())}
                    for name, d in drops.items()
                }
                for measure in MEASURES
            },
        }
        return result, {"eraser": drops}
