"""Checks of a composed config that must pass before any data is made or any model trained."""

import hashlib
import json
import os
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from omegaconf import OmegaConf

from experiments.run.errors import SuiteError
from experiments.run.files import CONFIG_DIR
from experiments.run.plots import FIGURES  # matplotlib only: still no TensorFlow
from experiments.run.threads import threads_per_job

# More config directories, laid out as conf/ is (task/, attention/, experiment/): a user's own
# tasks and variants, beside the suite's. Separated as PATH is; their modules on PYTHONPATH.
CONFIG_PATH = "EXPERIMENTS_CONFIG_PATH"


def config_dirs():
    """The suite's conf/, then every directory that EXPERIMENTS_CONFIG_PATH names."""
    extra = [Path(p).resolve() for p in os.environ.get(CONFIG_PATH, "").split(os.pathsep) if p.strip()]
    return [CONFIG_DIR, *(d for d in extra if d != CONFIG_DIR)]


def searchpath_overrides():
    """The Hydra override that adds EXPERIMENTS_CONFIG_PATH's directories to its search path, if any."""
    extra = config_dirs()[1:]
    return [f"hydra.searchpath=[{','.join(d.as_uri() for d in extra)}]"] if extra else []


def group_files(group, config_dir=None):
    """{option: its YAML} of a config group: in `config_dir` alone where given, else in every
    config directory (the suite's own first, as Hydra finds them)."""
    found = {}
    for directory in [config_dir] if config_dir is not None else config_dirs():
        for path in sorted((Path(directory) / group).glob("*.yaml")):
            found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


class ConfigError(SuiteError, ValueError):
    """A composed config that cannot run; the message is one line for the user."""


def _whole_number(value, at_least):
    return isinstance(value, int) and not isinstance(value, bool) and value >= at_least


def _variants(config_dir=None):
    """{attention variant: its YAML}, by name."""
    return {name: OmegaConf.load(path) for name, path in group_files("attention", config_dir).items()}


def _family(variants, family):
    return [name for name, variant in variants.items() if variant.get("family") == family]


def attention_family(family, config_dir=None):
    """The variants of `family` (`family: <name>` in their own YAML; `scores`: every learned score
    function of `attention.Attention`), by name. A new score's YAML joins its family, and every
    task and sweep that names the family has it."""
    return _family(_variants(config_dir), family)


def accepted_attentions(task_attentions, config_dir=None):
    """The variants a task accepts: those it lists (`task.attentions`: variants, or families of
    them such as `scores`), and every baseline variant (`applies_like: <variant or family>` in its
    own YAML, such as `uniform`) that applies like one of them."""
    variants = _variants(config_dir)  # read once: validate runs for every job of a sweep
    accepted = []
    for entry in task_attentions:
        accepted += [entry] if entry in variants else _family(variants, entry)
    for name, variant in variants.items():
        applies_like = variant.get("applies_like")
        applies = applies_like is not None and (applies_like in accepted or applies_like in task_attentions)
        if applies and name not in accepted:
            accepted.append(name)
    return accepted


# `attention: ${attention_family:scores}` in a sweep's params: every variant of the family, as
# Hydra's comma-separated choices.
OmegaConf.register_new_resolver("attention_family", lambda family: ",".join(attention_family(family)), replace=True)


def compose(overrides, hydra=False):
    """The suite's config composed from `overrides`, as the command line would (not validated);
    `hydra`: with Hydra's own part (`hydra.run.dir`, ...)."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return hydra_compose(
            config_name="config", overrides=[*searchpath_overrides(), *overrides], return_hydra_config=hydra
        )


def validate(cfg):
    """Raises ConfigError naming what is wrong and what is accepted."""
    if not _whole_number(cfg.seed, 0):
        raise ConfigError(
            f"seed must be a non-negative integer (or a range such as seed=0..9 with -m), got {cfg.seed!r}"
        )
    accepted = accepted_attentions(cfg.task.attentions)
    if cfg.attention.name not in accepted:
        raise ConfigError(
            f"attention '{cfg.attention.name}' does not apply to task '{cfg.task.name}'; "
            f"accepted: {', '.join(accepted)}"
        )
    for key in ("samples", "test_samples", "probe_samples", "epochs", "batch_size"):
        if not _whole_number(cfg.task[key], 1):
            raise ConfigError(f"task.{key} must be a positive integer, got {cfg.task[key]!r}")
    split = cfg.task.get("validation_split", 0.0)  # a task whose data holds its validation set has none
    if not 0.0 <= split < 1.0:
        raise ConfigError(f"task.validation_split must be in [0, 1), got {split!r}")
    try:
        threads_per_job(cfg.trainer.get("threads", "auto"), launcher=None)
    except ValueError as error:
        raise ConfigError(error) from None
    rate = cfg.trainer.optimizer.get("learning_rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0):
        raise ConfigError(f"trainer.optimizer.learning_rate must be a positive number, got {rate!r}")
    buckets = cfg.task.get("length_buckets")
    if buckets not in (None, "pre", "post"):
        raise ConfigError(f"task.length_buckets must be null, pre or post (the side of the padding), got {buckets!r}")
    for name in [*cfg.task.plots, *([cfg.task.epoch_figure] if cfg.task.get("epoch_figure") else [])]:
        if name not in FIGURES:
            raise ConfigError(f"unknown figure '{name}' in task.plots; accepted: {', '.join(FIGURES)}")


# Left out of the fingerprint: where files are, not what they hold (the same run from another
# checkout or data copy is the same run); the audit's settings, which act after training; what
# the task says of itself; which variants it accepts, and which family a variant is of; and the
# records a preset publishes (`publish:`, read by `make results`).
IGNORED_KEYS = (
    "data_dir",
    "paths",
    "task.data.dir",
    "task.data.cache_dir",
    "task.audit",
    "task.about",
    "task.attentions",
    "attention.family",
    "publish",
)
# Options added after runs were recorded, left out while they hold the value that reproduces those
# runs, so that the runs still count as this config's (a sweep resumes, `verify` finds them).
ADDED_LATER = {"task.model.mask_zero": False, "task.length_buckets": None}
# Keys that counted once and were left out later: a run recorded while they counted is still this
# config's when the fingerprint that keeps them matches (`same_config`).
LEFT_OUT_LATER = ("task.attentions",)


def config_fingerprint(cfg, keep=()):
    """A hash of everything that decides a run's numbers (the config without Hydra's own part);
    `keep`: ignored keys to hash all the same (a fingerprint as it was made before they left it)."""
    settings = OmegaConf.to_container(cfg, resolve=True)
    settings.pop("hydra", None)
    for key in (*(k for k in IGNORED_KEYS if k not in keep), *ADDED_LATER):
        *parents, leaf = key.split(".")
        node = settings
        for parent in parents:
            node = node.get(parent) or {}
        if key in IGNORED_KEYS or node.get(leaf, object()) == ADDED_LATER[key]:
            node.pop(leaf, None)
    trainer = settings.get("trainer", {})
    trainer.pop("verbose", None)  # how much it prints changes no number
    trainer.pop("threads", None)  # nor, with deterministic ops, how many threads compute it (tested)
    trainer.pop("tensorboard", None)  # nor whether TensorBoard's logs are written (tested)
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def same_config(cfg, recorded):
    """Whether `recorded` (a run's `config` in metrics.json) is the fingerprint of `cfg`: today's,
    or as it was made before LEFT_OUT_LATER left it."""
    return recorded is not None and recorded in (config_fingerprint(cfg), config_fingerprint(cfg, keep=LEFT_OUT_LATER))
