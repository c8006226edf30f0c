"""The published `attention` 5.0.0 package on the benchmark's models, under the legacy tf-keras.

Runs in its own virtual environment (`make bench` makes `.venv-peer`): its import name is also
`attention`, so it must never be installed beside this suite. Prints one JSON row per timing.

    TF_USE_LEGACY_KERAS=1 .venv-peer/bin/python benchmarks/peer.py --warmup 3 --reps 10
"""

import argparse
import json
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # attention 5.0.0 does not run on Keras 3
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf

from attention import Attention
from timing import BATCHES, IMDB_LENGTH, IMDB_WORDS, time_models

keras = tf.keras


def imdb_model(score):
    """The original IMDB model (keras-attention, original 004), as `experiments.tasks.imdb` builds it."""
    inputs = keras.Input((IMDB_LENGTH,), dtype="int32")
    x = keras.layers.Embedding(IMDB_WORDS, 32)(inputs)
    x = keras.layers.Dropout(0.5)(x)
    x = keras.layers.LSTM(100, return_sequences=True)(x)
    x = Attention(units=128, score=score)(x)
    x = keras.layers.Dropout(0.5)(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def find_max_model(score):
    """The original find_max model (keras-attention, original 004), as `experiments.tasks.find_max` builds it."""
    inputs = keras.Input((10, 1))
    x = keras.layers.LSTM(128, return_sequences=True)(inputs)
    x = Attention(units=128, score=score)(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(optimizer="adam", loss="mae")
    return model


MODELS = {"imdb": imdb_model, "find_max": find_max_model}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--models", default="imdb,find_max")
    args = parser.parse_args()
    for model_name in args.models.split(","):
        tf.keras.backend.clear_session()
        tf.keras.utils.set_random_seed(0)
        # luong is the package's default score: the row the goals compare with.
        models = {
            "peer-attention-5.0.0": MODELS[model_name]("luong"),
            "peer-attention-5.0.0-bahdanau": MODELS[model_name]("bahdanau"),
        }
        for name, phase, round_, ms in time_models(models, *BATCHES[model_name](), args.warmup, args.reps):
            row = {"model": model_name, "name": name, "backend": "tf-keras", "phase": phase, "round": round_, "ms": ms}
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
