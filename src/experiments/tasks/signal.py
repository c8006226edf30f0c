"""Data shared by the keras-attention-mechanism tasks: noise with the label copied into one place."""

import numpy as np

from experiments.run.task import Splits


def labelled_noise(rng, samples, shape, signal_index):
    """x: standard normal of `shape` per sample; y: random 0/1; `x[:, signal_index] = y`.

    The label sits at `signal_index` on the first axis after the batch (a feature of a vector, or
    a time step, where it fills every dimension), so only that place predicts y.
    """
    x = rng.standard_normal((samples, *shape)).astype("float32")
    y = rng.integers(0, 2, size=(samples, 1)).astype("float32")
    x[:, signal_index] = y.reshape((samples,) + (1,) * (len(shape) - 1))
    return x, y


def train_test(cfg, rng, shape, signal_index):
    """A training set of `cfg.samples` and a held-out test set of `cfg.test_samples`."""
    return Splits(
        train=labelled_noise(rng, cfg.samples, shape, signal_index),
        test=labelled_noise(rng, cfg.test_samples, shape, signal_index),
    )


def deciding_at(index, data, count):
    """0/1 (count, positions): only `index` decides the label of each of the first `count` test samples."""
    deciding = np.zeros((count, data.test[0].shape[1]), dtype="float32")
    deciding[:, index] = 1
    return deciding
