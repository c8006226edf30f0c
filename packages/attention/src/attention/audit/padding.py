"""The attention on padding: the share of each unit's weight on steps that do not count (padding
the model does not mask). Left out of the result where there is none."""

from typing import ClassVar

import numpy as np

from attention.audit.forward import Forward
from attention.audit.importance import Importances
from attention.audit.measure import Column, Details, Measure, Request, Result, summary


class Padding(Measure):
    name = "attention_on_padding"
    reads_importances = False
    columns: ClassVar[dict[str, Column]] = {
        "audit_attention_on_padding": Column(("mean",), "attention on padding, per sample")
    }
    omitted_when_none = True

    def compute(self, forward: Forward, importances: Importances, request: Request) -> tuple[Result | None, Details]:
        padding = np.where(forward.valid_for(forward.per_unit), 0.0, forward.per_unit).sum(axis=-1)
        return (summary(padding) if padding.max() > 0 else None), {}
