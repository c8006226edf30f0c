"""The nearest-neighbour baselines of `task=sequences`: DTW as the textbook recursion defines it,
warping that finds a pattern wherever it lies, the task's own test samples, one-line refusals."""

import json
import subprocess
import sys

import numpy as np
import pytest

from experiments.records import publish
from experiments.run.task import load_task
from experiments.trained import neighbours
from experiments.trained.neighbours import baselines, dtw_distances, euclidean_distances


def _reference_dtw(a, b):
    """DTW of two (steps, features) sequences, cell by cell: squared distance plus the cheapest of
    the three cells before."""
    total = np.full((len(a) + 1, len(b) + 1), np.inf)
    total[0, 0] = 0.0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            step = ((a[i - 1] - b[j - 1]) ** 2).sum()
            total[i, j] = step + min(total[i - 1, j], total[i, j - 1], total[i - 1, j - 1])
    return total[-1, -1]


@pytest.mark.parametrize("dependent", [True, False])
def test_dtw_of_sequences_of_different_lengths_equals_the_recursion(dependent):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 9, 3)), rng.normal(size=(4, 7, 3))
    a_lengths, b_lengths = np.array([9, 3, 5, 1, 8]), np.array([7, 2, 6, 4])
    a[np.arange(9)[None, :] >= a_lengths[:, None]] = 1e6  # past each end: must never be read
    b[np.arange(7)[None, :] >= b_lengths[:, None]] = -1e6

    def reference(x, y):
        if dependent:
            return _reference_dtw(x, y)
        return sum(_reference_dtw(x[:, [f]], y[:, [f]]) for f in range(x.shape[1]))

    expected = [[reference(a[i, : a_lengths[i]], b[j, : b_lengths[j]]) for j in range(4)] for i in range(5)]
    # a memory of one query at a time: the chunks must join up
    got = dtw_distances(a, a_lengths, b, b_lengths, dependent=dependent, memory=1)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(
        euclidean_distances(a[:, :3], b[:, :3]), ((a[:, None, :3] - b[None, :, :3]) ** 2).sum(axis=(2, 3))
    )


def _spikes(path, samples=40, steps=60, lengths=None):
    """Two classes told apart by the sign of one spike, at a random step of each sequence."""
    rng = np.random.default_rng(0)
    y = np.array(["up", "down"] * (samples // 2))
    x = rng.normal(scale=0.1, size=(samples, steps, 2))
    for i, label in enumerate(y):
        x[i, rng.integers(0, lengths[i] if lengths is not None else steps), 0] += 3 if label == "up" else -3
    np.savez(path, x=x, y=y, **({"lengths": lengths} if lengths is not None else {}))
    return path


def test_warping_finds_the_pattern_wherever_it_lies_where_step_by_step_distance_cannot(compose_config, tmp_path):
    cfg = compose_config("task=sequences", f"task.data.path={_spikes(tmp_path / 'spikes.npz')}")
    results, split = baselines(cfg)
    assert set(results) == {"dtw_d", "dtw_i", "ed"}
    assert results["dtw_d"]["accuracy"] >= 0.9 and results["dtw_i"]["accuracy"] >= 0.9
    assert results["ed"]["accuracy"] < results["dtw_d"]["accuracy"] - 0.2
    assert split["train"] + split["test"] == 40 and split["classes"] == 2


def test_the_test_samples_are_the_ones_the_task_tests_on_and_different_lengths_skip_euclid(compose_config, tmp_path):
    lengths = np.random.default_rng(2).integers(12, 61, size=40)
    path = _spikes(tmp_path / "spikes.npz", lengths=lengths)
    cfg = compose_config("task=sequences", f"task.data.path={path}", "seed=3")
    task = load_task(cfg.task.module)
    tested = task.make_data(cfg.task, np.random.default_rng(cfg.seed)).test[0]
    results, split = baselines(cfg)
    assert split["test"] == len(tested)
    assert set(results) == {"dtw_d", "dtw_i"}  # Euclidean distance needs one length


def test_a_regression_is_scored_by_the_nearest_samples_target(compose_config, tmp_path):
    rng = np.random.default_rng(0)
    target = rng.uniform(-1, 1, size=40)
    x = rng.normal(scale=0.01, size=(40, 8, 1)) + target[:, None, None]  # the level is the target
    np.savez(tmp_path / "levels.npz", x=x, y=target)
    results, split = baselines(compose_config("task=sequences", f"task.data.path={tmp_path / 'levels.npz'}"))
    assert split["classes"] == 0 and set(results["dtw_d"]) == {"mae", "seconds"}
    assert results["dtw_d"]["mae"] < 0.1 < np.abs(target - target.mean()).mean()  # far better than the mean


def _command(*arguments):
    return subprocess.run(
        [sys.executable, "-m", "experiments", "neighbours", *map(str, arguments)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_command_writes_its_summary_and_refuses_bad_requests_in_one_line(tmp_path):
    out = tmp_path / "out"
    done = _command(f"task.data.path={_spikes(tmp_path / 'spikes.npz')}", "--out", out)
    assert done.returncode == 0, done.stderr
    made = json.loads((out / neighbours.SUMMARY).read_text())
    assert made["status"] == "completed" and made["provenance"]["commit"] and made["data"] == "spikes.npz"
    assert set(made["methods"]) == {"dtw_d", "dtw_i", "ed"}
    assert "1-NN DTW, dependent" in (out / neighbours.TABLE).read_text()

    for arguments, message in [
        ([f"task.data.path={tmp_path}/missing.npz"], f"task.data.path: there is no file {tmp_path}/missing.npz"),
        (["task.objective=sometimes"], "task.objective must be one of auto, classification, regression"),
        (["task=dense"], "nearest-neighbour baselines are for task=sequences, got task=dense"),
        (["seed=-1"], "seed must be an integer from 0 to 2**32 - 1"),
    ]:
        refused = _command(*arguments, "--out", tmp_path / "refused")
        assert refused.returncode == 2 and refused.stderr.startswith(f"error: {message}"), refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "refused").exists()


def test_the_readme_block_sets_each_variant_against_the_best_baseline(tmp_path):
    assert publish.BLOCKS["sequences_neighbours"](tmp_path).startswith(
        "_Not recorded yet: `make results ONLY=sequences"
    )
    (tmp_path / "sequences_neighbours").mkdir()
    made = {
        "split": {"train": 270, "test": 370, "classes": 9},
        "methods": {"dtw_d": {"accuracy": 0.95, "seconds": 2.0}, "dtw_i": {"accuracy": 0.9, "seconds": 5.0}},
        "provenance": {},
    }
    (tmp_path / "sequences_neighbours" / "neighbours.json").write_text(json.dumps(made))
    text = publish.BLOCKS["sequences_neighbours"](tmp_path)
    assert "| 1-NN DTW, dependent (full window) | 95.00 | 2 s |" in text
    assert "same 370 test samples" in text and "minus the best" not in text  # no sweep recorded there
