"""Sweeps end to end, in subprocesses as users run them: statistics, resuming, failed jobs."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from conftest import IMDB_DIR, IMDB_SHORT

EXPERIMENTS = [sys.executable, "-m", "experiments"]


def _statuses(sweep):
    return {p.parent.name: json.loads(p.read_text())["status"] for p in sweep.rglob("metrics.json")}


@pytest.mark.skipif(IMDB_DIR is None, reason="no local IMDB copy (../shared/data)")
def test_reduced_imdb_sweep_ends_with_its_statistics(tmp_path):
    subprocess.run(
        [
            *EXPERIMENTS,
            "experiment=imdb_quick",
            "debug=smoke",
            "seed=0..1",
            "task.audit.at_end=true",
            "task.audit.samples=8",
            IMDB_SHORT,
            f"paths.output_dir={tmp_path}",
        ],
        check=True,
        timeout=600,
    )
    sweep = tmp_path / "sweeps" / "imdb_quick"
    runs = [json.loads(p.read_text()) for p in sweep.rglob("metrics.json")]
    assert sorted((r["attention"], r["seed"]) for r in runs) == [("luong", 0), ("luong", 1), ("none", 0), ("none", 1)]
    assert all(r["status"] == "completed" and len(r["history"]["test_accuracy"]) == 1 for r in runs)
    summary = (sweep / "summary.md").read_text()
    assert "| | luong | none |" in summary and "| n runs | 2 | 2 |" in summary
    assert (sweep / "summary.csv").is_file() and (sweep / "summary.png").is_file()
    assert list((tmp_path / "cache").glob("imdb-*.npz"))  # prepared once, shared by the jobs
    # The two seeds of luong audited the same test reviews: their attention compared per review.
    pairs = pd.read_csv(sweep / "seed_variance.csv")
    assert [(p.attention, p.seed_a, p.seed_b, p.units) for p in pairs.itertuples()] == [("luong", 0, 1, 8)]
    assert 0 < pairs.jsd_mean[0] <= np.log(2) and (sweep / "seed_variance.png").is_file()
    assert "## Seed variance" in summary


def test_a_killed_sweep_resumes_with_only_the_unfinished_jobs(tmp_path):
    sweep = tmp_path / "sweep"
    command = [*EXPERIMENTS, "task=dense", "debug=smoke", "-m", "seed=0..5", f"hydra.sweep.dir={sweep}"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while sum(s == "completed" for s in _statuses(sweep).values()) < 2:
        assert process.poll() is None and time.monotonic() < deadline, "the sweep ended before it was killed"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = {
        p: p.stat().st_mtime_ns
        for p in sweep.rglob("metrics.json")
        if json.loads(p.read_text())["status"] == "completed"
    }
    assert 2 <= len(finished) < 6

    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    assert _statuses(sweep) == {f"seed={s}": "completed" for s in range(6)}
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in finished.items())  # not run again
    # A line as each job ends, then the group table and where the summary is.
    lines = result.stdout.splitlines()
    jobs = [line for line in lines if line.startswith("job ")]
    assert sorted(int(line.split()[1].split("/")[0]) for line in jobs) == [1, 2, 3, 4, 5, 6]
    assert all(line.split()[1].endswith("/6") for line in jobs), jobs
    assert sum(" · skipped: " in line for line in jobs) == len(finished)
    assert sum(" · completed · accuracy " in line for line in jobs) == 6 - len(finished)
    assert "## dense" in result.stdout and "| | block_2d |" in result.stdout and "6 jobs: 6 completed" in result.stdout
    assert lines[-1] == f"sweep summary: {sweep / 'summary.md'} (and summary.csv, summary.png)"


def test_a_job_whose_loss_turns_nan_fails_and_the_sweep_goes_on(tmp_path):
    sweep = tmp_path / "sweep"
    result = subprocess.run(
        [
            *EXPERIMENTS,
            "task=dense",
            "debug=smoke",
            "-m",
            "trainer.optimizer.learning_rate=1e30,0.001",
            f"hydra.sweep.dir={sweep}",
        ],
        timeout=300,
        capture_output=True,
        text=True,
    )
    # Every job ran; the command's status still says that one failed.
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == "error: 1 job(s) of the sweep failed; their metrics.json say why"
    runs = {p.parent.name: json.loads(p.read_text()) for p in sweep.rglob("metrics.json")}
    failed, completed = runs["trainer.optimizer.learning_rate=1e+30"], runs["trainer.optimizer.learning_rate=0.001"]
    assert failed["status"] == "failed" and failed["reason"].startswith("nan loss: ")
    assert completed["status"] == "completed"
    assert (
        "| dense | block_2d | 0 | failed | nan loss: the training loss became NaN in epoch 1 |"
        in (sweep / "summary.md").read_text()
    )


def test_missing_imdb_data_stops_with_one_line(tmp_path):
    result = subprocess.run(
        [*EXPERIMENTS, "task=imdb", "debug=smoke", f"data_dir={tmp_path}", f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    # TensorFlow prints its own start-up lines first (its C++ logging ignores TF_CPP_MIN_LOG_LEVEL
    # before absl is initialised); ours is the one line after them, with no traceback.
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1:] == [
        f"error: IMDB data not found: no file {tmp_path.resolve() / 'imdb.npz'}; point the suite at a directory "
        "holding imdb.npz and imdb_word_index.json with ATTENTION_DATA_DIR=DIR or data_dir=DIR"
    ]
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "failed"


def test_a_stopped_run_records_why(tmp_path):
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [*EXPERIMENTS, "task=lstm_before", "task.samples=100000", "trainer.verbose=0", f"hydra.run.dir={run_dir}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (run_dir / "history.csv").exists():  # CSVLogger opens it when training begins
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    # At once: Keras' first step may swallow the KeyboardInterrupt (a bare `except:` as it traces the
    # loss), and the run must stop all the same (StopWhenAsked raises it again).
    process.send_signal(signal.SIGTERM)
    stderr = process.communicate(timeout=60)[1]
    assert process.returncode == 130 and "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        "error: stopped by SIGTERM; the run resumes from its last epoch when run again with "
        "hydra.run.dir=<its directory>"
    )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "failed" and metrics["reason"] == "KeyboardInterrupt: stopped by SIGTERM"


def test_a_stop_keras_swallowed_is_raised_again_at_the_next_batch(monkeypatch):
    """Keras' first training step catches everything while it traces the loss (a bare `except:`), a
    KeyboardInterrupt too: the stop a signal asked for must still end the run."""
    import pytest

    from experiments.run.callbacks import StopWhenAsked
    from experiments.run.errors import StopRequest

    StopWhenAsked().on_train_batch_end(0)  # nothing asked: nothing happens
    monkeypatch.setattr(StopRequest, "reason", "stopped by SIGTERM")
    with pytest.raises(KeyboardInterrupt, match="stopped by SIGTERM"):
        StopWhenAsked().on_train_batch_end(0)
