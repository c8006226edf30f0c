"""Measures of where attention went, shared by the tasks."""

import numpy as np


def position_profile(weights):
    """Mean attention per position.

    `weights` is (samples, positions, ...): the mean over samples, and over any axes after the
    positions (input dimensions, LSTM units), gives one weight per position.
    """
    weights = np.asarray(weights, dtype="float64")
    return weights.mean(axis=tuple(a for a in range(weights.ndim) if a != 1))


def peak_quality(weights, target_index):
    """How sharply the mean attention (see `position_profile`) peaks on `target_index`."""
    profile = position_profile(weights)
    runner_up, peak = np.sort(profile)[-2:]
    return {
        "target_index": int(target_index),
        "peak_index": int(np.argmax(profile)),
        "peak_weight": float(peak),
        "runner_up_weight": float(runner_up),
    }


def top_k_hits(weights, expected):
    """Per sample: do its k largest weights sit exactly on the k positions marked in `expected`?

    `weights` and `expected` are (samples, steps); `expected` is 0/1 with the same number k of
    ones in every row (k = 1: the argmax is the marked position).
    """
    expected = np.asarray(expected, dtype=bool)
    k = int(expected[0].sum())
    top_k = np.argsort(np.asarray(weights), axis=1)[:, -k:]
    return np.take_along_axis(expected, top_k, axis=1).all(axis=1)
