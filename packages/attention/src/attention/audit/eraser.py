"""ERASER (DeYoung et al. 2020), for classifiers: for 1, 5, 10, 20 and 50% of a sample's real
steps, the top of each explanation (attention, gradient, leave-one-out, and random as the floor)
removed from the input (comprehensiveness: the drop of the decided class's probability) or kept
alone (sufficiency: the drop then), and each one's mean over the fractions (AOPC)."""

from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np

from attention._types import Array, BoolArray, FloatArray, ModelInputs
from attention.audit.forward import Forward
from attention.audit.importance import Importances
from attention.audit.inputs import keeping
from attention.audit.measure import Column, Details, Measure, Request, Result

# ERASER's shares of the real steps, for comprehensiveness and sufficiency.
FRACTIONS = (0.01, 0.05, 0.1, 0.2, 0.5)
# The explanations whose top steps are removed or kept.
EXPLANATIONS = ("attention", "gradient", "leave_one_out", "random")
MEASURES = ("comprehensiveness", "sufficiency")


def drops(
    predict: Callable[[ModelInputs], FloatArray],
    probability: Callable[[FloatArray, slice], FloatArray],
    before: FloatArray,
    inputs: list[Array],
    index: int,
    valid: BoolArray,
    rankings: dict[str, FloatArray],
    fractions: Sequence[float] = FRACTIONS,
) -> dict[str, dict[str, FloatArray]]:
    """For each ranking (samples, steps) and fraction f: the top ⌈f·n⌉ of a sample's n `valid` steps
    of input `index` removed or kept alone (`keeping`), and per sample how much the probability of
    the decided class drops from `before` (samples,): (samples, fractions) per ranking and measure.
    `probability(y, rows)` is the probability that outputs `y` of the samples `rows` give the class
    decided on the whole input. A ranking may cover only the first samples (attention flow's)."""
    found: dict[str, dict[str, list[FloatArray]]] = {}
    for name, ranking in rankings.items():
        rows = slice(0, len(ranking))
        counted, x = valid[rows], [v[rows] for v in inputs]
        order = np.argsort(-np.where(counted, ranking, -np.inf), axis=-1, kind="stable")
        rank = np.argsort(order, axis=-1)  # each step's place in the ranking, 0 the highest
        counts = counted.sum(axis=-1)
        found[name] = {"comprehensiveness": [], "sufficiency": []}
        for fraction in fractions:
            top = counted & (rank < np.maximum(1, np.ceil(fraction * counts))[:, None])
            for measure, keep in (("comprehensiveness", counted & ~top), ("sufficiency", top)):
                after = predict(keeping(x, keep, index))
                found[name][measure].append(before[rows] - probability(after, rows))
    return {name: {m: np.stack(v, axis=-1) for m, v in d.items()} for name, d in found.items()}


def aopc(found: dict[str, dict[str, FloatArray]], fractions: Sequence[float] = FRACTIONS) -> Result:
    """The JSON-ready result of `drops`: per measure and ranking, the mean drop at each fraction
    and their mean (AOPC)."""
    return {
        "fractions": list(fractions),
        **{
            measure: {
                name: {"by_fraction": [float(v) for v in d[measure].mean(axis=0)], "aopc": float(d[measure].mean())}
                for name, d in found.items()
            }
            for measure in MEASURES
        },
    }


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
        decided = forward.decisions
        assert decided is not None  # a classifier decides (a regression was left out above)

        def probability(y: FloatArray, rows: slice) -> FloatArray:
            return forward.predicted_probability(y, decided[rows])

        found = drops(
            forward.predict,
            probability,
            probability(forward.outputs, slice(None)),
            forward.inputs,
            forward.input_index,
            forward.valid,
            {name: ranking[:, 0] for name, ranking in rankings.items()},
        )
        return aopc(found), {"eraser": found}
