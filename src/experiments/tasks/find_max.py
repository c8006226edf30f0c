"""Finding the maximum of a sequence (keras-attention, original 004): y = max(x); attention should
find where it is.

x is drawn from Beta(1/steps, 1), so that the maximum of `steps` values is uniform on [0, 1).
"""

import keras
import numpy as np

from experiments.run.quality import top_k_hits
from experiments.run.task import Splits, Task
from experiments.tasks.models import recurrent_attention_head


def sequences(rng, samples, steps):
    x = rng.beta(1.0 / steps, 1.0, size=(samples, steps, 1)).astype("float32")
    return x, x.max(axis=1)


class FindMax(Task):
    """The find_max task's data, model and where its attention should look."""

    def make_data(self, cfg, rng):
        return Splits(
            train=sequences(rng, cfg.samples, cfg.data.steps),
            test=sequences(rng, cfg.test_samples, cfg.data.steps),
        )

    def build_model(self, cfg, attention, data):
        inputs = keras.Input((cfg.data.steps, 1))
        x = recurrent_attention_head(inputs, cfg.model.lstm_units, attention)
        return keras.Model(inputs, keras.layers.Dense(1)(x), name="find_max")

    def expected_attention(self, cfg, x, y):
        """1 at the position of the maximum."""
        expected = np.zeros(x.shape[:2], dtype="float32")
        expected[np.arange(len(x)), x[..., 0].argmax(axis=1)] = 1
        return expected

    def deciding_steps(self, cfg, data, count):
        """The steps that decide the answers of the first `count` test samples."""
        return self.expected_attention(cfg, data.test[0][:count], None)

    def attention_quality(self, cfg, probe, data, attend):
        """The fraction of test samples whose attention argmax is the position of the maximum."""
        x_test = data.test[0]
        hits = top_k_hits(attend(x_test), self.expected_attention(cfg, x_test, None))
        return {"argmax_accuracy": float(hits.mean()), "samples": len(hits)}
