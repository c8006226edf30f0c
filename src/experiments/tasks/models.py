"""Model pieces shared by the tasks of keras-attention (original 004)."""

import keras


def recurrent_attention_head(x, lstm_units, attention, dropout=0.0):
    """LSTM over the sequence, attention over its states, optional dropout: (batch, features)."""
    x = keras.layers.LSTM(lstm_units, return_sequences=True)(x)
    x = attention(x)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    return x
