"""Model pieces shared by the tasks of keras-attention (original 004)."""

import keras

from attention import TransformerEncoder


def attention_over_states(x, lstm_units, attention):
    """An LSTM over the sequence and the attention over its states: (batch, features). A Transformer
    encoder (encoder=transformer) reads the sequence itself, in place of both."""
    if isinstance(attention, TransformerEncoder):
        return attention(x)
    return attention(keras.layers.LSTM(lstm_units, return_sequences=True)(x))


def recurrent_attention_head(x, lstm_units, attention, dropout=0.0):
    """The attention over an LSTM's states (`attention_over_states`), optional dropout: (batch, features)."""
    x = attention_over_states(x, lstm_units, attention)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    return x
