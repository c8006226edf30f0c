"""The changed inputs that leave-one-out and ERASER run: a token is deleted and the row padded at
the front with 0 (as Keras' pad_sequences pads), a number is set to 0."""

import numpy as np

from attention._types import Array, BoolArray, IntArray, ModelInputs


def leaving_out(attended: Array, samples: IntArray, steps: IntArray) -> Array:
    """One row per (sample, step): the attended input of `sample` with `step` left out. A token is
    deleted and the row padded at the front with 0; a number is set to 0."""
    if np.issubdtype(attended.dtype, np.integer):
        left_out: Array = np.zeros_like(attended[samples])
        for row, (sample, step) in enumerate(zip(samples, steps)):
            left_out[row, 1:] = np.delete(attended[sample], step, axis=0)
        return left_out
    left_out = attended[samples].copy()
    left_out[np.arange(len(samples)), steps] = 0
    return left_out


def keeping(x: list[Array], keep: BoolArray, index: int) -> ModelInputs:
    """The inputs `x` (a list) with only the steps in `keep` (samples, steps) of input `index`: a
    token input keeps them in order, padded at the front with 0 (as leave-one-out deletes); a
    number input sets the others to 0."""
    attended = x[index]
    if np.issubdtype(attended.dtype, np.integer):
        kept = np.zeros_like(attended)
        for row, (values, mask) in enumerate(zip(attended, keep)):
            chosen = values[mask]
            if len(chosen):
                kept[row, -len(chosen) :] = chosen
    else:
        kept = np.where(keep.reshape(keep.shape + (1,) * (attended.ndim - 2)), attended, 0).astype(attended.dtype)
    inputs = [kept if i == index else v for i, v in enumerate(x)]
    return inputs[0] if len(inputs) == 1 else inputs
