"""Permutation (Jain & Wallace 2019): with the hidden states fixed, the median change of the
output over random permutations of the weights (among the valid steps), per unit, against its
largest weight."""

from typing import ClassVar

import numpy as np

from attention.audit.forward import Forward
from attention.audit.importance import Importances
from attention.audit.measure import Column, Details, Measure, Request, Result, summary


class Permutation(Measure):
    name = "permutation"
    draws_from_request_rng = True
    reads_importances = False
    columns: ClassVar[dict[str, Column]] = {
        "audit_permutation_change": Column(("median_output_change", "mean"), "output change, weights permuted"),
    }

    def compute(self, forward: Forward, importances: Importances, request: Request) -> tuple[Result | None, Details]:
        y, rng = forward.outputs, request.rng
        changes = np.zeros((request.permutations, len(y), forward.unit_count))
        positions = np.arange(forward.steps)
        for round_ in range(request.permutations):
            order = np.tile(positions, (len(y), 1))
            for sample in range(len(y)):  # only the valid steps trade places
                valid = np.flatnonzero(forward.valid[sample])
                order[sample, valid] = rng.permutation(valid)
            permuted = np.take_along_axis(forward.weights, order[:, None, :], axis=-1)
            changes[round_] = forward.change(y, forward.head(permuted))
        permutation = np.median(changes, axis=0)
        max_weight = np.where(forward.valid_for(forward.per_unit), forward.per_unit, 0).max(axis=-1)
        result = {
            "permutations": int(request.permutations),
            "median_output_change": summary(permutation),
            "max_weight": summary(max_weight),
        }
        return result, {"permutation": permutation, "max_weight": max_weight}
