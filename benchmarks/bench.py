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
- a reduced 4-job IMDB sweep, sequential and under the joblib launcher.

Prints the table with ratios and the goals; writes outputs/bench/bench.csv (columns model, name,
backend, phase, ms_median) and outputs/bench/sweep.csv.
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

import pandas as pd

HERE = Path(__file__).resolve().parent
SCORES = ["luong", "bahdanau", "dot", "scaled_dot", "cosine", "location"]
BACKENDS = ["tensorflow", "jax", "torch"]
GOALS = (
    "ours-luong and ours-bahdanau train step <= 1.10 x floor-pooling",
    "ours-luong train step <= 0.6 x peer-attention-5.0.0 (same model, same machine)",
    "ours-luong/bahdanau no slower than keras-attention/keras-additive",
)


# --- one backend, in a process of its own (Keras picks its backend at import) -------------------

def _keras_head(layer_class):
    """Keras' built-in attention used as ours is: the last state queries the whole sequence."""
    import keras

    def head(states):
        query = states[:, -1:, :]
        context = layer_class()([query, states])
        both = keras.layers.Flatten()(keras.layers.Concatenate()([context, query]))
        return keras.layers.Dense(128, activation="tanh", use_bias=False)(both)

    return head


def _heads():
    """name → the layer (or function) that goes on the LSTM's sequence output; None = baseline."""
    import keras

    from attention import Attention

    heads = {f"ours-{score}": (lambda score=score: Attention(units=128, score=score)) for score in SCORES}
    heads.update({
        "none": lambda: None,
        "floor-pooling": keras.layers.GlobalAveragePooling1D,
        "keras-attention": lambda: _keras_head(keras.layers.Attention),
        "keras-additive": lambda: _keras_head(keras.layers.AdditiveAttention),
    })
    return heads


def measure_backend(models, warmup, reps):
    """Rows for every head on every model, on the backend this process runs."""
    import keras
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from experiments.cli import CONFIG_DIR
    from timing import BATCHES, time_models

    rows = []
    for model_name in models:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=[f"task={model_name}"])
        task = __import__(cfg.task.module, fromlist=["build_model"])
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        built = {}
        for name, make_head in _heads().items():
            if name == "none" and "none" not in cfg.task.attentions:
                continue  # find_max has no baseline in the seed
            built[name] = task.build_model(cfg.task, make_head(), None)
            built[name].compile(optimizer=instantiate(cfg.trainer.optimizer), loss=cfg.task.loss)
        for name, phase, ms in time_models(built, *BATCHES[model_name](), warmup, reps):
            rows.append({"model": model_name, "name": name, "backend": keras.backend.backend(), "phase": phase, "ms_median": ms})
            print(json.dumps(rows[-1]), flush=True)
    return rows


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
    for launcher, extra in (("basic (sequential)", []), ("joblib (n_jobs=2)", ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])):
        sweep_dir = out_dir / ("sweep_" + launcher.split()[0])
        shutil.rmtree(sweep_dir, ignore_errors=True)  # a finished sweep would be skipped, not timed
        command = [sys.executable, "-m", "experiments", "-m", "task=imdb", "attention=luong,none", "seed=0,1",
                   *overrides, "trainer.verbose=0", f"hydra.sweep.dir={sweep_dir}", *extra]
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


def _ratio(table, model, name, backend, phase, reference):
    def ms(n):
        hit = table[(table.model == model) & (table.name == n) & (table.backend.isin([backend, "tf-keras"])) & (table.phase == phase)]
        return float(hit.ms_median.iloc[0]) if len(hit) else float("nan")

    return ms(name) / ms(reference)


def report(table, sweeps):
    """The table with ratios to the floor (same model, backend and phase), and the goals."""
    lines = []
    for (model, backend), group in table.groupby(["model", "backend"], sort=False):
        lines.append(f"\n{model} · backend {backend} · batch 64 · median ms (ratio to floor-pooling on {backend if backend != 'tf-keras' else 'tensorflow'})")
        lines.append(f"  {'name':<32}{'train':>10}{'ratio':>8}{'infer':>10}{'ratio':>8}")
        floor_backend = "tensorflow" if backend == "tf-keras" else backend
        for name in group.name.unique():
            cells = []
            for phase in ("train", "infer"):
                ms = float(group[(group.name == name) & (group.phase == phase)].ms_median.iloc[0])
                floor = table[(table.model == model) & (table.backend == floor_backend) & (table.name == "floor-pooling") & (table.phase == phase)]
                ratio = ms / float(floor.ms_median.iloc[0]) if len(floor) else float("nan")
                cells.append(f"{ms:>10.2f}{ratio:>8.2f}")
            lines.append(f"  {name:<32}{''.join(cells)}")
    lines.append("\nGoals (TensorFlow backend, train step):")
    for model in table.model.unique():
        tf_rows = "tensorflow"
        luong_floor = _ratio(table, model, "ours-luong", tf_rows, "train", "floor-pooling")
        bahdanau_floor = _ratio(table, model, "ours-bahdanau", tf_rows, "train", "floor-pooling")
        peer = _ratio(table, model, "ours-luong", tf_rows, "train", "peer-attention-5.0.0")
        keras_builtin = max(
            _ratio(table, model, "ours-luong", tf_rows, "train", "keras-attention"),
            _ratio(table, model, "ours-bahdanau", tf_rows, "train", "keras-additive"),
        )
        checks = [
            (max(luong_floor, bahdanau_floor) <= 1.10, f"luong {luong_floor:.3f}x, bahdanau {bahdanau_floor:.3f}x the floor"),
            (peer <= 0.6, f"{peer:.3f}x the peer's step"),
            (keras_builtin <= 1.0, f"at most {keras_builtin:.3f}x Keras' built-in layers"),
        ]
        for goal, (met, measured) in zip(GOALS, checks):
            lines.append(f"  {model}: {'MET ' if met else 'MISSED'} {goal}: {measured}")
    if sweeps and all(row["completed"] == row["jobs"] for row in sweeps):
        sequential, parallel = sweeps[0]["wall_s"], sweeps[-1]["wall_s"]
        lines.append(f"\nReduced 4-job IMDB sweep: sequential {sequential:.1f} s, joblib {parallel:.1f} s "
                     f"({sequential / parallel:.2f}x faster, {100 * (1 - parallel / sequential):.0f}% less wall time)")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--models", default="imdb,find_max")
    parser.add_argument("--backend", help="measure this backend only, in this process (used by the parent)")
    parser.add_argument("--peer-python", help="the python of the venv holding attention 5.0.0 and tf-keras")
    parser.add_argument("--no-sweep", action="store_true", help="skip the sequential vs joblib sweep")
    parser.add_argument("--sweep-overrides", default="task.samples=2000 task.test_samples=2000 task.epochs=1 task.data.maxlen=200")
    parser.add_argument("--out", default="outputs/bench")
    args = parser.parse_args()
    models = args.models.split(",")
    if args.backend:
        measure_backend(models, args.warmup, args.reps)
        return 0

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
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
        env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
        rows += _json_rows([args.peer_python, str(HERE / "peer.py"), *common], env)
    else:
        print("peer attention 5.0.0: skipped (no --peer-python; `make bench` makes its venv)", flush=True)
    table = pd.DataFrame(rows, columns=["model", "name", "backend", "phase", "ms_median"])
    table.to_csv(out_dir / "bench.csv", index=False)

    sweeps = [] if args.no_sweep else timed_sweeps(out_dir, args.sweep_overrides.split())
    if sweeps:
        pd.DataFrame(sweeps).to_csv(out_dir / "sweep.csv", index=False)
    print(report(table, sweeps))
    print(f"\nwritten: {out_dir / 'bench.csv'}" + (f", {out_dir / 'sweep.csv'}" if sweeps else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
