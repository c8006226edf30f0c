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


# --- The audit of a stack: a model whose deciding step is known ------------------------------------


@pytest.fixture(scope="module")
def decided_by_step_2():
    """A one-block Transformer trained on noise whose label is the sign of step 2's first feature."""
    import keras

    from attention import TransformerEncoder

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 6, 3)).astype("float32")
    y = (x[:, 2, 0] > 0).astype("float32")
    inputs = keras.Input((6, 3))
    encoded = TransformerEncoder(16, 2, 8, 16, layers=1, dropout=0.0, name="attention")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(encoded))
    model.compile("adam", "binary_crossentropy")
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    deciding = np.zeros((600, 6))
    deciding[:, 2] = 1
    return model, x[:80], deciding[:80]


def test_the_stack_audit_finds_the_deciding_step_and_integrated_gradients_are_complete(decided_by_step_2):
    from attention.audit.stack import EXPLANATIONS, IMPORTANCES, StackAudit

    model, x, deciding = decided_by_step_2
    result = StackAudit(model, ig_steps=64, flow_samples=20).run(x, deciding)
    assert set(result["explanations"]) == set(EXPLANATIONS) and set(result["importances"]) == set(IMPORTANCES)
    assert result["flow_samples"] == 20 and result["samples"] == 80
    # Completeness: the attributions sum to f(x) − f(0) (a probability: within 0.05 at 64 steps), up
    # to the error of the midpoint sum, which shrinks with more steps.
    gap = result["integrated_gradients"]["largest_completeness_gap"]
    assert gap < 0.05
    coarse = StackAudit(model, ig_steps=8, flow_samples=1).run(x)["integrated_gradients"]["largest_completeness_gap"]
    assert gap < coarse
    for name in ("leave_one_out", "integrated_gradients"):  # gradient × input is noisier (saturation)
        assert result["importances"][name]["hit_rate"] > 0.9, name
    assert result["explanations"]["rollout"]["hit_rate"] > 3 / 6  # three times a random step's 1/6
    # One block: its raw weights, their mean and the rollout rank the steps alike.
    explained = result["explanations"]
    assert explained["last_layer"] == explained["mean_of_layers"] == explained["rollout"]
    for name in EXPLANATIONS:
        assert set(result["explanations"][name]["tau"]) == set(IMPORTANCES)
    # ERASER (a classifier): removing the step that decides drops the decided class's probability
    # far more than removing a random one, and keeping it alone drops it far less.
    eraser = result["eraser"]
    assert eraser["fractions"] == [0.01, 0.05, 0.1, 0.2, 0.5]
    assert set(eraser["comprehensiveness"]) == {*EXPLANATIONS, *IMPORTANCES, "random"}
    comprehensiveness = {name: v["aopc"] for name, v in eraser["comprehensiveness"].items()}
    sufficiency = {name: v["aopc"] for name, v in eraser["sufficiency"].items()}
    assert comprehensiveness["leave_one_out"] > comprehensiveness["random"] + 0.1
    assert sufficiency["leave_one_out"] < sufficiency["random"] - 0.1
    # At 1% of 6 steps one step goes: the top one of leave-one-out, step 2, in nearly every sample.
    assert eraser["comprehensiveness"]["leave_one_out"]["by_fraction"][0] > 0.3


def test_the_stack_audit_gives_no_hit_rate_without_a_known_answer(decided_by_step_2):
    from attention.audit.stack import StackAudit

    model, x, _ = decided_by_step_2
    result = StackAudit(model, ig_steps=4, flow_samples=2).run(x[:10])
    assert result["explanations"]["flow"]["hit_rate"] is None and result["importances"]["gradient"]["hit_rate"] is None


def test_the_stack_audit_leaves_padding_out_and_gives_no_eraser_for_a_regression():
    """Token 0 that the model does not mask is padding, never a step an explanation may pick; and a
    regression has no decided class for ERASER."""
    import keras

    from attention import TransformerEncoder
    from attention.audit.stack import StackAudit

    keras.utils.set_random_seed(0)
    tokens = np.random.default_rng(0).integers(1, 9, size=(12, 7))
    tokens[:, :3] = 0  # padded at the front, as pad_sequences pads
    inputs = keras.Input((7,), dtype="int32")
    encoded = TransformerEncoder(8, 1, 8, 8, layers=1, dropout=0.0, name="attention")(
        keras.layers.Embedding(9, 8)(inputs)
    )
    model = keras.Model(inputs, keras.layers.Dense(1)(encoded))
    deciding = np.zeros(tokens.shape)
    deciding[:, :3] = 1  # marks on the padding: a top step there would count as a hit
    result = StackAudit(model, ig_steps=2, flow_samples=4).run(tokens, deciding)
    assert result["eraser"] is None
    hits = {name: e["hit_rate"] for name, e in {**result["explanations"], **result["importances"]}.items()}
    assert hits == dict.fromkeys(hits, 0.0)


def test_flow_is_left_out_where_the_sequences_are_longer_than_its_limit(decided_by_step_2):
    from attention.audit.stack import StackAudit

    model, x, deciding = decided_by_step_2
    result = StackAudit(model, ig_steps=2, flow_max_steps=5).run(x[:4], deciding[:4])  # 6 steps
    assert result["flow_samples"] == 0 and result["explanations"]["flow"] is None
    assert result["explanations"]["rollout"] is not None
