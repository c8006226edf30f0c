"""`experiments neighbours [OVERRIDES]`: nearest-neighbour baselines for `task=sequences`.

The UEA multivariate archive (Bagnall et al., 2018) benchmarks every data set with three 1-nearest-
neighbour classifiers, and the time-series literature compares with them:

- `dtw_d`: dependent dynamic time warping, one warping path for all features at once;
- `dtw_i`: independent DTW, a warping path per feature and the distances summed;
- `ed`: Euclidean distance, step against step (defined only where every sequence has one length).

Both DTW use the full warping window and squared differences; sequences of different lengths are
warped end to end, their padding never touched. They run here on exactly the test samples that
`python -m experiments task=sequences` tests on, for the same overrides (`task.data.path=...`,
`seed=...`), and classify from the training and validation samples together (1-NN has nothing to
tune); for a regression the nearest sample's target is the prediction, scored by its MAE. Writes `neighbours.json` (accuracy and time of each, the split, provenance) and
`neighbours.md` into `--out` (default `outputs/neighbours/<data file>/seed=<seed>`).
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

from experiments.run import provenance
from experiments.run.config import ConfigError, compose, validate
from experiments.run.errors import ToolParser, report
from experiments.run.files import out_directory
from experiments.tasks.imdb_data import DataError
from experiments.tasks.sequence_data import SHIPPED, load_sequences, split_indices

METHODS = {
    "dtw_d": "1-NN DTW, dependent (full window)",
    "dtw_i": "1-NN DTW, independent (full window)",
    "ed": "1-NN Euclidean distance",
}
SUMMARY = "neighbours.json"
TABLE = "neighbours.md"


def _warped(cost, rows, columns):
    """The DTW distance of each pair from its (..., n, m) step-to-step `cost`, ending at step
    (rows - 1, columns - 1) of each pair (the pair's own lengths; the cost past them is never read,
    as a cell depends only on cells above and to its left)."""
    n, m = cost.shape[-2:]
    cost = np.moveaxis(cost, (-2, -1), (0, 1))  # the steps first: each cell is one contiguous block
    total = np.full((n + 1, m + 1, *cost.shape[2:]), np.inf)
    total[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            best_before = np.minimum(np.minimum(total[i - 1, j], total[i, j - 1]), total[i - 1, j - 1])
            total[i, j] = cost[i - 1, j - 1] + best_before
    batch = total.shape[2:]
    return total[(np.broadcast_to(rows, batch), np.broadcast_to(columns, batch), *np.indices(batch))]


def dtw_distances(a, a_lengths, b, b_lengths, dependent=True, memory=2**27):
    """(len(a), len(b)) DTW distances between the sequences a (q, n, f) and b (r, m, f) whose
    lengths are given: dependent (one path, the squared distance over all features) or independent
    (one path per feature, summed). Compared in chunks of `a` of at most `memory` bytes of cost."""
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    features = a.shape[2]
    per_query = len(b) * a.shape[1] * b.shape[1] * (1 if dependent else features) * 8
    chunk = max(1, memory // per_query)
    out = np.empty((len(a), len(b)))
    for start in range(0, len(a), chunk):
        part, rows = a[start : start + chunk], a_lengths[start : start + chunk]
        if dependent:  # |x - y|² over the features, without a (q, r, n, m, f) array
            cost = (part**2).sum(-1)[:, None, :, None] + (b**2).sum(-1)[None, :, None, :]
            cost = np.maximum(cost - 2 * np.einsum("qnf,rmf->qrnm", part, b), 0.0)
            out[start : start + chunk] = _warped(cost, rows[:, None], b_lengths[None, :])
        else:
            cost = (part.transpose(0, 2, 1)[:, None, :, :, None] - b.transpose(0, 2, 1)[None, :, :, None, :]) ** 2
            out[start : start + chunk] = _warped(cost, rows[:, None, None], b_lengths[None, :, None]).sum(-1)
    return out


def euclidean_distances(a, b):
    """(len(a), len(b)) squared Euclidean distances between sequences of one length."""
    a, b = np.asarray(a, "float64").reshape(len(a), -1), np.asarray(b, "float64").reshape(len(b), -1)
    return (a**2).sum(1)[:, None] - 2 * a @ b.T + (b**2).sum(1)[None, :]


def nearest_neighbour(distances, train_labels):
    """The label (or target) of each query's nearest training sample (the first one on a tie)."""
    return np.asarray(train_labels)[np.argmin(distances, axis=1)]


def _split(cfg):
    """(data, the samples 1-NN may use, the test samples): the test samples are those the task tests on."""
    data = load_sequences(cfg.task.data.path, cfg.task.objective, cfg.task.data.max_steps)
    train, validation, test = split_indices(data, cfg.task, np.random.default_rng(cfg.seed))
    return data, np.concatenate([train, validation]), test


def baselines(cfg):
    """{method: {"accuracy" (classes) or "mae" (regression: the nearest sample's target), "seconds"}}
    on the task's test samples, and the split's sizes."""
    data, train, test = _split(cfg)
    lengths = data.lengths
    results = {}
    for method in METHODS:
        started = time.perf_counter()
        if method == "ed":
            if len(set(lengths[np.concatenate([train, test])])) > 1:
                continue  # Euclidean distance compares step with step: it needs one length
            distances = euclidean_distances(data.x[test], data.x[train])
        else:
            distances = dtw_distances(
                data.x[test], lengths[test], data.x[train], lengths[train], dependent=method == "dtw_d"
            )
        predicted, truth = nearest_neighbour(distances, data.y[train]), data.y[test]
        score = (
            {"accuracy": float((predicted == truth).mean())}
            if data.objective == "classification"
            else {"mae": float(np.abs(predicted - truth).mean())}
        )
        results[method] = {**score, "seconds": round(time.perf_counter() - started, 2)}
    split = {"train": len(train), "test": len(test), "classes": len(data.class_names)}
    return results, split


def _table(results):
    regression = any("mae" in result for result in results.values())
    lines = [f"| baseline | {'test MAE' if regression else 'test accuracy %'} | time |", "|---|---|---|"]
    for method, result in results.items():
        score = f"{result['mae']:.4g}" if regression else f"{100 * result['accuracy']:.2f}"
        lines.append(f"| {METHODS[method]} (`{method}`) | {score} | {result['seconds']:.1f} s |")
    return "\n".join(lines) + "\n"


# The settings the baselines read: the data, its split (by the seed) and the objective.
NEIGHBOURS_READ = ("seed=", "task.data.", "task.objective=", "task.samples=", "task.test_samples=", "task=", "debug=")


def main(argv=None):
    parser = ToolParser(
        "neighbours",
        description="1-NN DTW and Euclidean baselines on the test samples of task=sequences.",
        epilog="Other arguments are the run's overrides: task.data.path=FILE, seed=N, task.objective=...",
    )
    parser.add_argument("--out", help="where to write neighbours.json and neighbours.md")
    args, overrides = parser.parse_known_args(argv)
    try:
        if args.out:
            out_directory(args.out, ConfigError)
        unused = [o for o in overrides if not o.lstrip("+").startswith(NEIGHBOURS_READ)]
        if unused:  # accepted and not used would be a setting that lies
            raise ConfigError(
                f"{unused[0]} is not used by the nearest-neighbour baselines; accepted: seed=, task.data.*=, "
                "task.objective=, task.samples=, task.test_samples=, debug="
            )
        cfg = compose(["task=sequences", *overrides])
        if cfg.task.name != "sequences":
            raise ConfigError(f"nearest-neighbour baselines are for task=sequences, got task={cfg.task.name}")
        validate(cfg)
        made = provenance.collect("numpy")
        results, split = baselines(cfg)
    except (ConfigError, DataError) as error:
        return report(error)
    except Exception as error:  # Hydra's own errors: an unknown key or group
        if type(error).__module__.split(".")[0] not in ("hydra", "omegaconf"):
            raise
        print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    data_path = Path(cfg.task.data.path or SHIPPED)
    out = Path(args.out or Path("outputs") / "neighbours" / data_path.stem / f"seed={cfg.seed}")
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "status": "completed",
        "data": data_path.name,
        "seed": cfg.seed,
        "overrides": overrides,
        "split": split,
        "methods": results,
        "provenance": made,
    }
    (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    (out / TABLE).write_text(
        f"Nearest-neighbour baselines on {data_path.name}, seed {cfg.seed}: {split['train']} samples to "
        f"classify from, {split['test']} test samples.\n\n" + _table(results)
    )
    print(_table(results) + f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
