"""The one record of the forward pass that every measure reads: the inputs, the states the
attention reads, its weights, the outputs and what they decide, and which steps count. Its
arrays are read-only: a measure that changes the weights or the inputs works on a copy, so the
measures cannot disturb one another."""

from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

import keras
import numpy as np
from numpy.typing import NDArray

from attention._types import Array, BoolArray, FloatArray, IntArray, ModelInputs
from attention.audit.model import AuditedModel, as_list

OUTPUT_KINDS = ("binary", "classes", "regression")


@dataclass(frozen=True)
class Forward:
    """The audited model's forward pass over the samples `inputs`.

    `weights` are (samples, rows, steps), one row per output step of an encoder-decoder, else
    one; `per_unit` are the weights each unit is explained by, (samples, units, steps) (one unit
    per sample, or per output step where each has its own row: `per_row`); `outputs` are
    (samples, units, values); `valid` (samples, steps) marks the steps that count: neither masked
    by the layer nor padding (token 0) that the model does not mask."""

    model: AuditedModel
    inputs: list[Array]
    states: list[Array]
    weights: FloatArray
    layer_shape: tuple[int, ...]  # the weights as the layer computes them, per sample
    outputs: FloatArray
    per_row: bool
    kind: str  # one of OUTPUT_KINDS
    regression_tolerance: float
    input_index: int  # the model input whose steps the attention reads
    embedding: keras.layers.Embedding | None  # its Embedding, or None: the gradient is on the input
    valid: BoolArray
    per_unit: FloatArray
    cut_padding: bool  # whether changed inputs may run cut to their tokens (`AuditedModel.predict`)

    def __post_init__(self) -> None:
        # Read-only views: the record cannot be changed, and the caller's own arrays stay writable.
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                object.__setattr__(self, field.name, _read_only(value))
            elif isinstance(value, list):
                object.__setattr__(self, field.name, [_read_only(v) if isinstance(v, np.ndarray) else v for v in value])

    @property
    def samples(self) -> int:
        return len(self.outputs)

    @property
    def steps(self) -> int:
        return int(self.weights.shape[2])

    @property
    def unit_count(self) -> int:
        return int(self.outputs.shape[1])

    @cached_property  # read for every batch of the gradients: taken once
    def decisions(self) -> IntArray | None:
        """The decided class of each unit (binary: 0 or 1), or None for a regression."""
        return self.decision(self.outputs)

    # ---- what an output means -------------------------------------------------------------------

    def units(self, y: FloatArray) -> FloatArray:
        """Outputs of the model as (samples, units, values), as `outputs` are."""
        return y if self.per_row else y.reshape((len(y), 1, -1))

    def change(self, before: FloatArray, after: FloatArray) -> FloatArray:
        """How far the output moved: the total variation distance of a classifier's (binary: the
        absolute difference of the probability), or the absolute difference of a regression."""
        if self.kind == "classes":
            distance: FloatArray = 0.5 * np.abs(after - before).sum(axis=-1)
            return distance
        return np.abs(after - before)[..., 0]

    def decision(self, y: FloatArray) -> IntArray | None:
        if self.kind == "classes":
            decided: IntArray = y.argmax(axis=-1)
            return decided
        if self.kind == "binary":
            return (y[..., 0] > 0.5).astype(int)
        return None

    def distribution(self, y: FloatArray) -> FloatArray | None:
        """The output as a distribution over classes (binary: [1 − p, p]); None for a regression."""
        if self.kind == "binary":
            return np.concatenate([1 - y, y], axis=-1)
        return y if self.kind == "classes" else None

    def flipped(self, before: FloatArray, after: FloatArray) -> BoolArray:
        if self.kind == "regression":
            return np.abs(after - before)[..., 0] > self.regression_tolerance
        decided_before, decided_after = self.decision(before), self.decision(after)
        assert decided_before is not None and decided_after is not None  # a classifier decides
        flips: BoolArray = decided_before != decided_after
        return flips

    def predicted_probability(self, y: FloatArray, decided: IntArray) -> FloatArray:
        """Per sample, the probability that the output `y` gives the class decided on the whole input."""
        if self.kind == "binary":
            return np.where(decided == 1, y[..., 0], 1 - y[..., 0])[:, 0]
        return np.take_along_axis(y, decided[..., None], axis=-1)[:, 0, 0]

    # ---- the steps that count -------------------------------------------------------------------

    def valid_for(self, per_unit: FloatArray) -> BoolArray:
        """The valid steps, one row per unit: broadcast to `per_unit`'s (samples, units, steps)."""
        return np.broadcast_to(self.valid[:, None], per_unit.shape)

    # ---- forward passes with something changed ----------------------------------------------------

    def head(self, weights: FloatArray) -> FloatArray:
        """The outputs, as units, with the states fixed and `weights` (samples, rows, steps) in
        place of the attention's own."""
        return self.units(self.model.head_with(self.states, weights, self.layer_shape))

    def predict(self, inputs: ModelInputs) -> FloatArray:
        """The outputs, as units, of the whole model on changed inputs."""
        return self.units(self.model.predict(inputs, self.input_index, self.cut_padding))


def _read_only(array: NDArray[Any]) -> NDArray[Any]:
    view: NDArray[Any] = array.view()
    view.setflags(write=False)
    return view


def without(weights: FloatArray, removed: BoolArray) -> FloatArray:
    """The weights with the steps in `removed` (samples, units, steps) zeroed, renormalised."""
    kept = np.where(removed, 0.0, weights)  # one row per unit, or one row for all
    renormalised: FloatArray = kept / np.maximum(kept.sum(axis=-1, keepdims=True), 1e-30)
    return renormalised


def output_kind_of(model: keras.Model, y: FloatArray, output_kind: str = "auto") -> str:
    """`output_kind`, or for 'auto' what `model`'s outputs `y` (last axis: the values) are: several
    values are classes, one behind a sigmoid binary, else a regression."""
    if output_kind != "auto":
        return output_kind
    if y.shape[-1] > 1:
        return "classes"
    activation = getattr(model.layers[-1], "activation", None)
    return "binary" if getattr(activation, "__name__", "") == "sigmoid" else "regression"


def forward_pass(
    model: AuditedModel, x: ModelInputs, output_kind: str = "auto", regression_tolerance: float = 0.1
) -> Forward:
    """The `Forward` record of `model` (an `AuditedModel`) over the samples `x`."""
    inputs = as_list(x)
    states = model.encode(x)
    recorded, y = model.recorded_weights(states)
    weights: FloatArray = recorded.reshape((len(recorded), -1, recorded.shape[-1]))  # (samples, rows, steps)
    rows, steps = weights.shape[1], weights.shape[2]
    per_row = y.ndim == 3 and y.shape[1] == rows and rows > 1
    outputs = y if per_row else y.reshape((len(y), 1, -1))
    input_index, embedding = model.attended_input(steps)
    valid = weights.max(axis=1) > 0  # the layer's own mask
    if embedding is not None:
        valid &= inputs[input_index] != 0  # padding the model does not mask
    return Forward(
        model=model,
        inputs=inputs,
        states=states,
        weights=weights,
        layer_shape=recorded.shape[1:],
        outputs=outputs,
        per_row=per_row,
        kind=output_kind_of(model.model, outputs, output_kind),
        regression_tolerance=regression_tolerance,
        input_index=input_index,
        embedding=embedding,
        valid=valid,
        per_unit=weights if per_row else weights.mean(axis=1, keepdims=True),
        cut_padding=model.cuts_padding(x, input_index, embedding, rows=min(len(valid), 16)),
    )
