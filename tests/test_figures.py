"""The figures say what the weights say: a flat attention looks flat, misses are marked, and only
continuous panels carry a colour scale."""

import numpy as np

from experiments.run.plots import Probe, attention_argmax, attention_heads, attention_words


def _word_colours(fig):
    """The shade behind each word, in the order drawn."""
    words = [t for t in fig.axes[0].texts if t.get_bbox_patch() is not None]
    return np.array([t.get_bbox_patch().get_facecolor() for t in words])


def _review_probe(weights):
    tokens = [[f"w{j}" for j in range(len(row))] for row in weights]
    return Probe(inputs=None, targets=np.ones((len(weights), 1)), weights=np.array(weights), tokens=tokens)


def test_a_flat_attention_is_shaded_flat_and_a_sharp_one_sharp():
    rng = np.random.default_rng(0)
    flat = np.full((2, 500), 1 / 500) * rng.uniform(0.8, 1.1, size=(2, 500))  # 0.0016 to 0.0022: the IMDB case
    flat /= flat.sum(axis=1, keepdims=True)
    colours = _word_colours(attention_words(_review_probe(flat), "flat"))
    assert len(colours) == 2 * 140  # the last 140 words of each review
    # Shades on one scale from 0: the least- and the most-attended words differ by little.
    assert np.abs(colours - colours.mean(axis=0)).max() < 0.2
    sharp = np.full((2, 500), 0.5 / 499)
    sharp[:, -3] = 0.5
    colours = _word_colours(attention_words(_review_probe(sharp), "sharp"))
    assert np.abs(colours[137] - colours[0]).max() > 0.5  # the attended word stands out
    np.testing.assert_allclose(colours[0], colours[1])


def test_the_argmax_panel_marks_each_miss_and_binary_panels_have_no_colour_scale():
    weights = np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    expected = np.array([[0, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=float)  # sample 1 is missed
    fig = attention_argmax(Probe(inputs=None, targets=None, weights=weights, expected=expected), "find_max")
    panels, scales = fig.axes[:3], fig.axes[3:]
    misses = panels[1].collections[0].get_offsets()
    np.testing.assert_array_equal(misses, [[0, 1]])  # at the step it picked, in its row
    assert "1 of 3" in panels[1].get_title()
    assert [scale.get_visible() for scale in scales] == [True, False, False]


# The commit that put the IMDB word figure on one scale (the test above checks how it draws).
ONE_SCALE = "885abb4"


def test_the_readmes_imdb_word_figure_was_drawn_on_one_scale():
    """The README's IMDB word figure comes from a record job run by code that draws every review on
    one scale (a descendant of ONE_SCALE), so it shows a flat attention as flat."""
    import json
    import re
    import subprocess
    from pathlib import Path

    import pytest

    root = Path(__file__).resolve().parents[1]
    if subprocess.run(["git", "cat-file", "-e", ONE_SCALE], cwd=root, capture_output=True).returncode:
        pytest.skip("not a git checkout with the suite's history")
    readme = (root / "README.md").read_text(encoding="utf-8")
    figure = re.search(r"<!-- results:figure ([^ ]+)/attention_words\.png \|", readme).group(1)
    commit = json.loads((root / "docs" / "results" / figure / "metrics.json").read_text())["provenance"]["commit"]
    drawn_after = subprocess.run(["git", "merge-base", "--is-ancestor", ONE_SCALE, commit], cwd=root)
    assert drawn_after.returncode == 0, f"{figure} was drawn at {commit[:7]}, before the figure's one scale"


def test_the_heads_figure_draws_every_layer_and_head_and_the_rollout_of_the_library():
    from attention.audit.stack import rollout, with_residual

    rng = np.random.default_rng(0)
    stack = rng.dirichlet(np.ones(5), size=(1, 3, 2, 5))  # (sample, layers, heads, steps, steps)
    fig = attention_heads(Probe(inputs=None, targets=None, weights=None, stack=stack), "stack")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 3 * (2 + 1)  # every layer and head, and the rollout of each layer
    np.testing.assert_allclose(panels[0].images[0].get_array(), stack[0, 0, 0])
    mixed = with_residual(stack)[0]
    np.testing.assert_allclose(panels[-1].images[0].get_array(), mixed[2] @ mixed[1] @ mixed[0])
    np.testing.assert_allclose(panels[-1].images[0].get_array().mean(axis=0), rollout(stack)[0])
