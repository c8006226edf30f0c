"""The attention blocks of keras-attention-mechanism (seed 000) and feed-forward pooling (seed 002)."""

import keras
from keras import ops

from attention.base import SoftmaxAttention


@keras.saving.register_keras_serializable(package="attention")
class FeatureAttention(SoftmaxAttention):
    """The 2D block: a softmax over the input features, multiplied with the input.

    Input (batch, features) → output (batch, features). Weights: (batch, features), summing to 1
    over the features. The scores are a dense layer over the features, as `Dense(features,
    activation='softmax')` in the seed.
    """

    def build(self, input_shape):
        features = input_shape[-1]
        self.kernel = self.add_weight(name="kernel", shape=(features, features))
        self.bias = self.add_weight(name="bias", shape=(features,), initializer="zeros")

    def score(self, inputs, query):
        return ops.matmul(inputs, self.kernel) + self.bias

    def combine(self, inputs, weights, query):
        return inputs * weights


@keras.saving.register_keras_serializable(package="attention")
class TimeAttention(SoftmaxAttention):
    """The 3D block: a softmax over time steps, for each input dimension or shared by all.

    Input (batch, steps, dims) → output (batch, steps, dims), the inputs reweighted, so the block
    fits before a recurrent layer (on its inputs) or after one (on its sequence output).
    Weights: (batch, steps, dims), each column summing to 1 over the steps; with `shared=True`
    (the seed's `SINGLE_ATTENTION_VECTOR`) the mean over the dimensions, (batch, steps).
    Each step's score is a learned mix of all steps, so the number of steps must be fixed.
    """

    def __init__(self, shared=False, **kwargs):
        super().__init__(**kwargs)
        self.shared = shared

    def build(self, input_shape):
        steps = input_shape[-2]
        if steps is None:
            raise ValueError(f"TimeAttention needs a fixed number of time steps; got input shape {input_shape}.")
        self.kernel = self.add_weight(name="kernel", shape=(steps, steps))
        self.bias = self.add_weight(name="bias", shape=(steps,), initializer="zeros")

    def score(self, inputs, query):
        per_dimension = ops.transpose(inputs, (0, 2, 1))  # (batch, dims, steps)
        return ops.matmul(per_dimension, self.kernel) + self.bias

    def arrange(self, weights):
        if self.shared:
            return ops.mean(weights, axis=1)
        return ops.transpose(weights, (0, 2, 1))

    def combine(self, inputs, weights, query):
        if self.shared:
            weights = ops.expand_dims(weights, axis=-1)
        return inputs * weights

    def get_config(self):
        return {**super().get_config(), "shared": self.shared}


@keras.saving.register_keras_serializable(package="attention")
class AttentionPooling(SoftmaxAttention):
    """Feed-forward attention pooling: one tanh score per step, softmax over time, weighted sum.

    Input (batch, steps, units) → output (batch, units). Weights: (batch, steps), summing to 1
    over the steps.
    """

    def build(self, input_shape):
        units = input_shape[-1]
        self.kernel = self.add_weight(name="kernel", shape=(units, 1))
        self.bias = self.add_weight(name="bias", shape=(1,), initializer="zeros")

    def score(self, inputs, query):
        return ops.squeeze(ops.tanh(ops.matmul(inputs, self.kernel) + self.bias), axis=-1)

    def combine(self, inputs, weights, query):
        return ops.sum(inputs * ops.expand_dims(weights, axis=-1), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None  # the time axis is summed away
