"""`AttentionAudit`: one forward pass recorded, the importances computed from it once, then every
measure of `MEASURES` in its order."""

import keras
import numpy as np
from numpy.typing import ArrayLike

from attention._types import ModelInputs
from attention.audit.adversary import Adversary
from attention.audit.agreement import Agreement
from attention.audit.conicity import Conicity
from attention.audit.eraser import Eraser
from attention.audit.erasure import Erasure
from attention.audit.forward import OUTPUT_KINDS, Forward, forward_pass
from attention.audit.ground_truth import GroundTruth
from attention.audit.importance import importances
from attention.audit.measure import AdversarySearch, Details, Measure, Request, Result
from attention.audit.model import AuditedModel
from attention.audit.padding import Padding
from attention.audit.permutation import Permutation

# In the order they run: the ones that draw random numbers (erasure, then permutation) draw from
# one generator, so each draws what it always drew. A new measure goes at the end.
MEASURES: tuple[Measure, ...] = (
    Agreement(),
    Erasure(),
    Permutation(),
    GroundTruth(),
    Eraser(),
    Padding(),
    Adversary(),
    Conicity(),
)
MEASURE_NAMES = tuple(measure.name for measure in MEASURES)


def summary_columns() -> dict[str, tuple[tuple[str, ...], str]]:
    """{summary column: (path in the audit's result, label)} of every measure, in their order."""
    return {
        column: ((measure.name, *declared.path), declared.label)
        for measure in MEASURES
        for column, declared in measure.columns.items()
    }


def attention_ranked_columns() -> tuple[str, ...]:
    """The summary columns that rest on the order of the attention's weights: undefined for equal
    weights (a uniform baseline), whose order is only the order of the ties."""
    return tuple(
        column for measure in MEASURES for column, declared in measure.columns.items() if declared.ranks_attention
    )


def chosen_measures(names: tuple[str, ...] | None = None) -> list[Measure]:
    """The measures of `names` in the audit's order (None: all of them). ValueError for a name that
    is none, or for a measure that draws from the audit's random generator without the measures
    that draw before it: it gives a whole audit's numbers only after the same draws."""
    unknown = sorted(set(names or ()) - set(MEASURE_NAMES))
    if unknown:
        raise ValueError(f"no audit measure {unknown[0]!r}; accepted: {', '.join(MEASURE_NAMES)}")
    chosen = [m for m in MEASURES if names is None or m.name in names]
    drawing = [m.name for m in MEASURES if m.draws_from_request_rng]
    for measure in chosen:
        if measure.draws_from_request_rng:
            before = drawing[: drawing.index(measure.name)]
            missing = [name for name in before if name not in {m.name for m in chosen}]
            if missing:
                raise ValueError(
                    f"measure {measure.name!r} draws from the audit's random generator after {', '.join(missing)}: "
                    f"add {' and '.join(missing)}, so that its numbers are a whole audit's"
                )
    return chosen


class AttentionAudit:
    """The faithfulness measures of one trained model (see the package's docstring).

    Args:
        model: a functional Keras model with one output and one attention layer of this package
            (a `SoftmaxAttention`), called once.
        layer_name: the attention layer's name, where the model has several.
        output: 'binary', 'classes', 'regression', or 'auto' (several outputs per unit: classes;
            one behind a sigmoid: binary; else regression).
        regression_tolerance: how far a regression output must move to count as a flip.
        batch_size: samples per forward pass.
    """

    def __init__(
        self,
        model: keras.Model,
        layer_name: str | None = None,
        output: str = "auto",
        regression_tolerance: float = 0.1,
        batch_size: int = 256,
    ) -> None:
        if output not in ("auto", *OUTPUT_KINDS):
            raise ValueError(f"output must be 'auto' or one of {', '.join(OUTPUT_KINDS)}; got {output!r}")
        self.model = model
        self.audited = AuditedModel(model, layer_name, batch_size)
        self.layer = self.audited.layer
        self.output_kind = output
        self.regression_tolerance = regression_tolerance
        self.batch_size = batch_size
        self.details: Details = {}
        self.forward: Forward | None = None  # the last run's record of the forward pass

    def run(
        self,
        x: ModelInputs,
        deciding: ArrayLike | None = None,
        permutations: int = 100,
        seed: int = 0,
        adversary: AdversarySearch | None = None,
        measures: tuple[str, ...] | None = None,
    ) -> Result:
        """The measures over the samples `x` (an array, or a list for a model with several inputs).

        `deciding`: optional 0/1 (samples, steps), or (samples, output steps, steps) for an
        encoder-decoder, marking the steps that decide each answer (a unit with none is left out
        of the hit rates). `adversary`: the settings of the search for adversarial attention
        (default: Jain & Wallace's, `AdversarySearch()`). `measures`: the names of the measures
        to run (default all, `MEASURE_NAMES`), to measure a model again with one of them alone.
        Returns a JSON-ready dict, one key per measure; `self.details` keeps the per-unit arrays,
        `self.forward` the record of the forward pass.
        """
        if permutations < 1:
            raise ValueError(f"permutations must be a positive integer; got {permutations!r}")
        chosen = chosen_measures(measures)
        forward = self.forward = forward_pass(self.audited, x, self.output_kind, self.regression_tolerance)
        # The gradients and leave-one-out, only where a measure reads them (a forward pass per step and sample)
        explained = importances(forward, self.batch_size) if any(m.reads_importances for m in chosen) else None
        request = Request(
            deciding=deciding,
            permutations=permutations,
            seed=seed,
            rng=np.random.default_rng(seed),
            adversary=adversary or AdversarySearch(),
        )
        result: Result = {
            "samples": forward.samples,
            "units": int(forward.samples * forward.unit_count),
            "output": forward.kind,
            "steps": int(forward.steps),
            "mean_valid_steps": float(forward.valid.sum(axis=-1).mean()),
        }
        details: Details = {"weights": forward.per_unit, "valid": forward.valid, "decisions": forward.decisions}
        if explained is not None:
            details.update(gradient=explained.gradient, leave_one_out=explained.leave_one_out)
        for measure in chosen:
            # explained is None only where no chosen measure reads it
            measured, kept = measure.compute(forward, explained, request)  # type: ignore[arg-type]
            if measured is not None or not measure.omitted_when_none:
                result[measure.name] = measured
            details.update(kept)
        self.details = details
        return result
