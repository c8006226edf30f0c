"""Adding two numbers (keras-attention, original 004): the two values right after the delimiters
are averaged.

x: `steps` uniform values in [0, 1); two positions a, b ≥ 1; `x[a-1] = x[b-1] = delimiter`;
y = 0.5·x[a] + 0.5·x[b]. The attention should land on a and b. The positions are at least two
apart: the original's generator lets b = a + 1, where b's delimiter overwrites the number at a after
y was computed, so about one sample in ten could not be solved and had no right answer to look at.
"""

import keras
import numpy as np

from experiments.run.quality import top_k_hits
from experiments.run.task import Splits, Task
from experiments.tasks.models import recurrent_attention_head


def _positions(rng, samples, steps):
    """Two positions in [1, steps) per sample, at least two apart."""
    a = rng.integers(1, steps, size=samples)
    b = rng.integers(1, steps, size=samples)
    while np.any(clash := np.abs(a - b) < 2):
        b[clash] = rng.integers(1, steps, size=int(clash.sum()))
    return a, b


def add_two_numbers(rng, samples, steps, delimiter, positions=None):
    """(x, y): x (samples, steps, 1), y (samples, 1). `positions` fixes (a, b) for every sample."""
    x = rng.uniform(0, 1, size=(samples, steps))
    a, b = (
        _positions(rng, samples, steps)
        if positions is None
        else (np.full(samples, positions[0]), np.full(samples, positions[1]))
    )
    rows = np.arange(samples)
    y = 0.5 * x[rows, a] + 0.5 * x[rows, b]
    x[rows, a - 1] = delimiter
    x[rows, b - 1] = delimiter
    return x[..., None].astype("float32"), y[:, None].astype("float32")


class AddTwoNumbers(Task):
    """The add_two_numbers task's data, model and where its attention should look."""

    def make_data(self, cfg, rng):
        d = cfg.data
        return Splits(
            train=add_two_numbers(rng, cfg.samples, d.steps, d.delimiter),
            validation=add_two_numbers(rng, d.validation_samples, d.steps, d.delimiter),
            test=add_two_numbers(rng, cfg.test_samples, d.steps, d.delimiter),
            probe=add_two_numbers(rng, cfg.probe_samples, d.steps, d.delimiter, tuple(d.probe_positions)),
        )

    def build_model(self, cfg, attention, data):
        inputs = keras.Input((cfg.data.steps, 1))
        x = recurrent_attention_head(inputs, cfg.model.lstm_units, attention, cfg.model.dropout)
        return keras.Model(inputs, keras.layers.Dense(1)(x), name="add_two_numbers")

    def expected_attention(self, cfg, x, y):
        """1 on each step right after a delimiter."""
        after_delimiter = np.roll(x[..., 0] == cfg.data.delimiter, 1, axis=1)
        after_delimiter[:, 0] = False
        return after_delimiter.astype("float32")

    def deciding_steps(self, cfg, data, count):
        """The steps that decide the answers of the first `count` test samples."""
        return self.expected_attention(cfg, data.test[0][:count], None)

    def attention_quality(self, cfg, probe, data, attend):
        """The fraction of samples whose two largest weights sit exactly on the two numbers."""
        probe_hits = top_k_hits(probe.weights, probe.expected)
        x_test = data.test[0]
        test_hits = top_k_hits(attend(x_test), self.expected_attention(cfg, x_test, None))
        return {
            "hit_rate": float(np.concatenate([probe_hits, test_hits]).mean()),
            "probe_hit_rate": float(probe_hits.mean()),
            "test_hit_rate": float(test_hits.mean()),
            "samples": int(len(probe_hits) + len(test_hits)),
        }
