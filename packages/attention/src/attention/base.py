"""The shared skeleton of every attention layer: score → mask → softmax → combine."""

import contextlib
from collections.abc import Iterator
from typing import Any, TypeVar

import keras
from keras import ops

from attention._types import Shape, Tensor, WeightsChange

_Layer = TypeVar("_Layer", bound="SoftmaxAttention")


def masked_scores(scores: Tensor, mask: Tensor | None) -> Tensor:
    """Pushes the scores of masked positions so low that softmax gives them exactly 0.

    `mask` is (batch, steps) and lines up with the last axis of `scores`, whatever the rank of
    `scores` ((batch, steps) or (batch, dims, steps)).
    """
    if mask is None:
        return scores
    mask = ops.cast(mask, "bool")
    while len(mask.shape) < len(scores.shape):
        mask = ops.expand_dims(mask, axis=-2)
    # float16 cannot hold -1e9; its largest finite value still underflows exp() to 0.
    lowest = -65504.0 if scores.dtype == "float16" else -1e9
    return ops.where(mask, scores, ops.cast(lowest, scores.dtype))


class SoftmaxAttention(keras.layers.Layer):
    """Base class: subclasses say how to score and how to combine; `call` is the same for all.

    Args (every layer's, besides its own):
        dropout: the fraction of the normalised weights dropped while training (0: none), as in
            `keras.layers.Attention`; the weights returned are those before dropout.
        seed: the seed of the dropout's random draws.
        kernel_initializer, bias_initializer: the initializers of the layer's learned weights
            (Keras' own defaults: 'glorot_uniform' and 'zeros').

    Call arguments:
        inputs: the tensor to attend over.
        mask: optional boolean (batch, steps) mask; masked steps get weight exactly 0.
        return_attention_scores: if True, returns `(outputs, weights)`; the weights are the
            softmax-normalised attention (they sum to 1 over the attended axis).
        training: whether dropout applies (Keras sets it in `fit`).
    """

    supports_masking = True
    _weights_change: WeightsChange | None = None  # set only inside `weights_changed`; never saved

    def __init__(
        self,
        dropout: float = 0.0,
        seed: int | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
        self.dropout, self.seed = float(dropout), seed
        self.seed_generator = keras.random.SeedGenerator(seed) if dropout > 0 else None
        # Kept as given and resolved where each weight is made, as Keras' own add_weight resolves
        # its default: an unseeded initializer draws its seed when it is made.
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def add_kernel(self, name: str, shape: Shape) -> Tensor:
        """A learned weight of the layer, made by its kernel initializer."""
        return self.add_weight(name=name, shape=shape, initializer=self.kernel_initializer)

    def add_bias(self, name: str, shape: Shape) -> Tensor:
        """A learned bias of the layer, made by its bias initializer."""
        return self.add_weight(name=name, shape=shape, initializer=self.bias_initializer)

    @contextlib.contextmanager
    def weights_changed(self: _Layer, change: WeightsChange) -> Iterator[_Layer]:
        """Within the block, the layer passes its normalised weights (attended axis last, before
        `arrange`) through `change` and uses what it returns: to erase, permute, fix or record them
        while the inputs stay as they are. The faithfulness audit runs on it.

            with layer.weights_changed(lambda w: ops.ones_like(w) / ops.shape(w)[-1]):
                uniform = model(x)

        A function traced inside the block (`tf.function`, `jax.jit`) keeps the change it saw.
        Blocks nest; leaving one restores the change before it.
        """
        before = self._weights_change
        self._weights_change = change
        try:
            yield self
        finally:
            self._weights_change = before

    def query(self, inputs: Tensor, mask: Tensor | None) -> Tensor | None:
        """What attends: for many-to-one attention the last hidden state; None by default."""
        return None

    def attended_mask(self, mask: Tensor | None) -> Tensor | None:
        """The mask of the attended steps, from the mask Keras passes in (default: that mask)."""
        return mask

    def score(self, inputs: Tensor, query: Tensor | None) -> Tensor:
        """Unnormalised scores, with the attended axis last."""
        raise NotImplementedError

    def arrange(self, weights: Tensor) -> Tensor:
        """Puts the normalised weights into the layout returned to callers (default: as is)."""
        return weights

    def combine(self, inputs: Tensor, weights: Tensor, query: Tensor | None) -> Tensor:
        """Applies the arranged weights to the inputs."""
        raise NotImplementedError

    def call(
        self,
        inputs: Tensor,
        mask: Tensor | None = None,
        return_attention_scores: bool = False,
        training: bool | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        query = self.query(inputs, mask)
        scores = masked_scores(self.score(inputs, query), self.attended_mask(mask))
        weights = ops.softmax(scores, axis=-1)
        if self._weights_change is not None:
            weights = self._weights_change(weights)
        combined = weights
        if training and self.seed_generator is not None:
            combined = keras.random.dropout(weights, self.dropout, seed=self.seed_generator)
        outputs = self.combine(inputs, self.arrange(combined), query)
        if return_attention_scores:
            return outputs, self.arrange(weights)
        return outputs

    def get_config(self) -> dict[str, Any]:
        def saved(initializer: Any) -> Any:  # a name or a config as given; an instance as its config
            return initializer if isinstance(initializer, (str, dict)) else keras.initializers.serialize(initializer)

        return {
            **super().get_config(),
            "dropout": self.dropout,
            "seed": self.seed,
            "kernel_initializer": saved(self.kernel_initializer),
            "bias_initializer": saved(self.bias_initializer),
        }
