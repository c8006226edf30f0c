"""The audited model cut at its attention layer: the encoder (everything up to the states the
attention reads) and the head (from those states to the output), and the forward passes that the
measures ask for: the head with other weights, and the whole model on changed inputs."""

from collections.abc import Callable, Sequence
from typing import TypeAlias

import keras
import numpy as np
from keras import ops

from attention._types import Array, FloatArray, ModelInputs, Tensor
from attention.base import SoftmaxAttention
from attention.predict import batches, predict_in_batches

# The head with the attention's weights replaced: (the head's inputs, the weights) → its output.
HeadFunction: TypeAlias = Callable[[list[Tensor], Tensor], Tensor]


def as_list(x: ModelInputs) -> list[Array]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _model(inputs: Sequence[Tensor], outputs: Tensor) -> keras.Model:
    """A functional model over a list of inputs (one input: unwrapped, as `call` passes it)."""
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs)


def call(model: keras.Model, inputs: Sequence[Tensor]) -> Tensor:
    """`model` called in inference mode on a list of inputs (one input: unwrapped, as it was built)."""
    inputs = [ops.convert_to_tensor(i) for i in inputs]  # Keras takes tensors or arrays, not both
    return model(inputs[0] if len(inputs) == 1 else inputs, training=False)


def find_layer(model: keras.Model, layer_name: str | None) -> SoftmaxAttention:
    if layer_name is not None:
        layer = model.get_layer(layer_name)
        if not isinstance(layer, SoftmaxAttention):
            raise ValueError(
                f"layer {layer_name!r} is a {type(layer).__name__}, not one of this package's attention layers"
            )
        return layer
    # Top-level layers only: the audit cuts the model's own graph at the attention layer.
    found = [layer for layer in model.layers if isinstance(layer, SoftmaxAttention)]
    if len(found) != 1:
        names = ", ".join(layer.name for layer in found) or "none"
        raise ValueError(f"the audit needs exactly one attention layer of this package, or its name; found: {names}")
    return found[0]


class AuditedModel:
    """A functional Keras model with one attention layer of this package, cut at that layer."""

    def __init__(self, model: keras.Model, layer_name: str | None = None, batch_size: int = 256) -> None:
        self.model = model
        self.layer = find_layer(model, layer_name)
        self.batch_size = batch_size
        # The states the attention reads ("cut" tensors) and the model from them to the output:
        # the head, run again with changed weights while everything before it stays fixed. The
        # head also takes the model's inputs: Keras computes masks from them in the graph.
        cut = [t for t in keras.tree.flatten(self.layer.input) if t.dtype != "bool"]
        self.layer_inputs = len(cut)  # the head's first inputs: what the attention layer reads
        self._raw = [i for i, t in enumerate(model.inputs) if not any(t is c for c in cut)]
        self.encoder = _model(model.inputs, cut)
        try:
            self.head = _model(cut + [model.inputs[i] for i in self._raw], model.outputs[0])
        except ValueError as error:
            raise ValueError(
                "the audit needs the model's output to depend on its inputs only through the attention "
                f"layer's inputs; Keras says: {error}"
            ) from None
        self._replaced = self._compiled(self._head_with)

    def encode(self, x: ModelInputs) -> list[Array]:
        """The head's inputs for `x`: the attention's inputs, then the model inputs it also takes."""
        states = as_list(predict_in_batches(self.encoder, x, self.batch_size))
        return states + [as_list(x)[i] for i in self._raw]

    def recorded_weights(self, states: list[Array]) -> tuple[FloatArray, FloatArray]:
        """(the attention's normalised weights as the layer computes them, before it arranges
        them; the model's outputs), batch by batch from the states."""
        seen: list[FloatArray] = []

        def record(w: Tensor) -> Tensor:
            seen.append(ops.convert_to_numpy(w))
            return w

        outputs: list[FloatArray] = []
        for part in batches(len(states[0]), self.batch_size):
            with self.layer.weights_changed(record):
                outputs.append(ops.convert_to_numpy(call(self.head, [s[part] for s in states])))
        return np.concatenate(seen), np.concatenate(outputs)

    def head_with(self, states: list[Array], weights: FloatArray, layer_shape: tuple[int, ...]) -> FloatArray:
        """The model's output from the attention's inputs with `weights` (samples, rows, steps),
        arranged as the layer computes them (`layer_shape`), in place of its own."""
        outputs: list[FloatArray] = []
        for part in batches(len(states[0]), self.batch_size):
            replacement = weights[part].reshape((-1, *layer_shape)).astype("float32")
            y = self._replaced([ops.convert_to_tensor(s[part]) for s in states], ops.convert_to_tensor(replacement))
            outputs.append(ops.convert_to_numpy(y))
        return np.concatenate(outputs)

    def _head_with(self, states: list[Tensor], replacement: Tensor) -> Tensor:
        def change(w: Tensor) -> Tensor:
            return ops.cast(replacement, w.dtype)

        with self.layer.weights_changed(change):
            return call(self.head, states)

    def _compiled(self, function: HeadFunction) -> HeadFunction:
        """`function` compiled where the backend can: the audit calls the head hundreds of times,
        and a head that holds a recurrent layer is slow step by step."""
        if keras.backend.backend() != "tensorflow":
            return function
        import tensorflow as tf  # noqa: PLC0415  (its tf.function, on TensorFlow only)

        # The change is made while tracing, so the graph reads `replacement`.
        compiled: HeadFunction = tf.function(function, reduce_retracing=True, autograph=False)
        return compiled

    def attended_input(self, steps: int) -> tuple[int, keras.layers.Embedding | None]:
        """(index of the model input whose steps the attention reads, the layer whose output the
        gradient is taken on: an Embedding of it, or None for the input itself)."""
        embeddings = [
            layer
            for layer in self.model.layers
            # None: a model of any length (its batches cut to their longest, say)
            if isinstance(layer, keras.layers.Embedding) and layer.output.shape[1] in (steps, None)
        ]
        inputs = self.model.inputs
        if len(embeddings) == 1:
            embedding = embeddings[0]
            matches = [i for i, t in enumerate(inputs) if t is embedding.input]
            if matches:
                return matches[0], embedding
        matches = [i for i, t in enumerate(inputs) if t.shape[1] == steps and "float" in str(t.dtype)]
        if len(matches) != 1:
            raise ValueError(
                f"cannot tell which input the attention's {steps} steps come from: the audit needs one "
                f"Embedding or one float input with {steps} steps"
            )
        return matches[0], None

    def predict(self, inputs: ModelInputs, index: int, cut: bool) -> FloatArray:
        """The model's outputs for changed inputs. Where the padding is `cut`, rows of similar
        length share a batch, cut to the columns where one of its rows holds a token of input
        `index`: a masked model computes the same, and a row of 180 words costs 180 steps
        instead of the full width."""
        if not cut:
            whole: FloatArray = predict_in_batches(self.model, inputs, self.batch_size)
            return whole
        x = as_list(inputs)
        filled = x[index] != 0
        first = np.where(filled.any(axis=1), np.argmax(filled, axis=1), 0)
        end = np.where(filled.any(axis=1), filled.shape[1] - np.argmax(filled[:, ::-1], axis=1), 1)
        order = np.argsort(end - first, kind="stable")
        outputs: list[FloatArray] = []
        for part in batches(len(order), self.batch_size):
            rows = order[part]
            window = slice(int(first[rows].min()), int(end[rows].max()))
            batch = [v[rows][:, window] if i == index else v[rows] for i, v in enumerate(x)]
            outputs.append(np.asarray(self.model.predict_on_batch(batch[0] if len(batch) == 1 else batch)))
        predicted = np.concatenate(outputs)
        predicted[order] = predicted.copy()  # back to the callers' order
        return predicted

    def cuts_padding(self, x: ModelInputs, index: int, embedding: keras.layers.Embedding | None, rows: int) -> bool:
        """Whether `predict` may cut the padding: the attended input is of tokens that an
        Embedding masks, the model takes any length, and on the first `rows` it predicts the same
        cut as padded (a layer between that drops the mask would not)."""
        if embedding is None or not embedding.mask_zero or self.model.inputs[index].shape[1] is not None:
            return False
        sample = [v[:rows] for v in as_list(x)]
        padded = predict_in_batches(self.model, sample[0] if len(sample) == 1 else sample)
        return np.allclose(self.predict(sample, index, cut=True), padded, rtol=1e-4, atol=1e-5)
