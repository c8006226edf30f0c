"""IMDB as Jain & Wallace (2019) trained it, to check the faithfulness audit against their figures.

Their data (`imdb_data.jain_wallace_imdb`) and their classifier: an embedding of 300 (padding 0,
masked), a bidirectional LSTM of 128 per direction over the real words, their `tanh` attention
with no query (score vᵀ tanh(W h_i + b), W 256 → 128) or the uniform baseline, the context
Σ α_i h_i, and one sigmoid unit. Their fastText vectors cannot be fetched here: the embedding
starts at random unless `model.vectors` names a word-vectors file (fastText's `.vec` text format).
Their PyTorch Adam's weight decay of 1e-5 (on the summed loss of a batch, not on the attention) is
an L2 penalty of 1e-5 / (2 · batch size) on Keras' mean loss: `model.weight_decay` is the paper's.
"""

from pathlib import Path

import keras
import numpy as np

from attention import Diversity, OrthogonalLSTMCell, TokenMask
from experiments.run.quality import text_attention
from experiments.run.task import Splits, Task
from experiments.tasks.imdb_data import (
    EOS,
    PAD,
    SOS,
    UNK,
    encode_jain_wallace_texts,
    jain_wallace_imdb,
    read_word_index,
)
from experiments.tasks.models import attention_over_states
from experiments.tasks.reviews import review_texts, warn_of_unknown_words

SPECIAL = {PAD: None, UNK: "<unk>", SOS: "<sos>", EOS: "<eos>"}


def l2_penalty(cfg):
    """Their PyTorch weight decay as Keras' L2 penalty on the mean loss of a batch, or None."""
    return keras.regularizers.L2(cfg.model.weight_decay / (2 * cfg.batch_size)) if cfg.model.weight_decay else None


def _pretrained(path, data_dir, vocabulary, embedding):
    """The embedding matrix with each word's vector from a `.vec` file where it has one (the
    others keep their random start; padding stays 0)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"task.model.vectors: no file {path}; give a fastText .vec file, or null")
    matrix = keras.ops.convert_to_numpy(embedding.embeddings).copy()
    by_word = {word: i + len(SPECIAL) for word, i in zip(_words(data_dir, vocabulary), range(len(vocabulary)))}
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            word, *values = line.rstrip().split(" ")
            if word in by_word and len(values) == matrix.shape[1]:
                matrix[by_word[word]] = np.asarray(values, dtype="float32")
    matrix[PAD] = 0.0
    return matrix


def _words(data_dir, vocabulary):
    by_rank = {rank: word for word, rank in read_word_index(data_dir).items()}
    return [by_rank.get(int(rank), "<unk>") for rank in vocabulary]


class ImdbJainWallace(Task):
    """The imdb_jain_wallace task's data, model and where its attention should look."""

    def make_data(self, cfg, rng):
        arrays = _arrays(cfg)
        x_train, y_train = arrays["x_train"][: cfg.samples], arrays["y_train"][: cfg.samples]
        validation = (arrays["x_validation"][: cfg.samples], arrays["y_validation"][: cfg.samples])
        test = (arrays["x_test"][: cfg.test_samples], arrays["y_test"][: cfg.test_samples])
        return Splits(
            train=(x_train, y_train), test=test, validation=validation, extras={"vocabulary": arrays["vocabulary"]}
        )

    def build_model(self, cfg, attention, data):
        inputs = keras.Input((None,), dtype="int32")  # any length: length buckets cut their batches
        embedding, x = self.embedded(cfg, data, inputs)
        # no weight decay on the attention, as in the paper
        attended = self.attended(cfg, inputs)
        x = attention_over_states(x, attention, lambda: self.encoder(cfg, attended), attended)
        model = keras.Model(inputs, self.decision(cfg)(x), name="imdb_jain_wallace")
        self.start_from_vectors(cfg, data, embedding)
        return model

    # ---- the model's parts, in the order they are made (each draws its start from Keras' seed) -----

    def embedded(self, cfg, data, inputs):
        """(the embedding layer, the embedded reviews): padding 0, masked."""
        words = len(data.extras["vocabulary"]) + len(SPECIAL)
        layer = keras.layers.Embedding(
            words, cfg.model.embedding_dim, mask_zero=True, embeddings_regularizer=l2_penalty(cfg)
        )
        return layer, layer(inputs)

    def encoder(self, cfg, words=None):
        """Their BiLSTM over the embedded words (a Transformer, encoder=transformer, takes its place).
        `words`: the mask of the steps the attention reads, over which the Diversity LSTM's
        conicity is taken (theirs leaves the marks out); None, the padding mask."""
        m, decay = cfg.model, l2_penalty(cfg)
        recurrent = {"kernel_regularizer": decay, "recurrent_regularizer": decay, "bias_regularizer": decay}
        if m.get("orthogonal"):  # encoder=orthogonal_lstm: Mohankumar et al.'s Orthogonal LSTM, each direction
            cell = OrthogonalLSTMCell(m.lstm_units, cell=keras.layers.LSTMCell(m.lstm_units, **recurrent))
            return keras.layers.Bidirectional(keras.layers.RNN(cell, return_sequences=True))
        layer = keras.layers.Bidirectional(keras.layers.LSTM(m.lstm_units, return_sequences=True, **recurrent))
        if m.get("conicity_weight") is None:
            return layer
        # encoder=diversity_lstm: the states' conicity in the loss (Mohankumar et al.'s Diversity LSTM)
        diversity = Diversity(m.conicity_weight, name="diversity")
        return lambda x: diversity(layer(x)) if words is None else diversity(layer(x), mask=words)

    def attended(self, cfg, inputs):
        """The mask of the steps the attention reads, or None for the padding mask alone. Their
        attention reads the words only: their batches mask <sos> and <eos> out of it (BatchHolder),
        while the BiLSTM reads them. attend_marks: true attends to them too."""
        if cfg.model.get("attend_marks", True):
            return None
        return TokenMask(ignore=(PAD, SOS, EOS), name="words")(inputs)

    def decision(self, cfg):
        """The output layer: one sigmoid unit."""
        decay = l2_penalty(cfg)
        return keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=decay, bias_regularizer=decay)

    def start_from_vectors(self, cfg, data, embedding):
        """Where `model.vectors` names a word-vectors file, the embedding starts from it."""
        if cfg.model.vectors:
            embedding.set_weights([_pretrained(cfg.model.vectors, cfg.data.dir, data.extras["vocabulary"], embedding)])

    def class_names(self, cfg):
        return ["negative", "positive"]

    def input_tokens(self, cfg, data, x):
        """The words of each review, position by position (None for padding)."""
        return _tokens(cfg, data.extras["vocabulary"], _reviews(x))

    def explain_inputs(self, cfg, run_dir, source, input_shape):
        """New reviews for `explain` (a text, or a file with one review per line), read as the
        run's training reviews were: its vocabulary, <UNK> for a word outside it, between <sos>
        and <eos>. (x, words)."""
        texts = review_texts(source)
        vocabulary = _arrays(cfg)["vocabulary"]
        x, counts = encode_jain_wallace_texts(texts, read_word_index(cfg.data.dir), vocabulary)
        warn_of_unknown_words(counts, SPECIAL[UNK])
        return x, _tokens(cfg, vocabulary, x)

    def attention_quality(self, cfg, probe, data, attend):
        """No ground truth on real text: how concentrated the attention is over the test reviews (the
        padding is masked, so it gets none)."""
        return text_attention(attend(data.test[0]), _reviews(data.test[0]))


def _arrays(cfg):
    """The task's data, as `jain_wallace_imdb` makes (or finds cached) for its settings."""
    d = cfg.data
    return jain_wallace_imdb(
        d.dir, d.cache_dir, d.max_words, d.min_reviews, d.test_share, d.validation_share, d.split_seed
    )


def _tokens(cfg, vocabulary, x):
    words = _words(cfg.data.dir, vocabulary)
    return [[SPECIAL[i] if i in SPECIAL else words[i - len(SPECIAL)] for i in row] for row in x]


def _reviews(x):
    """The reviews of a model's inputs: the first of several (a variant that reads another model's
    attention beside them), or the only one."""
    return np.asarray(x[0] if isinstance(x, (list, tuple)) else x)
