"""`python -m experiments [overrides]`: the Hydra entry point. With no overrides: dense hello-world."""

import logging
import os
import signal
import sys
from pathlib import Path

# TensorFlow's C++ log lines are CUDA probing noise on a CPU machine; TF_CPP_MIN_LOG_LEVEL=0 shows them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from experiments.cli import CONFIG_DIR, UsageError, normalize_args, preflight
from experiments.config import ConfigError, validate
from experiments.describe import run_line
from experiments.imdb_data import DataError
from experiments.threads import limit_threads, threads_per_job

log = logging.getLogger("experiments")
# JAX reports at INFO that this machine has no TPU; Hydra's logging would print it for every job.
logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)


def _fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def _run(cfg):
    hydra_cfg = HydraConfig.get()
    try:
        validate(cfg)
    except ConfigError as error:
        _fail(error)
    threads = threads_per_job(cfg.trainer.threads, hydra_cfg.launcher)
    from experiments.runner import completed_before, run  # TensorFlow: only for a good config

    limit_threads(threads)
    run_dir = Path(hydra_cfg.runtime.output_dir)
    if completed_before(cfg, run_dir):
        log.info("%s already holds a completed run of this config: skipped", run_dir)
        return
    try:
        metrics = run(cfg, run_dir, threads)
    except (ConfigError, DataError) as error:  # every job would fail alike: stop here, in one line
        _fail(error)
    except Exception:
        if hydra_cfg.mode != RunMode.MULTIRUN:
            raise
        # One failed job must not end a sweep: metrics.json records it, the statistics list it.
        log.exception("job failed (recorded in %s/metrics.json); the sweep goes on", run_dir)
    else:
        print(run_line(metrics, cfg, run_dir), flush=True)  # what the run found, and where its files are


def _interrupt(signum, frame):
    # A polite stop (kill, a cluster's time limit) ends the run as Ctrl-C does: recorded, not lost.
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def main():
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        sys.argv[1:] = normalize_args(sys.argv[1:])
        preflight(sys.argv[1:])
    except (UsageError, ConfigError) as error:
        _fail(error)
    _run()


if __name__ == "__main__":
    main()
