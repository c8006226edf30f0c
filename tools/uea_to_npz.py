"""Converts a UEA multivariate time-series classification set, in the archive's `.ts` text format,
into the `.npz` that `task=sequences` reads: `x` (samples, steps, features) with NaN after each
sequence's end, `y` (the class labels as strings), `lengths`, `split` ("train" / "test", the
archive's own split), and `feature_names`.

    python tools/uea_to_npz.py JapaneseVowels_TRAIN.ts JapaneseVowels_TEST.ts -o japanese_vowels.npz

Used once to make `src/experiments/data/japanese_vowels.npz` from the copy that the aeon package
ships (aeon/datasets/data/JapaneseVowels/); see `src/experiments/data/README.md`.
"""

import argparse
from pathlib import Path

import numpy as np


def read_ts(path):
    """(list of (steps, features) arrays, labels) of one `.ts` file (no timestamps, no missing)."""
    series, labels, in_data = [], [], False
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if line.lower().startswith("@timestamps") and line.split()[1].lower() == "true":
                raise ValueError(f"{path}: series with time stamps are not supported")
            in_data = line.lower() == "@data"
            continue
        *dimensions, label = line.split(":")
        values = [np.array(d.split(","), dtype="float64") for d in dimensions]
        if len({len(v) for v in values}) != 1:
            raise ValueError(f"{path}: the dimensions of a series differ in length")
        series.append(np.stack(values, axis=1))
        labels.append(label.strip())
    return series, labels


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train")
    parser.add_argument("test")
    parser.add_argument("-o", "--out", required=True)
    args = parser.parse_args(argv)
    train, test = read_ts(args.train), read_ts(args.test)
    series = train[0] + test[0]
    steps, features = max(len(s) for s in series), series[0].shape[1]
    x = np.full((len(series), steps, features), np.nan, dtype="float32")
    for i, values in enumerate(series):
        x[i, : len(values)] = values
    np.savez_compressed(
        args.out,
        x=x,
        y=np.array(train[1] + test[1]),
        lengths=np.array([len(s) for s in series], dtype="int32"),
        split=np.array(["train"] * len(train[0]) + ["test"] * len(test[0])),
        feature_names=np.array([f"LPC cepstrum {i + 1}" for i in range(features)]),
    )
    print(f"{args.out}: {len(series)} series ({len(train[0])} train, {len(test[0])} test), up to {steps} steps")


if __name__ == "__main__":
    main()
