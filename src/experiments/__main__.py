"""`experiments [overrides]` (or `python -m experiments`): the Hydra entry point; with no overrides,
the dense hello-world. `experiments TOOL ...`: one of the tools on runs and records (`TOOLS`)."""

import importlib
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
from experiments.run.errors import NoTrialCompleted, StopRequest, SuiteError, refuse
from experiments.run.files import SUITE_ROOT, RunDir
from experiments.run.job import FailedJobs, run_job
from experiments.run.search import monitored_value
from experiments.run.threads import threads_per_job
from experiments.tasks.imdb_data import DataError

log = logging.getLogger("experiments")
SWEEP_JOBS = "EXPERIMENTS_SWEEP_JOBS"  # how many jobs the launch has, for each job's line
# JAX reports at INFO that this machine has no TPU; Hydra's logging would print it for every job.
logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def _run(cfg):
    """One job; returns the task's monitored validation metric, which a search (hparams_search=...)
    optimises, or nan where the job failed."""
    hydra_cfg = HydraConfig.get()
    try:
        validate(cfg, hydra_cfg.overrides.task)
    except ConfigError as error:
        refuse(error)
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
        refuse(error)
    except Exception:
        if not job:
            raise
        # One failed job must not end a sweep: metrics.json records it, the statistics list it.
        log.exception("job failed (recorded in %s/metrics.json); the sweep goes on", run_dir)
        metrics = RunDir(run_dir).metrics()
        if metrics is None:  # it failed before it could write metrics.json: written here, for the statistics
            metrics = dict(
                task=cfg.task.name, attention=cfg.attention.name, seed=cfg.seed, status="failed", reason="see run.log"
            )
            RunDir(run_dir).write_metrics(metrics)
    else:
        if skipped:
            log.info("%s already holds a completed run of this config: skipped", run_dir)
            print(f"{job}skipped: {run_dir} already holds a completed run of this config", flush=True)
            return monitored_value(cfg, metrics)
    print(f"{job}{run_line(metrics, cfg, run_dir)}", flush=True)  # what the run found, and where its files are
    if not job and metrics.get("status") != "completed":
        sys.exit(1)  # a failed run (nan loss): its line says why
    return monitored_value(cfg, metrics)


def _interrupt(signum, frame):
    # A polite stop (kill, a cluster's time limit) ends the run as Ctrl-C does: recorded, not lost.
    StopRequest.reason = f"stopped by {signal.Signals(signum).name}"
    raise KeyboardInterrupt(StopRequest.reason)


# The first word of `experiments TOOL ...`: {tool: (its module, what it does)}. Each module's
# main(argv) takes the rest of the command line. A Hydra override never looks like one of these
# words (it holds "=" or starts with "+", "~" or "-"), so everything else goes to Hydra unchanged.
TOOLS = {
    "audit": ("experiments.trained.audit", "is the attention faithful? audit trained runs"),
    "explain": ("experiments.trained.explain", "a trained run's predictions and attention on new inputs"),
    "translate": ("experiments.trained.translate", "translate a date with a trained dates model"),
    "neighbours": ("experiments.trained.neighbours", "1-NN DTW and Euclidean baselines for task=sequences"),
    "stats": ("experiments.records.stats", "a sweep's statistics again (summary.csv, .md, .png)"),
    "report": ("experiments.records.report", "one HTML page of every run and sweep"),
    "results": ("experiments.records.results", "run the published experiments into docs/results/"),
    "publish": ("experiments.records.publish", "render the README's and docs' tables from docs/results/"),
    "verify": ("experiments.records.verify", "run recorded jobs again and compare with the record"),
}
# They read or write the published records, docs/results/ of the suite's checkout.
CHECKOUT_TOOLS = ("results", "publish", "verify")

USAGE = f"""usage: experiments [OVERRIDES ...]     train, e.g. experiments task=imdb attention=luong -m seed=0..9
       experiments TOOL [ARGS ...]      a tool (experiments TOOL --help):
{chr(10).join(f"         {name:<11} {about}" for name, (_, about) in TOOLS.items())}
Hydra's own help follows: the config groups and their options, then the default config.
"""


def run_tool(name, argv):
    """Runs tool `name` on `argv`; returns its exit status (2, with one line, for bad input)."""
    if name in CHECKOUT_TOOLS and SUITE_ROOT is None:
        refuse(
            f"'experiments {name}' works on the published records of the suite's source checkout "
            "(git clone, then make install); this installation has none"
        )
    try:
        return importlib.import_module(TOOLS[name][0]).main(argv)
    except SuiteError as error:
        refuse(error)


def main(argv=None):
    signal.signal(signal.SIGTERM, _interrupt)
    FailedJobs.count = 0  # the count of this launch (main may run twice in one process: the tests)
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in TOOLS:
        return run_tool(argv[0], argv[1:])
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE, flush=True)
    try:
        sys.argv[1:] = normalize_args(argv)
        jobs = preflight(sys.argv[1:])
        sys.argv[1:] = [*sys.argv[1:], *searchpath_overrides()]  # a user's own config directories
    except (UsageError, ConfigError) as error:
        refuse(error)
    if jobs is not None:
        os.environ[SWEEP_JOBS] = str(jobs)  # the processes that run the jobs inherit it
    try:
        _run()
    except KeyboardInterrupt as stop:  # Ctrl-C, kill: the job has recorded itself as failed
        reason = str(stop) or "interrupted"
        again = (
            "the same command again resumes the sweep, keeping every finished job"
            if jobs is not None
            else "the run resumes from its last epoch when run again with hydra.run.dir=<its directory>"
        )
        print(f"error: {reason}; {again}", file=sys.stderr)
        return 130
    except NoTrialCompleted:  # a search whose every trial failed has no best trial
        print("error: no trial of the search completed; each trial's metrics.json and run.log say why", file=sys.stderr)
        return 1
    if FailedJobs.count:  # the sweep ran every job; the command still says that some failed
        print(f"error: {FailedJobs.count} job(s) of the sweep failed; their metrics.json say why", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
