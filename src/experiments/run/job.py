"""One job, the same for the command line (`python -m experiments`) and the Python API
(`experiments.run_task`): its config checked, TensorFlow started (quietly) only then, the threads
limited, a completed run of the same config skipped, and the runner."""

from pathlib import Path

from hydra.experimental.callback import Callback

from experiments.run.config import validate
from experiments.run.faithfulness import audit_pending
from experiments.run.files import recorded_metrics
from experiments.run.quiet import start_tensorflow
from experiments.run.threads import limit_threads


class FailedJobs(Callback):
    """Hydra callback: at a sweep's end, how many of its jobs' metrics.json say they failed, for the
    command's exit status (each job may have run in another process: their files tell)."""

    count = 0

    def on_multirun_end(self, config, **kwargs):
        runs = [recorded_metrics(p.parent) for p in Path(config.hydra.sweep.dir).glob("**/metrics.json")]
        FailedJobs.count = sum(1 for metrics in runs if (metrics or {}).get("status") != "completed")


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
