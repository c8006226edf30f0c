"""What a measure of the audit is: a name (its key in the audit's result), the summary columns it
declares (what the sweep summaries, the report and the publisher read), and `compute`."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class Column:
    """A number of a measure's result that a sweep summary keeps per run: `path` inside the
    measure's result, what it is in a few words, and whether it rests on the order of the
    attention's own weights (`ranks_attention`: then equal weights, which rank nothing, leave it
    undefined)."""

    path: tuple
    label: str
    ranks_attention: bool = False


@dataclass(frozen=True)
class Request:
    """What a run of the audit was asked for: `deciding` (the steps that decide each answer, or
    None), the number of `permutations`, the `seed`, and `rng`, the generator the measures draw
    from in their order (so that each draws what it always drew)."""

    deciding: object
    permutations: int
    seed: int
    rng: np.random.Generator


class Measure:
    """One family of the audit's measures. `compute(forward, importances, request)` returns
    (its JSON-ready result, or None; the per-unit arrays it keeps in `AttentionAudit.details`)."""

    name = ""
    columns: ClassVar[dict] = {}  # {summary column: Column}
    omitted_when_none = False  # a result of None leaves the key out (else it is written as null)

    def compute(self, forward, importances, request):
        raise NotImplementedError


def summary(values):
    """Mean, std and median of the values that are not NaN, or None."""
    values = np.asarray(values, dtype="float64").ravel()
    values = values[~np.isnan(values)]
    if not len(values):
        return None
    return {"mean": float(values.mean()), "std": float(values.std()), "median": float(np.median(values))}
