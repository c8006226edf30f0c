"""What a measure of the audit is: a name (its key in the audit's result), the summary columns it
declares (what the sweep summaries, the report and the publisher read), and `compute`."""

import math
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
class AdversarySearch:
    """The settings of the search for adversarial attention (`adversary`); the defaults are Jain &
    Wallace's."""

    candidates: int = 5  # K distributions per sample
    steps: int = 500  # Adam steps
    learning_rate: float = 0.01
    tolerance: float = 0.01  # how far the output may move
    penalty: float = 500.0  # the weight of the output's move beyond the tolerance in the loss
    noise: float = 3.0  # std of the Gaussian noise added to the uniform start's log-weights

    def __post_init__(self) -> None:
        for name in ("candidates", "steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"adversary.{name} must be a positive integer, got {value!r}")
        for name in ("learning_rate", "tolerance", "penalty", "noise"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ValueError(f"adversary.{name} must be a finite number of at least 0, got {value!r}")


@dataclass(frozen=True)
class Request:
    """What a run of the audit was asked for: `deciding` (the steps that decide each answer, or
    None), the number of `permutations`, the `seed`, `rng`, the generator the measures draw from
    in their order (so that each draws what it always drew), and the `adversary`'s settings."""

    deciding: ArrayLike | None
    permutations: int
    seed: int
    rng: np.random.Generator
    adversary: AdversarySearch


class Measure:
    """One family of the audit's measures. `compute(forward, importances, request)` returns
    (its JSON-ready result, or None; the per-unit arrays it keeps in `AttentionAudit.details`)."""

    name = ""
    columns: ClassVar[dict[str, Column]] = {}  # {summary column: Column}
    omitted_when_none = False  # a result of None leaves the key out (else it is written as null)
    reads_importances = True  # False: it never reads the gradients and leave-one-out (costly to make)
    draws_from_request_rng = False  # True: it draws from `request.rng`, after the measures before it

    def compute(self, forward: Forward, importances: Importances, request: Request) -> tuple[Result | None, Details]:
        raise NotImplementedError


def summary(values: ArrayLike) -> dict[str, float] | None:
    """Mean, std and median of the values that are not NaN, or None."""
    array = np.asarray(values, dtype="float64").ravel()
    array = array[~np.isnan(array)]
    if not len(array):
        return None
    return {"mean": float(array.mean()), "std": float(array.std()), "median": float(np.median(array))}
