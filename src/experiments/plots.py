"""Figures shared by all tasks: `figure(probe, title, fig=None) -> Figure`.

Built on `matplotlib.figure.Figure`, not pyplot: no global state, no GUI backend. A figure draws
into `fig` when one is given (the GIF writer redraws one figure for every epoch).
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np
from matplotlib.animation import PillowWriter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from experiments.quality import position_profile


@dataclass
class Probe:
    """The probe inputs and what the trained model's attention did with them."""

    inputs: np.ndarray
    targets: np.ndarray
    weights: np.ndarray  # attention weights, (samples, positions, ...)
    expected: Optional[np.ndarray] = None  # ground-truth attention, where the task defines one
    quality: Optional[dict] = None  # the task's attention_quality


def _figure(fig, size):
    if fig is None:
        return Figure(figsize=size, layout="constrained")
    fig.clear()
    return fig


def _bars(ax, profile, target_index, label):
    colours = ["tab:red" if i == target_index else "tab:blue" for i in range(len(profile))]
    ax.bar(np.arange(len(profile)), profile, color=colours)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(label)
    ax.set_ylim(0, max(float(profile.max()) * 1.1, 1e-6))


def attention_bar(probe, title, fig=None):
    """The seed's figure: the attention vector over positions, the expected one in red."""
    profile = position_profile(probe.weights)
    quality = probe.quality
    fig = _figure(fig, (8, 4))
    ax = fig.subplots()
    _bars(ax, profile, quality["target_index"], f"mean attention ({len(probe.weights)} probe samples)")
    ax.set_xlabel("input position (expected peak in red)")
    ax.set_title(
        f"{title}\npeak at {quality['peak_index']} "
        f"(weight {quality['peak_weight']:.3f}, runner-up {quality['runner_up_weight']:.3f})"
    )
    return fig


def attention_per_dimension(probe, title, fig=None):
    """One panel per input dimension: the attention each dimension gets over time.

    Shared weights (samples, steps) apply the same vector to every dimension, so each panel
    shows it; per-dimension weights (samples, steps, dims) give each panel its own column.
    """
    dims = probe.inputs.shape[-1]
    mean = probe.weights.mean(axis=0)
    shared = mean.ndim == 1
    per_dimension = np.repeat(mean[:, None], dims, axis=1) if shared else mean
    fig = _figure(fig, (8, 2.5 * dims + 0.8))
    axes = np.atleast_1d(fig.subplots(dims, 1, sharex=True))
    for d, ax in enumerate(axes):
        _bars(ax, per_dimension[:, d], probe.quality["target_index"], f"dim {d}")
    axes[-1].set_xlabel("time step (expected peak in red)")
    kind = "one vector shared by all dimensions" if shared else "one vector per dimension"
    fig.suptitle(f"{title}\nattention over time, {kind}")
    return fig


def _heatmaps(fig, title, panels):
    """Heatmaps of (samples, steps) maps stacked vertically, sharing the step axis."""
    samples, steps = panels[0][1].shape
    axes = fig.subplots(len(panels), 1, sharex=True)
    for ax, (label, values) in zip(axes, panels):
        ax.imshow(values, cmap="hot", aspect="auto", vmin=0, interpolation="nearest")
        ax.set_ylabel(f"{label}\nsample")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1].set_xlabel("time step")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    return fig


def attention_map(probe, title, fig=None):
    """The attention of each probe sample (top) above the ground truth (bottom)."""
    fig = _figure(fig, (8, 5))
    return _heatmaps(fig, title, [("attention", probe.weights), ("ground truth", probe.expected)])


def attention_argmax(probe, title, fig=None):
    """Three panels: the attention, its argmax, and the ground truth."""
    argmax = np.zeros_like(probe.weights)
    argmax[np.arange(len(argmax)), probe.weights.argmax(axis=1)] = 1
    fig = _figure(fig, (8, 7))
    return _heatmaps(
        fig,
        title,
        [("attention", probe.weights), ("its argmax", argmax), ("ground truth", probe.expected)],
    )


def save_animation(draw, frames, path, fps=4, dpi=80):
    """An animated GIF with one frame per item of `frames`, each drawn by `draw(frame, fig=...)`.

    Uses matplotlib's own Pillow writer (Pillow comes with matplotlib).
    """
    fig = draw(frames[0])
    writer = PillowWriter(fps=fps)
    with writer.saving(fig, str(path), dpi):
        for frame in frames:
            draw(frame, fig=fig)
            writer.grab_frame()


FIGURES = {
    "attention_bar": attention_bar,
    "attention_per_dimension": attention_per_dimension,
    "attention_map": attention_map,
    "attention_argmax": attention_argmax,
}
