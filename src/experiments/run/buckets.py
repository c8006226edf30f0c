"""Length buckets: training batches of reviews of similar length, each cut to its own longest, so
that a masked model runs its LSTM over no step of padding. (Padded to one width, a batch of short
reviews costs as much as one of the longest.) The idea and the order are Jain & Wallace's: sort
by length with a little noise, cut into batches, shuffle the batches."""

import math

import keras
import numpy as np


def lengths(x, padding):
    """Each row's length without its padding (0): zeros at its end ('post') or start ('pre')."""
    nonzero = np.asarray(x) != 0
    if padding == "post":
        return np.where(nonzero.any(axis=1), nonzero.shape[1] - np.argmax(nonzero[:, ::-1], axis=1), 0)
    return np.where(nonzero.any(axis=1), nonzero.shape[1] - np.argmax(nonzero, axis=1), 0)


def trim(x, padding, width):
    """The rows cut to `width` steps, dropping padding only."""
    return x[:, :width] if padding == "post" else x[:, x.shape[1] - width :]


class LengthBuckets(keras.utils.PyDataset):
    """Batches of (x, y) of similar lengths, each `trim`med to its longest row. `x` may be a
    list of arrays with a row per sample and a column per step (a model with a second input over
    the same steps): each is trimmed alike, to the lengths of the first.

    The order of an epoch is a function of the seed and the epoch alone (a run resumed at epoch k
    draws epoch k's batches as the first try did): the rows sorted by length plus noise (uniform,
    up to `noise` times the length), cut into batches of `batch_size`, the batches shuffled.
    `set_epoch` is called by `EpochOfBuckets` at the start of every epoch."""

    def __init__(self, x, y, batch_size, seed, padding="post", noise=0.1, **kwargs):
        super().__init__(**kwargs)
        self.x = [np.asarray(a) for a in x] if isinstance(x, (list, tuple)) else np.asarray(x)
        self.y, self.batch_size, self.seed = np.asarray(y), batch_size, seed
        self.padding, self.noise = padding, noise
        self.lengths = lengths(self.x[0] if isinstance(self.x, list) else self.x, padding)
        self.set_epoch(0)

    def set_epoch(self, epoch):
        rng = np.random.default_rng([self.seed, epoch])
        jittered = self.lengths + rng.uniform(0, self.noise, len(self.lengths)) * self.lengths
        order = np.argsort(jittered, kind="stable")
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        self.batches = [batches[i] for i in rng.permutation(len(batches))]
        if epoch == 0:
            self._first_two_apart()

    def _first_two_apart(self):
        """Keras on TensorFlow fixes the shape of every batch from the first two of the first
        epoch: where those two are as wide as each other, a batch of another width fails. There,
        the second swaps places with the first batch of another width. (Any earlier run with
        batches of other widths had the two apart, or failed: none changes.)"""
        widths = [int(self.lengths[rows].max()) for rows in self.batches]
        other = next((i for i, width in enumerate(widths) if width != widths[0]), None)
        if len(widths) > 2 and widths[1] == widths[0] and other is not None:
            self.batches[1], self.batches[other] = self.batches[other], self.batches[1]

    def __len__(self):
        return math.ceil(len(self.lengths) / self.batch_size)

    def __getitem__(self, index):
        rows = np.sort(self.batches[index])
        width = max(int(self.lengths[rows].max()), 1)
        if isinstance(self.x, list):
            return tuple(trim(a[rows], self.padding, width) for a in self.x), self.y[
                rows
            ]  # a tuple: Keras' spec of a PyDataset's batch
        return trim(self.x[rows], self.padding, width), self.y[rows]


class EpochOfBuckets(keras.callbacks.Callback):
    """Tells the buckets which epoch begins (the true one, after a resume too)."""

    def __init__(self, buckets):
        super().__init__()
        self.buckets = buckets

    def on_epoch_begin(self, epoch, logs=None):
        self.buckets.set_epoch(epoch)
