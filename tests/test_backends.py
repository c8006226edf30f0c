"""The layers and a task under every Keras backend that is installed (each in its own process:
Keras picks its backend once, at import)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend_audit import audit_saved

TESTS = Path(__file__).parent
LAYER_TESTS = [
    "test_attention_layer.py",
    "test_blocks.py",
    "test_cross_attention.py",
    "test_self_attention.py",
    "test_transformer.py",
]
AUDITED = 40  # samples audited of each small model


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
    if backend == "jax":  # XLA compiles each small function once: unoptimised, the layers' tests take
        # 38 s in place of 51 (their numbers are checked against NumPy, within float tolerance)
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0".strip()
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


def _numbers(node, path=""):
    """{path: number} of every number in a JSON tree."""
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _numbers(value, f"{path}.{key}").items()}
    if isinstance(node, list):
        return {k: v for i, value in enumerate(node) for k, v in _numbers(value, f"{path}[{i}]").items()}
    return {path: node} if isinstance(node, (int, float)) and not isinstance(node, bool) else {}


def _audited_models(tmp_path):
    """Two small trained models saved to .keras, with their audit samples: find_max's LSTM with
    `luong` (numbers, a known deciding step) and a masked token model with Jain & Wallace's `tanh`
    pooling (an Embedding, padding at the front)."""
    import keras
    import numpy as np

    from attention import Attention, AttentionPooling

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.beta(0.1, 1.0, size=(512, 10, 1)).astype("float32")
    inputs = keras.Input((10, 1))
    hidden = keras.layers.LSTM(16, return_sequences=True)(inputs)
    numbers = keras.Model(inputs, keras.layers.Dense(1)(Attention(16, name="attention")(hidden)))
    numbers.compile("adam", "mae")
    numbers.fit(x, x.max(axis=(1, 2)), epochs=3, batch_size=64, verbose=0)
    numbers.save(tmp_path / "numbers.keras")
    deciding = (x[:AUDITED, :, 0] == x[:AUDITED, :, 0].max(axis=1, keepdims=True)).astype("float32")
    np.savez(tmp_path / "numbers.npz", x=x[:AUDITED], deciding=deciding)

    tokens = np.zeros((256, 12), dtype="int32")
    for row, length in enumerate(rng.integers(3, 12, len(tokens))):
        tokens[row, -length:] = rng.integers(1, 50, length)
    labels = (tokens == 7).any(axis=1).astype("float32")
    words = keras.Input((12,), dtype="int32")
    embedded = keras.layers.Embedding(50, 8, mask_zero=True)(words)
    states = keras.layers.Bidirectional(keras.layers.LSTM(8, return_sequences=True))(embedded)
    pooled = AttentionPooling(units=8, name="attention")(states)
    text = keras.Model(words, keras.layers.Dense(1, activation="sigmoid")(pooled))
    text.compile("adam", "binary_crossentropy")
    text.fit(tokens, labels, epochs=3, batch_size=32, verbose=0)
    text.save(tmp_path / "text.keras")
    np.savez(tmp_path / "text.npz", x=tokens[:AUDITED])
    return ["numbers", "text"]


def _tolerance(path, value, samples):
    """How far one audit number may move between backends. τ is a rank statistic: two near-equal
    importances may trade places, moving a sample's τ (0.01 on the mean) and, where its p sits near
    0.05, the share of significant samples by one sample (seen between TensorFlow and JAX on an
    AMD EPYC with AVX2 only). Every other number: float tolerance."""
    if path.startswith(".agreement.") and path.endswith(".significant"):
        return 1 / samples + 1e-9
    if path.startswith(".agreement."):
        return 0.01
    return 1e-3 + 1e-3 * abs(value)


def test_the_audit_gives_the_same_measures_on_every_installed_backend(tmp_path):
    """The audit's gradients use each backend's own autodiff: on one saved model, the weights and
    both importances agree between TensorFlow and JAX (and PyTorch, where it is installed) to float
    tolerance, and so does every number of the audit; τ, a rank statistic, to 0.01 (two near-equal
    importances may trade places)."""
    import numpy as np

    others = [backend for backend in ("jax", "torch") if _installed(backend)]
    if not others:
        pytest.skip("neither JAX nor PyTorch is installed here (make test installs JAX)")
    names = _audited_models(tmp_path)
    saved = {name: (str(tmp_path / f"{name}.keras"), str(tmp_path / f"{name}.npz")) for name in names}
    files = [file for pair in saved.values() for file in pair]
    # TensorFlow's in this process (the suite runs on it); each other backend's in a process of its own.
    audits = {name: {"tensorflow": audit_saved(*pair)} for name, pair in saved.items()}
    for backend in others:  # one process for each other backend, both models in it
        done = subprocess.run(
            [sys.executable, str(TESTS / "backend_audit.py"), *files],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "KERAS_BACKEND": backend},
        )
        assert done.returncode == 0, done.stderr[-3000:]
        for name, line in zip(names, done.stdout.strip().splitlines()[-len(names) :], strict=True):
            audits[name][backend] = json.loads(line)
            assert audits[name][backend]["backend"] == backend
    for name, made in audits.items():
        on_tf = _numbers(made["tensorflow"]["result"])
        for backend in others:
            for array in ("weights", "gradient", "leave_one_out"):
                np.testing.assert_allclose(
                    made[backend]["arrays"][array],
                    made["tensorflow"]["arrays"][array],
                    rtol=1e-3,
                    atol=1e-5,
                    err_msg=f"{name}, {backend}: {array}",
                )
            on_other = _numbers(made[backend]["result"])
            assert on_tf.keys() == on_other.keys() and len(on_tf) > 40, name  # the measures, not an empty result
            differ = {
                path: (value, on_other[path])
                for path, value in on_tf.items()
                if abs(value - on_other[path]) > _tolerance(path, value, samples=AUDITED)
            }
            assert not differ, f"{name}, {backend}: {differ}"
