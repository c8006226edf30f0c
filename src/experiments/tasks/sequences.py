"""Your own sequences: classification or regression on a file of labelled series (`task.data.path`),
by default the Japanese Vowels data set shipped with the suite (which speaker said the vowel).

Masking → LSTM over the sequence → the attention over its states → the head; `attention=block_3d`
sits before the LSTM instead and gives a (steps, features) map of which feature mattered when.
Padded steps are masked: they get exactly 0 attention.
"""

import json
from pathlib import Path

import keras
import numpy as np

from attention import TimeAttention, predict_in_batches
from experiments.run.task import Splits, Task
from experiments.tasks.models import attention_over_states, sequence_lstm
from experiments.tasks.sequence_data import SequenceDataError, load_sequences, read_inputs, split_indices

SCALER_FILE = "sequences.json"


def _scaler(x, mask, train):
    """The mean and spread of each feature over the real training steps."""
    values = x[train][mask[train]].astype("float64")  # float32 squares overflow from about 1e19
    std = values.std(axis=0)
    return values.mean(axis=0), np.where(std > 0, std, 1.0)


def _standardised(x, mask, scaler):
    """Each feature scaled by the training scaler; padding stays 0 (what Masking skips)."""
    mean, std = scaler
    return np.where(mask[..., None], (x.astype("float64") - mean) / std, 0.0).astype("float32")


class Sequences(Task):
    """The sequences task's data, model and where its attention should look."""

    def make_data(self, cfg, rng):
        data = load_sequences(cfg.data.path, cfg.objective, cfg.data.max_steps)
        train, validation, test = split_indices(data, cfg, rng)
        scaler = _scaler(data.x, data.mask, train)
        x = _standardised(data.x, data.mask, scaler)
        if data.class_names:  # a few test samples of each class
            probe = np.concatenate(
                [test[data.y[test] == c][: cfg.probe_per_class] for c in range(len(data.class_names))]
            )
        else:
            probe = test[: cfg.probe_samples]
        return Splits(
            train=(x[train], data.y[train]),
            validation=(x[validation], data.y[validation]),
            test=(x[test], data.y[test]),
            probe=(x[probe], data.y[probe]),
            extras={
                "objective": data.objective,
                "class_names": data.class_names,
                "feature_names": data.feature_names,
                "scaler": scaler,
            },
        )

    def compile_options(self, cfg, data):
        """The loss and metrics that the data's objective asks for."""
        if data.extras["objective"] == "classification":
            return {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
        return {"loss": "mae", "metrics": ["mae"]}

    def evaluate(self, cfg, model, data):
        """Classes: the confusion matrix of the test samples (a row per true class, a column per
        predicted one, in the order of `classes`)."""
        names = data.extras["class_names"]
        if not names:
            return {}
        x, y = data.test
        predicted = predict_in_batches(model, x, 256).argmax(axis=1)
        counts = np.zeros((len(names), len(names)), dtype=int)
        np.add.at(counts, (y, predicted), 1)
        return {"confusion_matrix": {"classes": names, "counts": counts.tolist()}}

    def build_model(self, cfg, attention, data):
        x_train = data.train[0]
        classes = len(data.extras["class_names"])
        inputs = keras.Input(x_train.shape[1:])
        x = keras.layers.Masking(mask_value=0.0)(inputs)  # a padded step is all zeros
        if attention is None:
            x = keras.layers.LSTM(cfg.model.lstm_units)(x)
        elif isinstance(attention, TimeAttention):  # before the LSTM: which feature mattered when
            x = keras.layers.LSTM(cfg.model.lstm_units)(attention(x))
        else:
            x = attention_over_states(x, attention, sequence_lstm(cfg.model.lstm_units))
        x = keras.layers.Dropout(cfg.model.dropout)(x)
        outputs = keras.layers.Dense(classes, activation="softmax")(x) if classes else keras.layers.Dense(1)(x)
        return keras.Model(inputs, outputs, name="sequences")

    def probe_labels(self, cfg, data, y):
        """The class name of each probe sample (none for regression)."""
        names = data.extras["class_names"]
        return [names[int(label)] for label in y] if names else None

    def artifacts(self, cfg, data):
        """What `explain` needs beside the saved model: the training scaler and the names."""
        mean, std = data.extras["scaler"]
        names = {key: data.extras[key] for key in ("objective", "class_names", "feature_names")}
        return {SCALER_FILE: json.dumps({**names, "mean": mean.tolist(), "std": std.tolist()}, indent=2)}

    def explain_inputs(self, cfg, run_dir, source, input_shape):
        """New sequences for `explain` (a .npz with x, or a long-form .csv), scaled as in training and
        padded to the model's steps. (x, None)."""
        if not (Path(run_dir) / SCALER_FILE).is_file():
            raise SequenceDataError(f"{run_dir} has no {SCALER_FILE} (the training scaler): train the run again")
        saved = json.loads((Path(run_dir) / SCALER_FILE).read_text())
        steps = input_shape[0]
        x, mask = read_inputs(source, steps)
        if x.shape[2] != len(saved["mean"]):
            raise SequenceDataError(
                f"the inputs have {x.shape[2]} features; the model was trained on {len(saved['mean'])}"
            )
        padded = np.zeros((len(x), steps, x.shape[2]))
        padded[:, : x.shape[1]] = x
        mask = np.pad(mask, ((0, 0), (0, steps - mask.shape[1])))
        return _standardised(padded, mask, (np.array(saved["mean"]), np.array(saved["std"]))), None

    def attention_quality(self, cfg, probe, data, attend):
        """Where the attention lies in time: its mean peak step, its entropy, and (checked) the weight
        on padded steps, which must be 0."""
        x_test = data.test[0]
        weights = attend(x_test)
        over_time = weights if weights.ndim == 2 else weights.mean(axis=2)  # block_3d: (steps, features)
        valid = np.any(x_test != 0, axis=2)
        lengths = valid.sum(axis=1)
        entropy = -(over_time * np.log(np.where(over_time > 0, over_time, 1.0))).sum(axis=1)
        peak = over_time.argmax(axis=1)
        return {
            "mean_peak_step": float(peak.mean()),
            "mean_relative_peak": float((peak / np.maximum(lengths - 1, 1)).mean()),
            "mean_entropy_nats": float(entropy.mean()),
            "attention_on_padding": float(np.where(valid, 0.0, over_time).sum(axis=1).max()),
            "samples": len(x_test),
        }
