"""attention.TransformerEncoder: Keras' MultiHeadAttention in encoder blocks, its weights read out
(every block and head, and the rollout), masks kept, saved and reloaded."""

import keras
import numpy as np
import pytest

from attention import TransformerEncoder, attention_model, attention_weights
from attention.audit.stack import rollout

STEPS, FEATURES = 6, 3


def _model(**options):
    tokens = keras.Input((STEPS,), dtype="int32")
    x = keras.layers.Embedding(20, FEATURES, mask_zero=True)(tokens)
    pooled = TransformerEncoder(model_dim=8, heads=2, key_dim=4, feed_forward=8, layers=2, name="attention", **options)(
        x
    )
    return keras.Model(tokens, keras.layers.Dense(1, activation="sigmoid")(pooled))


TOKENS = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6]])


@pytest.mark.parametrize("pooling", ["mean", "class_token"])
def test_the_stack_never_attends_to_padding_and_its_rollout_is_the_numpy_rollout(pooling):
    """The locked Keras masks what it says it masks with the weights returned (keras-team/keras#23038
    dropped a mask in that case)."""
    model = _model(pooling=pooling, seed=1)
    stack = attention_model(model, "attention", read="return_stack").predict(TOKENS, verbose=0)
    first = int(pooling == "class_token")  # the class token sits before the first step
    assert stack.shape == (2, 2, 2, STEPS + first, STEPS + first)
    assert np.all(stack[0, :, :, :, first + 3 :] == 0.0)  # no query of any block or head sees padding
    np.testing.assert_allclose(stack.sum(axis=-1), 1.0, rtol=1e-5)
    rolled = attention_weights(model, "attention", TOKENS)
    assert rolled.shape == (2, STEPS) and np.all(rolled[0, 3:] == 0.0)
    np.testing.assert_allclose(rolled.sum(axis=1), 1.0, rtol=1e-5)
    if pooling == "mean":
        expected = rollout(stack, outputs=TOKENS != 0)
    else:
        expected = rollout(stack, outputs=[0])[:, 1:]
        expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(rolled, expected, rtol=1e-4, atol=1e-6)


def test_it_saves_and_reloads_to_the_same_predictions_and_weights(tmp_path):
    model = _model(pooling="class_token", dropout=0.2, seed=3)
    model.save(tmp_path / "transformer.keras")
    reloaded = keras.models.load_model(tmp_path / "transformer.keras")  # no custom_objects
    np.testing.assert_allclose(reloaded.predict(TOKENS, verbose=0), model.predict(TOKENS, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(
        attention_weights(reloaded, "attention", TOKENS), attention_weights(model, "attention", TOKENS), rtol=1e-6
    )
    assert reloaded.get_layer("attention").get_config()["layers"] == 2


def test_it_learns_to_attend_to_the_step_that_decides():
    """The label is the sign of step 2's first feature, the rest noise: the rollout peaks there."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, STEPS, FEATURES)).astype("float32")
    y = (x[:, 2, 0] > 0).astype("float32")
    inputs = keras.Input((STEPS, FEATURES))
    pooled = TransformerEncoder(
        model_dim=16, heads=2, key_dim=8, feed_forward=16, layers=1, dropout=0.0, name="attention"
    )(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(pooled))
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] > 0.9
    assert attention_weights(model, "attention", x[:100]).mean(axis=0).argmax() == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"layers": 0}, "layers must be a positive integer, got 0"),
        ({"pooling": "max"}, "pooling must be one of mean, class_token"),
    ],
)
def test_bad_settings_are_refused_in_words(options, message):
    with pytest.raises(ValueError, match=message):
        TransformerEncoder(**options)
