"""The suite from Python, in this process: run a task, read a run back, explain and audit it.

    import experiments

    run = experiments.run_task("find_max", seed=0, overrides=["debug=smoke"])
    run.metrics["test"], run.run_dir            # what `python -m experiments task=find_max ...` writes
    run.explain("new.npz")                      # as `experiments explain RUN new.npz`
    run.audit(samples=100)                      # as `experiments audit RUN --samples 100`
    again = experiments.read_run(run.run_dir)   # any run directory, from either

The command line and `run_task` check the same overrides the same way (one-line errors, raised
here as `UsageError` or `ConfigError`) and run the same job (`experiments.run.job.run_job`): the
same seed gives the same metrics.
"""

from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf, open_dict

from experiments.run.cli import UsageError, normalize_args, preflight, refuse_to_overwrite, writable
from experiments.run.config import ConfigError, compose
from experiments.run.errors import SuiteError
from experiments.run.files import RunDir
from experiments.run.job import run_job
from experiments.run.threads import threads_per_job
from experiments.trained.audit import audit_run
from experiments.trained.explain import explain_run

__all__ = ["ConfigError", "Run", "SuiteError", "UsageError", "read_run", "run_task"]


@dataclass(frozen=True)
class Run:
    """A run directory and its metrics.json."""

    run_dir: Path
    metrics: dict

    @property
    def config(self):
        """The run's composed config (`.hydra/config.yaml`)."""
        return OmegaConf.load(self.run_dir / ".hydra" / "config.yaml")

    def model(self):
        """The trained model (`model.keras`), loaded with Keras."""
        import keras  # noqa: PLC0415  (the backend starts only when a model is asked for)

        import attention  # noqa: PLC0415, F401  (registers the layers for loading)

        return keras.models.load_model(RunDir(self.run_dir).model_file)

    def explain(self, source):
        """Predictions and attention on new inputs (`experiments.trained.explain.Explanation`)."""
        return explain_run(self.run_dir, source)

    def audit(self, samples=None, permutations=None):
        """The faithfulness audit of the run: writes audit.json and audit.png, returns the result."""
        return audit_run(self.run_dir, samples, permutations)


def read_run(run_dir):
    """The run in `run_dir` (made by the command line or by `run_task`)."""
    run_dir = Path(run_dir)
    metrics = RunDir(run_dir).metrics()
    if metrics is None:
        raise UsageError(f"{run_dir} holds no readable metrics.json: not a run directory")
    return Run(run_dir, metrics)


def run_task(task, seed=0, attention=None, overrides=(), run_dir=None, threads=None):
    """Trains `task` (a name of conf/task/) with `seed` and `attention` (default: the task's own),
    as `python -m experiments task=TASK seed=SEED [attention=...] OVERRIDES...` does, in this
    process; returns its `Run`. `run_dir` defaults to the command line's
    outputs/runs/<task>/<attention>/seed<N>_<time>/; `threads`, to every core."""
    if isinstance(overrides, str) or not all(isinstance(o, str) for o in overrides):
        raise UsageError(f"overrides must be a list of strings such as ['debug=smoke'], got {overrides!r}")
    for key in ("task", "seed", "attention"):
        if any(str(o).partition("=")[0].lstrip("+~") == key for o in overrides):
            raise UsageError(f"run_task takes {key} as its argument {key}=...; leave {key}=... out of overrides")
    args = normalize_args(
        [f"task={task}", f"seed={seed}", *([f"attention={attention}"] if attention else []), *overrides]
    )
    if any(arg in ("-m", "--multirun") or arg.startswith("hydra.") for arg in args):
        raise UsageError("run_task runs one job: leave out -m and hydra.* (run a sweep with python -m experiments -m)")
    preflight(args)  # the command line's checks: unknown keys and options, one line each
    cfg = compose(args, hydra=True)
    # Where the command line puts a single run (`hydra.run.dir`), then the config as Hydra saves it.
    where = Path(run_dir) if run_dir is not None else Path(OmegaConf.select(cfg, "hydra.run.dir"))
    with open_dict(cfg):
        del cfg["hydra"]
    if run_dir is not None:  # the command line's checks of hydra.run.dir, for the directory given here
        writable(where)
        refuse_to_overwrite(where, cfg)
    try:
        threads = threads_per_job(threads if threads is not None else cfg.trainer.threads, launcher=None)
    except ValueError as error:
        raise ConfigError(error) from None
    # What Hydra writes beside each run before it starts: the config and the overrides, which
    # `explain`, `audit`, `verify` and the report read.
    (where / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, where / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(list(args)), where / ".hydra" / "overrides.yaml")
    metrics, _ = run_job(cfg, where, threads)
    return Run(where, metrics)
