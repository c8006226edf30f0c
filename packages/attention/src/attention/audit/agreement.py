"""Agreement (Jain & Wallace 2019): Kendall τ-b between the attention weights and the gradient and
leave-one-out importances, and between those two, per unit; mean ± std, the share with p ≤ 0.05,
overall and by predicted class."""

from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from attention._types import BoolArray, FloatArray, IntArray
from attention.audit.forward import Forward
from attention.audit.importance import Importances
from attention.audit.measure import Column, Details, Measure, Request, Result


def kendall_tau(a: ArrayLike, b: ArrayLike, valid: BoolArray) -> tuple[float, float]:
    """Kendall τ-b and its p-value between `a` and `b` over the steps where `valid` is True.

    (nan, nan) where either is constant over those steps (uniform attention has no ranking)."""
    a, b = np.asarray(a)[valid], np.asarray(b)[valid]
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan"), float("nan")
    result = stats.kendalltau(a, b)
    return float(result.statistic), float(result.pvalue)


def _agreement(tau_and_p: FloatArray, decisions: IntArray | None) -> Result:
    """Mean ± std of τ, and the fraction with p ≤ 0.05, overall and by predicted class."""

    def summarise(pairs: FloatArray) -> dict[str, Any]:
        tau, p = pairs[..., 0].ravel(), pairs[..., 1].ravel()
        defined = ~np.isnan(tau)
        return {
            "mean": float(tau[defined].mean()) if defined.any() else None,
            "std": float(tau[defined].std()) if defined.any() else None,
            "significant": float((p[defined] <= 0.05).mean()) if defined.any() else None,
            "undefined": int((~defined).sum()),  # constant attention or importance: no ranking
        }

    result: Result = summarise(tau_and_p)
    if decisions is not None:
        result["by_class"] = {str(c): summarise(tau_and_p[decisions == c]) for c in np.unique(decisions)}
    return result


class Agreement(Measure):
    name = "agreement"
    columns: ClassVar[dict[str, Column]] = {
        "audit_tau_gradient": Column(("gradient", "mean"), "τ attention vs gradient", ranks_attention=True),
        "audit_tau_leave_one_out": Column(
            ("leave_one_out", "mean"), "τ attention vs leave-one-out", ranks_attention=True
        ),
        "audit_tau_gradient_vs_leave_one_out": Column(
            ("gradient_vs_leave_one_out", "mean"), "τ gradient vs leave-one-out"
        ),
        # The share of samples whose τ has p ≤ 0.05 (Jain & Wallace report it beside the mean).
        "audit_significant_gradient": Column(
            ("gradient", "significant"), "τ attention vs gradient: samples with p ≤ 0.05", ranks_attention=True
        ),
        "audit_significant_leave_one_out": Column(
            ("leave_one_out", "significant"),
            "τ attention vs leave-one-out: samples with p ≤ 0.05",
            ranks_attention=True,
        ),
    }

    def compute(self, forward: Forward, importances: Importances, request: Request) -> tuple[Result | None, Details]:
        per_unit, valid = forward.per_unit, forward.valid_for(forward.per_unit)
        tau = {
            name: np.array(
                [
                    [kendall_tau(a[u], b[u], valid[i, u]) for u in range(forward.unit_count)]
                    for i, (a, b) in enumerate(zip(first, second))
                ]
            )
            for name, first, second in (
                ("gradient", per_unit, importances.gradient),
                ("leave_one_out", per_unit, importances.leave_one_out),
                ("gradient_vs_leave_one_out", importances.gradient, importances.leave_one_out),
            )
        }
        decisions = forward.decisions
        return {name: _agreement(values, decisions) for name, values in tau.items()}, {"tau": tau}
