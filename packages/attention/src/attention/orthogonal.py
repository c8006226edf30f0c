"""The other fix of Mohankumar et al. 2020 ("Towards Transparent and Explainable Attention Models",
ACL): an LSTM whose every hidden state is made orthogonal to the mean of the states before it
(their Orthogonal LSTM), so that the states point apart and the attention over them has to choose."""

from typing import Any

import keras
from keras import ops

from attention._types import Tensor


@keras.saving.register_keras_serializable(package="attention")
class OrthogonalLSTMCell(keras.layers.Layer):
    """An LSTM cell whose hidden state is made orthogonal to the mean of the earlier ones, as their
    `ortholstm.py` does it: h_t ← h_t − (h_t·m)/(m·m + ε) m, with m the mean of h_1 … h_{t−1} (their
    running sum over t; m = 0 at the first step leaves h_1 as it is). The orthogonal state is the
    cell's output, the state the next step reads, and the one the mean takes in; the memory c_t is
    the LSTM's own. Wrap it in `keras.layers.RNN` (and `Bidirectional`: each direction keeps its
    own mean); masked steps keep every state, as Keras' RNN does for any cell.

        keras.layers.RNN(OrthogonalLSTMCell(128), return_sequences=True)

    Args:
        units: the size of the state.
        epsilon: keeps the projection finite while the mean is 0 (theirs: 1e-6).
        cell: the `keras.layers.LSTMCell` that steps (default: one of `units`), for its
            regularizers and initializers; a serialized cell is deserialized.

    Input per step (batch, features) → (batch, units). States: [h, c, the sum of the earlier h,
    their count].
    """

    def __init__(self, units: int, epsilon: float = 1e-6, cell: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"OrthogonalLSTMCell units must be a positive integer, got {units!r}")
        self.units, self.epsilon = units, float(epsilon)
        self.cell = keras.layers.deserialize(cell) if isinstance(cell, dict) else cell or keras.layers.LSTMCell(units)
        self.state_size = [units, units, units, 1]
        self.output_size = units

    def build(self, input_shape: Any) -> None:
        if not self.cell.built:  # a cell deserialized from a saved model comes built
            self.cell.build(input_shape)

    def call(self, inputs: Tensor, states: list[Tensor], training: bool | None = None) -> tuple[Tensor, list[Tensor]]:
        h_before, c_before, total, count = states
        h, (_, c) = self.cell(inputs, [h_before, c_before], training=training)
        mean = total / (count + 1.0)  # their sum_h / (t + 1), at 0-based step t
        along = ops.sum(h * mean, axis=-1, keepdims=True) / (
            ops.sum(mean * mean, axis=-1, keepdims=True) + self.epsilon
        )
        h = h - along * mean
        return h, [h, c, total + h, count + 1.0]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "epsilon": self.epsilon,
            "cell": keras.layers.serialize(self.cell),
        }
