"""A Transformer encoder built from Keras' own `MultiHeadAttention`, pooled to one vector, whose
attention reads out as the other layers' does: its rollout over the input steps."""

from typing import Any

import keras
from keras import ops

from attention._types import Shape, Tensor

POOLINGS = ("mean", "class_token")


def rollout_of(stack: Tensor, output_steps: Tensor) -> Tensor:
    """Attention rollout (Abnar & Zuidema 2020) in `keras.ops`: `stack` (batch, layers, heads, steps,
    steps), heads averaged and the residual mixed in (½·A + ½·I, rows renormalised), multiplied
    through the layers; the rows of `output_steps` ((batch, steps) weights summing to 1) averaged.
    Returns (batch, steps). `attention.audit.stack.rollout` is the same in NumPy."""
    mean = ops.mean(stack, axis=2)
    mixed = 0.5 * mean + 0.5 * ops.eye(ops.shape(mean)[-1], dtype=mean.dtype)
    mixed = mixed / ops.sum(mixed, axis=-1, keepdims=True)
    rolled = mixed[:, 0]
    for layer in range(1, stack.shape[1]):
        rolled = ops.matmul(mixed[:, layer], rolled)
    return ops.einsum("bt,bts->bs", output_steps, rolled)


@keras.saving.register_keras_serializable(package="attention")
class TransformerEncoder(keras.layers.Layer):
    """`layers` Transformer encoder blocks over a sequence, pooled to one vector.

    The inputs are projected to `model_dim` (where their size differs) and a learned position
    embedding is added; each block is `keras.layers.MultiHeadAttention` (self-attention, masked
    steps never attended to), dropout, add & layer norm, a ReLU feed-forward of `feed_forward`
    units back to `model_dim`, dropout, add & layer norm (the block of keras.io's text
    classification Transformer). The output is the mean over the unmasked steps, or the state of a
    learned class token put before the first step (`pooling='class_token'`).

    Args:
        model_dim: the width of the blocks.
        heads: `MultiHeadAttention`'s `num_heads`.
        key_dim: `MultiHeadAttention`'s `key_dim`, the size of each head's queries and keys.
        feed_forward: the units of each block's feed-forward layer.
        layers: how many blocks.
        dropout: after the attention and the feed-forward, and on the attention weights.
        pooling: 'mean' or 'class_token'.
        seed: the seed of the dropout's random draws.
        max_steps: for inputs of any length (None steps), the most steps they have (the position
            embedding's size); None: the inputs' fixed number of steps.

    Call arguments:
        inputs: (batch, steps, features); steps fixed, or at most `max_steps`.
        mask: optional (batch, steps).
        return_attention_scores: if True, returns `(outputs, weights)`: the rollout of the output over
            the input steps, (batch, steps), summing to 1, masked steps 0.
        return_stack: if True, returns `(outputs, stack)`: every block's and head's weights, (batch,
            layers, heads, steps, steps) (steps + 1 with a class token, first).

    Output (batch, model_dim).
    """

    def __init__(
        self,
        model_dim: int = 32,
        heads: int = 2,
        key_dim: int = 16,
        feed_forward: int = 32,
        layers: int = 2,
        dropout: float = 0.1,
        pooling: str = "mean",
        seed: int | None = None,
        max_steps: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for name, value in (("model_dim", model_dim), ("heads", heads), ("key_dim", key_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TransformerEncoder {name} must be a positive integer, got {value!r}")
        if isinstance(layers, bool) or not isinstance(layers, int) or layers < 1:
            raise ValueError(f"TransformerEncoder layers must be a positive integer, got {layers!r}")
        if pooling not in POOLINGS:
            raise ValueError(f"TransformerEncoder pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        self.model_dim, self.heads, self.key_dim, self.feed_forward = model_dim, heads, key_dim, feed_forward
        if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
            raise ValueError(f"TransformerEncoder max_steps must be None or a positive integer, got {max_steps!r}")
        self.depth, self.dropout, self.pooling, self.seed = layers, float(dropout), pooling, seed
        self.max_steps = max_steps
        self.supports_masking = True
        self.project: keras.layers.Dense | None = None
        # One list per kind of sublayer (Keras tracks a layer's lists of layers, and saves them).
        self.attentions = [
            keras.layers.MultiHeadAttention(heads, key_dim, dropout=dropout, seed=seed, name=f"attention_{i}")
            for i in range(layers)
        ]
        self.first_norms = [
            keras.layers.LayerNormalization(epsilon=1e-6, name=f"first_norm_{i}") for i in range(layers)
        ]
        self.hidden = [keras.layers.Dense(feed_forward, activation="relu", name=f"hidden_{i}") for i in range(layers)]
        self.back = [keras.layers.Dense(model_dim, name=f"back_{i}") for i in range(layers)]
        self.second_norms = [
            keras.layers.LayerNormalization(epsilon=1e-6, name=f"second_norm_{i}") for i in range(layers)
        ]
        self.dropouts = [keras.layers.Dropout(dropout, seed=seed, name=f"dropout_{i}") for i in range(layers)]

    def build(self, input_shape: Shape) -> None:
        steps, features = input_shape[-2], input_shape[-1]
        steps = self.max_steps or steps
        if steps is None:
            raise ValueError(
                f"TransformerEncoder needs a fixed number of steps, or max_steps for inputs of any length; "
                f"got input shape {input_shape}."
            )
        if features != self.model_dim:
            self.project = keras.layers.Dense(self.model_dim, name="project")
            self.project.build(input_shape)
        steps += self.pooling == "class_token"
        self.positions = self.add_weight(name="positions", shape=(steps, self.model_dim), initializer="uniform")
        if self.pooling == "class_token":
            self.class_token = self.add_weight(name="class_token", shape=(self.model_dim,), initializer="zeros")
        shape = (None, steps, self.model_dim)
        for i in range(self.depth):
            self.attentions[i].build(shape, shape)
            self.first_norms[i].build(shape)
            self.hidden[i].build(shape)
            self.back[i].build((None, steps, self.feed_forward))
            self.second_norms[i].build(shape)

    def call(
        self,
        inputs: Tensor,
        mask: Tensor | None = None,
        return_attention_scores: bool = False,
        return_stack: bool = False,
        training: bool | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        x = inputs if self.project is None else self.project(inputs)
        batch, steps = ops.shape(x)[0], ops.shape(x)[1]
        valid = ops.ones((batch, steps), dtype="bool") if mask is None else ops.cast(mask, "bool")
        if self.pooling == "class_token":
            token = ops.broadcast_to(
                ops.reshape(ops.cast(self.class_token, x.dtype), (1, 1, -1)), (batch, 1, self.model_dim)
            )
            x = ops.concatenate([token, x], axis=1)
            valid = ops.concatenate([ops.ones((batch, 1), dtype="bool"), valid], axis=1)
        x = x + ops.cast(self.positions[: ops.shape(x)[1]], x.dtype)  # max_steps: the first ones
        # A query sees the unmasked keys; a masked query's row is dropped by the pooling.
        attention_mask = ops.logical_and(ops.expand_dims(valid, 1), ops.ones_like(ops.expand_dims(valid, 2)))
        stack = []
        for i in range(self.depth):
            attended, weights = self.attentions[i](
                x, x, attention_mask=attention_mask, return_attention_scores=True, training=training
            )
            x = self.first_norms[i](x + self.dropouts[i](attended, training=training))
            x = self.second_norms[i](x + self.dropouts[i](self.back[i](self.hidden[i](x)), training=training))
            stack.append(weights)
        if self.pooling == "class_token":
            outputs = x[:, 0]
            output_steps = ops.one_hot(ops.zeros((batch,), dtype="int32"), ops.shape(x)[1], dtype=x.dtype)
        else:
            output_steps = ops.cast(valid, x.dtype)
            output_steps = output_steps / ops.maximum(ops.sum(output_steps, axis=1, keepdims=True), 1.0)
            outputs = ops.einsum("bt,btd->bd", output_steps, x)
        if return_stack:
            return outputs, ops.stack(stack, axis=1)
        if return_attention_scores:
            rolled = rollout_of(ops.stack(stack, axis=1), output_steps)
            if self.pooling == "class_token":  # the input steps only, without the token itself
                rolled = rolled[:, 1:] / ops.sum(rolled[:, 1:], axis=1, keepdims=True)
            return outputs, rolled
        return outputs

    def compute_mask(self, inputs: Tensor, mask: Tensor | None = None) -> None:
        return None  # the steps are pooled away

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], self.model_dim)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "model_dim": self.model_dim,
            "heads": self.heads,
            "key_dim": self.key_dim,
            "feed_forward": self.feed_forward,
            "layers": self.depth,
            "dropout": self.dropout,
            "pooling": self.pooling,
            "seed": self.seed,
            "max_steps": self.max_steps,
        }
