"""The attention blocks: shapes, normalisation, masks, probes and saving."""

import keras
import numpy as np
import pytest
from keras.ops import convert_to_numpy as to_numpy  # any backend's tensors and variables

from attention import AttentionPooling, FeatureAttention, TimeAttention, attention_weights

RNG = np.random.default_rng(0)


def _model(inputs, attention, head=None):
    x = attention(inputs)
    if head is not None:
        x = head(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def test_feature_attention_weights_sum_to_one_and_scale_the_input():
    x = RNG.standard_normal((5, 32)).astype("float32")
    layer = FeatureAttention()
    outputs, weights = layer(x, return_attention_scores=True)
    outputs, weights = to_numpy(outputs), to_numpy(weights)
    assert outputs.shape == weights.shape == (5, 32)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(outputs, x * weights, rtol=1e-5)


@pytest.mark.parametrize("shared, weights_shape", [(False, (4, 20, 2)), (True, (4, 20))])
def test_time_attention_shapes_and_softmax_over_steps(shared, weights_shape):
    x = RNG.standard_normal((4, 20, 2)).astype("float32")
    outputs, weights = TimeAttention(shared=shared)(x, return_attention_scores=True)
    weights = to_numpy(weights)
    assert to_numpy(outputs).shape == (4, 20, 2)
    assert weights.shape == weights_shape
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)  # over the steps
    per_dim = weights if not shared else weights[..., None]
    np.testing.assert_allclose(to_numpy(outputs), x * per_dim, rtol=1e-5)


def test_shared_time_attention_is_the_mean_of_the_per_dimension_weights():
    x = RNG.standard_normal((3, 20, 2)).astype("float32")
    per_dim = TimeAttention(name="per_dim")
    per_dim.build(x.shape)
    shared = TimeAttention(shared=True)
    shared.build(x.shape)
    shared.set_weights(per_dim.get_weights())
    _, w_per_dim = per_dim(x, return_attention_scores=True)
    _, w_shared = shared(x, return_attention_scores=True)
    np.testing.assert_allclose(to_numpy(w_shared), to_numpy(w_per_dim).mean(axis=-1), rtol=1e-5)


def test_time_attention_needs_a_fixed_number_of_steps():
    with pytest.raises(ValueError, match="fixed number of time steps"):
        TimeAttention()(keras.Input((None, 2)))


def test_attention_pooling_is_a_weighted_sum_over_time():
    x = RNG.standard_normal((4, 7, 5)).astype("float32")
    outputs, weights = AttentionPooling()(x, return_attention_scores=True)
    outputs, weights = to_numpy(outputs), to_numpy(weights)
    assert outputs.shape == (4, 5) and weights.shape == (4, 7)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(outputs, np.einsum("bt,btu->bu", weights, x), rtol=1e-5, atol=1e-6)


def test_attention_pooling_with_units_scores_each_step_by_v_tanh_w_h_plus_b():
    """Jain & Wallace's `tanh` attention: score_i = vᵀ tanh(W h_i + b), no query."""
    x = RNG.standard_normal((3, 6, 4)).astype("float32")
    layer = AttentionPooling(units=5)
    outputs, weights = (to_numpy(a) for a in layer(x, return_attention_scores=True))
    w, b, v = (to_numpy(layer.kernel), to_numpy(layer.bias), to_numpy(layer.context))
    assert w.shape == (4, 5) and b.shape == (5,) and v.shape == (5, 1)
    scores = (np.tanh(x @ w + b) @ v)[..., 0]
    expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(weights, expected, rtol=1e-5)
    np.testing.assert_allclose(outputs, np.einsum("bt,btu->bu", expected, x), rtol=1e-5, atol=1e-6)


def test_uniform_pooling_is_the_mean_over_the_unmasked_steps():
    tokens = keras.Input((5,), dtype="int32")
    embedded = keras.layers.Embedding(10, 3, mask_zero=True)(tokens)
    pooled, weights = AttentionPooling(score="uniform")(embedded, return_attention_scores=True)
    model = keras.Model(tokens, [pooled, weights, embedded])
    batch = np.array([[4, 5, 0, 0, 0], [1, 2, 3, 4, 5]])
    pooled, weights, embedded = (to_numpy(a) for a in model.predict(batch, verbose=0))
    np.testing.assert_allclose(weights, [[0.5, 0.5, 0, 0, 0], [0.2] * 5], rtol=1e-6)
    np.testing.assert_allclose(pooled[0], embedded[0, :2].mean(axis=0), rtol=1e-5)
    uniform = AttentionPooling(score="uniform")
    uniform.build((None, 5, 3))
    assert not uniform.weights  # nothing to learn


@pytest.mark.parametrize(
    "options, message",
    [({"score": "luong"}, "score 'luong' is not one of tanh, uniform"), ({"units": 0}, "units must be None")],
)
def test_attention_pooling_refuses_a_bad_option(options, message):
    with pytest.raises(ValueError, match=message):
        AttentionPooling(**options)


def test_masked_steps_get_exactly_zero_weight_through_the_probe():
    tokens = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(tokens)
    x = keras.layers.LSTM(5, return_sequences=True)(x)
    x = AttentionPooling(name="attention")(x)
    model = keras.Model(tokens, keras.layers.Dense(1)(x))
    batch = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9]])
    weights = attention_weights(model, "attention", batch)
    assert np.all(weights[0, 3:] == 0.0)
    assert np.all(weights[1] > 0.0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)


SAVE_CASES = {
    "feature": (lambda: keras.Input((32,)), FeatureAttention, (8, 32)),
    "time_per_dim": (lambda: keras.Input((20, 2)), lambda **kw: TimeAttention(**kw), (8, 20, 2)),
    "time_shared": (lambda: keras.Input((20, 2)), lambda **kw: TimeAttention(shared=True, **kw), (8, 20, 2)),
    "pooling": (lambda: keras.Input((20, 2)), AttentionPooling, (8, 20, 2)),
    "pooling_units": (lambda: keras.Input((20, 2)), lambda **kw: AttentionPooling(units=4, **kw), (8, 20, 2)),
}


@pytest.mark.parametrize("case", SAVE_CASES)
def test_saved_model_reloads_without_custom_objects_to_the_same_predictions(case, tmp_path):
    make_input, make_layer, shape = SAVE_CASES[case]
    model = _model(make_input(), make_layer(name="attention"))
    x = RNG.standard_normal(shape).astype("float32")
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, RNG.standard_normal((8, 1)), epochs=2, verbose=0)  # weights away from their init
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), reloaded.predict(x, verbose=0))
    np.testing.assert_array_equal(attention_weights(model, "attention", x), attention_weights(reloaded, "attention", x))
    assert type(reloaded.get_layer("attention")) is type(model.get_layer("attention"))
