"""The positive class's scores of a binary classifier: precision, recall, F1 and ROC AUC.

Wiegreffe & Pinter and Jain & Wallace report F1 of the positive class, not accuracy; every binary
task's `metrics.json` has them under `test`, from the test set's predicted probabilities.
"""

import numpy as np
from scipy.stats import rankdata

THRESHOLD = 0.5  # a probability at or above it predicts the positive class, as Keras' accuracy does


def positive_class_scores(y_true, probabilities, threshold=THRESHOLD):
    """{'precision', 'recall', 'f1', 'roc_auc'} of class 1. A score with no defined value (no
    positive prediction for precision, one class only for ROC AUC) is None."""
    y_true = np.asarray(y_true).reshape(-1).astype(bool)
    scores = np.asarray(probabilities, dtype="float64").reshape(-1)
    if len(y_true) != len(scores):
        raise ValueError(f"{len(y_true)} labels but {len(scores)} predictions")
    predicted = scores >= threshold
    true_positives = int((predicted & y_true).sum())
    precision = true_positives / predicted.sum() if predicted.any() else None
    recall = true_positives / y_true.sum() if y_true.any() else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall > 0
        else None
    )
    return {
        "precision": _float(precision),
        "recall": _float(recall),
        "f1": _float(f1),
        "roc_auc": _float(roc_auc(y_true, scores)),
    }


def roc_auc(y_true, scores):
    """The area under the ROC curve: the chance that a positive sample scores above a negative one,
    ties counting one half (the Mann-Whitney U statistic over the two classes' sizes); None when the
    labels hold one class only."""
    y_true = np.asarray(y_true).reshape(-1).astype(bool)
    positives, negatives = int(y_true.sum()), int((~y_true).sum())
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(np.asarray(scores, dtype="float64").reshape(-1))  # ties get their mean rank
    return (ranks[y_true].sum() - positives * (positives + 1) / 2) / (positives * negatives)


def _float(value):
    return None if value is None else float(value)
