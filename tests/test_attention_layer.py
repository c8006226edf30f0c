"""attention.Attention: every score function against NumPy, masks, errors, and the seed-004 example."""

import keras
import numpy as np
import pytest
from keras.ops import convert_to_numpy as to_numpy  # any backend's tensors and variables

from attention import SCORES, Attention, attention_weights, predict_in_batches
from numpy_scores import NUMPY_SCORES, softmax

RNG = np.random.default_rng(0)
BATCH, STEPS, DIM, UNITS = 3, 7, 5, 4


def _numpy_attention(layer, h_s):
    weights = {name: to_numpy(v).astype("float64") for name, v in layer.score_weights.items()}
    h_t = h_s[:, -1]
    alpha = softmax(NUMPY_SCORES[layer.score_name](h_t[:, None], h_s, weights))[:, 0]
    context = np.einsum("bs,bsd->bd", alpha, h_s)
    output = np.tanh(np.concatenate([context, h_t], axis=-1) @ to_numpy(layer.w_c).astype("float64"))
    return output, alpha


def test_the_numpy_references_cover_every_score():
    assert set(NUMPY_SCORES) == set(SCORES)


@pytest.mark.parametrize("score", SCORES)
def test_each_score_matches_its_equation_in_numpy(score):
    h_s = RNG.standard_normal((BATCH, STEPS, DIM)).astype("float32")
    layer = Attention(units=UNITS, score=score)
    outputs, weights = layer(h_s, return_attention_scores=True)
    expected_outputs, expected_weights = _numpy_attention(layer, h_s.astype("float64"))
    assert to_numpy(outputs).shape == (BATCH, UNITS)
    np.testing.assert_allclose(to_numpy(weights), expected_weights, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(to_numpy(outputs), expected_outputs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("score", [s for s in SCORES if s != "location"])
def test_masked_steps_get_zero_weight_and_the_query_is_the_last_unmasked_step(score):
    h_s = RNG.standard_normal((BATCH, STEPS, DIM)).astype("float32")
    valid = 4
    mask = np.ones((BATCH, STEPS), dtype=bool)
    mask[0, valid:] = False  # sample 0 is padded at the end
    layer = Attention(units=UNITS, score=score)
    outputs, weights = layer(h_s, mask=mask, return_attention_scores=True)
    weights = to_numpy(weights)
    assert np.all(weights[0, valid:] == 0.0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    # The padded sample must behave exactly like its unpadded self.
    alone, alone_weights = layer(h_s[:1, :valid], return_attention_scores=True)
    np.testing.assert_allclose(to_numpy(outputs)[:1], to_numpy(alone), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weights[:1, :valid], to_numpy(alone_weights), rtol=1e-5, atol=1e-6)


def test_embedding_padding_gets_zero_weight_in_a_model():
    tokens = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(20, 8, mask_zero=True)(tokens)
    x = keras.layers.LSTM(8, return_sequences=True)(x)
    x = Attention(units=4, name="attention")(x)
    model = keras.Model(tokens, keras.layers.Dense(1)(x))
    batch = np.array([[0, 0, 3, 4, 5, 6], [1, 2, 3, 0, 0, 0]])  # pre- and post-padding
    weights = attention_weights(model, "attention", batch)
    assert np.all(weights[0, :2] == 0.0) and np.all(weights[1, 3:] == 0.0)
    assert np.all(weights[0, 2:] > 0.0) and np.all(weights[1, :3] > 0.0)


def test_an_unknown_score_names_the_accepted_ones():
    with pytest.raises(ValueError, match="Unknown score 'general'; accepted: luong, bahdanau, dot, "):
        Attention(score="general")


def test_location_score_says_it_needs_a_fixed_number_of_steps():
    with pytest.raises(ValueError, match="score='location' needs a fixed number of time steps"):
        Attention(score="location")(keras.Input((None, 3)))


@pytest.mark.parametrize("score", ["luong", "bahdanau"])
def test_the_seed_004_example_runs_saves_and_reloads(score, tmp_path):
    # The README example of keras-attention, on Keras 3, as written but for the Keras 3 imports.
    num_samples, time_steps, input_dim, output_dim = 100, 10, 1, 1
    data_x = RNG.uniform(size=(num_samples, time_steps, input_dim))
    data_y = RNG.uniform(size=(num_samples, output_dim))
    model_input = keras.Input(shape=(time_steps, input_dim))
    x = keras.layers.LSTM(64, return_sequences=True)(model_input)
    x = Attention(units=32, score=score)(x)
    x = keras.layers.Dense(1)(x)
    model = keras.Model(model_input, x)
    model.compile(loss="mae", optimizer="adam")
    model.fit(data_x, data_y, epochs=30, verbose=0)
    pred1 = model.predict(data_x, verbose=0)
    model.save(tmp_path / "test_model.keras")
    reloaded = keras.models.load_model(tmp_path / "test_model.keras")  # no custom_objects
    np.testing.assert_almost_equal(pred1, reloaded.predict(data_x, verbose=0))
    assert reloaded.layers[2].get_config()["score"] == score


def test_a_score_defined_outside_the_library_registers_by_subclassing_and_saves(tmp_path):
    """The documented way to add a score: a subclass of `Score` with its name. The layer then takes
    it by name, owns its weights, and a saved model reloads to the same predictions."""
    from attention.scores import Score

    class Negated(Score, name="negated_dot_test"):
        """-s_tᵀ h_i: attends to the states least like the query."""

        def __call__(self, s_t, h_s):
            return -keras.ops.matmul(s_t, keras.ops.swapaxes(h_s, -1, -2))

    try:
        with pytest.raises(ValueError, match="a score named 'negated_dot_test' exists already"):

            class Twice(Score, name="negated_dot_test"):
                pass

        inputs = keras.Input((STEPS, DIM))
        layer = Attention(units=UNITS, score="negated_dot_test", name="attention")
        model = keras.Model(inputs, layer(inputs))
        h_s = RNG.standard_normal((BATCH, STEPS, DIM)).astype("float32")
        alpha = attention_weights(model, "attention", h_s)
        np.testing.assert_allclose(alpha, softmax(-np.einsum("bd,bsd->bs", h_s[:, -1], h_s)), rtol=1e-5, atol=1e-6)
        model.save(tmp_path / "negated.keras")
        again = keras.models.load_model(tmp_path / "negated.keras")
        np.testing.assert_allclose(again.predict(h_s, verbose=0), model.predict(h_s, verbose=0), rtol=1e-6)
    finally:
        SCORES.pop("negated_dot_test", None)


def test_weights_changed_runs_the_layer_with_replaced_weights_and_restores_them_after():
    """The public way to hold the inputs fixed and change only the attention (the audit's tool):
    uniform weights give the plain mean of the states inside the block, blocks nest, and leaving
    them gives the layer's own output again."""
    from attention import AttentionPooling

    inputs = keras.Input((STEPS, DIM))
    layer = AttentionPooling(name="attention")
    model = keras.Model(inputs, layer(inputs))
    h_s = RNG.standard_normal((BATCH, STEPS, DIM)).astype("float32")
    own = to_numpy(model(h_s))
    seen = []

    def uniform(w):
        return keras.ops.ones_like(w) / STEPS

    def record(w):
        seen.append(to_numpy(w))
        return w

    with layer.weights_changed(uniform):
        np.testing.assert_allclose(to_numpy(model(h_s)), h_s.mean(axis=1), rtol=1e-5, atol=1e-6)
        with layer.weights_changed(record):
            np.testing.assert_allclose(to_numpy(model(h_s)), own, rtol=1e-6)
        np.testing.assert_allclose(to_numpy(model(h_s)), h_s.mean(axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(model(h_s)), own, rtol=1e-6)
    np.testing.assert_allclose(seen[0].sum(axis=-1), 1.0, rtol=1e-5)  # the layer's own, normalised


def test_predict_in_batches_gives_predict_s_outputs_bit_for_bit_in_the_same_structure():
    # Two inputs of 70 rows (two full batches of 32 and a last of 6), two outputs.
    tokens, extra = keras.Input((None,), dtype="int32"), keras.Input((3,))
    h = keras.layers.Embedding(20, 6, mask_zero=True)(tokens)
    h = keras.layers.LSTM(4)(h)
    model = keras.Model([tokens, extra], [keras.layers.Dense(2)(h), keras.layers.Dense(1)(extra)])
    x = [RNG.integers(0, 20, (70, 9)).astype("int32"), RNG.standard_normal((70, 3)).astype("float32")]
    ours, keras_own = predict_in_batches(model, x), model.predict(x, batch_size=32, verbose=0)
    assert isinstance(ours, list) and len(ours) == 2
    for mine, theirs in zip(ours, keras_own, strict=True):
        assert mine.shape == theirs.shape and mine.tobytes() == theirs.tobytes()
    with pytest.raises(ValueError, match="0 rows"):  # Keras' own fails with an UnboundLocalError
        predict_in_batches(model, [x[0][:0], x[1][:0]])
