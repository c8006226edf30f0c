"""Reliability: the same seed gives the same numbers; bad input is refused in one line and changes
nothing; a failure while writing keeps every number computed before it."""

import errno
import json
import os
import subprocess
import sys

import pytest

from conftest import IMDB_DIR, IMDB_SHORT, experiments_in_process, run_numbers
from experiments.run import files
from experiments.run.runner import run

# Same seed, same numbers, for every task under debug=smoke: tests/test_tasks.py runs each task twice
# and compares metrics.json and attention.npy bit for bit; tests/test_cli.py does it across processes.


# --- Bad input: at least 25 command lines and files, each refused before training ----------------


def _corrupt_imdb(directory):
    directory.mkdir()
    (directory / "imdb.npz").write_bytes(b"this is not a zip archive")
    (directory / "imdb_word_index.json").write_text("{}")
    return directory


BAD_INPUTS = [
    # (arguments, what the one line must say); {tmp} is the test's directory.
    (["task=nope"], "unknown task 'nope'; accepted: add_two_numbers, dates, dense"),
    (["attention=nope"], "unknown attention 'nope'; accepted: bahdanau, block_2d"),
    (["debug=nope"], "unknown debug 'nope'; accepted: smoke"),
    (
        ["experiment=nope"],
        "unknown experiment 'nope'; accepted: add_two_numbers_scores, dates_scores, dense_seeds, diversity_lstm, find_max_scores",
    ),
    (["hydra/launcher=nope"], "unknown hydra/launcher 'nope'; accepted: basic, joblib"),
    (["task=dense", "attention=block_3d"], "attention 'block_3d' does not apply to task 'dense'; accepted: block_2d"),
    (["-m", "task=dense", "attention=block_2d,luong"], "attention 'luong' does not apply to task 'dense'"),
    (["epoch=5"], "unknown setting 'epoch': the config has no such key; did you mean task.epochs?"),
    (["task.epoch=5"], "unknown setting 'task.epoch': the config has no such key; did you mean task.epochs"),
    (["trainer.optimizer.lr=0.1"], "unknown setting 'trainer.optimizer.lr'"),
    (["seed=abc"], "seed must be an integer from 0 to 2**32 - 1"),
    (["seed=-1"], "seed must be an integer from 0 to 2**32 - 1"),
    (["seed=1.5"], "seed must be an integer from 0 to 2**32 - 1"),
    (["seed=0.."], "seed must be an integer from 0 to 2**32 - 1 (or a range such as seed=0..9 with -m), got '0..'"),
    (["-m", "seed=5..2"], "seed=5..2 is an empty range: A..B needs A <= B"),
    (["-m", "seed=a..b"], "seed=a..b is not a range: A..B needs integers"),
    (["seed=0..9"], "seed=0..9 is a range of runs; add -m to sweep it"),
    (["seed=0,1"], "seed=0,1 is a sweep of several runs; add -m to sweep it"),
    (["task.epochs=-1"], "task.epochs must be a positive integer, got -1"),
    (["task.epochs=0"], "task.epochs must be a positive integer, got 0"),
    (["task.batch_size=0"], "task.batch_size must be a positive integer, got 0"),
    (["task.samples=many"], "task.samples must be a positive integer, got 'many'"),
    (["task.validation_split=1.5"], "task.validation_split must be in [0, 1), got 1.5"),
    (["task.plots=[attention_pie]"], "unknown figure 'attention_pie' in task.plots; accepted: attention_bar"),
    (["trainer.threads=0"], "trainer.threads must be 'auto' or a positive integer, got 0"),
    (
        ["trainer.optimizer.learning_rate=fast"],
        "trainer.optimizer.learning_rate must be a positive finite number, got 'fast'",
    ),
    (["task.epochs=[1"], "no viable alternative at input '[1'"),
    (["paths.output_dir=/proc/no-such-place"], "cannot write the outputs to /proc/no-such-place/runs/dense/block_2d/"),
    (
        ["paths.output_dir={tmp}/outputs/marker.txt/inside"],
        "marker.txt is a file; choose another place with paths.output_dir=DIR",
    ),
    (
        ["-m", "task=dense", "seed=0..1", "hydra.sweep.dir={tmp}/outputs/sweeps/old"],
        "already holds another sweep (debug=smoke task=lstm_before); to resume it, give the same overrides",
    ),
    (["task=dates", "task.data.locales=[xx_YY]"], "task.data.locales: unknown locale 'xx_YY'"),
    (["task=imdb", "data_dir={tmp}/no-imdb-here"], "IMDB data not found: no file"),
    (
        ["task=imdb", "data_dir={tmp}/corrupt"],
        "point the suite at a directory holding imdb.npz and imdb_word_index.json",
    ),
]


def _snapshot(directory):
    return {str(p.relative_to(directory)): (p.stat().st_mtime_ns, p.stat().st_size) for p in directory.rglob("*")}


def test_bad_inputs_are_refused_in_one_line_before_training_and_change_nothing(tmp_path):
    outputs = tmp_path / "outputs"
    (outputs / "sweeps" / "old").mkdir(parents=True)
    (outputs / "marker.txt").write_text("already here")
    # A sweep that ran before, over another task, in the directory one bad command names.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments",
            "-m",
            "task=lstm_before",
            "debug=smoke",
            f"hydra.sweep.dir={outputs}/sweeps/old",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    _corrupt_imdb(tmp_path / "corrupt")
    before = _snapshot(outputs)

    def attempt(case):
        args, message = case
        args = [a.replace("{tmp}", str(tmp_path)) for a in args]
        # paths.output_dir once: a key given twice is refused
        where = [] if any(a.startswith("paths.output_dir=") for a in args) else [f"paths.output_dir={outputs}"]
        # By the command's own main in this process: a new Python for each would take a minute more
        # (test_hydra_full_error_keeps_the_traceback runs one in a process of its own).
        return args, message, experiments_in_process(*where, *args)

    results = list(map(attempt, BAD_INPUTS))
    assert len(BAD_INPUTS) >= 25
    for args, message, result in results:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert result.returncode == 2, (args, result.stderr[-2000:])
        assert len(errors) == 1 and message in errors[0], (args, result.stderr[-2000:])
        assert "Traceback" not in result.stderr, args
        assert "Epoch 1/" not in result.stdout, args  # no training started
    # Nothing that was in the output directory changed. (The data errors come from inside a run,
    # after Hydra made its new, empty-handed run directory: that one is new, not changed.)
    after = _snapshot(outputs)
    assert {k: v for k, v in after.items() if k in before} == before


def test_hydra_full_error_keeps_the_traceback(tmp_path):
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "experiments", "epoch=5", f"paths.output_dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode != 0 and "Traceback" in result.stderr


# --- Faults while writing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault", [OSError(errno.ENOSPC, "No space left on device"), PermissionError(errno.EACCES, "Permission denied")]
)
def test_a_write_error_while_drawing_fails_the_run_but_keeps_its_numbers(compose_config, tmp_path, monkeypatch, fault):
    from matplotlib.figure import Figure

    cfg = compose_config("task=find_max", "debug=smoke")

    def no_room(self, path, *args, **kwargs):
        if str(path).endswith("attention_argmax.png"):
            raise fault
        return original(self, path, *args, **kwargs)

    original = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", no_room)
    with pytest.raises(OSError):
        run(cfg, tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "failed" and fault.strerror in metrics["reason"]
    # Every number computed before the failure is kept.
    assert metrics["test"]["loss"] > 0 and 0 <= metrics["attention_quality"]["argmax_accuracy"] <= 1
    assert metrics["figures"] == ["training_curves.png"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_failed_write_of_metrics_keeps_the_previous_file(tmp_path, monkeypatch):

    path = tmp_path / "metrics.json"
    files.write_json(path, {"status": "completed"})

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(type(path), "write_text", full)
    with pytest.raises(OSError):
        files.write_json(path, {"status": "failed"})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"status": "completed"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


# --- Long runs: a killed job resumes where it stopped, and ends as if it never stopped -----------


@pytest.mark.skipif(IMDB_DIR is None, reason="the local IMDB copy (../shared/data) is not here")
def test_a_job_killed_in_epoch_7_resumes_at_epoch_7_with_the_same_final_numbers(compose_config, tmp_path, monkeypatch):
    """IMDB (dropout, early stopping that restores the best epoch, test set every epoch), 8 epochs."""
    import keras

    from experiments.run import runner

    cfg = compose_config("task=imdb", "debug=smoke", "task.epochs=8", IMDB_SHORT)
    uninterrupted = run(cfg, tmp_path / "uninterrupted")
    original = runner.build_callbacks

    class KillInEpoch7(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 7 and batch == 1:
                raise KeyboardInterrupt("killed in epoch 7")

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

    monkeypatch.setattr(runner, "build_callbacks", lambda *args: {**original(*args), "test.kill": KillInEpoch7()})
    with pytest.raises(KeyboardInterrupt):
        run(cfg, tmp_path / "resumed")
    killed = json.loads((tmp_path / "resumed" / "metrics.json").read_text())
    assert killed["status"] == "failed" and "killed in epoch 7" in killed["reason"]
    assert (tmp_path / "resumed" / "backup").is_dir()

    epochs_run = []

    class Count(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epochs_run.append(epoch + 1)

    monkeypatch.setattr(runner, "build_callbacks", lambda *args: {**original(*args), "test.count": Count()})
    resumed = run(cfg, tmp_path / "resumed")
    assert epochs_run == [7, 8]  # epochs 1 to 6 were restored, not run again
    assert run_numbers(resumed) == run_numbers(uninterrupted)
    assert len((tmp_path / "resumed" / "history.csv").read_text().splitlines()) == 1 + 8
    # Its wall time is the run's, not the last try's: it holds the training of epochs 1 to 6.
    assert 0 < resumed["earlier_tries_s"] < resumed["wall_time_s"]
    assert "earlier_tries_s" not in uninterrupted
    assert not (tmp_path / "resumed" / "backup").exists()


def test_a_job_killed_after_training_trains_no_epoch_again(compose_config, tmp_path, monkeypatch):
    """Cut while it evaluates, after early stopping ended its training in epoch 2 of 4 and restored
    epoch 1: the backup outlives the training, so the try that resumes trains nothing (not the
    epochs early stopping skipped either) and ends with the uninterrupted run's numbers."""
    import keras

    from experiments.run import runner

    stopping = "+task.early_stopping={monitor: val_loss, min_delta: 10, patience: 1, restore_best_weights: true}"
    cfg = compose_config("task=dense", "debug=smoke", "task.epochs=4", stopping)
    uninterrupted = run(cfg, tmp_path / "uninterrupted")
    assert uninterrupted["stopped_epoch"] == 2 and uninterrupted["best_epoch"] == 1

    def killed(*args):
        raise KeyboardInterrupt("killed while evaluating")

    monkeypatch.setattr(runner, "_evaluate", killed)
    with pytest.raises(KeyboardInterrupt):
        run(cfg, tmp_path / "resumed")
    assert (tmp_path / "resumed" / "backup").is_dir()
    monkeypatch.undo()

    epochs_run = []

    class Count(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epochs_run.append(epoch + 1)

    original = runner.build_callbacks
    monkeypatch.setattr(runner, "build_callbacks", lambda *args: {**original(*args), "test.count": Count()})
    resumed = run(cfg, tmp_path / "resumed")
    assert epochs_run == []
    assert run_numbers(resumed) == run_numbers(uninterrupted)
    assert len((tmp_path / "resumed" / "history.csv").read_text().splitlines()) == 1 + 2
    assert (tmp_path / "resumed" / "model.keras").is_file() and not (tmp_path / "resumed" / "backup").exists()


def test_a_backup_of_another_config_is_not_resumed(compose_config, tmp_path):
    from experiments.run.callbacks import ResumableTraining

    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "resume.json").write_text(json.dumps({"config": "another-config"}))
    ResumableTraining.discard_other(backup, "this-config")
    assert not backup.exists()
