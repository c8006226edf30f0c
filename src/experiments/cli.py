"""Command-line checks that run before Hydra: clear one-line errors, and `key=A..B` ranges.

Nothing here imports TensorFlow, so bad input fails in well under a second.
"""

import re
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parents[2] / "conf"
CHECKED_GROUPS = ("task", "attention", "experiment", "debug")
MULTIRUN_FLAGS = ("-m", "--multirun")

_RANGE = re.compile(r"^([^./,()]+)\.\.([^./,()]+)$")
_SIMPLE_CHOICES = re.compile(r"^[\w,]+$")


class UsageError(ValueError):
    """A command line that cannot run; the message is one line for the user."""


def group_options(group, config_dir=CONFIG_DIR):
    """The option names of a config group: the YAML files directly under conf/<group>/."""
    return sorted(p.stem for p in (config_dir / group).glob("*.yaml"))


def expand_range(key, value):
    """`A..B` (inclusive, as users write it) as Hydra's `range(A,B+1)`; None if not a range."""
    match = _RANGE.match(value)
    if not match:
        return None
    try:
        start, stop = int(match.group(1)), int(match.group(2))
    except ValueError:
        raise UsageError(
            f"{key}={value} is not a range: A..B needs integers, for example {key}=0..9"
        ) from None
    if start > stop:
        raise UsageError(
            f"{key}={value} is an empty range: A..B needs A <= B, for example {key}=0..9"
        )
    return f"range({start},{stop + 1})"


def check_choice(group, value, config_dir=CONFIG_DIR):
    """Fails with the accepted options if a plain `group=a,b` names an option that does not exist."""
    if not _SIMPLE_CHOICES.match(value):
        return  # sweep syntax such as choice(...) or glob(...): Hydra reads it
    options = group_options(group, config_dir)
    for choice in value.split(","):
        if choice not in options and not (choice == "null" and group in ("experiment", "debug")):
            raise UsageError(f"unknown {group} '{choice}'; accepted: {', '.join(options)}")


def normalize_args(args, config_dir=CONFIG_DIR):
    """Checks the overrides and rewrites `key=A..B` ranges; returns the arguments for Hydra.

    `-m` may stand anywhere (`task=imdb -m seed=0..9`); Hydra's parser wants it before the overrides.
    """
    multirun = any(a in MULTIRUN_FLAGS for a in args) or any(
        a.startswith(("experiment=", "hydra.mode=")) for a in args
    )
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
