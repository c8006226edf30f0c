"""What explains each unit's output besides the attention, computed once from the forward record
and shared by the measures: gradient × input, leave-one-out, and the gradient of the decision with
respect to the weights."""

from dataclasses import dataclass

import numpy as np
from keras import ops

from attention._types import FloatArray, Tensor
from attention.audit.forward import Forward
from attention.audit.gradients import gradient
from attention.audit.inputs import leaving_out
from attention.audit.model import _model, call
from attention.predict import batches


@dataclass(frozen=True)
class Importances:
    """Per unit and step, (samples, units, steps): `gradient` (gradient × input, normalised to sum
    to 1), `leave_one_out` (the output's change with the step left out) and `weight_gradient`
    (∂ decision score / ∂ weight, the states fixed)."""

    gradient: FloatArray
    leave_one_out: FloatArray
    weight_gradient: FloatArray


def importances(forward: Forward, batch_size: int) -> Importances:
    return Importances(
        gradient=gradient_times_input(forward, batch_size),
        leave_one_out=leave_one_out(forward),
        weight_gradient=weight_gradient(forward, batch_size),
    )


def _score(forward: Forward, y: Tensor, unit: int, part: slice) -> Tensor:
    """The scalar whose gradient explains the decision of `unit` for the samples `part`: the
    predicted class's probability (binary: the positive probability, as Jain & Wallace), or the
    value."""
    y = y[:, unit] if forward.per_row else ops.reshape(y, (ops.shape(y)[0], -1))
    if forward.kind == "classes":
        assert forward.decisions is not None  # a classifier decides
        return ops.sum(y * ops.one_hot(forward.decisions[part, unit], ops.shape(y)[-1]), axis=-1)
    return y[:, 0]


def gradient_times_input(forward: Forward, batch_size: int) -> FloatArray:
    """|Σ_d ∂score/∂e_d · e_d| per step, the attention held constant: (samples, units, steps)."""
    model, x = forward.model.model, forward.inputs
    index, embedding = forward.input_index, forward.embedding
    if embedding is None:
        through = _model(model.inputs, model.outputs[0])
        values = x[index].astype("float32")
    else:
        # The model's inputs too: a masking embedding's mask is computed from the tokens.
        through = _model([embedding.output, *model.inputs], model.outputs[0])
        values = ops.convert_to_numpy(embedding(x[index]))
    importance = np.zeros((len(values), forward.unit_count, forward.steps))
    for unit in range(forward.unit_count):
        for part in batches(len(values), batch_size):

            def score(v: Tensor, part: slice = part, unit: int = unit) -> Tensor:
                rest = [a[part] for a in x]
                inputs = [*rest[:index], v, *rest[index + 1 :]] if embedding is None else [v, *rest]
                return _score(forward, call(through, inputs), unit, part)

            with forward.model.layer.weights_changed(ops.stop_gradient):
                grad = gradient(score, values[part])
            product = grad * values[part]
            importance[part, unit] = np.abs(product.reshape((*product.shape[:2], -1)).sum(axis=-1))
    importance = np.where(forward.valid[:, None], importance, 0.0)
    normalised: FloatArray = importance / np.maximum(importance.sum(axis=-1, keepdims=True), 1e-30)
    return normalised


def weight_gradient(forward: Forward, batch_size: int) -> FloatArray:
    """∂ decision score / ∂ weight, per unit and step, with the states fixed."""
    weights, head, layer = forward.weights, forward.model.head, forward.model.layer
    grads = np.zeros((len(weights), forward.unit_count, forward.steps))
    for unit in range(forward.unit_count):
        for part in batches(len(weights), batch_size):

            def score(w: Tensor, part: slice = part, unit: int = unit) -> Tensor:
                def change(_: Tensor, w: Tensor = w) -> Tensor:
                    return ops.reshape(w, (-1, *forward.layer_shape))

                with layer.weights_changed(change):
                    y = call(head, [s[part] for s in forward.states])
                return _score(forward, y, unit, part)

            grad = gradient(score, weights[part].astype("float32"))
            grads[part, unit] = grad[:, unit] if forward.per_row else grad.sum(axis=1)
    return grads


def leave_one_out(forward: Forward) -> FloatArray:
    """The change of each unit's output when each valid step is left out: (samples, units, steps)."""
    x, index = forward.inputs, forward.input_index
    samples, steps = np.nonzero(forward.valid)
    left_out = leaving_out(x[index], samples, steps)
    inputs = [left_out if i == index else v[samples] for i, v in enumerate(x)]
    after = forward.predict(inputs[0] if len(inputs) == 1 else inputs)
    importance = np.zeros((forward.samples, forward.unit_count, forward.steps))
    importance[samples, :, steps] = forward.change(forward.outputs[samples], after)
    return importance
