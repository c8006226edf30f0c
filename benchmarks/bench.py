"""`make bench`: training-step and inference times of the IMDB and find_max models, side by side.

One run measures, on the same machine and batch (64; IMDB length 500), the median of several
repetitions after warm-up:
- ours: `attention.Attention` with each score (`ours-<score>`); `none` (the IMDB baseline);
  `floor-pooling`, LSTM(return_sequences=True) + global average pooling, which costs what the
  LSTM costs with no attention: the floor for any attention layer on top;
- Keras' built-in `keras.layers.Attention` / `AdditiveAttention`, used the same way (the last
  state queries the sequence; tanh(W [context; last state]) with 128 units);
- the published `attention` 5.0.0 under tf-keras, in its own venv (`--peer-python`);
- each Keras backend installed here (each in its own process);
- a reduced 4-job IMDB sweep, sequential and under the joblib launcher;
- a training epoch of Jain & Wallace's model in length buckets against one padded to 401 steps.

Every round is kept (rounds.csv). The table gives each median with its quartiles, and its ratio to
the floor with a 95% interval (paired by round where both ran in the same rounds); a goal is MET
or MISSED only when that interval lies wholly on one side of it, else UNDECIDED. Writes into
outputs/bench/: bench.csv (model, name, backend, phase, ms_median, quartiles, ratio and interval),
rounds.csv, sweep.csv, bench.md (the printed table) and, last, bench.json (status, provenance,
goals; the length buckets' rounds under "buckets").
"""

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from scipy import stats as scipy_stats

from experiments.run.config import CONFIG_DIR, attention_family
from experiments.run.provenance import collect as collect_provenance
from experiments.run.task import load_task
from timing import BATCHES, time_models

HERE = Path(__file__).resolve().parent
SCORES = attention_family("scores")
BACKENDS = ["tensorflow", "jax", "torch"]
GOALS = (
    "ours-luong train step <= 1.10 x floor-pooling",
    "ours-luong train step <= 0.6 x peer-attention-5.0.0 (same model, same machine)",
    "ours no slower than Keras' layer of the same score: ours-dot / keras-attention (dot), "
    "ours-bahdanau / keras-additive (with the same learned projections)",
)


# --- one backend, in a process of its own (Keras picks its backend at import) -------------------


def _keras_head(layer_class, projected=False):
    """Keras' built-in attention used as ours is: the last state queries the whole sequence, then
    tanh(W_c [context; last state]). `projected`: the query and the states each through a learned
    projection first (W_1 s_t, W_2 h_i), so that AdditiveAttention's v_aᵀ tanh(q + k) is Bahdanau's
    score with the weights ours learns."""
    # Keras, once KERAS_BACKEND is set for this process.
    import keras  # noqa: PLC0415

    def head(states):
        query = states[:, -1:, :]
        dim = states.shape[-1]
        scored = (
            [keras.layers.Dense(dim, use_bias=False)(query), keras.layers.Dense(dim, use_bias=False)(states), states]
            if projected
            else [query, states]
        )
        context = layer_class()(scored)
        both = keras.layers.Flatten()(keras.layers.Concatenate()([context, query]))
        return keras.layers.Dense(128, activation="tanh", use_bias=False)(both)

    return head


def _heads():
    """name → the layer (or function) that goes on the LSTM's sequence output; None = baseline."""
    # Keras, once KERAS_BACKEND is set for this process.
    import keras  # noqa: PLC0415

    from attention import Attention  # noqa: PLC0415

    heads = {f"ours-{score}": (lambda score=score: Attention(units=128, score=score)) for score in SCORES}
    heads.update(
        {
            "none": lambda: None,
            "floor-pooling": keras.layers.GlobalAveragePooling1D,
            "keras-attention": lambda: _keras_head(keras.layers.Attention),  # score_mode="dot"
            "keras-additive": lambda: _keras_head(keras.layers.AdditiveAttention, projected=True),
        }
    )
    return heads


def measure_backend(models, warmup, reps):
    """Rows for every head on every model, on the backend this process runs."""
    # Keras, once KERAS_BACKEND is set for this process.
    import keras  # noqa: PLC0415

    rows = []
    for model_name in models:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=[f"task={model_name}"])
        task = load_task(cfg.task.module)
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        built = {}
        for name, make_head in _heads().items():
            if name == "none" and "none" not in cfg.task.attentions:
                continue  # find_max has no baseline in the original
            built[name] = task.build_model(cfg.task, make_head(), None)
            built[name].compile(optimizer=instantiate(cfg.trainer.optimizer), loss=cfg.task.loss)
        for name, phase, round_, ms in time_models(built, *BATCHES[model_name](), warmup, reps):
            rows.append(
                {
                    "model": model_name,
                    "name": name,
                    "backend": keras.backend.backend(),
                    "phase": phase,
                    "round": round_,
                    "ms": ms,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def measure_buckets(reviews, rounds):
    """Rows of one training epoch of Jain & Wallace's model on its first `reviews` training reviews,
    in length buckets and padded to 401 steps, timed in alternation (a warm-up epoch each first)."""
    # Keras, once KERAS_BACKEND is set for this process.
    import keras  # noqa: PLC0415

    from experiments.run.buckets import LengthBuckets  # noqa: PLC0415
    from experiments.run.runner import _attention_layer  # noqa: PLC0415

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["task=imdb_jain_wallace", f"task.samples={reviews}"])
    task = load_task(cfg.task.module)
    data = task.make_data(cfg.task, np.random.default_rng(0))
    x, y = data.train
    epochs = {
        "padded to 401": lambda model: model.fit(x, y, batch_size=cfg.task.batch_size, epochs=1, verbose=0),
        "length buckets": lambda model: model.fit(
            LengthBuckets(x, y, cfg.task.batch_size, seed=0, padding="post"), epochs=1, verbose=0
        ),
    }
    models = {}
    for how in epochs:
        keras.utils.set_random_seed(0)
        models[how] = task.build_model(cfg.task, _attention_layer(cfg), data)
        models[how].compile(optimizer=instantiate(cfg.task.optimizer), loss=cfg.task.loss)
        epochs[how](models[how])  # compiles
    rows = []
    for round_ in range(rounds):
        for how, epoch in epochs.items():
            start = time.perf_counter()
            epoch(models[how])
            rows.append({"how": how, "round": round_, "reviews": len(x), "seconds": time.perf_counter() - start})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def bucket_report(rows):
    """Each way's median epoch and the padded one's time over the bucketed one's, paired by round."""
    frame = pd.DataFrame(rows)
    times = frame.pivot(index="round", columns="how", values="seconds")
    ratio = times["padded to 401"] / times["length buckets"]
    return (
        f"\nJain & Wallace's model, one training epoch of {int(frame.reviews.iloc[0]):,} reviews (batch 32), "
        f"{len(times)} rounds: padded to 401 {times['padded to 401'].median():.1f} s, length buckets "
        f"{times['length buckets'].median():.1f} s; padded / bucketed {ratio.median():.2f} "
        f"(rounds {ratio.min():.2f} to {ratio.max():.2f})"
    )


# --- the parent: every backend, the peer, the sweep; the table --------------------------------


def _json_rows(command, env=None, timeout=3600):
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    if result.returncode != 0:
        print(f"  failed: {' '.join(command[:3])} ...\n{result.stderr[-2000:]}", file=sys.stderr)
        return []
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def timed_sweeps(out_dir, overrides):
    """Wall time of the same reduced 4-job IMDB sweep: sequential, then under joblib."""
    rows = []
    for launcher, extra in (
        ("basic (sequential)", []),
        ("joblib (n_jobs=2)", ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]),
    ):
        sweep_dir = out_dir / ("sweep_" + launcher.split()[0])
        shutil.rmtree(sweep_dir, ignore_errors=True)  # a finished sweep would be skipped, not timed
        command = [
            sys.executable,
            "-m",
            "experiments",
            "-m",
            "task=imdb",
            "attention=luong,none",
            "seed=0,1",
            *overrides,
            "trainer.verbose=0",
            f"hydra.sweep.dir={sweep_dir}",
            *extra,
        ]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
        summary = sweep_dir / "summary.csv"
        done = int(pd.read_csv(summary).status.eq("completed").sum()) if summary.is_file() else 0
        rows.append({"launcher": launcher, "jobs": 4, "completed": done, "wall_s": round(wall, 1)})
        print(f"  sweep {launcher}: {wall:.1f} s, {done}/4 jobs completed", flush=True)
        if done < 4:
            errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
            print(f"  {errors[-1] if errors else result.stderr[-1000:]}", flush=True)
    return rows


def median_interval(values, confidence=0.95):
    """(median, low, high, coverage): the distribution-free interval of the median from order
    statistics (binomial), which outliers from a busy machine cannot drag. With too few values
    for `confidence` (under 6 for 95%) it is their whole range, and `coverage` says how much less."""
    values = np.sort(np.asarray(values, dtype=float))
    n = len(values)
    k = max(int(scipy_stats.binom.ppf((1 - confidence) / 2, n, 0.5)), 1)  # 1-based rank of the lower end
    coverage = 1 - 2 * float(scipy_stats.binom.cdf(k - 1, n, 0.5))
    return float(np.median(values)), float(values[k - 1]), float(values[n - k]), coverage


def paired_ratio(times, reference):
    """Median and interval of the per-round ratios: round i of one model over round i of the other."""
    return median_interval(np.asarray(times) / np.asarray(reference))


def unpaired_ratio(times, reference, resamples=4000, confidence=0.95):
    """Ratio of the medians with a bootstrap interval, for times not taken in the same rounds."""
    rng = np.random.default_rng(0)
    times, reference = np.asarray(times), np.asarray(reference)
    ratios = [
        np.median(rng.choice(times, len(times))) / np.median(rng.choice(reference, len(reference)))
        for _ in range(resamples)
    ]
    low, high = np.quantile(ratios, [(1 - confidence) / 2, (1 + confidence) / 2])
    coverage = confidence if min(len(times), len(reference)) >= 6 else 0.0  # too few rounds to resample
    return float(np.median(times) / np.median(reference)), float(low), float(high), coverage


def verdict(interval, goal, confidence=0.95):
    """MET or MISSED only when the whole interval, of at least `confidence`, lies on one side of
    the goal; else UNDECIDED."""
    _, low, high, coverage = interval
    if not coverage >= confidence - 1e-9:
        return "UNDECIDED"
    return "MET" if high <= goal else "MISSED" if low > goal else "UNDECIDED"


def summarize(rounds):
    """One row per (model, name, backend, phase): median, quartiles and rounds, and the ratio to
    floor-pooling (same model and phase, TensorFlow's floor for tf-keras) with its 95% interval,
    paired by round where both were timed in the same rounds. bench.csv's columns."""
    grouped = rounds.groupby(["model", "name", "backend", "phase"], sort=False).ms
    table = grouped.agg(
        ms_median="median", ms_q1=lambda t: t.quantile(0.25), ms_q3=lambda t: t.quantile(0.75), rounds="count"
    ).reset_index()
    intervals = []
    for row in table.itertuples():
        floor_backend = "tensorflow" if row.backend == "tf-keras" else row.backend
        times = _times(rounds, row.model, row.name, row.backend, row.phase)
        floor = _times(rounds, row.model, "floor-pooling", floor_backend, row.phase)
        if not len(floor):
            intervals.append((np.nan, np.nan, np.nan, np.nan, False))
            continue
        paired = row.backend == floor_backend and len(times) == len(floor)
        intervals.append((*(paired_ratio(times, floor) if paired else unpaired_ratio(times, floor)), paired))
    columns = ["ratio_to_floor", "ratio_low", "ratio_high", "ratio_coverage", "paired"]
    table[columns] = pd.DataFrame(intervals, index=table.index)
    return table


def _times(rounds, model, name, backend, phase):
    hit = rounds[
        (rounds.model == model) & (rounds.name == name) & (rounds.backend == backend) & (rounds.phase == phase)
    ]
    return hit.sort_values("round").ms.to_numpy()


def goals(rounds):
    """[{model, goal, name, reference, ratio, low, high, coverage, limit, verdict, paired, rounds}]
    for the TensorFlow training step."""
    results = []
    peer_backend = "tf-keras"

    def check(model, goal, name, reference, limit, backend="tensorflow"):
        ours, theirs = (
            _times(rounds, model, name, "tensorflow", "train"),
            _times(rounds, model, reference, backend, "train"),
        )
        if not len(ours) or not len(theirs):
            return
        paired = backend == "tensorflow" and len(ours) == len(theirs)
        interval = paired_ratio(ours, theirs) if paired else unpaired_ratio(ours, theirs)
        results.append(
            {
                "model": model,
                "goal": goal,
                "name": name,
                "reference": reference,
                "ratio": interval[0],
                "low": interval[1],
                "high": interval[2],
                "coverage": interval[3],
                "limit": limit,
                "verdict": verdict(interval, limit),
                "paired": paired,
                "rounds": int(min(len(ours), len(theirs))),
            }
        )

    for model in rounds.model.unique():
        check(model, GOALS[0], "ours-luong", "floor-pooling", 1.10)
        check(model, GOALS[1], "ours-luong", "peer-attention-5.0.0", 0.6, backend=peer_backend)
        check(model, GOALS[2], "ours-dot", "keras-attention", 1.0)  # both a dot score
        check(model, GOALS[2], "ours-bahdanau", "keras-additive", 1.0)  # both additive, projected alike
    return results


def report(table, rounds, sweeps):
    """The table (median, quartiles, ratio to the floor with its interval) and the goals."""
    lines = []
    for (model, backend), group in table.groupby(["model", "backend"], sort=False):
        floor_backend = "tensorflow" if backend == "tf-keras" else backend
        lines.append(
            f"\n{model} · backend {backend} · batch 64 · ms: median [quartiles] · ratio to floor-pooling on "
            f"{floor_backend} [95% interval; {'paired by round' if backend != 'tf-keras' else 'not paired: other rounds'}]"
        )
        for phase in ("train", "infer"):
            lines.append(f"  {phase}")
            for row in group[group.phase == phase].itertuples():
                ratio = (
                    ""
                    if np.isnan(row.ratio_to_floor)
                    else f"{row.ratio_to_floor:6.2f} [{row.ratio_low:.2f}, {row.ratio_high:.2f}]"
                )
                lines.append(
                    f"    {row.name:<30}{row.ms_median:>9.2f} [{row.ms_q1:.2f}, {row.ms_q3:.2f}]  n={row.rounds:<3}{ratio}"
                )
    lines.append(
        "\nGoals (TensorFlow backend, train step): MET or MISSED only when the 95% interval of the ratio lies on one side"
    )
    for goal in goals(rounds):
        lines.append(
            f"  {goal['model']}: {goal['verdict']:<9} {goal['name']} / {goal['reference']} = {goal['ratio']:.3f} "
            f"[{goal['low']:.3f}, {goal['high']:.3f}] vs {goal['limit']}"
            + f", {goal['rounds']} rounds"
            + ("" if goal["paired"] else " (not paired: the peer runs in its own process, in rounds of its own)")
        )
    if sweeps and all(row["completed"] == row["jobs"] for row in sweeps):
        sequential, parallel = sweeps[0]["wall_s"], sweeps[-1]["wall_s"]
        lines.append(
            f"\nReduced 4-job IMDB sweep: sequential {sequential:.1f} s, joblib {parallel:.1f} s "
            f"({sequential / parallel:.2f}x faster, {100 * (1 - parallel / sequential):.0f}% less wall time)"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--reps", type=int, default=21, help="timed rounds (21 give a 95%% interval of ranks 6 to 16)")
    parser.add_argument("--models", default="imdb,find_max")
    parser.add_argument("--backend", help="measure this backend only, in this process (used by the parent)")
    parser.add_argument("--peer-python", help="the python of the venv holding attention 5.0.0 and tf-keras")
    parser.add_argument("--no-sweep", action="store_true", help="skip the sequential vs joblib sweep")
    parser.add_argument(
        "--sweep-overrides", default="task.samples=2000 task.test_samples=2000 task.epochs=1 task.data.maxlen=200"
    )
    parser.add_argument("--out", default="outputs/bench")
    parser.add_argument(
        "--bucket-reviews", type=int, default=2000, help="Jain & Wallace's epoch: this many reviews (0: skip it)"
    )
    parser.add_argument("--bucket-rounds", type=int, default=3)
    parser.add_argument("--buckets-only", action="store_true", help="time only the length buckets, in this process")
    args = parser.parse_args()
    models = args.models.split(",")
    if args.backend:
        measure_backend(models, args.warmup, args.reps)
        return 0
    if args.buckets_only:
        print(bucket_report(measure_buckets(args.bucket_reviews, args.bucket_rounds)))
        return 0

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.json").unlink(missing_ok=True)  # written last: its absence marks an unfinished run
    started = time.perf_counter()
    # Taken before any timing: the load average then says whether the machine was busy.
    provenance = collect_provenance("tensorflow")
    rows = []
    common = ["--warmup", str(args.warmup), "--reps", str(args.reps), "--models", args.models]
    for backend in BACKENDS:
        if importlib.util.find_spec(backend) is None:
            print(f"backend {backend}: not installed, skipped", flush=True)
            continue
        print(f"backend {backend}: measuring ...", flush=True)
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        rows += _json_rows([sys.executable, str(HERE / "bench.py"), "--backend", backend, *common], env)
    if args.peer_python:
        print("peer attention 5.0.0 (tf-keras): measuring ...", flush=True)
        # Its import name is `attention`, as ours is: nothing of this suite may be on its path.
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
            "TF_USE_LEGACY_KERAS": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        rows += _json_rows([args.peer_python, str(HERE / "peer.py"), *common], env)
    else:
        print("peer attention 5.0.0: skipped (no --peer-python; `make bench` makes its venv)", flush=True)
    rounds = pd.DataFrame(rows, columns=["model", "name", "backend", "phase", "round", "ms"])
    rounds.to_csv(out_dir / "rounds.csv", index=False)
    table = summarize(rounds)  # once: its unpaired intervals bootstrap thousands of resamples
    table.to_csv(out_dir / "bench.csv", index=False)

    sweeps = [] if args.no_sweep else timed_sweeps(out_dir, args.sweep_overrides.split())
    if sweeps:
        pd.DataFrame(sweeps).to_csv(out_dir / "sweep.csv", index=False)
    buckets = []
    if args.bucket_reviews:
        print("length buckets (Jain & Wallace's model): measuring ...", flush=True)
        buckets = _json_rows(
            [sys.executable, str(HERE / "bench.py"), "--buckets-only", "--bucket-reviews", str(args.bucket_reviews),
             "--bucket-rounds", str(args.bucket_rounds)],
            {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )  # fmt: skip
    text = report(table, rounds, sweeps) + (bucket_report(buckets) if buckets else "")
    (out_dir / "bench.md").write_text(f"```\n{text.strip()}\n```\n")
    record = {
        "status": "completed",
        "provenance": provenance,
        "args": vars(args),
        "goals": goals(rounds),
        "sweeps": sweeps,
        "buckets": buckets,
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    (out_dir / "bench.json").write_text(json.dumps(record, indent=2) + "\n")
    print(text)
    print(
        f"\nwritten: {', '.join(str(out_dir / n) for n in ('bench.json', 'bench.csv', 'rounds.csv', 'bench.md'))}"
        + (f", {out_dir / 'sweep.csv'}" if sweeps else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
