"""One job, the same for the command line (`python -m experiments`) and the Python API
(`experiments.run_task`): its config checked, TensorFlow started (quietly) only then, the threads
limited, a completed run of the same config skipped, and the runner."""

import json
from pathlib import Path

from experiments.run.config import validate
from experiments.run.faithfulness import audit_pending
from experiments.run.quiet import start_tensorflow
from experiments.run.threads import limit_threads


def recorded_metrics(run_dir):
    """The run's metrics.json, or None where there is none (or it cannot be read)."""
    try:
        return json.loads((Path(run_dir) / "metrics.json").read_text())
    except (OSError, ValueError):
        return None


def run_job(cfg, run_dir, threads):
    """Runs the job of `cfg` into `run_dir` with `threads` CPU threads (None: all); returns
    (metrics, skipped): `skipped` where the directory held a completed run of this config already."""
    validate(cfg)
    start_tensorflow()  # only for a good config
    from experiments.run.runner import audit_at_end, completed_before, run  # noqa: PLC0415  (TensorFlow starts once the config has passed its checks)

    limit_threads(threads)
    if completed_before(cfg, run_dir):
        if audit_pending(run_dir) and (Path(run_dir) / "model.keras").is_file():
            audit_at_end(cfg, run_dir)  # its training is kept; the audit that was cut runs again
        return recorded_metrics(run_dir), True
    return run(cfg, run_dir, threads), False
