"""The Python API (`experiments.run_task`, `read_run`): the same job as the command line, in this
process, and a run read back, explained and audited."""

import json
import subprocess
import sys

import numpy as np
import pytest

import experiments
from conftest import run_numbers
from experiments.api import UsageError
from experiments.run.config import ConfigError


def test_run_task_gives_the_command_line_s_metrics_and_reads_back(tmp_path):
    overrides = ["debug=smoke", "task.epochs=2"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments",
            "task=find_max",
            "seed=1",
            *overrides,
            f"hydra.run.dir={tmp_path / 'cli'}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    by_cli = json.loads((tmp_path / "cli" / "metrics.json").read_text())

    run = experiments.run_task("find_max", seed=1, overrides=overrides, run_dir=tmp_path / "api")
    assert run.metrics["status"] == "completed"
    assert run_numbers(run.metrics) == run_numbers(by_cli)
    assert run.metrics["config"] == by_cli["config"]  # the same config, fingerprinted alike

    again = experiments.read_run(run.run_dir)
    assert again.metrics == run.metrics and again.config.task.name == "find_max"
    assert (run.run_dir / ".hydra" / "overrides.yaml").is_file()
    # Explained on new inputs, and audited, as the command line's tools do it.
    probe = np.random.default_rng(0).beta(0.1, 1.0, size=(3, 10, 1)).astype("float32")
    np.savez(tmp_path / "new.npz", x=probe)
    explained = run.explain(tmp_path / "new.npz")
    np.testing.assert_allclose(explained.outputs, run.model().predict(probe, verbose=0), rtol=1e-5)
    result = run.audit(samples=20)
    assert result["samples"] == 20 and (run.run_dir / "audit.json").is_file()
    # A second call with the same config finds the completed run and keeps it.
    assert (
        experiments.run_task("find_max", seed=1, overrides=overrides, run_dir=tmp_path / "api").metrics == run.metrics
    )


def test_run_task_refuses_bad_input_in_one_line_before_anything_runs(tmp_path):
    with pytest.raises(UsageError, match="unknown setting 'epoch'"):
        experiments.run_task("dense", overrides=["epoch=5"], run_dir=tmp_path / "a")
    with pytest.raises(ConfigError, match="attention 'block_3d' does not apply to task 'dense'"):
        experiments.run_task("dense", attention="block_3d", run_dir=tmp_path / "b")
    with pytest.raises(UsageError, match="runs one job"):
        experiments.run_task("dense", overrides=["-m", "task.epochs=1,2"], run_dir=tmp_path / "c")
    with pytest.raises(UsageError, match=r"^run_task takes seed as its argument seed=\.\.\.; leave seed=\.\.\. out"):
        experiments.run_task("dense", overrides=["seed=3"], run_dir=tmp_path / "d")
    assert not any(tmp_path.iterdir())
    with pytest.raises(experiments.SuiteError, match="not a run directory"):
        experiments.read_run(tmp_path)
