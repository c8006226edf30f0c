"""A model's outputs for arrays in memory, one batch at a time.

`keras.Model.predict` builds a dataset and an iterator on every call: on a CPU, more time than a
small model takes on the few hundred samples that an audit measure passes it, and an audit calls
it dozens of times. `predict_on_batch` over the same batches computes the same
numbers, bit for bit (the same graph on the same rows), without that cost.
"""

from typing import Any

import keras
import numpy as np


def batches(count: int, size: int) -> list[slice]:
    """The slices of `count` rows in batches of `size`, the last one shorter."""
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def predict_in_batches(model: keras.Model, x: Any, batch_size: int = 32) -> Any:
    """`model.predict(x, batch_size=batch_size, verbose=0)` for `x` in memory (an array, or a
    list or dict of arrays of one length): the same outputs, in the same structure. No rows: a
    ValueError."""
    count = len(keras.tree.flatten(x)[0])
    if count == 0:  # `predict` fails with Keras' UnboundLocalError
        raise ValueError("no samples to predict: the inputs have 0 rows")
    parts = [
        model.predict_on_batch(keras.tree.map_structure(lambda array, rows=rows: array[rows], x))
        for rows in batches(count, batch_size)
    ]
    return keras.tree.map_structure(lambda *pieces: np.concatenate([np.asarray(p) for p in pieces]), *parts)
