"""One run, the same for every task: seed → data → model → fit → probe → figures → metrics.json.

The runner knows nothing task-specific: it asks the task module (named by `cfg.task.module`) for
its data, its model and where its attention should look.
"""

import importlib
import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np
from hydra.utils import instantiate

from attention import attention_weights
from experiments.plots import FIGURES, Probe

ATTENTION_LAYER = "attention"


def seed_everything(seed):
    """Python, NumPy and backend seeds; on TensorFlow also deterministic kernels."""
    # Hydra's basic launcher runs a sweep's jobs in one process: start each from a clean slate.
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def write_json(path, data):
    """Writes `data` as JSON atomically: readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _floats(values):
    return [float(v) for v in values]


def run(cfg, run_dir):
    """Trains the configured task and writes every output file into `run_dir`; returns the metrics."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    metrics = {
        "task": cfg.task.name,
        "attention": cfg.attention.name,
        "seed": cfg.seed,
        "status": "failed",
    }
    try:
        metrics.update(_train_and_probe(cfg, run_dir))
    except Exception as error:
        metrics["reason"] = f"{type(error).__name__}: {error}"
        raise
    finally:
        metrics["wall_time_s"] = round(time.perf_counter() - started, 3)
        write_json(run_dir / "metrics.json", metrics)
    return metrics


def _train_and_probe(cfg, run_dir):
    task = importlib.import_module(cfg.task.module)
    seed_everything(cfg.seed)
    (x_train, y_train), (x_test, y_test) = task.make_data(cfg.task, np.random.default_rng(cfg.seed))

    model = task.build_model(cfg.task, instantiate(cfg.attention.layer, name=ATTENTION_LAYER))
    model.compile(
        optimizer=instantiate(cfg.trainer.optimizer),
        loss=cfg.task.loss,
        metrics=list(cfg.task.metrics),
    )
    history = model.fit(
        x_train,
        y_train,
        epochs=cfg.task.epochs,
        batch_size=cfg.task.batch_size,
        validation_split=cfg.task.validation_split,
        callbacks=[
            keras.callbacks.CSVLogger(str(run_dir / "history.csv")),
            keras.callbacks.TerminateOnNaN(),
        ],
        verbose=cfg.trainer.verbose,
    ).history
    outcome = {
        "params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "epochs": len(history["loss"]),
        "history": {name: _floats(values) for name, values in history.items()},
    }
    if math.isnan(history["loss"][-1]):
        outcome["reason"] = f"the training loss became NaN in epoch {outcome['epochs']}"
        return outcome

    test = model.evaluate(x_test, y_test, batch_size=cfg.task.batch_size, verbose=0, return_dict=True)
    x_probe, y_probe = x_test[: cfg.task.probe_samples], y_test[: cfg.task.probe_samples]
    weights = attention_weights(model, ATTENTION_LAYER, x_probe)
    probe = Probe(x_probe, y_probe, weights, task.attention_quality(cfg.task, weights, x_probe, y_probe))
    np.save(run_dir / "attention.npy", weights)

    title = f"{cfg.task.name} · attention={cfg.attention.name} · seed={cfg.seed}"
    for name in cfg.task.plots:
        FIGURES[name](probe, title).savefig(run_dir / f"{name}.png", dpi=110)
    model.save(run_dir / "model.keras")

    return {
        **outcome,
        "status": "completed",
        "test": {name: float(value) for name, value in test.items()},
        "attention_quality": probe.quality,
        "figures": [f"{name}.png" for name in cfg.task.plots],
    }
