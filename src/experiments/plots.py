"""Figures shared by all tasks. Each takes the probe and a title and returns a matplotlib Figure.

Figures are built with `matplotlib.figure.Figure`, not pyplot: no global state, no GUI backend.
"""

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from experiments.profiles import position_profile


@dataclass
class Probe:
    """What the runner learned from the probe inputs."""

    inputs: np.ndarray
    targets: np.ndarray
    weights: np.ndarray  # attention weights, (samples, positions, ...)
    quality: dict  # the task's attention_quality


def _bars(ax, profile, target_index, label):
    colours = ["tab:red" if i == target_index else "tab:blue" for i in range(len(profile))]
    ax.bar(np.arange(len(profile)), profile, color=colours)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(label)
    ax.set_ylim(0, max(float(profile.max()) * 1.1, 1e-6))


def attention_bar(probe, title):
    """The seed's figure: the attention vector over positions, the expected one in red."""
    profile = position_profile(probe.weights)
    target = probe.quality["target_index"]
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    _bars(ax, profile, target, f"mean attention ({len(probe.weights)} probe samples)")
    ax.set_xlabel("input position (expected peak in red)")
    ax.set_title(
        f"{title}\npeak at {probe.quality['peak_index']} "
        f"(weight {probe.quality['peak_weight']:.3f}, runner-up {probe.quality['runner_up_weight']:.3f})"
    )
    return fig


def attention_per_dimension(probe, title):
    """One panel per input dimension: the attention each dimension gets over time.

    Shared weights (samples, steps) apply the same vector to every dimension, so each panel
    shows it; per-dimension weights (samples, steps, dims) give each panel its own column.
    """
    dims = probe.inputs.shape[-1]
    mean = probe.weights.mean(axis=0)
    per_dimension = np.repeat(mean[:, None], dims, axis=1) if mean.ndim == 1 else mean
    shared = mean.ndim == 1
    target = probe.quality["target_index"]
    fig = Figure(figsize=(8, 2.5 * dims + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(dims, 1, sharex=True))
    for d, ax in enumerate(axes):
        _bars(ax, per_dimension[:, d], target, f"dim {d}")
    axes[-1].set_xlabel("time step (expected peak in red)")
    kind = "one vector shared by all dimensions" if shared else "one vector per dimension"
    fig.suptitle(f"{title}\nattention over time, {kind}")
    return fig


FIGURES = {"attention_bar": attention_bar, "attention_per_dimension": attention_per_dimension}
