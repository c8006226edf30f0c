"""What a run does while it trains, from the `callbacks/` and `logger/` config groups: each entry
built with Hydra's `instantiate`, in the order of the config (callbacks, then loggers); an entry
marked `_partial_` completed with what only the run has (its directory, test data, probe), or left
out where the task setting it serves is off."""

import importlib.util
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import OmegaConf

from experiments.run.errors import ConfigError
from experiments.run.files import CONFIG_DIR, RunDir
from experiments.run.plots import FIGURES, Probe
from experiments.run.task import Splits

log = logging.getLogger("experiments")
TENSORBOARD_DIR = "tensorboard"  # Keras' TensorBoard logs: train/, validation/ and the attention images
GROUPS = ("callbacks", "logger")


@dataclass(frozen=True)
class RunContext:
    """What a run has that its config cannot say."""

    run_dir: Path
    data: Splits
    attend: Callable[[Any], Any] | None  # the probe model's predict, or None without attention
    probe: Probe
    title: str
    fingerprint: str  # the config's, which the backup of a resumable run keeps
    batch_size: int  # for predicting the test set each epoch


def instantiated(node, key, **kwargs):
    """The object of a `_target_` setting; a class that is not there, or that refuses its settings,
    as a ConfigError in one line (every job of a sweep would fail alike)."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip() and not line.startswith("full_key")]
        text = re.sub(r",? set env var HYDRA_FULL_ERROR=1 to see chained exception\.?", "", " ".join(lines))
        raise ConfigError(f"{key} cannot be built: {text}") from None


def _tensorboard_dir(cfg, context):
    """The run's TensorBoard directory where logger=... writes TensorBoard's logs, else None."""
    if "tensorboard" not in (cfg.get("logger") or {}) or importlib.util.find_spec("tensorflow") is None:
        return None
    return context.run_dir / TENSORBOARD_DIR


def _evaluate_each_epoch(partial, cfg, context, built):
    return partial(*context.data.test, batch_size=context.batch_size) if cfg.task.get("test_each_epoch") else None


def _early_stopping(partial, cfg, context, built):
    if not cfg.task.get("early_stopping"):
        return None
    return partial(**OmegaConf.to_container(cfg.task.early_stopping, resolve=True))


def _resume(partial, cfg, context, built):
    return partial(RunDir(context.run_dir).backup_dir, built.get("callbacks.early_stopping"), context.fingerprint)


def _attention_frames(partial, cfg, context, built):
    if not cfg.task.get("epoch_figure") or context.attend is None:
        return None
    figure = FIGURES[cfg.task.epoch_figure]
    return partial(
        context.attend, context.probe, figure, context.title, context.run_dir, _tensorboard_dir(cfg, context)
    )


def _csv(partial, cfg, context, built):
    # A run that resumes (its backup is there) adds its epochs to the history of the first try.
    return partial(str(context.run_dir / "history.csv"), append=RunDir(context.run_dir).backup_dir.is_dir())


def _tensorboard(partial, cfg, context, built):
    directory = _tensorboard_dir(cfg, context)
    if directory is None:  # Keras writes its logs with tf.summary
        log.warning("logger.tensorboard: TensorFlow is not installed, so no TensorBoard logs are written")
        return None
    return partial(str(directory))


def _mlflow(partial, cfg, context, built):
    """One MLflow experiment per sweep (its directory), or per task for a single run."""
    name = partial.keywords.get("experiment_name")
    if not name:
        multirun = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
        name = str(Path(HydraConfig.get().sweep.dir).resolve()) if multirun else cfg.task.name
    return partial(config=cfg, run_dir=context.run_dir, experiment_name=name)


# How the runner completes each `_partial_` entry: (partial, cfg, context, the entries built before
# it by key) -> the callback, or None to leave it out.
COMPLETIONS = {
    "callbacks.evaluate_each_epoch": _evaluate_each_epoch,
    "callbacks.early_stopping": _early_stopping,
    "callbacks.resume": _resume,
    "callbacks.attention_frames": _attention_frames,
    "logger.csv": _csv,
    "logger.tensorboard": _tensorboard,
    "logger.mlflow": _mlflow,
}


# What turns each of the runner's callbacks on, for the line that refuses a setting on one that
# this run leaves out (a setting accepted must be used).
SWITCHED_ON_BY = {
    "callbacks.evaluate_each_epoch": "task.test_each_epoch",
    "callbacks.early_stopping": "task.early_stopping",
    "callbacks.attention_frames": "task.epoch_figure, with an attention",
}


def _unused_settings(group, name, node):
    """The settings of an entry beyond its default's (conf/callbacks/default.yaml), which a run
    that leaves the entry out would ignore."""
    default = OmegaConf.load(CONFIG_DIR / group / "default.yaml").get(name) or {}
    return [key for key in node if key not in ("_target_", "_partial_") and key not in default]


def check_entries(cfg):
    """Each entry of callbacks/ and logger/ is a `_target_` setting, and only the runner's own
    entries are `_partial_`: a ConfigError in one line otherwise, before anything trains."""
    for group in GROUPS:
        entries = cfg.get(group) or {}
        if not OmegaConf.is_dict(entries):
            raise ConfigError(
                f"{group} must be a mapping of names to callbacks (each with a _target_), got {entries!r}"
            )
        for name, node in entries.items():
            key = f"{group}.{name}"
            if node is None:
                continue
            if not OmegaConf.is_dict(node) or "_target_" not in node:
                raise ConfigError(f"{key} must be a callback: a mapping with a _target_ (a class), got {node!r}")
            if node.get("_partial_") and key not in COMPLETIONS:
                raise ConfigError(
                    f"{key} is _partial_, but the runner completes only its own entries "
                    f"({', '.join(COMPLETIONS)}); give a callback of your own all its arguments"
                )


def build_callbacks(cfg, context):
    """{'group.name': callback} of the run, in the order Keras calls them; a null entry is left out."""
    check_entries(cfg)
    built = {}
    for group in GROUPS:
        for name, node in (cfg.get(group) or {}).items():
            if node is None:
                continue
            key = f"{group}.{name}"
            made = instantiated(node, key)
            if node.get("_partial_"):
                try:
                    made = COMPLETIONS[key](made, cfg, context, built)
                except TypeError as error:  # a setting its class does not take: known only once it is called
                    raise ConfigError(f"{key} cannot be built: {error}") from None
            if made is not None:
                built[key] = made
            elif key in SWITCHED_ON_BY and (unused := _unused_settings(group, name, node)):
                raise ConfigError(
                    f"{key}.{unused[0]} is set, but this run leaves {key} out (it needs {SWITCHED_ON_BY[key]}); "
                    f"drop the setting, or turn the callback on"
                )
    return built
