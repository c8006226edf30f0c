"""Erasure (Serrano & Smith 2019): zero the largest weight and renormalise, against zeroing a
random one: the output's change, its Jensen–Shannon divergence for a classifier, and whether the
decision flips; and how many weights must go, in attention, gradient (∂ decision/∂ weight) and
random order, before the decision flips."""

import math
from typing import ClassVar, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

from attention._types import BoolArray, FloatArray
from attention.audit.forward import Forward, without
from attention.audit.importance import Importances
from attention.audit.measure import Column, Details, Measure, Request, Result, summary

# Per erasure (the largest weight, a random one): per unit, the output's change, whether the
# decision flipped, and the Jensen–Shannon divergence of the output distributions (None for a
# regression).
Erased: TypeAlias = dict[str, tuple[FloatArray, BoolArray, FloatArray | None]]


def js_divergence(p: ArrayLike, q: ArrayLike, axis: int = -1, base: float = 2.0) -> FloatArray:
    """Jensen–Shannon divergence between distributions along `axis`: in bits by default (in [0, 1]),
    in nats with `base=math.e` (in [0, ln 2], as Jain & Wallace report it)."""
    p, q = np.asarray(p, dtype="float64"), np.asarray(q, dtype="float64")
    m = 0.5 * (p + q)
    scale = 1.0 if base == 2 else math.log(2) / math.log(base)  # bits, as always, exactly

    def kl(a: FloatArray, b: FloatArray) -> FloatArray:
        divergence: FloatArray = np.sum(
            np.where(a > 0, a * np.log2(np.where(a > 0, a, 1) / np.where(b > 0, b, 1)) * scale, 0.0), axis=axis
        )
        return divergence

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def _erase_one(forward: Forward, rng: np.random.Generator) -> Erased:
    """(output change, flipped, JS divergence of the output distributions or None) per unit
    when the largest weight, or a random one, is zeroed."""
    per_unit, y = forward.per_unit, forward.outputs
    unit_valid = forward.valid_for(per_unit)
    largest = np.zeros(per_unit.shape, dtype=bool)
    np.put_along_axis(largest, np.where(unit_valid, per_unit, -np.inf).argmax(axis=-1)[..., None], True, axis=-1)
    random = np.zeros(per_unit.shape, dtype=bool)
    random[np.arange(len(y)), :, [rng.choice(np.flatnonzero(v)) for v in forward.valid]] = True
    erasure: Erased = {}
    for name, removed in (("largest", largest), ("random", random)):
        after = forward.head(without(forward.weights, removed))
        before_distribution, after_distribution = forward.distribution(y), forward.distribution(after)
        divergence = (
            None
            if before_distribution is None or after_distribution is None
            else js_divergence(before_distribution, after_distribution)
        )
        erasure[name] = (forward.change(y, after), forward.flipped(y, after), divergence)
    return erasure


def _removals_to_flip(forward: Forward, ranking: FloatArray) -> FloatArray:
    """Per unit, the fraction of its valid steps removed (in `ranking` order, highest first)
    when the decision first flips; nan where it never does before one step is left."""
    valid = forward.valid_for(ranking)
    rank = np.argsort(np.argsort(-np.where(valid, ranking, -np.inf), axis=-1), axis=-1)
    counts = valid.sum(axis=-1)
    fraction = np.full(counts.shape, np.nan)
    for k in range(1, int(counts.max())):
        open_ = np.isnan(fraction) & (counts > k)
        if not open_.any():
            break
        after = forward.head(without(forward.weights, valid & (rank < k)))
        flipped = open_ & forward.flipped(forward.outputs, after)
        fraction[flipped] = k / counts[flipped]
    return fraction


def _removal_summary(fractions: FloatArray) -> dict[str, float | None]:
    flipped = ~np.isnan(fractions)
    return {
        "flipped": float(flipped.mean()),
        "median_fraction_removed": float(np.median(fractions[flipped])) if flipped.any() else None,
    }


class Erasure(Measure):
    name = "erasure"
    draws_from_request_rng = True
    columns: ClassVar[dict[str, Column]] = {
        "audit_flip_largest": Column(("largest", "flip_rate"), "flips, largest weight erased"),
        "audit_flip_random": Column(("random", "flip_rate"), "flips, random weight erased"),
    }

    def compute(self, forward: Forward, importances: Importances, request: Request) -> tuple[Result | None, Details]:
        erasure = _erase_one(forward, request.rng)
        enough = forward.valid.sum(axis=-1) > 1  # with one step there is nothing to renormalise to
        orders = {
            "attention": forward.per_unit,
            "gradient": np.abs(importances.weight_gradient),
            "random": request.rng.random(forward.per_unit.shape),
        }
        removals = {name: _removals_to_flip(forward, ranking) for name, ranking in orders.items()}
        result: Result = {
            **{
                name: {
                    "output_change": summary(change[enough]),
                    # Serrano & Smith's measure of the change, for classifiers.
                    "js_divergence": None if divergence is None else summary(divergence[enough]),
                    "flip_rate": float(flips[enough].mean()) if enough.any() else None,
                }
                for name, (change, flips, divergence) in erasure.items()
            },
            "largest_changes_more_than_random": float((erasure["largest"][0] > erasure["random"][0])[enough].mean())
            if enough.any()
            else None,
            "removals_to_flip": {name: _removal_summary(f) for name, f in removals.items()},
        }
        return result, {"erasure": erasure, "removals": removals, "enough": enough}
