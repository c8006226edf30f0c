"""LSTM tasks (keras-attention-mechanism, original 000): the label fills one time step; attention
before or after the LSTM.

`cfg.placement` says where the block sits: `before` (on the inputs) or `after` (on the LSTM's
sequence output). The multi-dimensional tasks are `before` with per-dimension or shared weights.
"""

import keras

from experiments.run.quality import peak_quality
from experiments.run.task import Task
from experiments.tasks.signal import deciding_at, train_test

PLACEMENTS = ("before", "after")


class Recurrent(Task):
    """The recurrent task's data, model and where its attention should look."""

    def make_data(self, cfg, rng):
        return train_test(cfg, rng, (cfg.data.steps, cfg.data.dims), cfg.data.signal_step)

    def build_model(self, cfg, attention, data):
        if cfg.placement not in PLACEMENTS:
            raise ValueError(f"task.placement must be one of {PLACEMENTS}, got {cfg.placement!r}")
        inputs = keras.Input((cfg.data.steps, cfg.data.dims))
        if cfg.placement == "before":
            x = attention(inputs)
            x = keras.layers.LSTM(cfg.model.lstm_units)(x)
        else:
            x = keras.layers.LSTM(cfg.model.lstm_units, return_sequences=True)(inputs)
            x = keras.layers.Flatten()(attention(x))  # a no-op after pooling, which is already 2D
        outputs = keras.layers.Dense(1, activation="sigmoid")(x)
        return keras.Model(inputs, outputs, name=f"lstm_attention_{cfg.placement}")

    def attention_quality(self, cfg, probe, data, attend):
        return peak_quality(probe.weights, cfg.data.signal_step)

    def deciding_steps(self, cfg, data, count):
        """The input step that holds the label (after the LSTM, the attention reads its states)."""
        return deciding_at(cfg.data.signal_step, data, count)
