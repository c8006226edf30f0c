"""A trained run of Jain & Wallace's model that another model is measured against (Wiegreffe &
Pinter 2019): the model-consistent adversary trains against its predictions and attention, and the
diagnostic MLP averages with its attention frozen. Both read it on the very reviews it saw, so the
run must have been made from the same data settings (`task.data`)."""

import keras
import numpy as np

from attention import attention_model, predict_in_batches
from experiments.run.buckets import lengths, trim
from experiments.run.config import ConfigError
from experiments.run.files import load_saved_model
from experiments.run.task import Splits
from experiments.tasks import divergence  # noqa: F401  (registers AwayFromBase: an adversary's run loads as a base)
from experiments.trained.load import checked_run

SPLITS = ("train", "validation", "test")
BASE_TASKS = ("imdb_jain_wallace", "imdb_adversary")  # the models whose attention reads a review's words
PREDICT_BATCH = 256
WIDTHS = 50  # batch widths rounded up to a multiple of this: a few shapes, so a few traces
# Where the data lives on this machine, not which reviews: a run made elsewhere still qualifies.
WHERE_ONLY = ("dir", "cache_dir")


def base_model(run_dir, key, data, tasks=BASE_TASKS):
    """The saved model of the completed run `run_dir` (named by config key `key`), checked to be a
    run of one of `tasks` trained on the reviews that `data` (a task's `data` node) makes."""
    if run_dir is None:
        raise ConfigError(f"{key} is not set: give the directory of a completed run of {' or '.join(tasks)}")
    metrics, config = checked_run(str(run_dir), f"read as {key}", ConfigError)
    if metrics.get("task") not in tasks:
        raise ConfigError(
            f"{key}: {run_dir} is a run of task {metrics.get('task')!r}; give a run of {' or '.join(tasks)}"
        )
    theirs, ours = (_which_reviews(node) for node in (config.task.data, data))
    if theirs != ours:
        differ = sorted(name for name in set(theirs) | set(ours) if theirs.get(name) != ours.get(name))
        raise ConfigError(
            f"{key}: {run_dir} was trained on other reviews (task.data.{', task.data.'.join(differ)} differ); "
            "give a run made with the same task.data"
        )
    return load_saved_model(run_dir, ConfigError)


def _which_reviews(node):
    """The settings of `node` (a task's `data`) that decide which reviews it makes, resolved."""
    return {name: node[name] for name in node if name not in WHERE_ONLY}


def predictions_and_attention(model, *xs):
    """[(predictions (n, 1), attention (n, steps))] of the model, for each array of reviews in `xs`
    ((n, steps), padded at the end to one width). Reviews are read in groups of about one length,
    each cut to its longest (as the training's length buckets do): the masked model's numbers are
    those of the full width, in a fraction of the time. The attention comes back at the full
    width, 0 on the padding."""
    x = np.concatenate([np.asarray(a) for a in xs])
    both = keras.Model(model.inputs, [model.outputs[0], attention_model(model, "attention").outputs[0]])
    predictions = np.zeros((len(x), 1), dtype="float32")
    weights = np.zeros(x.shape, dtype="float32")
    widths = np.minimum(-(-np.maximum(lengths(x, "post"), 1) // WIDTHS) * WIDTHS, x.shape[1])
    for width in np.unique(widths):
        rows = np.flatnonzero(widths == width)
        group = trim(x[rows], "post", int(width))
        if len(model.inputs) == 2:  # an adversary's second input (its base's attention) feeds only its loss
            group = [group, np.zeros(group.shape, dtype="float32")]
        predictions[rows], weights[rows, :width] = predict_in_batches(both, group, PREDICT_BATCH)
    ends = np.cumsum([len(a) for a in xs])[:-1]
    return list(zip(np.split(predictions, ends), np.split(weights, ends), strict=True))


def with_base_attention(reviews, base, probe_samples, targets):
    """The splits of `reviews` (a Jain & Wallace task's `Splits`) with the `base` model's attention
    on each review as a second input, [reviews, attention]; the targets are the labels
    (`targets="labels"`) or the base's predictions (`"predictions"`). The labels stay in
    `extras["labels"]` by split; the probe is the first `probe_samples` test reviews."""
    splits = {split: getattr(reviews, split) for split in SPLITS}
    read = predictions_and_attention(base, *(x for x, _ in splits.values()))
    made = {
        split: ([x, weights], predictions if targets == "predictions" else y)
        for (split, (x, y)), (predictions, weights) in zip(splits.items(), read, strict=True)
    }
    x, y = made["test"]
    return Splits(
        **made,
        probe=([a[:probe_samples] for a in x], y[:probe_samples]),
        extras={**reviews.extras, "labels": {split: y for split, (_, y) in splits.items()}},
    )
