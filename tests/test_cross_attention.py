"""attention.CrossAttention: every score against NumPy, source masks, size errors, saving, probing."""

import keras
import numpy as np
import pytest
from keras.ops import convert_to_numpy as to_numpy

from attention import SCORES, CrossAttention, attention_weights
from numpy_scores import NUMPY_SCORES, softmax

RNG = np.random.default_rng(1)
BATCH, QUERIES, STEPS, DIM = 3, 4, 6, 5
# Scores with a learned projection accept a query of another size than the source.
PROJECTED = {"luong", "bahdanau", "location"}


def _inputs(score):
    query_dim = 3 if score in PROJECTED else DIM
    query = RNG.standard_normal((BATCH, QUERIES, query_dim)).astype("float32")
    source = RNG.standard_normal((BATCH, STEPS, DIM)).astype("float32")
    return query, source


@pytest.mark.parametrize("score", SCORES)
def test_each_score_matches_its_equation_in_numpy(score):
    query, source = _inputs(score)
    layer = CrossAttention(score=score)
    context, weights = layer([query, source], return_attention_scores=True)
    learned = {name: to_numpy(v).astype("float64") for name, v in layer.score_weights.items()}
    alpha = softmax(NUMPY_SCORES[score](query.astype("float64"), source.astype("float64"), learned))
    assert to_numpy(weights).shape == (BATCH, QUERIES, STEPS)
    np.testing.assert_allclose(to_numpy(weights), alpha, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(to_numpy(context), alpha @ source, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("score", SCORES)
def test_masked_source_steps_get_zero_weight_for_every_query(score):
    query, source = _inputs(score)
    valid = 3
    source_mask = np.ones((BATCH, STEPS), dtype=bool)
    source_mask[0, valid:] = False
    layer = CrossAttention(score=score)
    _, weights = layer([query, source], mask=[None, source_mask], return_attention_scores=True)
    weights = to_numpy(weights)
    assert np.all(weights[0, :, valid:] == 0.0)
    assert np.all(weights[1:] > 0.0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
    if score != "location":  # location has one weight row per step: it cannot drop steps
        _, alone = layer([query[:1], source[:1, :valid]], return_attention_scores=True)
        np.testing.assert_allclose(weights[:1, :, :valid], to_numpy(alone), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("score", ["dot", "scaled_dot", "cosine"])
def test_scores_without_a_projection_say_the_sizes_must_match(score):
    with pytest.raises(ValueError, match=f"score='{score}' .* query size 3 and source size 5"):
        CrossAttention(score=score)([keras.Input((2, 3)), keras.Input((6, 5))])


def _seq2seq(score):
    """A tiny encoder-decoder: padded source tokens, the decoder's states as queries."""
    source = keras.Input((STEPS,), dtype="int32")
    previous = keras.Input((QUERIES,), dtype="int32")
    states = keras.layers.Embedding(10, 8, mask_zero=True)(source)
    states = keras.layers.LSTM(8, return_sequences=True)(states)
    decoder = keras.layers.LSTM(8, return_sequences=True)(keras.layers.Embedding(10, 8)(previous))
    context = CrossAttention(score=score, name="attention")([decoder, states])
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Concatenate()([context, decoder]))
    return keras.Model([source, previous], outputs)


@pytest.mark.parametrize("score", ["bahdanau", "luong"])
def test_in_a_model_padding_gets_zero_weight_and_the_model_reloads(score, tmp_path):
    model = _seq2seq(score)
    tokens = np.array([[3, 4, 5, 0, 0, 0], [0, 0, 6, 7, 8, 9]])  # post- and pre-padding
    previous = RNG.integers(1, 10, size=(2, QUERIES))
    weights = attention_weights(model, "attention", [tokens, previous])
    assert weights.shape == (2, QUERIES, STEPS)
    assert np.all(weights[0, :, 3:] == 0.0) and np.all(weights[1, :, :2] == 0.0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
    model.save(tmp_path / "seq2seq.keras")
    reloaded = keras.models.load_model(tmp_path / "seq2seq.keras")  # no custom_objects
    np.testing.assert_allclose(
        reloaded.predict([tokens, previous], verbose=0), model.predict([tokens, previous], verbose=0), rtol=1e-6
    )
    np.testing.assert_allclose(attention_weights(reloaded, "attention", [tokens, previous]), weights, rtol=1e-6)
