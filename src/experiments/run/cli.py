"""Command-line checks that run before Hydra: clear one-line errors, and `key=A..B` ranges.

Nothing here imports TensorFlow, so bad input fails in well under a second.
"""

import difflib
import itertools
import math
import os
import re
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ValueType
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from experiments.run.config import CONFIG_DIR, MOVED_KEYS, group_files, same_config, searchpath_overrides, validate
from experiments.run.errors import SuiteError
from experiments.run.files import RunDir

CHECKED_GROUPS = ("task", "attention", "experiment", "hparams_search", "debug", "logger", "callbacks")
MULTIRUN_FLAGS = ("-m", "--multirun")

_RANGE = re.compile(r"^([^./,()]+)\.\.([^./,()]+)$")
_SIMPLE_CHOICES = re.compile(r"^[\w,]+$")


class UsageError(SuiteError, ValueError):
    """A command line that cannot run; the message is one line for the user."""


def group_options(group, config_dir=None):
    """The option names of a config group: the YAML files directly under <config dir>/<group>/
    (`config_dir` alone where given, else the suite's conf/ and EXPERIMENTS_CONFIG_PATH's)."""
    return list(group_files(group, config_dir))


def expand_range(key, value):
    """`A..B` (inclusive, as users write it) as Hydra's `range(A,B+1)`; None if not a range."""
    match = _RANGE.match(value)
    if not match:
        return None
    try:
        start, stop = int(match.group(1)), int(match.group(2))
    except ValueError:
        raise UsageError(f"{key}={value} is not a range: A..B needs integers, for example {key}=0..9") from None
    if start > stop:
        raise UsageError(f"{key}={value} is an empty range: A..B needs A <= B, for example {key}=0..9")
    return f"range({start},{stop + 1})"


def check_choice(group, value, config_dir=None):
    """Fails with the accepted options if a plain `group=a,b` names an option that does not exist."""
    if not _SIMPLE_CHOICES.match(value):
        return  # sweep syntax such as choice(...) or glob(...): Hydra reads it
    options = group_options(group, config_dir)
    for choice in value.split(","):
        if choice not in options and not (choice == "null" and group in ("experiment", "hparams_search", "debug")):
            raise UsageError(f"unknown {group} '{choice}'; accepted: {', '.join(options)}")


def normalize_args(args, config_dir=None):
    """Checks the overrides and rewrites `key=A..B` ranges; returns the arguments for Hydra.

    `-m` may stand anywhere (`task=imdb -m seed=0..9`); Hydra's parser wants it before the overrides.
    """
    multirun = any(a in MULTIRUN_FLAGS for a in args) or any(a.startswith(("experiment=", "hydra.mode=")) for a in args)
    normalized = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep and not arg.startswith("-"):
            group = key.lstrip("+~")
            if group in CHECKED_GROUPS:
                check_choice(group, value, config_dir)
            expanded = expand_range(key, value)
            if expanded is not None:
                if not multirun:
                    raise UsageError(f"{arg} is a range of runs; add -m to sweep it")
                arg = f"{key}={expanded}"
        normalized.append(arg)
    flags = [a for a in normalized if a in MULTIRUN_FLAGS]
    return flags + [a for a in normalized if a not in MULTIRUN_FLAGS]


# --- Preflight: every job's config, composed and checked before Hydra starts anything -----------

MAX_CHECKED_JOBS = 200  # a larger sweep is checked on its first values; each job still checks itself
# Settings that change no number: a sweep resumed with another value is the same sweep.
NUMBER_NEUTRAL = ("trainer.verbose", "trainer.threads", "logger")


def _one_line(error):
    """Hydra's multi-line messages as one line, without the HYDRA_FULL_ERROR hint."""
    lines = [line.strip() for line in str(error).splitlines()]
    lines = [
        line
        for line in lines
        if line and not line.startswith(("Set the environment variable", "Config search path", "provider=", "path="))
    ]
    return " ".join(lines)


def _leaf_keys(node, prefix=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaf_keys(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"]


def _explain(error, known_keys, overrides=()):
    """One line for a composition error; for a misspelled key, the keys it may have meant; for a
    value Hydra cannot read, the override (of `overrides`) and how to write it."""
    match = re.match(r"Could not override '([^']+)'", str(error))
    if match and "To append to your config" in str(error):
        key = match.group(1)
        if key in MOVED_KEYS:
            return f"{key} is gone: {MOVED_KEYS[key]}"
        close = difflib.get_close_matches(key, known_keys, n=3, cutoff=0.6)
        close += [k for k in known_keys if k.endswith("." + key.rsplit(".", 1)[-1] + "s") or k.endswith("." + key)]
        close = [k for k in close if k != key]  # a key of another task's config is no suggestion
        groups = difflib.get_close_matches(key, CHECKED_GROUPS, n=1, cutoff=0.6) if "." not in key else []
        close = [f"{group}=<{'|'.join(group_options(group))}>" for group in groups] + close
        hint = f"; did you mean {', '.join(dict.fromkeys(close))}?" if close else ""
        return (
            f"unknown setting '{key}': the config has no such key{hint} (to add a new key on purpose, write +{key}=...)"
        )
    merging = re.match(r"Error merging override (([^=]+)=(.*))", str(error))
    if merging:
        line, key, value = merging.groups()
        if key == "hydra.launcher.n_jobs":
            _check_launcher({"n_jobs": value})
        cause = str(error.__cause__).splitlines()[0] if error.__cause__ else "Hydra cannot merge it"
        return f"{line} is refused: {cause}"
    missing = re.search(r"Could not find '(.+)/([^/']+)'", str(error))
    options = re.search(r"Available options in '[^']+':\s*(.*?)(?:\nConfig search path|$)", str(error), re.S)
    if missing and options:
        accepted = ", ".join(options.group(1).split())
        return f"unknown {missing.group(1)} '{missing.group(2)}'; accepted: {accepted}"
    line = _one_line(error)
    if "LexerNoViableAltException" in line:  # a character Hydra's grammar does not take unquoted
        written = line.removeprefix("LexerNoViableAltException:").split(" ^ ")[0].strip()
        key, _, value = written.partition("=")
        return f"cannot read {written}: quote a value with characters other than letters, digits and _-./:, as \"{key}='{value}'\""
    unquoted = [o for o in overrides if "=" in o.partition("=")[2] and not {"'", '"'} & set(o)]
    if "mismatched input '='" in line and unquoted:  # a run directory named by its overrides, say
        key, _, value = unquoted[0].partition("=")
        return f"cannot read {unquoted[0]}: a value that holds '=' goes in quotes, as \"{key}='{value}'\""
    return line


def _jobs(overrides, multirun, params, limit=MAX_CHECKED_JOBS):
    """The override lists of the launch's jobs (sweeps expanded; presets' sweeper params too), the
    first MAX_CHECKED_JOBS of them, and how many jobs there are in all."""
    parser = OverridesParser.create()
    given = parser.parse_overrides(overrides)
    keys = {o.key_or_group for o in given}
    preset = parser.parse_overrides([f"{k}={v}" for k, v in params.items() if k not in keys]) if multirun else []
    choices = []
    for override in [*preset, *given]:
        prefix = override.get_key_element()
        if override.is_sweep_override():
            if not multirun:
                raise UsageError(f"{override.input_line} is a sweep of several runs; add -m to sweep it")
            if override.value_type == ValueType.INTERVAL_SWEEP:  # a search's range: both ends are checked
                interval = override.value()
                choices.append([f"{prefix}={interval.start}", f"{prefix}={interval.end}"])
                continue
            choices.append([f"{prefix}={v}" for v in override.sweep_string_iterator()])
        else:
            choices.append([override.input_line or prefix])
    jobs = [list(job) for job in itertools.islice(itertools.product(*choices), limit)]
    return jobs or [[]], math.prod(len(c) for c in choices)


def writable(directory):
    """Raises UsageError unless `directory` can be created (or written) here; creates nothing."""
    directory = Path(directory).absolute()
    ancestor = next(p for p in (directory, *directory.parents) if p.exists())
    try:
        if not ancestor.is_dir():
            reason = f"{ancestor} is a file"
        else:
            tempfile.TemporaryFile(dir=ancestor).close()
            return
    except OSError as error:
        reason = f"{ancestor}: {error.strerror or error}"
    raise UsageError(
        f"cannot write the outputs to {directory}: {reason}; "
        "choose another place with paths.output_dir=DIR (or hydra.run.dir / hydra.sweep.dir)"
    )


def _same_sweep(sweep_dir, overrides):
    """Raises UsageError if `sweep_dir` already holds a sweep launched with other overrides, unless
    the new one holds every job of it (seed=0..4, then seed=0..9): those it skips, as a resume."""
    record = Path(sweep_dir) / "multirun.yaml"
    if not record.is_file():
        return

    def meaningful(items):
        return sorted(
            o for o in items if not o.startswith(("hydra.", "hydra/")) and o.split("=")[0] not in NUMBER_NEUTRAL
        )

    def runs(items):  # the jobs they launch, all of them: seed=0..1 and seed=0,1 are one sweep
        return {tuple(sorted(job)) for job in _jobs(items, True, {}, limit=None)[0]}

    before = meaningful(OmegaConf.load(record).hydra.overrides.task)
    now = meaningful(overrides)
    if before != now and not runs(before) <= runs(now):
        raise UsageError(
            f"{sweep_dir} already holds another sweep ({' '.join(before) or 'no overrides'}); to resume it, "
            f"give the same overrides (or a sweep that holds all its jobs); for a new sweep, choose another "
            "hydra.sweep.dir"
        )


# What a task says of itself and where its code is: keys of the config, but not settings to suggest.
NOT_SETTINGS = (
    "task.about.",
    "task.module",
    "task.attentions",
    "task.name",
    "attention.family",
    "attention.name",
    "publish.",
)


def _known_keys(job):
    """The keys of the config that `job`'s choices of task, attention, ... compose (the suggestions
    for a misspelled key are drawn from the task chosen, not the default one)."""
    choices = [o for o in job if o.partition("=")[0].lstrip("+~") in CHECKED_GROUPS or o.startswith("hydra.searchpath")]
    for overrides in (choices, [o for o in choices if o.startswith("hydra.searchpath")]):
        try:
            keys = _leaf_keys(OmegaConf.to_container(compose(config_name="config", overrides=overrides)))
            return [key for key in keys if not key.startswith(NOT_SETTINGS)]
        except (HydraException, OmegaConfBaseException):
            continue  # a choice that fails alone: the defaults' keys
    return []


def _check_launcher(launcher):
    """Hydra's launcher settings that fail inside the launch, after the sweep's files are written."""
    n_jobs = launcher.get("n_jobs")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0):
        raise UsageError(
            f"hydra.launcher.n_jobs must be a positive integer (jobs at once) or negative (-1: one per core, "
            f"-2: all cores but one, ...), got {n_jobs!r}"
        )


def _removed(error, args):
    """For a setting the run needs and a `~key` deleted (`~seed`): one line saying so, else None."""
    removed = [a.split("=")[0] for a in args if a.startswith("~")]
    needed = re.match(r"Key '[^']+' is not in struct\s+full_key: (\S+)", str(error))
    if needed and any(f"{needed.group(1)}.".startswith(f"{key[1:]}.") for key in removed):
        return (
            f"{' '.join(removed)} leaves the config without {needed.group(1)}, which every run reads; "
            f"give it another value instead of removing it"
        )
    return None


def refuse_repeated_keys(args):
    """Raises UsageError where one key is given twice (Hydra keeps the last, silently), or where a
    label of a group's choice is overridden (`attention.name=x` would relabel the variant, not change it)."""
    seen = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or arg.startswith("-"):
            continue
        key = key.lstrip("+~")
        group = key.partition(".name")[0]
        if key == f"{group}.name" and group in ("task", "attention"):  # a label, not a choice
            raise UsageError(
                f"{key} is the name of the {group} chosen, not a choice of it; choose with {group}=NAME "
                f"({group}={value}); accepted: {', '.join(group_options(group))}"
            )
        if key in seen:
            raise UsageError(f"{key} is given twice ({seen[key]} and {arg}); give it once (-m {key}=a,b sweeps both)")
        seen[key] = arg


def preflight(args, config_dir=CONFIG_DIR):
    """Composes and validates every job of the command line before Hydra creates anything.

    Returns the number of jobs of a sweep (None for a single run, or when Hydra's own options are
    given). Raises UsageError or ConfigError, each one line naming what is wrong and what is accepted.
    Hydra's own options (`--help`, `--cfg`, ...) are left to Hydra. With HYDRA_FULL_ERROR=1,
    errors keep Hydra's full message and traceback.
    """
    if any(a.startswith("-") and a not in MULTIRUN_FLAGS for a in args):
        return None
    given = [a for a in args if a not in MULTIRUN_FLAGS]
    refuse_repeated_keys(given)
    multirun = len(given) < len(args)
    overrides = [*searchpath_overrides(), *given]
    first = overrides  # until the first job is known
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        try:
            first = _jobs(overrides, True, {})[0][0]  # a preset may make the launch a sweep: ask it first
            base = compose(config_name="config", overrides=first, return_hydra_config=True)
            multirun = multirun or base.hydra.mode == RunMode.MULTIRUN
            params = base.hydra.sweeper.get("params")
            params = OmegaConf.to_container(params, resolve=True) if params is not None else {}
            _check_launcher(base.hydra.launcher)
            _check_search_direction(base)
            jobs, total = _jobs(overrides, multirun, params)
            if "n_trials" in base.hydra.sweeper:  # a search runs its trials, whatever its ranges
                total = base.hydra.sweeper.n_trials
                if isinstance(total, bool) or not isinstance(total, int) or total < 1:
                    raise UsageError(f"hydra.sweeper.n_trials must be a positive integer (trials), got {total!r}")
            for job in jobs:
                # Every override of the job, a preset's sweep params too, as the job itself checks them.
                single = compose(config_name="config", overrides=job)
                validate(single, overrides=job)
        except (HydraException, OmegaConfBaseException) as error:
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            raise UsageError(_removed(error, given) or _explain(error, _known_keys(first), given)) from None
        where = base.hydra.sweep.dir if multirun else base.hydra.run.dir
    for key in ("hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir"):
        try:
            value = OmegaConf.select(base, key)
        except OmegaConfBaseException:  # made of what only a job knows (trial_${hydra.job.num})
            continue
        if not str(value).strip():  # the jobs would write into the launch directory
            raise UsageError(f"{key} is empty; give it a directory, or leave it out for its default")
    if multirun:
        _same_sweep(where, overrides)
    writable(where)
    if not multirun:
        refuse_to_overwrite(where, single)
    return total if multirun else None


def _check_search_direction(cfg):
    """A search (hparams_search=...) must optimise its trials' value the way the task's early
    stopping judges it: else it would pick the worst trial."""
    direction = cfg.hydra.sweeper.get("direction")
    if direction is None:
        return
    stopping = cfg.task.get("early_stopping") or {}
    monitor, mode = stopping.get("monitor", "val_loss"), stopping.get("mode", "auto")
    best = mode if mode != "auto" else ("max" if "acc" in monitor or monitor.startswith("val_f") else "min")
    wanted = {"max": "maximize", "min": "minimize"}[best]
    if str(direction) != wanted:
        raise UsageError(
            f"hydra.sweeper.direction is {direction}, but task '{cfg.task.name}' keeps the epoch of the "
            f"{best}imum {monitor}: the search would pick its worst trial; use hydra.sweeper.direction={wanted} "
            "(or the task's own hparams_search preset)"
        )


def refuse_to_overwrite(run_dir, cfg):
    """Raises UsageError if `run_dir` holds a completed run of another config: a single run named
    into it would replace that run's files (a run of this very config is skipped, as in a sweep)."""
    metrics = RunDir(run_dir).metrics()  # None: no run there, or none that finished
    if (
        isinstance(metrics, dict)
        and metrics.get("status") == "completed"
        and not same_config(cfg, metrics.get("config"))
    ):
        what = " ".join(f"{key} {metrics.get(key)}" for key in ("task", "attention", "seed"))
        raise UsageError(
            f"{run_dir} already holds a completed run of another config ({what}); choose another "
            "hydra.run.dir (or run_dir), or remove that run to replace it"
        )


def preset_sweep(preset, config_dir=CONFIG_DIR):
    """{setting: its values} of the sweep that `experiment=PRESET` launches (the preset's sweeper
    params, as Hydra expands them), with the task it runs: what the docs say of each preset."""
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        cfg = compose(
            config_name="config", overrides=[*searchpath_overrides(), f"experiment={preset}"], return_hydra_config=True
        )
    params = cfg.hydra.sweeper.get("params")
    params = OmegaConf.to_container(params, resolve=True) if params is not None else {}
    parser = OverridesParser.create()
    axes = {
        override.get_key_element(): (
            list(override.sweep_string_iterator()) if override.is_sweep_override() else [str(override.value())]
        )
        for override in parser.parse_overrides([f"{key}={value}" for key, value in params.items()])
    }
    return cfg.task.name, axes
