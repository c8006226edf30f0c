"""IMDB sentiment (keras-attention, original 004): LSTM + attention against LSTM + Dense with the
same parameter count.

`attention=none` is the original's baseline: `LSTM(100)` + `Dense(350, relu)` in place of the
attention layer, which keeps the parameter count within 1% (about 250K).
"""

import sys
from pathlib import Path

import keras

from experiments.run.quality import text_attention
from experiments.run.task import Splits, Task
from experiments.tasks.imdb_data import decoder, encode_texts, prepared_imdb, read_word_index, unknown_words
from experiments.tasks.models import attention_over_states, sequence_lstm

# A missing file with one of these endings is refused rather than read as the text of a review.
FILE_ENDINGS = (".txt", ".csv", ".tsv", ".json", ".npz", ".npy")


def _looks_like_a_path(text):
    """A file's ending, or one word with a path separator under a directory that exists
    ("data/reviews" where data/ is there; a review's "7/10", "and/or" or "a/b testing" stays text)."""
    one_word = len(text.split()) == 1
    under_a_directory = ("/" in text or "\\" in text) and Path(text).parent.is_dir()
    return text.lower().endswith(FILE_ENDINGS) or (one_word and under_a_directory)


def _review_texts(source):
    """The reviews that `source` gives: the lines of the file it names, or itself as one review."""
    text = str(source)
    if not text.strip():  # Path("") is the current directory: an empty review, refused as such
        return [text]
    try:
        path = Path(text)
        is_file, is_dir = path.is_file(), path.is_dir()
    except OSError:  # a review longer than a file name may be (ENAMETOOLONG) is text
        return [text]
    if is_dir:
        raise ValueError(f"{text} is a directory: give a file with one review per line, or the review's text")
    if is_file:
        try:
            return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except UnicodeDecodeError:
            raise ValueError(f"{text} is not a text file (UTF-8): give a file with one review per line") from None
    if _looks_like_a_path(text):
        raise ValueError(f"there is no file {text}: give a file with one review per line, or the review's text itself")
    return [text]


def _warn_of_unknown_words(counts):
    """One line on stderr where most words of a review are outside the vocabulary: the model reads
    them all as one unknown word, and its prediction then says little about the text."""
    mostly = [i for i, (unknown, words) in enumerate(counts) if unknown * 2 > words]
    if len(counts) == 1 and mostly:
        unknown, words = counts[0]
        print(
            f"warning: {unknown} of {words} words of the review are not in the model's vocabulary: it reads "
            "them all as one unknown word (<oov>), and its prediction says little about this text",
            file=sys.stderr,
        )
    elif mostly:
        shown = ", ".join(str(i) for i in mostly[:10]) + (" ..." if len(mostly) > 10 else "")
        print(
            f"warning: in {len(mostly)} of {len(counts)} reviews (input {shown}) most words are not in the model's "
            "vocabulary: it reads them as one unknown word (<oov>), and its predictions for those say little",
            file=sys.stderr,
        )


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
        texts = _review_texts(source)
        if not any(t.strip() for t in texts):
            raise ValueError("the review to explain is empty: give a text, or a file with one review per line")
        word_index = read_word_index(cfg.data.dir)
        _warn_of_unknown_words(unknown_words(texts, word_index, cfg.data.num_words))
        x = encode_texts(texts, word_index, cfg.data.num_words, cfg.data.maxlen)
        return x, self.input_tokens(cfg, None, x)

    def attention_quality(self, cfg, probe, data, attend):
        """No ground truth on real text: how concentrated the attention is, over the test reviews, and
        how much of it lies on the padding (none where `model.mask_zero` masks it)."""
        x_test = data.test[0]
        return {"padding_share": float((x_test == 0).mean()), **text_attention(attend(x_test), x_test)}
