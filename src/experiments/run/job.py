"""One job, the same for the command line (`python -m experiments`) and the Python API
(`experiments.run_task`): its config checked, TensorFlow started (quietly) only then, the threads
limited, a completed run of the same config skipped, and the runner."""

from hydra.experimental.callback import Callback

from experiments.run.config import validate
from experiments.run.files import RunDir
from experiments.run.quiet import start_tensorflow
from experiments.run.threads import limit_threads


class FailedJobs(Callback):
    """Hydra callback: at a sweep's end, how many of its jobs' metrics.json say they failed, for the
    command's exit status (each job may have run in another process: their files tell)."""

    count = 0

    def on_multirun_end(self, config, **kwargs):
        FailedJobs.count = sum(1 for run in RunDir.under(config.hydra.sweep.dir) if not run.completed())


def run_job(cfg, run_dir, threads):
    """Runs the job of `cfg` into `run_dir` with `threads` CPU threads (None: all); returns
    (metrics, skipped): `skipped` where the directory held a completed run of this config already."""
    validate(cfg)
    start_tensorflow()  # only for a good config
    from experiments.run.runner import audit_at_end, completed_before, run  # noqa: PLC0415  (TensorFlow starts once the config has passed its checks)

    limit_threads(threads)
    if completed_before(cfg, run_dir):
        run_dir = RunDir(run_dir)
        if run_dir.audit_pending() and run_dir.has_model():
            audit_at_end(cfg, run_dir.path)  # its training is kept; the audit that was cut runs again
        return run_dir.metrics(), True
    return run(cfg, run_dir, threads), False
