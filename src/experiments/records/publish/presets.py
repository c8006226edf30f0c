"""The presets of conf/experiment/ as the pages describe them: which task, which settings each
sweeps and how many runs it makes, read from the presets themselves (a count typed into a page
goes stale the day a preset gains a variant)."""

import math

from experiments.records.publish.engine import PublishError, block
from experiments.records.publish.format import table
from experiments.run.cli import group_options, preset_sweep


def _values(values):
    """'0 to 9' for a run of consecutive integers, else the values joined, as code (they are overrides)."""
    if len(values) > 2 and all(v.isdigit() for v in values):
        numbers = [int(v) for v in values]
        if numbers == list(range(numbers[0], numbers[-1] + 1)):
            return f"{numbers[0]} to {numbers[-1]}"
    return ", ".join(f"`{value}`" for value in values)


def _sweep(axes):
    return "; ".join(f"`{key}`: {_values(values)}" for key, values in axes.items()) or "one run"


def _runs(axes):
    runs = math.prod(len(values) for values in axes.values())
    return f"{runs} run{'s' if runs != 1 else ''}"


@block("presets")
def block_presets(root):
    """Every preset: its task, what it sweeps, how many runs."""
    rows = []
    for preset in group_options("experiment"):
        task, axes = preset_sweep(preset)
        swept = "task" in axes  # a preset over several tasks: the sweep names them
        rows.append((f"`experiment={preset}`", "–" if swept else f"`{task}`", _sweep(axes), _runs(axes)))
    return table(["preset", "task", "sweeps over", "runs"], rows)


@block("preset", argument=True)
def block_preset(root, preset):
    """One preset in a line: `<!-- results:preset imdb_table -->`."""
    if preset not in group_options("experiment"):
        raise PublishError(
            f"unknown preset '{preset}' in a preset block; accepted: {', '.join(group_options('experiment'))}"
        )
    task, axes = preset_sweep(preset)
    of = "" if "task" in axes else f" ({task})"
    return f"`experiment={preset}`{of}: {_runs(axes)}, over {_sweep(axes)}.\n"
