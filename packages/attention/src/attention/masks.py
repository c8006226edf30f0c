"""Which steps an attention layer attends over, made from the tokens."""

from collections.abc import Iterable
from typing import Any

import keras
from keras import ops

from attention._types import Tensor


@keras.saving.register_keras_serializable(package="attention")
class TokenMask(keras.layers.Layer):
    """The steps to attend over: True where the token is none of `ignore` (padding, and marks that
    a model reads but does not attend to, as Jain & Wallace's <SOS> and <EOS>). Give it to the
    attention layer as its mask; the recurrent layer below keeps the padding mask alone.

        words = TokenMask(ignore=(0, 2, 3))(tokens)
        pooled = AttentionPooling(128)(states, mask=words)

    Input (batch, steps) integer ids → output (batch, steps) bool.
    """

    def __init__(self, ignore: Iterable[int] = (0,), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore = tuple(int(token) for token in ignore)

    def call(self, tokens: Tensor) -> Tensor:
        keep = ops.ones_like(tokens, dtype="bool")
        for token in self.ignore:
            keep = ops.logical_and(keep, ops.not_equal(tokens, token))
        return keep

    def compute_mask(self, inputs: Tensor, mask: Tensor | None = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "ignore": list(self.ignore)}
