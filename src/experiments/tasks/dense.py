"""Dense hello-world (keras-attention-mechanism, original 000): the label is copied into one input
feature; attention finds it."""

import keras

from experiments.run.quality import peak_quality
from experiments.run.task import Task
from experiments.tasks.signal import deciding_at, train_test


class Dense(Task):
    """The dense task's data, model and where its attention should look."""

    def make_data(self, cfg, rng):
        return train_test(cfg, rng, (cfg.data.features,), cfg.data.signal_index)

    def build_model(self, cfg, attention, data):
        inputs = keras.Input((cfg.data.features,))
        x = attention(inputs)
        x = keras.layers.Dense(cfg.model.hidden_units)(x)  # linear, as in the original
        outputs = keras.layers.Dense(1, activation="sigmoid")(x)
        return keras.Model(inputs, outputs, name="dense_hello_world")

    def attention_quality(self, cfg, probe, data, attend):
        return peak_quality(probe.weights, cfg.data.signal_index)

    def deciding_steps(self, cfg, data, count):
        return deciding_at(cfg.data.signal_index, data, count)
