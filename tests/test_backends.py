"""The layers and a task under every Keras backend that is installed (each in its own process:
Keras picks its backend once, at import)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
LAYER_TESTS = ["test_attention_layer.py", "test_blocks.py", "test_cross_attention.py"]


def _installed(backend):
    return importlib.util.find_spec(backend) is not None


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_the_layers_and_a_smoke_task_run_under_the_backend(backend, tmp_path):
    if not _installed(backend):
        pytest.skip(
            f"Keras backend {backend!r} is not installed here (pip install {backend}, then make test-backend BACKEND={backend})"
        )
    if backend == os.environ.get("KERAS_BACKEND", "tensorflow"):
        pytest.skip(f"the whole test suite runs on {backend!r}")
    env = {**os.environ, "KERAS_BACKEND": backend}
    layers = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(str(TESTS / t) for t in LAYER_TESTS)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert layers.returncode == 0, layers.stdout[-3000:]
    # The encoder-decoder task: masks, cross-attention, greedy decoding and saving, all at once.
    task = subprocess.run(
        [sys.executable, "-m", "experiments", "task=dates", "debug=smoke", f"hydra.run.dir={tmp_path}/run"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert task.returncode == 0, task.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (metrics["backend"], metrics["status"]) == (backend, "completed")
    assert {"exact_match", "char_accuracy"} <= set(metrics["test"])
