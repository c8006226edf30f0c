"""`task=sequences`: a user's own file of labelled sequences, in every form it accepts; the attention
learns where the data decides the class; bad data stops in one line before anything trains."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import experiments_in_process
from experiments.run.config import validate
from experiments.run.runner import run
from experiments.tasks.sequence_data import SHIPPED, SequenceDataError, load_sequences, read_inputs

STEPS, FEATURES = 12, 3


def _write_npz(path, samples=90, classes=("a", "b", "c"), lengths=None, **arrays):
    """Noise sequences whose class sets feature 0 at step 4 (3 classes: -2, 0, +2)."""
    rng = np.random.default_rng(0)
    y = np.array([classes[i % len(classes)] for i in range(samples)])
    x = rng.normal(size=(samples, STEPS, FEATURES)).astype("float32")
    x[:, 4, 0] = [2.0 * (classes.index(label) - 1) for label in y]
    np.savez(path, **{"x": x, "y": y, **({"lengths": lengths} if lengths is not None else {}), **arrays})
    return path


def _run(compose_config, tmp_path, path, *overrides):
    cfg = compose_config("task=sequences", "debug=smoke", f"task.data.path={path}", *overrides)
    validate(cfg)
    return run(cfg, tmp_path / "run"), tmp_path / "run"


def test_three_classes_with_string_labels_write_every_file(compose_config, tmp_path):
    metrics, run_dir = _run(compose_config, tmp_path, _write_npz(tmp_path / "three.npz"))
    assert metrics["status"] == "completed" and "accuracy" in metrics["test"]
    for name in [*metrics["figures"], "model.keras", "attention.npy", "metrics.json"]:
        assert (run_dir / name).stat().st_size > 0, name
    assert set(metrics["figures"]) >= {"attention_by_class.png", "attention_samples.png", "training_curves.png"}
    assert metrics["attention_quality"]["attention_on_padding"] == 0.0
    confusion = metrics["test"]["confusion_matrix"]  # a row per true class, a column per predicted
    counts = np.array(confusion["counts"])
    assert confusion["classes"] == ["a", "b", "c"] and counts.shape == (3, 3)
    assert np.trace(counts) / counts.sum() == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)


def test_regression_is_read_from_float_targets(compose_config, tmp_path):
    path = tmp_path / "regression.npz"
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, STEPS, FEATURES)).astype("float32")
    np.savez(path, x=x, y=x[:, 4, 0] * 2.0)
    metrics, _ = _run(compose_config, tmp_path, path)
    assert metrics["status"] == "completed"
    assert set(metrics["test"]) == {"loss", "mae"}  # no accuracy, no confusion matrix
    assert metrics["test"]["mae"] == pytest.approx(metrics["test"]["loss"], rel=1e-5)


def test_masked_steps_get_exactly_zero_attention(compose_config, tmp_path):
    lengths = np.array([STEPS - (i % 5) for i in range(90)], dtype="int32")
    path = _write_npz(tmp_path / "lengths.npz", lengths=lengths)
    metrics, run_dir = _run(compose_config, tmp_path, path)
    assert load_sequences(path).lengths.tolist() == lengths.tolist()
    weights = np.load(run_dir / "attention.npy")  # the probe: test samples of each class
    assert metrics["attention_quality"]["attention_on_padding"] == 0.0
    for row in weights:  # real steps come first: every weight after them is exactly 0
        valid = int(np.count_nonzero(row))
        assert valid >= STEPS - 4 and np.all(row[valid:] == 0.0) and abs(row.sum() - 1.0) < 1e-5
    assert (weights == 0.0).any()  # some probe samples are shorter than the longest


def test_nan_after_the_end_is_padding_and_the_csv_form_reads_the_same(tmp_path):
    path = _write_npz(tmp_path / "nan.npz")
    data = np.load(path)
    x = data["x"].copy()
    x[0, 9:] = np.nan
    np.savez(path, x=x, y=data["y"])
    assert load_sequences(path).lengths[0] == 9
    rows = [
        {"id": i, "step": t, **{f"f{k}": x[i, t, k] for k in range(FEATURES)}, "label": data["y"][i]}
        for i in range(len(x))
        for t in range(STEPS)
        if not np.isnan(x[i, t, 0])
    ]
    pd.DataFrame(rows).sample(frac=1.0, random_state=0).to_csv(tmp_path / "long.csv", index=False)
    from_csv, from_npz = load_sequences(tmp_path / "long.csv"), load_sequences(path)
    np.testing.assert_allclose(from_csv.x, from_npz.x, rtol=1e-6)
    assert from_csv.y.tolist() == from_npz.y.tolist() and from_csv.class_names == ["a", "b", "c"]
    assert from_csv.feature_names == ["f0", "f1", "f2"]


def test_the_shipped_example_is_japanese_vowels_with_its_own_split():
    data = load_sequences(SHIPPED)
    assert data.x.shape == (640, 29, 12) and data.class_names == [str(i) for i in range(1, 10)]
    assert (data.split == "train").sum() == 270 and (data.split == "test").sum() == 370
    assert data.lengths.min() == 7 and data.lengths.max() == 29


@pytest.mark.slow
def test_the_attention_of_each_class_peaks_on_the_step_that_decides_it(compose_config, tmp_path):
    path = _write_npz(tmp_path / "signal.npz", samples=600, classes=("low", "high"))
    cfg = compose_config(
        "task=sequences", "attention=block_3d", f"task.data.path={path}", "task.epochs=30", "task.audit.at_end=false"
    )
    metrics = run(cfg, tmp_path / "run")
    assert metrics["test"]["accuracy"] > 0.95
    weights = np.load(tmp_path / "run" / "attention.npy")  # (probe samples, steps, features)
    labels = np.load(path)["y"]
    assert {label for label in labels} == {"low", "high"}
    profile = weights.mean(axis=(0, 2))  # over the probe (both classes) and the features
    assert int(profile.argmax()) == 4, profile.round(3)


def _bad(tmp_path, name, **arrays):
    np.savez(tmp_path / name, **arrays)
    return tmp_path / name


GOOD_X = np.zeros((20, STEPS, FEATURES), dtype="float32")
GOOD_Y = np.array(["a", "b"] * 10)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": GOOD_X}, r"has no y array: a \.npz needs x \(samples, steps, features\) and y"),
        ({"x": GOOD_X[..., 0], "y": GOOD_Y}, r"x must have 3 dimensions \(samples, steps, features\), got shape \(20, 12\)"),
        ({"x": GOOD_X.astype(str), "y": GOOD_Y}, r"x must hold numbers, got dtype <U"),
        ({"x": GOOD_X, "y": GOOD_Y[:15]}, r"x has 20 samples, y has shape \(15,\)"),
        ({"x": np.where(np.arange(STEPS)[None, :, None] == 3, np.inf, GOOD_X), "y": GOOD_Y},
         r"x holds NaN or infinite values inside a sequence \(sample 0, step 3\)"),
        ({"x": GOOD_X, "y": np.array(["a"] * 20)}, r"y has one class only \('a'\): classification needs at least two"),
        ({"x": GOOD_X, "y": GOOD_Y, "lengths": np.full(20, 40)}, r"lengths must lie in 1\.\.12"),
        ({"x": GOOD_X, "y": GOOD_Y, "lengths": np.full(20, 5.0)},
         r"lengths must be integers \(the real steps of each sample\), got float64 values \(5\.0, 5\.0, 5\.0 and 17 more\)"),
        ({"x": GOOD_X[:0], "y": GOOD_Y[:0]}, r"x is empty, of shape \(0, 12, 3\): it needs at least one sample"),
    ],
)  # fmt: skip
def test_bad_data_is_refused_in_one_line(tmp_path, arrays, message):
    with pytest.raises(SequenceDataError, match=message) as error:
        load_sequences(_bad(tmp_path, "bad.npz", **arrays))
    assert "\n" not in str(error.value)


def test_too_few_samples_and_too_long_sequences_are_refused(compose_config, tmp_path):
    from experiments.tasks.sequences import Sequences

    path = _bad(tmp_path, "few.npz", x=GOOD_X[:3], y=GOOD_Y[:3])  # class b has one sample
    cfg = compose_config("task=sequences", f"task.data.path={path}").task
    with pytest.raises(SequenceDataError, match=r"class 'b' has 1 sample\(s\) to split: each class needs at least 2"):
        Sequences().make_data(cfg, np.random.default_rng(0))
    with pytest.raises(SequenceDataError, match=r"a sequence has 12 steps, more than task\.data\.max_steps=10"):
        load_sequences(_bad(tmp_path, "long.npz", x=GOOD_X, y=GOOD_Y), max_steps=10)


def test_a_missing_file_stops_the_command_in_one_line_with_nothing_trained(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "experiments", "task=sequences", f"task.data.path={tmp_path}/missing.npz",
         f"hydra.run.dir={tmp_path}/run"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"error: task.data.path: there is no file {tmp_path}/missing.npz (accepted: a .npz or a .csv)"
    )
    assert not (tmp_path / "run" / "model.keras").exists() and not (tmp_path / "run" / "history.csv").exists()


def _command(tmp_path, path):
    """`python -m experiments task=sequences task.data.path=PATH`, by the command's main in this
    process (the missing file above runs as a command of its own): (exit code, stderr), after
    checking that nothing trained and no traceback was printed."""
    done = experiments_in_process("task=sequences", f"task.data.path={path}", f"hydra.run.dir={tmp_path}/run")
    assert "Traceback" not in done.stderr and not (tmp_path / "run" / "model.keras").exists()
    return done.returncode, done.stderr.strip()


def _ragged_csv(path):
    path.write_text("id,step,f0,label\n0,0,1.0,a\n0,1,2.0,a,oops\n1,0,1.0,b\n")


def _nan_labels_csv(path):
    rows = [(i, t, float(t), "" if i in (3, 7) else "ab"[i % 2]) for i in range(10) for t in range(2)]
    path.write_text("id,step,f0,label\n" + "".join(f"{i},{t},{v},{label}\n" for i, t, v, label in rows))


@pytest.mark.parametrize(
    "name, write, message",
    [
        ("ragged.csv", _ragged_csv,
         "{path}: line 3 has 5 fields, the header 4: every row needs a value under each column of the header"),
        ("empty.csv", lambda path: path.write_text(""),
         "{path} is empty: a .csv needs a header (id, step, the features and, to train, label) and a row per step under it"),
        ("header.csv", lambda path: path.write_text("id,step,f0,label\n"),
         "{path} has a header and no rows: a .csv needs a header (id, step, the features and, to train, label) and a "
         "row per step under it"),
        ("empty.npz", lambda path: path.write_bytes(b""),
         "{path} is not a .npz archive (numpy.savez writes one): a .npz needs x (samples, steps, features) and y (samples,)"),
        ("text.npz", lambda path: path.write_text("not an archive\n"),
         "{path} is not a .npz archive (numpy.savez writes one): a .npz needs x (samples, steps, features) and y (samples,)"),
        ("labels.csv", _nan_labels_csv,
         "{path}: label is empty or NaN on 4 row(s), lines 8, 9, 16, 17 (sequence ids 3, 7): every row needs an id, a "
         "step and its sequence's label"),
        ("folder.npz", lambda path: path.mkdir(),
         "task.data.path: {path} is a directory, not a file (accepted: a .npz or a .csv)"),
    ],
)  # fmt: skip
def test_a_file_that_cannot_be_read_stops_the_command_in_one_line(tmp_path, name, write, message):
    write(tmp_path / name)
    code, stderr = _command(tmp_path, tmp_path / name)
    assert (code, stderr) == (2, "error: " + message.format(path=tmp_path / name))


def test_an_empty_path_is_refused_and_says_how_to_use_the_shipped_example(tmp_path):
    code, stderr = _command(tmp_path, "")
    assert (code, stderr) == (
        2,
        # Refused with every empty value, before TensorFlow starts; the default (null) is the shipped example.
        "error: task.data.path is empty; give it a value, or leave it out for its default",
    )


def test_more_bad_files_are_refused_in_one_line(tmp_path):
    """What the command line also meets, read directly (the command passes each line on as above)."""
    cases = {
        "nothing.npz": ({}, "{path} holds no arrays: a .npz needs x (samples, steps, features) and y (samples,)"),
        "only_y.npz": ({"y": GOOD_Y}, "{path} has no x array: a .npz needs x"),
        "objects.npz": ({"x": GOOD_X, "y": GOOD_Y.astype(object)},
                        "{path}: array y holds Python objects: save numbers, or strings for labels and names"),
    }  # fmt: skip
    for name, (arrays, message) in cases.items():
        with pytest.raises(SequenceDataError) as error:
            load_sequences(_bad(tmp_path, name, **arrays))
        assert str(error.value).startswith(message.format(path=tmp_path / name)), str(error.value)
    np.save(tmp_path / "bare.npy", GOOD_X)
    (tmp_path / "bare.npy").rename(tmp_path / "bare.npz")
    with pytest.raises(SequenceDataError, match=r"bare\.npz holds one bare array \(a \.npy\), not a \.npz archive"):
        load_sequences(tmp_path / "bare.npz")
    (tmp_path / "twice.csv").write_text("id,step,f0,label\n0,0,1,a\n0,0,2,a\n1,0,1,b\n")
    with pytest.raises(SequenceDataError, match=r"sequence id 0 has step 0 on more than one row \(lines 2, 3\)"):
        load_sequences(tmp_path / "twice.csv")
    (tmp_path / "two.csv").write_text("id,step,f0,label\n0,0,1,a\n0,1,2,b\n1,0,1,b\n")
    with pytest.raises(SequenceDataError, match=r"sequence id 0 has more than one label \(a, b\): every row"):
        load_sequences(tmp_path / "two.csv")
    _nan_labels_csv(tmp_path / "labels.csv")  # new inputs to explain need no label: theirs is not read
    x, mask = read_inputs(tmp_path / "labels.csv", max_steps=None)
    assert x.shape == (10, 2, 1) and mask.all()


def test_an_empty_path_given_from_python_says_how_to_use_the_shipped_example():
    from experiments.tasks.sequence_data import SequenceDataError, load_sequences

    with pytest.raises(SequenceDataError, match=r"^task.data.path is empty: give a .npz or a .csv, or leave"):
        load_sequences("")


def test_a_file_name_too_long_for_the_file_system_is_refused_in_one_line(tmp_path):
    path = tmp_path / ("a" * 300 + ".npz")
    code, stderr = _command(tmp_path, path)
    assert (code, stderr) == (2, f"error: task.data.path: cannot read {str(path)[:80]}...: File name too long")


def _text_steps_csv(path):
    rows = [(i, f"t{t}", float(t), "ab"[i % 2]) for i in range(10) for t in range(12)]
    path.write_text("id,step,f0,label\n" + "".join(f"{i},{t},{v},{label}\n" for i, t, v, label in rows))


@pytest.mark.parametrize(
    "name, write, message",
    [
        ("steps.csv", _text_steps_csv,  # sorted as text, t10 would come before t2
         "{path}: the step column must hold numbers (each row's place in its sequence), got t0, t1, t2 and 9 more"),
        ("one_step.npz", lambda path: np.savez(path, x=np.ones((10, 1, 2)), y=np.arange(10) % 2),
         "every sequence of x has a single step: attention over time needs sequences of 2 steps or more"),
        ("huge.npz", lambda path: np.savez(path, x=np.full((10, 4, 2), 1e39), y=np.arange(10) % 2),
         "x holds values beyond what float32 can hold (about ±3.4e38): rescale them"),
    ],
)  # fmt: skip
def test_data_that_would_be_misread_is_refused_in_one_line(tmp_path, name, write, message):
    write(tmp_path / name)
    assert _command(tmp_path, tmp_path / name) == (2, "error: " + message.format(path=tmp_path / name))


def test_large_finite_values_are_scaled_without_overflow():
    from experiments.tasks.sequences import _scaler, _standardised

    x = np.random.default_rng(0).normal(size=(6, 3, 2)).astype("float32") * np.float32(1e30)
    mask = np.ones((6, 3), dtype=bool)
    scaled = _standardised(x, mask, _scaler(x, mask, np.arange(6)))
    assert np.all(np.isfinite(scaled)) and abs(float(scaled.std()) - 1) < 1e-3
