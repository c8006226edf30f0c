"""Length buckets: every review once per epoch, batches of similar lengths cut of padding only,
an order fixed by the seed and the epoch, and the same predictions as padded batches."""

import numpy as np
import pytest

from conftest import pooled_bilstm
from experiments.run.buckets import EpochOfBuckets, LengthBuckets, lengths

RNG = np.random.default_rng(0)


def _reviews(count=50, width=30, padding="post"):
    x = np.zeros((count, width), dtype="int32")
    for row, length in enumerate(RNG.integers(1, width + 1, count)):
        words = RNG.integers(1, 100, length)
        if padding == "post":
            x[row, :length] = words
        else:
            x[row, width - length :] = words
    return x, np.arange(count, dtype="float32")[:, None]  # y: the row's number, to find it again


@pytest.mark.parametrize("padding", ["post", "pre"])
def test_each_review_comes_once_per_epoch_in_a_batch_cut_of_padding_only(padding):
    x, y = _reviews(padding=padding)
    buckets = LengthBuckets(x, y, batch_size=8, seed=3, padding=padding)
    assert len(buckets) == 7
    seen, spreads = [], []
    for index in range(len(buckets)):
        batch_x, batch_y = buckets[index]
        rows = batch_y[:, 0].astype(int)
        seen += rows.tolist()
        assert batch_x.shape[1] == lengths(x[rows], padding).max()  # as long as its longest review
        for row, cut in zip(rows, batch_x):
            np.testing.assert_array_equal(cut[cut != 0], x[row][x[row] != 0])  # only padding dropped
        spreads.append(np.ptp(lengths(x[rows], padding)))
    assert sorted(seen) == list(range(len(x)))
    # Similar lengths: a batch spans far fewer lengths than a batch drawn at random does.
    shuffled = RNG.permutation(len(x))
    at_random = [np.ptp(lengths(x[shuffled[i : i + 8]], padding)) for i in range(0, len(x), 8)]
    assert np.mean(spreads) < 0.5 * np.mean(at_random)


def test_the_order_is_fixed_by_the_seed_and_the_epoch_alone():
    x, y = _reviews()

    def order(seed, epoch):
        buckets = LengthBuckets(x, y, 8, seed)
        buckets.set_epoch(epoch)
        return [buckets[i][1][:, 0].tolist() for i in range(len(buckets))]

    assert order(1, 4) == order(1, 4)  # a run resumed at epoch 4 draws epoch 4's batches again
    assert order(1, 4) != order(1, 5) and order(1, 4) != order(2, 4)


def test_fit_draws_each_epochs_batches_after_the_epoch_is_set():
    x, y = _reviews()
    calls = []

    class Noted(LengthBuckets):
        def set_epoch(self, epoch):
            calls.append(("epoch", epoch))
            super().set_epoch(epoch)

        def __getitem__(self, index):
            calls.append(("batch", index))
            return super().__getitem__(index)

    buckets = Noted(x, (y > 25).astype("float32"), 8, seed=0)
    calls.clear()
    model = pooled_bilstm(vocabulary=100, embedding=8, units=6)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(buckets, epochs=2, callbacks=[EpochOfBuckets(buckets)], verbose=0)
    epochs = [i for i, call in enumerate(calls) if call[0] == "epoch"]
    assert [calls[i] for i in epochs] == [("epoch", 0), ("epoch", 1)]
    batches_of_second = [c for c in calls[epochs[1] :] if c[0] == "batch"]
    assert len(batches_of_second) >= len(buckets)  # every batch of epoch 1 drawn after its order


def test_a_cut_batch_gives_the_predictions_of_the_padded_one():
    x, y = _reviews(count=24, width=40)
    model = pooled_bilstm(vocabulary=100, embedding=8, units=6)
    padded = model.predict(x, verbose=0)
    buckets = LengthBuckets(x, y, 8, seed=0)
    for index in range(len(buckets)):
        batch_x, batch_y = buckets[index]
        assert batch_x.shape[1] < x.shape[1] or lengths(batch_x, "post").max() == x.shape[1]
        np.testing.assert_allclose(model.predict(batch_x, verbose=0), padded[batch_y[:, 0].astype(int)], atol=1e-6)


def test_a_first_epoch_whose_first_two_batches_are_as_wide_still_trains():
    """Keras on TensorFlow reads the shape of every batch from the first two: were they as wide as
    each other, a wider batch later would fail. Most reviews of one length, a few longer: the first
    two batches come out of different widths, and the model trains."""
    x = np.zeros((64, 12), dtype="int32")
    x[:, :5] = RNG.integers(1, 100, (64, 5))
    x[:8, 5:] = RNG.integers(1, 100, (8, 7))  # one batch of 12 steps; seven of 5
    y = (x[:, 0] > 50).astype("float32")
    for seed in range(4):
        buckets = LengthBuckets(x, y, 8, seed)
        assert buckets[0][0].shape[1] != buckets[1][0].shape[1], seed
        assert sorted(np.concatenate(buckets.batches).tolist()) == list(range(64))  # still every review once
    model = pooled_bilstm(vocabulary=100, embedding=8, units=6)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(buckets, epochs=2, callbacks=[EpochOfBuckets(buckets)], verbose=0)
