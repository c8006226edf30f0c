"""What a measure of the audit is: a name (its key in the audit's result), the summary columns it
declares (what the sweep summaries, the report and the publisher read), and `compute`."""

from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

from attention.audit.forward import Forward
from attention.audit.importance import Importances

# A measure's JSON-ready result: nested dicts and lists of numbers, strings and None.
Result: TypeAlias = dict[str, Any]
# The per-unit arrays (and the like) a measure keeps in `AttentionAudit.details`, by name.
Details: TypeAlias = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """A number of a measure's result that a sweep summary keeps per run: `path` inside the
    measure's result, what it is in a few words, and whether it rests on the order of the
    attention's own weights (`ranks_attention`: then equal weights, which rank nothing, leave it
    undefined)."""

    path: tuple[str, ...]
    label: str
    ranks_attention: bool = False


@dataclass(frozen=True)
class Request:
    """What a run of the audit was asked for: `deciding` (the steps that decide each answer, or
    None), the number of `permutations`, the `seed`, and `rng`, the generator the measures draw
    from in their order (so that each draws what it always drew)."""

    deciding: ArrayLike | None
    permutations: int
    seed: int
    rng: np.random.Generator


class Measure:
    """One family of the audit's measures. `compute(forward, importances, request)` returns
    (its JSON-ready result, or None; the per-unit arrays it keeps in `AttentionAudit.details`)."""

    name = ""
    columns: ClassVar[dict[str, Column]] = {}  # {summary column: Column}
    omitted_when_none = False  # a result of None leaves the key out (else it is written as null)

    def compute(self, forward: Forward, importances: Importances, request: Request) -> tuple[Result | None, Details]:
        raise NotImplementedError


def summary(values: ArrayLike) -> dict[str, float] | None:
    """Mean, std and median of the values that are not NaN, or None."""
    array = np.asarray(values, dtype="float64").ravel()
    array = array[~np.isnan(array)]
    if not len(array):
        return None
    return {"mean": float(array.mean()), "std": float(array.std()), "median": float(np.median(array))}
