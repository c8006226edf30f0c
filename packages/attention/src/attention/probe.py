"""Reading attention weights out of a trained model, by layer name."""

from typing import Any

import keras

from attention._types import FloatArray, ModelInputs, Tensor
from attention.predict import predict_in_batches


class _AttentionWeightsOf(keras.layers.Layer):
    """Calls a trained attention layer and outputs only its weights.

    A fresh layer, because Keras' functional graph assumes every call of a layer has the output
    structure of its first call: calling the trained layer again with `return_attention_scores`
    would break that.
    """

    def __init__(self, attention_layer: keras.layers.Layer, read: str = "return_attention_scores", **kwargs: Any):
        super().__init__(**kwargs)
        self.attention_layer, self.read = attention_layer, read

    def call(self, inputs: Tensor, mask: Tensor | None = None) -> Tensor:
        _, weights = self.attention_layer(inputs, mask=mask, **{self.read: True})
        return weights

    def compute_mask(self, inputs: Tensor, mask: Tensor | None = None) -> None:
        return None


def attention_model(model: keras.Model, layer_name: str, read: str = "return_attention_scores") -> keras.Model:
    """A model from `model`'s inputs to the attention weights of its layer `layer_name`.

    The layer must accept `return_attention_scores=True`, as every layer of this package does
    (`read="return_stack"`: a `TransformerEncoder`'s weights of every block and head). The probe
    shares the trained weights and sees the same input mask as the trained layer.
    """
    layer = model.get_layer(layer_name)
    # `layer.input` also lists the mask the layer was called with (boolean): the one Keras passed
    # on with its inputs, or one given as `mask=` (a `TokenMask`, say). One input with one mask is
    # called with it again; otherwise the inputs carry their masks, which apply again by themselves.
    flat = keras.tree.flatten(layer.input)
    inputs = [t for t in flat if t.dtype != "bool"]
    masks = [t for t in flat if t.dtype == "bool"]
    probe = _AttentionWeightsOf(layer, read, name=f"{layer_name}_weights")
    if len(inputs) == 1 and len(masks) == 1:
        weights = probe(inputs[0], mask=masks[0])
    else:
        weights = probe(inputs[0] if len(inputs) == 1 else inputs)
    return keras.Model(model.inputs, weights, name=f"{layer_name}_probe")


def attention_weights(model: keras.Model, layer_name: str, inputs: ModelInputs, batch_size: int = 256) -> FloatArray:
    """The attention weights (a NumPy array) of layer `layer_name` for `inputs`."""
    weights: FloatArray = predict_in_batches(attention_model(model, layer_name), inputs, batch_size)
    return weights
