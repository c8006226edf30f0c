"""`python -m experiments [overrides]`: the Hydra entry point. With no overrides: dense hello-world."""

import logging
import os
import signal
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from experiments.records.describe import run_line
from experiments.run.cli import CONFIG_DIR, UsageError, normalize_args, preflight
from experiments.run.config import ConfigError, searchpath_overrides, validate
from experiments.run.job import FailedJobs, recorded_metrics, run_job
from experiments.run.threads import threads_per_job
from experiments.tasks.imdb_data import DataError

log = logging.getLogger("experiments")
SWEEP_JOBS = "EXPERIMENTS_SWEEP_JOBS"  # how many jobs the launch has, for each job's line
# JAX reports at INFO that this machine has no TPU; Hydra's logging would print it for every job.
logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)


def _fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def _run(cfg):
    hydra_cfg = HydraConfig.get()
    try:
        validate(cfg, hydra_cfg.overrides.task)
    except ConfigError as error:
        _fail(error)
    threads = threads_per_job(cfg.trainer.threads, hydra_cfg.launcher)
    run_dir = Path(hydra_cfg.runtime.output_dir)
    # In a sweep, each job's line says which job it was: "job 3/20 · dense · ...".
    job = (
        f"job {hydra_cfg.job.num + 1}/{os.environ.get(SWEEP_JOBS, '?')} · "
        if hydra_cfg.mode == RunMode.MULTIRUN
        else ""
    )
    try:
        metrics, skipped = run_job(cfg, run_dir, threads)
    except (ConfigError, DataError) as error:  # every job would fail alike: stop here, in one line
        _fail(error)
    except Exception:
        if not job:
            raise
        # One failed job must not end a sweep: metrics.json records it, the statistics list it.
        log.exception("job failed (recorded in %s/metrics.json); the sweep goes on", run_dir)
        metrics = recorded_metrics(run_dir) or dict(  # it failed before it could write metrics.json
            task=cfg.task.name, attention=cfg.attention.name, seed=cfg.seed, status="failed", reason="see run.log"
        )
    else:
        if skipped:
            log.info("%s already holds a completed run of this config: skipped", run_dir)
            print(f"{job}skipped: {run_dir} already holds a completed run of this config", flush=True)
            return
    print(f"{job}{run_line(metrics, cfg, run_dir)}", flush=True)  # what the run found, and where its files are
    if not job and metrics.get("status") != "completed":
        sys.exit(1)  # a failed run (nan loss): its line says why


def _interrupt(signum, frame):
    # A polite stop (kill, a cluster's time limit) ends the run as Ctrl-C does: recorded, not lost.
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def main():
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        sys.argv[1:] = normalize_args(sys.argv[1:])
        jobs = preflight(sys.argv[1:])
        sys.argv[1:] = [*sys.argv[1:], *searchpath_overrides()]  # a user's own config directories
    except (UsageError, ConfigError) as error:
        _fail(error)
    if jobs is not None:
        os.environ[SWEEP_JOBS] = str(jobs)  # the processes that run the jobs inherit it
    _run()
    if FailedJobs.count:  # the sweep ran every job; the command still says that some failed
        print(f"error: {FailedJobs.count} job(s) of the sweep failed; their metrics.json say why", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
