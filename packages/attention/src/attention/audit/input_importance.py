"""What each input step does to a model's output, whatever is inside the model: gradient × input,
integrated gradients and leave-one-out, on the embedding where the model starts with one (else on
its input). The audit of a stack (`stack.StackAudit`) holds its explanations against them."""

import keras
import numpy as np
from keras import ops

from attention._types import Array, BoolArray, FloatArray, Tensor
from attention.audit.gradients import gradient
from attention.audit.inputs import leaving_out
from attention.audit.model import _model, call
from attention.predict import batches, predict_in_batches


def _embedding(model: keras.Model) -> keras.layers.Embedding | None:
    """The Embedding layer that reads the model's (one) input, or None."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding) and layer.input is model.inputs[0]:
            return layer
    return None


def _output(y: Tensor, decided: Array | None) -> Tensor:
    """f: the one output unit (a binary probability, or a value), or the decided class's probability."""
    if decided is None:
        return ops.reshape(y, (ops.shape(y)[0], -1))[:, 0]
    return ops.sum(y * ops.one_hot(ops.convert_to_tensor(decided), ops.shape(y)[-1]), axis=-1)


def input_importances(
    model: keras.Model, x: Array, valid: BoolArray, ig_steps: int = 32, batch_size: int = 256
) -> tuple[dict[str, FloatArray], float]:
    """({importance: (samples, steps)}, the largest gap between the integrated gradients' sum and
    f(x) − f(baseline)). Steps where `valid` is False get 0."""
    predicted = np.asarray(predict_in_batches(model, x, batch_size))
    several = predicted.reshape(len(x), -1).shape[1] > 1
    decided = predicted.reshape(len(x), -1).argmax(axis=1) if several else None
    embedding = _embedding(model)
    if embedding is None:
        through, values = model, np.asarray(x, dtype="float32")
    else:
        # The tokens too: a masking embedding's mask is computed from them.
        through = _model([embedding.output, *model.inputs], model.outputs[0])
        values = np.asarray(ops.convert_to_numpy(embedding(x)), dtype="float32")

    def f(v: Tensor, part: slice) -> Tensor:
        inputs = [v] if embedding is None else [v, x[part]]
        return _output(call(through, inputs), None if decided is None else decided[part])

    gradient_times_input = np.zeros(valid.shape)
    integrated = np.zeros(valid.shape)
    gap = 0.0
    for part in batches(len(x), batch_size):
        v = values[part]
        per_step = (-1, *v.shape[1:2], int(np.prod(v.shape[2:])))  # (samples, steps, the rest)

        def of_part(t: Tensor, part: slice = part) -> Tensor:
            return f(t, part)

        grad = gradient(of_part, v)
        gradient_times_input[part] = np.abs((grad * v).reshape(per_step).sum(axis=-1))
        path: FloatArray = np.zeros(v.shape)
        for k in range(ig_steps):  # the midpoints of the straight path from 0 to v
            path += gradient(of_part, v * ((k + 0.5) / ig_steps))
        attributions = (v * path / ig_steps).reshape(per_step).sum(axis=-1)
        integrated[part] = np.abs(attributions)
        reached = ops.convert_to_numpy(f(ops.convert_to_tensor(v), part) - f(ops.zeros_like(v), part))
        gap = max(gap, float(np.abs(attributions.sum(axis=1) - reached).max()))
    samples, steps = np.nonzero(valid)
    left_out = np.asarray(predict_in_batches(model, leaving_out(np.asarray(x), samples, steps), batch_size))
    before, after = predicted.reshape(len(x), -1)[samples], left_out.reshape(len(samples), -1)
    if decided is None:
        change = np.abs(after[:, 0] - before[:, 0])
    else:
        change = np.abs(
            after[np.arange(len(samples)), decided[samples]] - before[np.arange(len(samples)), decided[samples]]
        )
    leave_one_out = np.zeros(valid.shape)
    leave_one_out[samples, steps] = change
    importances = {
        "gradient": np.where(valid, gradient_times_input, 0.0),
        "leave_one_out": leave_one_out,
        "integrated_gradients": np.where(valid, integrated, 0.0),
    }
    return importances, gap
