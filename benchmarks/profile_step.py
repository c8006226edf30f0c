"""`make profile`: where one training step's time goes, op by op, from TensorFlow's profiler.

For each model (IMDB, find_max) and head (`ours-luong`, `ours-dot`, `ours-scaled_dot`,
`floor-pooling`, Keras' `Attention`), the bench's model is built, trained a few steps to warm
up, then `--steps` training steps run under `tf.profiler`. The trace (an XSpace) gives every
kernel TensorFlow ran, named `scope/op:Type`; their time is summed per step by the layer that owns
them (the first scope under the model: `lstm`, `attention`, ...), by pass (forward; backward, the
`gradient_tape/` ops; the optimizer's update) and by op type. The sums are CPU time of the kernels
(TensorFlow runs independent kernels on several threads at once), so they can exceed the step's
wall time; what they tell is which kernels a head adds over the floor.

    python benchmarks/profile_step.py --out outputs/profile     (make profile)

Writes profile.csv (model, head, layer, pass, op type, kernel ms per step, calls per step),
profile.md (the wall time of a step, the kernel time by layer and pass, and the op types that make
the attention layer's time) and, last, profile.json (status, provenance, the wall times), into
--out. `make results ONLY=profile` makes the published record, docs/results/profile.
"""

import argparse
import glob
import json
import re
import shutil
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from bench import _heads  # the bench's heads, built the same way
from experiments.run.config import CONFIG_DIR
from experiments.run.provenance import collect as collect_provenance
from experiments.run.task import load_task
from timing import BATCHES

HEADS = ("floor-pooling", "ours-luong", "ours-dot", "ours-scaled_dot", "keras-attention")


def _kernel_times(log_dir, steps):
    """[(scope, op type, pass, ms per step, calls per step)] of the kernels in the trace under `log_dir`."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: PLC0415  (TensorFlow's own)

    space = xplane_pb2.XSpace()
    space.ParseFromString(Path(glob.glob(f"{log_dir}/**/*.xplane.pb", recursive=True)[0]).read_bytes())
    totals, calls = defaultdict(float), defaultdict(int)
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name, ms = names.get(event.metadata_id, ""), event.duration_ps / 1e9
                if name == "ExecutorState::Process":  # a kernel and the executor's work around it
                    key = ("executor", "all", "Process")
                elif "::" in name or ":" not in name:  # the thread pool's own events
                    continue
                else:
                    scope, op_type = name.rsplit(":", 1)
                    key = (*_owner(scope), op_type)
                totals[key] += ms
                calls[key] += 1
    kernels = sum(ms for key, ms in totals.items() if key[0] != "executor")
    # The executor's time beyond the kernels it ran: scheduling, one cost per kernel launched.
    totals[("executor", "all", "Process")] -= kernels
    return [(*key, totals[key] / steps, calls[key] / steps) for key in totals]


def _owner(scope):
    """(layer, pass) of a kernel's scope: the first scope under the model, and forward, backward
    (gradient_tape/) or update (the optimizer's)."""
    parts = scope.split("/")
    if parts[0] == "gradient_tape":
        return _layer(parts[1:]), "backward"
    if parts[0].startswith(("adam", "Adam", "SGD", "sgd", "rmsprop")) or "optimizer" in parts[0]:
        return "optimizer", "update"
    return _layer(parts), "forward"


def _layer(parts):
    """The layer of a scope: its first part under the model's (`functional_1/attention/...`)."""
    if len(parts) < 2:
        return parts[0] if parts else "?"
    return re.sub(r"_\d+$", "", parts[1])


def profile(model_name, head, steps, warmup, log_dir):
    """(wall ms of a step, kernel rows) of `steps` training steps of one model with one head."""
    import keras  # noqa: PLC0415  (TensorFlow starts here)
    import tensorflow as tf  # noqa: PLC0415

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"task={model_name}"])
    task = load_task(cfg.task.module)
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = task.build_model(cfg.task, _heads()[head](), None)
    model.compile(optimizer=instantiate(cfg.trainer.optimizer), loss=cfg.task.loss)
    x, y = BATCHES[model_name]()
    for _ in range(warmup):
        model.train_on_batch(x, y)
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    wall = 1000 * (time.perf_counter() - started) / steps
    shutil.rmtree(log_dir, ignore_errors=True)
    tf.profiler.experimental.start(str(log_dir))
    for _ in range(steps):
        model.train_on_batch(x, y)
    tf.profiler.experimental.stop()
    return wall, _kernel_times(log_dir, steps)


def report(frame):
    """profile.md: per model, the kernel time by layer and pass for every head, then the op types of
    the attention layer (and the pooling) per head. The heads' wall times (profile.json) are one
    run each, one after the other: the bench, which times them round-robin, is what compares them."""
    lines = ["# Where a training step's time goes (TensorFlow's profiler, kernel ms per step)", ""]
    for model_name, of_model in frame.groupby("model", sort=False):
        lines += [f"## {model_name}", ""]
        by_layer = of_model.pivot_table(index=["layer", "pass"], columns="head", values="ms", aggfunc="sum")
        by_layer = by_layer.reindex(columns=[h for h in HEADS if h in by_layer.columns]).fillna(0.0)
        lines += ["| layer · pass | " + " | ".join(by_layer.columns) + " |", "|---|" + "---|" * len(by_layer.columns)]
        kernels = by_layer.drop(index="executor", level=0, errors="ignore")
        lines += ["| all kernels | " + " | ".join(f"{v:.2f}" for v in kernels.sum()) + " |"]
        for (layer, pass_), row in by_layer.iterrows():
            if row.max() >= 0.05:
                lines.append(f"| {layer} · {pass_} | " + " | ".join(f"{v:.2f}" for v in row) + " |")
        lines += ["", "Op types of the head (attention, or the pooling), ms per step (calls):", ""]
        head_ops = of_model[of_model.layer.str.contains("attention|pooling", regex=True)]
        for head, ops in head_ops.groupby("head", sort=False):
            ranked = (
                ops.groupby(["pass", "op"], as_index=False)[["ms", "calls"]].sum().sort_values("ms", ascending=False)
            )
            shown = [f"{r.op} ({r['pass']}) {r.ms:.2f} ({r.calls:.0f})" for _, r in ranked.head(10).iterrows()]
            lines.append(f"- `{head}`: " + "; ".join(shown))
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="imdb,find_max")
    parser.add_argument("--heads", default=",".join(HEADS))
    parser.add_argument("--steps", type=int, default=10, help="profiled training steps per model and head")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--out", default="outputs/profile")
    args = parser.parse_args()
    out, started = Path(args.out), time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.json").unlink(missing_ok=True)  # until this run completes
    rows, walls = [], {}
    for model_name in args.models.split(","):
        for head in args.heads.split(","):
            walls[(model_name, head)], kernels = profile(model_name, head, args.steps, args.warmup, out / "trace")
            rows += [dict(zip(("layer", "pass", "op", "ms", "calls"), k), model=model_name, head=head) for k in kernels]
            print(f"{model_name} · {head}: {walls[(model_name, head)]:.1f} ms per step", flush=True)
    frame = pd.DataFrame(rows)[["model", "head", "layer", "pass", "op", "ms", "calls"]]
    frame.to_csv(out / "profile.csv", index=False)
    (out / "profile.md").write_text(report(frame) + "\n")
    shutil.rmtree(out / "trace", ignore_errors=True)
    made = {
        "status": "completed",
        "provenance": collect_provenance("tensorflow"),
        "args": vars(args),
        "wall_ms_per_step": [{"model": m, "head": h, "ms": round(ms, 3)} for (m, h), ms in walls.items()],
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    (out / "profile.json").write_text(json.dumps(made, indent=2) + "\n")  # last: it says the rest is whole
    print(report(frame))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
