"""Attention layers for Keras 3, written with `keras.ops` only so they run on every backend.

Every layer returns its attention weights on request (`return_attention_scores=True`) and is
registered for saving: a model containing it saves to `.keras` and loads without `custom_objects`.
It installs on its own with Keras and NumPy (`packages/attention/`: the keras-attention-layers
distribution); the audit (`attention.audit`) needs SciPy too.
"""

__version__ = "0.1.0"

from attention.base import SoftmaxAttention
from attention.blocks import AttentionPooling, FeatureAttention, TimeAttention
from attention.cross import CrossAttention
from attention.diversity import Diversity
from attention.layer import Attention
from attention.masks import TokenMask
from attention.orthogonal import OrthogonalLSTMCell
from attention.predict import predict_in_batches
from attention.probe import attention_model, attention_weights
from attention.scores import SCORES
from attention.self_attention import SelfAttention
from attention.transformer import TransformerEncoder

__all__ = [
    "SCORES",
    "Attention",
    "AttentionPooling",
    "CrossAttention",
    "Diversity",
    "FeatureAttention",
    "OrthogonalLSTMCell",
    "SelfAttention",
    "SoftmaxAttention",
    "TimeAttention",
    "TokenMask",
    "TransformerEncoder",
    "attention_model",
    "attention_weights",
    "predict_in_batches",
]
