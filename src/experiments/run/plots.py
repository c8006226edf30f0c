"""Figures shared by all tasks: `figure(probe, title, fig=None) -> Figure`.

Built on `matplotlib.figure.Figure`, not pyplot: no global state, no GUI backend. A figure draws
into `fig` when one is given (the GIF writer redraws one figure for every epoch).
"""

from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.animation import PillowWriter
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from experiments.run.quality import position_profile


@dataclass
class Probe:
    """The probe inputs and what the trained model's attention did with them."""

    inputs: np.ndarray
    targets: np.ndarray
    weights: np.ndarray  # attention weights, (samples, positions, ...)
    expected: np.ndarray | None = None  # ground-truth attention, where the task defines one
    tokens: list | None = None  # for text: the token at each input position (None for padding)
    output_tokens: list | None = None  # for text outputs: the token at each output step
    labels: list | None = None  # for classes: the class name of each probe sample
    quality: dict | None = None  # the task's attention_quality
    stack: np.ndarray | None = None  # a stack's weights, (samples, layers, heads, steps, steps)


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
    """The figure of keras-attention-mechanism (original 000): the attention vector over positions,
    the expected one in red."""
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


def _heatmaps(fig, title, panels, binary=()):
    """Heatmaps of (samples, steps) maps stacked vertically, sharing the step axis; the panels
    named in `binary` hold 0 or 1 only, and get no colour scale."""
    axes = fig.subplots(len(panels), 1, sharex=True)
    for ax, (label, values) in zip(axes, panels):
        image = ax.imshow(values, cmap="hot", aspect="auto", vmin=0, interpolation="nearest")
        scale = fig.colorbar(image, ax=ax, pad=0.01)  # the scale: flat attention must not look sharp
        scale.ax.set_visible(label not in binary)  # kept, hidden: the panels stay aligned
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
    """Three panels: the attention, its argmax (a cross where it misses the ground truth), and the
    ground truth."""
    rows, peaks = np.arange(len(probe.weights)), probe.weights.argmax(axis=1)
    argmax = np.zeros_like(probe.weights)
    argmax[rows, peaks] = 1
    fig = _figure(fig, (8, 7))
    _heatmaps(
        fig,
        title,
        [("attention", probe.weights), ("its argmax", argmax), ("ground truth", probe.expected)],
        binary=("its argmax", "ground truth"),
    )
    missed = probe.expected[rows, peaks] == 0
    fig.axes[1].scatter(peaks[missed], rows[missed], marker="x", color="tab:cyan", s=30, label="miss")
    if missed.any():
        fig.axes[1].legend(loc="upper right", fontsize=8)
    fig.axes[1].set_title(f"argmax misses the maximum in {int(missed.sum())} of {len(rows)}", fontsize=9)
    return fig


def attention_words(probe, title, fig=None, words_per_line=14, max_words=140):
    """Each probe review's words, shaded on one scale for the whole figure, from white (weight 0)
    to dark red (the largest weight of any review), with its colour bar: a flat attention looks
    flat (a scale per review would stretch 0.0016 to 0.0022 from white to red).

    Long reviews show their last `max_words` words: the original truncates at the front, and the
    model reads to the end.
    """
    reviews = [
        [(w, float(a)) for w, a in zip(tokens, weights) if w is not None][-max_words:]
        for tokens, weights in zip(probe.tokens, probe.weights)
    ]
    lines = [max(1, -(-len(r) // words_per_line)) for r in reviews]
    total = sum(lines) + 2 * len(reviews)
    fig = _figure(fig, (12, 1.0 + 0.26 * total))
    ax = fig.subplots()
    ax.set_axis_off()
    # Capped at 0.75 of the colour map so that black text stays readable on the darkest.
    shade = ListedColormap(matplotlib.colormaps["Reds"](np.linspace(0, 0.75, 256)))
    scale = Normalize(0, max([a for review in reviews for _, a in review] + [1e-12]))
    bar = fig.colorbar(ScalarMappable(scale, shade), ax=ax, orientation="horizontal", fraction=0.04, pad=0.02)
    # Uniform is 1/n over the n positions the model attends (every position, padding too, unless masked).
    bar.set_label("attention weight, one scale for every review")
    row = 0
    for i, review in enumerate(reviews):
        if probe.labels:  # what the caller says of it (explain: the prediction)
            label = probe.labels[i]
        else:
            label = "positive" if float(np.ravel(probe.targets[i])[0]) else "negative"
        weights = np.array([a for _, a in review]) if review else np.zeros(1)
        ax.text(
            0,
            1 - row / total,
            f"review {i} ({label}); weights {weights.min():.4f} to {weights.max():.4f}, "
            f"uniform {1 / max(np.count_nonzero(np.asarray(probe.weights[i]) > 0), 1):.4f}",
            fontsize=9,
            fontweight="bold",
            va="top",
            transform=ax.transAxes,
        )
        row += 1
        for j, (word, weight) in enumerate(review):
            line, col = divmod(j, words_per_line)
            colour = shade(scale(weight))
            ax.text(
                col / words_per_line,
                1 - (row + line) / total,
                word,
                fontsize=8,
                va="top",
                transform=ax.transAxes,
                bbox={"facecolor": colour, "edgecolor": "none", "pad": 1},
            )
        row += lines[i] + 1
    fig.suptitle(f"{title}\nwords shaded by attention weight on one scale: white 0, red the largest weight shown")
    return fig


def _by_class(probe):
    """{class name: indices of its probe samples}, in the order the classes first appear."""
    labels = probe.labels or ["all samples"] * len(probe.weights)
    groups = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    return groups


def _grid(fig, count, columns=3):
    rows = -(-count // columns)
    axes = np.atleast_1d(fig.subplots(rows, min(columns, count), squeeze=False)).ravel()
    for ax in axes[count:]:
        ax.set_axis_off()
    return axes[:count]


def attention_by_class(probe, title, fig=None):
    """Per class: the mean attention over time with a band from the 10th to the 90th percentile of
    its samples; for (steps, features) weights (`block_3d`), the mean map of the class instead."""
    groups = _by_class(probe)
    rows = -(-len(groups) // 3)
    fig = _figure(fig, (12, 2.6 * rows + 0.6))
    for ax, (label, indices) in zip(_grid(fig, len(groups)), groups.items()):
        weights = probe.weights[indices]
        if weights.ndim == 3:  # (samples, steps, features): which feature mattered when
            image = ax.imshow(weights.mean(axis=0).T, cmap="hot", aspect="auto", vmin=0, interpolation="nearest")
            fig.colorbar(image, ax=ax, pad=0.01)
            ax.set_ylabel("feature")
        else:
            steps = np.arange(weights.shape[1])
            low, high = np.percentile(weights, [10, 90], axis=0)
            ax.fill_between(steps, low, high, alpha=0.3, label="10th-90th percentile")
            ax.plot(steps, weights.mean(axis=0), "-o", ms=3, label="mean")
            ax.set_ylim(0, None)
            ax.set_ylabel("attention")
        ax.set_title(f"{label} ({len(indices)} samples)", fontsize=9)
        ax.set_xlabel("time step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    return fig


def attention_samples(probe, title, fig=None, max_samples=9):
    """A few probe samples (the first of each class, then more): the attention over time above the
    series itself, its features drawn as lines over the sample's real steps."""
    groups = list(_by_class(probe).items())
    chosen, depth = [], 0
    while len(chosen) < min(max_samples, len(probe.weights)):
        chosen += [(label, idx[depth]) for label, idx in groups if depth < len(idx)][: max_samples - len(chosen)]
        depth += 1
    columns = min(3, len(chosen))
    rows = -(-len(chosen) // columns)
    fig = _figure(fig, (12, 3.2 * rows + 0.6))
    for panel, (label, i) in zip(np.atleast_1d(fig.subfigures(rows, columns, squeeze=False)).ravel(), chosen):
        top, bottom = panel.subplots(2, 1, sharex=True, height_ratios=[1, 2])
        weights = probe.weights[i]
        steps = int(np.any(probe.inputs[i] != 0, axis=-1).sum())
        heat = weights[:steps].T if weights.ndim == 2 else weights[None, :steps]
        top.imshow(heat, cmap="hot", aspect="auto", vmin=0, interpolation="nearest")
        top.set_yticks([])
        top.set_title(f"{label}: probe sample {i}", fontsize=9)
        bottom.plot(np.arange(steps), probe.inputs[i][:steps], lw=1)
        bottom.set_xlabel("time step")
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    return fig


def alignment_panel(ax, weights, inputs, outputs, title):
    """One alignment heatmap: output tokens (rows) × input tokens (columns), padding left out."""
    columns = [i for i, token in enumerate(inputs) if token is not None]
    image = ax.imshow(
        weights[: len(outputs), columns], cmap="hot", vmin=0, vmax=1, aspect="auto", interpolation="nearest"
    )
    ax.set_xticks(range(len(columns)), [inputs[i].replace(" ", "␣") for i in columns], fontsize=8)
    ax.set_yticks(range(len(outputs)), outputs, fontsize=8)
    ax.set_xlabel("input character")
    ax.set_ylabel("output character")
    ax.set_title(title, fontsize=9)
    return image


def alignment(probe, title, fig=None, max_panels=6):
    """The alignment heatmaps of the date translation (datalogue, original 003), one per probe text:
    which input characters each output character attended to (each row sums to 1)."""
    panels = min(len(probe.weights), max_panels)
    columns = min(panels, 2)
    rows = -(-panels // columns)
    fig = _figure(fig, (7 * columns, 3.4 * rows + 0.8))
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for i, ax in enumerate(axes):
        if i >= panels:
            ax.set_axis_off()
            continue
        text = "".join(t for t in probe.tokens[i] if t is not None)
        image = alignment_panel(ax, probe.weights[i], probe.tokens[i], probe.output_tokens[i], repr(text))
    fig.colorbar(image, ax=list(axes[:panels]), shrink=0.6, label="attention weight")
    fig.suptitle(f"{title}\nwhere each output character looked (teacher-forced on the true date)")
    return fig


def attention_heads(probe, title, fig=None):
    """A stack of self-attention layers on the first probe sample: one heatmap per layer (rows) and
    head (columns), query steps down, key steps across, on one scale from 0 (the colour bar); the
    last column is the rollout so far (each layer's heads averaged, the residual mixed in, ½·A + ½·I,
    multiplied through: `attention.audit.stack.rollout`, which this module does not import, as it
    must not start a backend)."""
    stack = probe.stack[0]  # (layers, heads, steps, steps)
    layers, heads = stack.shape[:2]
    mixed = 0.5 * stack.mean(axis=1) + 0.5 * np.eye(stack.shape[-1])
    mixed /= mixed.sum(axis=-1, keepdims=True)
    rolled = [mixed[0]]
    for layer in range(1, layers):
        rolled.append(mixed[layer] @ rolled[-1])
    fig = _figure(fig, (2.6 * (heads + 1) + 1, 2.4 * layers + 0.8))
    axes = fig.subplots(layers, heads + 1, squeeze=False)
    scale = Normalize(0.0, max(float(stack.max()), max(float(r.max()) for r in rolled)))
    for layer in range(layers):
        for column in range(heads + 1):
            ax = axes[layer, column]
            shown = stack[layer, column] if column < heads else rolled[layer]
            ax.imshow(shown, cmap="viridis", norm=scale, interpolation="nearest")
            ax.set_title(f"layer {layer + 1}, " + (f"head {column + 1}" if column < heads else "rollout"), fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[layer, 0].set_ylabel("query step")
    for ax in axes[-1]:
        ax.set_xlabel("key step")
    fig.colorbar(ScalarMappable(scale, "viridis"), ax=axes, shrink=0.8, label="weight")
    fig.suptitle(f"{title}\nthe first probe sample: every layer and head, and the rollout (last column)")
    return fig


def training_curves(history, title):
    """Loss and every other metric per epoch: training, validation, and test where recorded."""
    metrics = [m for m in history if not m.startswith(("val_", "test_"))]
    fig = Figure(figsize=(5 * len(metrics), 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    for ax, metric in zip(axes, metrics):
        for prefix, style in (("", "-o"), ("val_", "-s"), ("test_", "-^")):
            values = history.get(prefix + metric)
            if values:
                ax.plot(np.arange(1, len(values) + 1), values, style, ms=3, label=(prefix or "train_").rstrip("_"))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        # Whole epochs only, and room around them: one epoch is one marker at 1, not a line on 0.95-1.05.
        epochs = max(len(history.get(prefix + metric) or []) for prefix in ("", "val_", "test_"))
        ax.set_xlim(0.5, max(epochs, 1) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    fig.suptitle(title)
    return fig


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
    "attention_heads": attention_heads,
    "attention_per_dimension": attention_per_dimension,
    "attention_map": attention_map,
    "attention_argmax": attention_argmax,
    "attention_words": attention_words,
    "alignment": alignment,
    "attention_by_class": attention_by_class,
    "attention_samples": attention_samples,
}
