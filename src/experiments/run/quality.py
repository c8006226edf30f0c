"""Measures of where attention went, shared by the tasks."""

import numpy as np


def position_profile(weights):
    """Mean attention per position.

    `weights` is (samples, positions, ...): the mean over samples, and over any axes after the
    positions (input dimensions, LSTM units), gives one weight per position.
    """
    weights = np.asarray(weights, dtype="float64")
    return weights.mean(axis=tuple(a for a in range(weights.ndim) if a != 1))


def peak_quality(weights, target_index):
    """How sharply the mean attention (see `position_profile`) peaks on `target_index`."""
    profile = position_profile(weights)
    runner_up, peak = np.sort(profile)[-2:]
    return {
        "target_index": int(target_index),
        "peak_index": int(np.argmax(profile)),
        "peak_weight": float(peak),
        "runner_up_weight": float(runner_up),
    }


def top_k_hits(weights, expected):
    """Per sample: do its k largest weights sit exactly on the k positions marked in `expected`?

    `weights` and `expected` are (samples, steps); `expected` is 0/1 with the same number k of
    ones in every row (k = 1: the argmax is the marked position).
    """
    expected = np.asarray(expected, dtype=bool)
    k = int(expected[0].sum())
    top_k = np.argsort(np.asarray(weights), axis=1)[:, -k:]
    return np.take_along_axis(expected, top_k, axis=1).all(axis=1)


def text_attention(weights, tokens):
    """How concentrated a text model's attention is, with no ground truth to hold it against:
    `weights` and `tokens` are (reviews, steps), padding is token 0."""
    weights, tokens = np.asarray(weights), np.asarray(tokens)
    entropy = -(weights * np.log(np.clip(weights, 1e-12, None))).sum(axis=1)
    words = (tokens != 0).sum(axis=1)
    return {
        "mean_peak_weight": float(weights.max(axis=1).mean()),
        "mean_entropy_nats": float(entropy.mean()),
        "attention_on_padding": float(weights[tokens == 0].sum() / len(weights)),
        # The peak that uniform weights over the review's words would give: 1/length.
        "mean_uniform_peak_on_words": float((1.0 / np.maximum(words, 1)).mean()),
        "samples": len(weights),
    }
