"""The seeds of a run: Python's, NumPy's and the backend's, set in one place (the runner and the
audit both start from them)."""

import keras
import numpy as np

from experiments.run.task import load_task


def seed_everything(seed):
    """Python, NumPy and backend seeds; on TensorFlow also deterministic kernels."""
    # Hydra's basic launcher runs a sweep's jobs in one process: start each from a clean slate.
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        # TensorFlow only where it is the backend.
        import tensorflow as tf  # noqa: PLC0415

        tf.config.experimental.enable_op_determinism()


def seeded_task_data(cfg):
    """(task module, data) of a run of `cfg`, seeded as the run was: the training and the audit of
    the model it saved must see the same data."""
    task = load_task(cfg.task.module)
    seed_everything(cfg.seed)
    return task, task.make_data(cfg.task, np.random.default_rng(cfg.seed))
