"""attention.SelfAttention against NumPy (every score, causal, window, masks), saving; and what every
layer of the library now takes: dropout on the weights, and initializers, saved in its config."""

import json

import keras
import numpy as np
import pytest
from keras.ops import convert_to_numpy as to_numpy

from attention import (
    SCORES,
    Attention,
    AttentionPooling,
    CrossAttention,
    SelfAttention,
    TimeAttention,
    attention_weights,
)
from numpy_scores import NUMPY_SCORES, softmax

RNG = np.random.default_rng(2)
BATCH, STEPS, DIM = 3, 7, 4


def _numpy_self_attention(x, score, learned, visible=None, mask=None):
    """The equations in NumPy: (weights (batch, steps, steps), outputs (batch, steps, dim))."""
    scores = NUMPY_SCORES[score](x, x, learned)
    allowed = np.ones(scores.shape, dtype=bool)
    if visible is not None:
        allowed &= visible[None]
    if mask is not None:
        allowed &= mask[:, None, :]
    alpha = softmax(np.where(allowed, scores, -1e9))
    return alpha, alpha @ x


def _band(causal, window):
    t, s = np.indices((STEPS, STEPS))
    visible = np.ones((STEPS, STEPS), dtype=bool)
    if causal:
        visible &= s <= t
    if window is not None:
        visible &= np.abs(t - s) <= window
    return visible


@pytest.mark.parametrize("score", SCORES)
def test_each_score_matches_its_equation_in_numpy(score):
    x = RNG.standard_normal((BATCH, STEPS, DIM)).astype("float32")
    layer = SelfAttention(score=score)
    outputs, weights = layer(x, return_attention_scores=True)
    learned = {name: to_numpy(v).astype("float64") for name, v in layer.score_weights.items()}
    alpha, expected = _numpy_self_attention(x.astype("float64"), score, learned)
    assert to_numpy(weights).shape == (BATCH, STEPS, STEPS) and to_numpy(outputs).shape == (BATCH, STEPS, DIM)
    np.testing.assert_allclose(to_numpy(weights), alpha, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(to_numpy(outputs), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("causal", "window"), [(True, None), (False, 2), (True, 1), (False, 0)])
@pytest.mark.parametrize("score", ["scaled_dot", "bahdanau", "uniform"])
def test_causal_and_window_give_exactly_zero_outside_and_match_numpy(score, causal, window):
    x = RNG.standard_normal((BATCH, STEPS, DIM)).astype("float32")
    layer = SelfAttention(score=score, causal=causal, window=window)
    outputs, weights = layer(x, return_attention_scores=True)
    weights = to_numpy(weights)
    visible = _band(causal, window)
    assert np.all(weights[:, ~visible] == 0.0)  # exactly: no future key, nothing outside the band
    assert np.all(weights[:, visible] > 0.0)
    learned = {name: to_numpy(v).astype("float64") for name, v in layer.score_weights.items()}
    alpha, expected = _numpy_self_attention(x.astype("float64"), score, learned, visible)
    np.testing.assert_allclose(weights, alpha, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(to_numpy(outputs), expected, rtol=1e-4, atol=1e-5)


def test_masked_steps_get_zero_weight_and_the_mask_passes_on():
    x = RNG.standard_normal((BATCH, STEPS, DIM)).astype("float32")
    mask = np.ones((BATCH, STEPS), dtype=bool)
    mask[0, 4:] = False
    layer = SelfAttention(causal=True)
    _, weights = layer(x, mask=mask, return_attention_scores=True)
    weights = to_numpy(weights)
    assert np.all(weights[0, :4, 4:] == 0.0)  # no valid step looks at padding
    alpha, _ = _numpy_self_attention(x.astype("float64"), "scaled_dot", {}, _band(True, None), mask)
    np.testing.assert_allclose(weights[0, :4], alpha[0, :4], rtol=1e-4, atol=1e-6)
    assert np.array_equal(to_numpy(layer.compute_mask(x, mask)), mask)


def test_a_bad_window_is_refused_in_words():
    with pytest.raises(ValueError, match="window must be None or an integer >= 0, got -1"):
        SelfAttention(window=-1)


def _tagger(**options):
    """Tokens → embedding → self-attention → a label per step: a sequence model a user would write."""
    tokens = keras.Input((STEPS,), dtype="int32")
    states = keras.layers.Embedding(12, DIM, mask_zero=True)(tokens)
    attended = SelfAttention(name="attention", **options)(states)
    return keras.Model(tokens, keras.layers.Dense(3, activation="softmax")(attended))


def test_a_model_with_it_saves_and_reloads_without_custom_objects(tmp_path):
    model = _tagger(score="luong", causal=True, window=3, dropout=0.2, seed=7, kernel_initializer="he_normal")
    tokens = np.array([[3, 4, 5, 6, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7]])
    weights = attention_weights(model, "attention", tokens)
    assert weights.shape == (2, STEPS, STEPS) and np.all(weights[0, :4, 4:] == 0.0)
    model.save(tmp_path / "tagger.keras")
    reloaded = keras.models.load_model(tmp_path / "tagger.keras")
    np.testing.assert_allclose(reloaded.predict(tokens, verbose=0), model.predict(tokens, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(attention_weights(reloaded, "attention", tokens), weights, rtol=1e-6)
    config = reloaded.get_layer("attention").get_config()
    assert (config["score"], config["causal"], config["window"], config["dropout"], config["seed"]) == (
        "luong",
        True,
        3,
        0.2,
        7,
    )


# --- What every layer takes: dropout and initializers ---------------------------------------------

LAYERS = {
    "Attention": lambda **o: Attention(units=4, **o),
    "CrossAttention": lambda **o: CrossAttention(score="luong", **o),
    "SelfAttention": lambda **o: SelfAttention(score="luong", **o),
    "TimeAttention": lambda **o: TimeAttention(**o),
    "AttentionPooling": lambda **o: AttentionPooling(units=3, **o),
}


def _call(name, layer, **kwargs):
    x = RNG.standard_normal((BATCH, STEPS, DIM)).astype("float32")
    inputs = [RNG.standard_normal((BATCH, 2, DIM)).astype("float32"), x] if name == "CrossAttention" else x
    return layer(inputs, return_attention_scores=True, **kwargs), inputs


@pytest.mark.parametrize("name", LAYERS)
def test_dropout_drops_weights_only_while_training_and_is_seeded(name):
    make = LAYERS[name]
    layer, twin = make(dropout=0.5, seed=3), make(dropout=0.5, seed=3)
    (plain, weights), inputs = _call(name, layer)
    twin(inputs)
    for mine, its in zip(twin.trainable_weights, layer.trainable_weights):
        mine.assign(its)
    np.testing.assert_array_equal(to_numpy(layer(inputs)), to_numpy(plain))  # inference: no dropout
    trained, trained_weights = layer(inputs, return_attention_scores=True, training=True)
    assert not np.allclose(to_numpy(trained), to_numpy(plain))  # some weights were dropped
    np.testing.assert_allclose(to_numpy(trained_weights), to_numpy(weights), rtol=1e-6)  # returned: before dropout
    np.testing.assert_array_equal(to_numpy(twin(inputs, training=True)), to_numpy(trained))  # the same seed
    assert not np.allclose(to_numpy(layer(inputs, training=True)), to_numpy(trained))  # its draws move on
    assert make().get_config()["dropout"] == 0.0


@pytest.mark.parametrize("name", LAYERS)
def test_initializers_make_the_weights_and_are_saved(name):
    make = LAYERS[name]
    layer = make(kernel_initializer="ones", bias_initializer=keras.initializers.Constant(0.5))
    _call(name, layer)
    kernels = [w for w in layer.weights if "bias" not in w.path]
    biases = [w for w in layer.weights if "bias" in w.path]
    assert kernels and all(np.all(to_numpy(w) == 1.0) for w in kernels)
    assert all(np.all(to_numpy(w) == 0.5) for w in biases)
    config = layer.get_config()
    assert config["kernel_initializer"] == "ones"
    assert config["bias_initializer"]["class_name"] == "Constant"
    rebuilt = type(layer).from_config(json.loads(json.dumps(config)))
    _call(name, rebuilt)
    assert all(np.all(to_numpy(w) == 1.0) for w in rebuilt.weights if "bias" not in w.path)


def test_a_layer_saved_before_dropout_and_initializers_loads_with_their_defaults():
    """A config of the layers as models saved before these arguments hold (no dropout, no
    initializers) makes the layer as it was."""
    old = {"name": "attention", "trainable": True, "dtype": "float32", "units": 4, "score": "luong"}
    layer = Attention.from_config(old)
    assert (layer.dropout, layer.seed_generator, layer.kernel_initializer) == (0.0, None, "glorot_uniform")


def test_dropout_outside_its_range_is_refused_in_words():
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\), got 1.5"):
        Attention(dropout=1.5)
