"""IMDB sentiment (keras-attention, original 004): LSTM + attention against LSTM + Dense with the
same parameter count.

`attention=none` is the original's baseline: `LSTM(100)` + `Dense(350, relu)` in place of the
attention layer, which keeps the parameter count within 1% (about 250K).
"""

import keras

from experiments.run.quality import text_attention
from experiments.run.task import Splits, Task
from experiments.tasks.imdb_data import decoder, encode_texts, prepared_imdb, read_word_index, unknown_words
from experiments.tasks.models import attention_over_states, sequence_lstm
from experiments.tasks.reviews import review_texts, warn_of_unknown_words


class Imdb(Task):
    """The imdb task's data, model and where its attention should look."""

    def make_data(self, cfg, rng):
        # The reviews and their order are fixed by Keras' own shuffle (seed 113), not by the run seed.
        x_train, y_train, x_test, y_test = prepared_imdb(
            cfg.data.dir,
            cfg.data.num_words,
            cfg.data.maxlen,
            cfg.samples,
            cfg.test_samples,
            cfg.data.cache_dir,
        )
        return Splits(train=(x_train, y_train), test=(x_test, y_test))

    def build_model(self, cfg, attention, data):
        m = cfg.model
        inputs = keras.Input((cfg.data.maxlen,), dtype="int32")
        x = keras.layers.Embedding(cfg.data.num_words, m.embedding_dim, mask_zero=m.mask_zero)(inputs)
        x = keras.layers.Dropout(m.dropout)(x)
        if attention is None:
            x = keras.layers.LSTM(m.lstm_units)(x)
            x = keras.layers.Dense(m.baseline_dense_units, activation="relu")(x)
        else:
            x = attention_over_states(x, attention, sequence_lstm(m.lstm_units))
        x = keras.layers.Dropout(m.dropout)(x)
        outputs = keras.layers.Dense(1, activation="sigmoid")(x)
        return keras.Model(inputs, outputs, name="imdb_attention" if attention is not None else "imdb_baseline")

    def input_tokens(self, cfg, data, x):
        """The words of each review, position by position (None for padding)."""
        decode = decoder(read_word_index(cfg.data.dir))
        return [[w if i else None for i, w in zip(ids, decode(ids))] for ids in x]

    def class_names(self, cfg):
        return ["negative", "positive"]  # IMDB's label 1 is a positive review

    def explain_inputs(self, cfg, run_dir, source, input_shape):
        """New reviews for `explain`: a text, or a file of texts (one review per line). (x, words)."""
        texts = review_texts(source)
        word_index = read_word_index(cfg.data.dir)
        warn_of_unknown_words(unknown_words(texts, word_index, cfg.data.num_words), "<oov>")
        x = encode_texts(texts, word_index, cfg.data.num_words, cfg.data.maxlen)
        return x, self.input_tokens(cfg, None, x)

    def attention_quality(self, cfg, probe, data, attend):
        """No ground truth on real text: how concentrated the attention is, over the test reviews, and
        how much of it lies on the padding (none where `model.mask_zero` masks it)."""
        x_test = data.test[0]
        return {"padding_share": float((x_test == 0).mean()), **text_attention(attend(x_test), x_test)}
