"""Attention rollout and attention flow (attention.audit.stack), on graphs whose answers are worked
out by hand."""

import numpy as np
import pytest

from attention.audit.stack import flow, rollout, with_residual

# Two steps, two layers, one head. Layer 1: both steps take everything from step 0; layer 2: both
# take everything from step 1. With the residual, Â1 = [[1, 0], [.5, .5]], Â2 = [[.5, .5], [0, 1]],
# and the rollout R = Â2 Â1 = [[.75, .25], [.5, .5]].
TWO_LAYERS = np.array([[[[[1.0, 0.0], [1.0, 0.0]]], [[[0.0, 1.0], [0.0, 1.0]]]]])  # (1, 2, 1, 2, 2)


def test_the_rollout_of_one_layer_is_its_weights_with_the_residual_mixed_in():
    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.ones(5), size=(3, 1, 2, 5))  # (samples, 1 layer, 2 heads, 5, 5)
    mixed = 0.5 * weights.mean(axis=2)[:, 0] + 0.5 * np.eye(5)
    np.testing.assert_allclose(with_residual(weights)[:, 0], mixed)
    np.testing.assert_allclose(rollout(weights, outputs=[2]), mixed[:, 2])
    np.testing.assert_allclose(rollout(weights), mixed.mean(axis=1))


def test_rollout_multiplies_the_layers_through():
    np.testing.assert_allclose(rollout(TWO_LAYERS, outputs=[0]), [[0.75, 0.25]])
    np.testing.assert_allclose(rollout(TWO_LAYERS, outputs=[1]), [[0.5, 0.5]])
    np.testing.assert_allclose(rollout(TWO_LAYERS), [[0.625, 0.375]])  # the mean of the two rows
    np.testing.assert_allclose(rollout(TWO_LAYERS, outputs=np.array([[True, False]])), [[0.75, 0.25]])


def test_flow_is_the_maximum_flow_through_the_graph():
    """Into step 0 at the top (capacity 1): from input 0 along 0→0→0 (min(1, .5)) and 0→1→0
    (min(.5, .5)), 1 in all; from input 1 only along 1→1→0, .5. Normalised: 2/3 and 1/3, where the
    rollout says .75 and .25."""
    np.testing.assert_allclose(flow(TWO_LAYERS, outputs=[0]), [[2 / 3, 1 / 3]])
    # Into both top steps, each drained with capacity 1/2: input 0 reaches .5 + .5 (through b0→c0
    # .5, b1→c0 .5, b1→c1 capped by the sink's .5): min(1.5 available, 1) = 1; input 1 reaches
    # c0 by .5 and c1 by .5, but only .5 leaves a1: .5.
    np.testing.assert_allclose(flow(TWO_LAYERS), [[2 / 3, 1 / 3]])


def test_a_masked_step_gets_nothing_from_either():
    """A padded step that no step attends to (its column 0 in every layer) and that is not an
    output gets exactly 0."""
    weights = np.zeros((1, 2, 1, 3, 3))
    weights[0, :, 0, :, :2] = 0.5
    weights[0, :, 0, 2] = [0.5, 0.5, 0.0]
    outputs = np.array([[True, True, False]])
    assert rollout(weights, outputs)[0, 2] == 0.0
    assert flow(weights, outputs)[0, 2] == 0.0
    np.testing.assert_allclose(rollout(weights, outputs).sum(), 1.0)


@pytest.mark.parametrize("explain", [rollout, flow])
def test_a_step_that_every_layer_attends_to_comes_out_on_top(explain):
    rng = np.random.default_rng(1)
    weights = rng.dirichlet(np.ones(6) * 5, size=(4, 3, 2, 6))
    weights[..., 3] += 4.0  # every query of every layer and head leans on step 3
    weights /= weights.sum(axis=-1, keepdims=True)
    assert np.all(explain(weights).argmax(axis=1) == 3)
