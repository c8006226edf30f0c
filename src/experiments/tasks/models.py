"""Model pieces shared by the tasks of keras-attention (original 004)."""

import keras

from attention import TransformerEncoder


def sequence_lstm(units):
    """What makes the LSTM whose states an attention reads: `recurrent` of `attention_over_states`."""
    return lambda: keras.layers.LSTM(units, return_sequences=True)


def attention_over_states(x, attention, recurrent, attended=None):
    """The recurrent layer that `recurrent()` makes over the sequence, and the attention over its
    states: (batch, features). `attended`: a (batch, steps) mask of the steps the attention reads,
    in place of the padding mask the recurrent layer passes on. A Transformer encoder
    (encoder=transformer) reads the sequence itself, in place of both; the recurrent layer is then
    never made (making it would draw from Keras' seed)."""
    if isinstance(attention, TransformerEncoder):
        return attention(x)
    states = recurrent()(x)
    return attention(states) if attended is None else attention(states, mask=attended)


def recurrent_attention_head(x, lstm_units, attention, dropout=0.0):
    """The attention over an LSTM's states (`attention_over_states`), optional dropout: (batch, features)."""
    x = attention_over_states(x, attention, sequence_lstm(lstm_units))
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    return x
