"""Reducing attention weights to one vector over positions."""

import numpy as np


def position_profile(weights):
    """Mean attention per position.

    `weights` is (samples, positions, ...): the mean over samples, and over any axes after the
    positions (input dimensions, LSTM units), gives one weight per position.
    """
    weights = np.asarray(weights, dtype="float64")
    return weights.mean(axis=tuple(a for a in range(weights.ndim) if a != 1))
