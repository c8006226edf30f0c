"""The Speed page: `make bench`'s record."""

import json
from pathlib import Path

import pandas as pd

from experiments.records.publish.engine import block
from experiments.records.publish.format import cpu_name, table
from experiments.records.publish.record import missing


def _bench(root):
    """(bench.json, bench.csv's training-step rows) of the bench record, or None without one."""
    path = Path(root) / "bench"
    if not (path / "bench.json").is_file():
        return None
    steps = pd.read_csv(path / "bench.csv")
    return json.loads((path / "bench.json").read_text()), steps[steps.phase == "train"]


@block("bench")
def block_bench(root):
    """The TensorFlow training step of each model: medians, quartiles, ratios to the floor with
    their intervals; the goals' verdicts; the sweep timing; the other backends in one line each."""
    if (bench := _bench(root)) is None:
        return missing("bench")
    record, train = bench
    text = ""
    for model, group in train[train.backend.isin(["tensorflow", "tf-keras"])].groupby("model", sort=False):
        rows = [
            (
                f"`{r.name}`",
                f"{r.ms_median:.2f}",
                f"[{r.ms_q1:.2f}, {r.ms_q3:.2f}]",
                r.rounds,
                "–"
                if pd.isna(r.ratio_to_floor)
                else f"{r.ratio_to_floor:.2f} [{r.ratio_low:.2f}, {r.ratio_high:.2f}]"
                + ("" if r.paired else " (not paired)"),
            )
            for r in group.itertuples()
        ]
        text += f"\n`{model}`, TensorFlow, one training step at batch 64:\n\n"
        text += table(["model", "ms (median)", "quartiles", "rounds", "ratio to the floor [95% interval]"], rows)
    text += "\nGoals (MET or MISSED only when the whole 95% interval lies on one side of the limit):\n\n"
    for goal in record["goals"]:
        text += (
            f"- {goal['model']}: **{goal['verdict']}** `{goal['name']}` ≤ {goal['limit']} × `{goal['reference']}`: "
            f"{goal['ratio']:.3f} [{goal['low']:.3f}, {goal['high']:.3f}]"
            + ("" if goal["paired"] else ", not paired (the peer runs in its own process, in rounds of its own)")
            + "\n"
        )
    others = train[~train.backend.isin(["tensorflow", "tf-keras"]) & train.name.isin(["floor-pooling", "ours-luong"])]
    for (model, backend), group in others.groupby(["model", "backend"], sort=False):
        cells = ", ".join(f"`{r.name}` {r.ms_median:.2f} ms" for r in group.itertuples())
        on_tensorflow = train[(train.model == model) & (train.backend == "tensorflow") & (train.name == "ours-luong")]
        ours = group[group.name == "ours-luong"]
        faster = ""
        if len(on_tensorflow) and len(ours):
            ratio = ours.ms_median.iloc[0] / on_tensorflow.ms_median.iloc[0]
            faster = (
                f" ({ratio:.2f}× TensorFlow's `ours-luong`: {backend if ratio < 1 else 'TensorFlow'} is faster here)"
            )
        text += f"- {model} on {backend}: {cells}{faster}\n"
    sweeps = record.get("sweeps") or []
    if len(sweeps) == 2 and all(s["completed"] == s["jobs"] for s in sweeps):
        sequential, parallel = sweeps[0]["wall_s"], sweeps[1]["wall_s"]
        text += (
            f"- The reduced 4-job IMDB sweep: sequential {sequential:.1f} s, joblib (2 jobs of 1 thread) "
            f"{parallel:.1f} s: {sequential / parallel:.2f}× faster.\n"
        )
    buckets = pd.DataFrame(record.get("buckets") or [])
    if not buckets.empty:
        times = buckets.pivot(index="round", columns="how", values="seconds")
        ratio = times["padded to 401"] / times["length buckets"]
        text += (
            f"- Jain & Wallace's model, one training epoch of {int(buckets.reviews.iloc[0]):,} reviews (batch 32): "
            f"padded to 401 steps {times['padded to 401'].median():.1f} s, in length buckets "
            f"{times['length buckets'].median():.1f} s: {ratio.median():.2f}× faster in buckets (median of "
            f"{len(times)} rounds, each way timed in turn).\n"
        )
    load = record["provenance"].get("load_average_1min")
    text += (
        f"\nRecord: [docs/results/bench](docs/results/bench/bench.md) ({record['args']['reps']} rounds after "
        f"{record['args']['warmup']} warm-up calls; load average {load} when it started).\n"
    )
    return text.lstrip("\n")


@block("backends")
def block_backends(root):
    """In a sentence per model: which backend's training step of `ours-luong` is the faster one in
    the bench record, on which CPU."""
    if (bench := _bench(root)) is None:
        return missing("bench")
    record, train = bench
    made = record["provenance"]
    ours = train[(train.name == "ours-luong") & (train.backend != "tf-keras")]
    lines = []
    for model, group in ours.groupby("model", sort=False):
        if len(group) < 2:
            continue
        times = group.set_index("backend").ms_median.sort_values()
        fastest, slowest = times.index[0], times.index[-1]
        lines.append(
            f"- `{model}` (one training step, batch 64): {fastest} {times.iloc[0]:.1f} ms against "
            f"{slowest} {times.iloc[-1]:.1f} ms, {times.iloc[-1] / times.iloc[0]:.2f}× faster on {fastest}"
        )
    if not lines:
        return "_The bench record measured one backend only: `make results ONLY=bench` with JAX installed._\n"
    cpu = f"{cpu_name(made)}, {made.get('cores')} cores"
    return f"Which backend trains `ours-luong` faster, measured by `make bench` on {cpu}:\n\n" + "\n".join(lines) + "\n"


@block("profile")
def block_profile(root):
    """Where a training step's kernel time goes (docs/results/profile: `make profile`), as the
    record's profile.md has it, under its machine and commit."""
    path = Path(root) / "profile"
    if not (path / "profile.json").is_file():
        return missing("profile")
    made = json.loads((path / "profile.json").read_text())["provenance"]
    tables = (path / "profile.md").read_text().split("\n", 2)[2].replace("## ", "#### ")
    return (
        f"Measured on {cpu_name(made)}, at commit `{(made.get('commit') or '')[:7]}`, "
        f"{made.get('cores')} cores; kernel time in ms per training step (batch 64), "
        "summed over the threads that ran them:\n\n" + tables.strip() + "\n"
    )


@block("imdb_epoch_seconds", record="imdb_epoch_seconds")
def block_imdb_epoch_seconds(record):
    """One IMDB run's time, epoch by epoch: training, validation and the test set's evaluation
    (epoch_seconds), and what the rest of the run took."""
    _, metrics, _ = record.jobs[0]
    seconds = metrics["epoch_seconds"]
    parts = {"training": seconds["train"], "validation": seconds["validation"], "test set": seconds["test"]}
    rows = [
        [str(epoch + 1), *(f"{values[epoch]:.1f}" if epoch < len(values) else "–" for values in parts.values())]
        for epoch in range(len(seconds["train"]))
    ]
    totals = {name: sum(values) for name, values in parts.items()}
    wall = metrics["wall_time_s"]
    rows.append(["all", *(f"**{total:.0f}** ({100 * total / wall:.0f}%)" for total in totals.values())])
    rest = wall - sum(totals.values())
    made = metrics.get("provenance") or {}
    return (
        table(["epoch", "training, s", "validation, s", "test set, s"], rows)
        + f"\nThe whole run: {wall / 60:.1f} min; the rest ({rest / 60:.1f} min) is loading the data, building the "
        f"model, the final test, the probe, the figures, saving and the audit at its end. Measured on "
        f"{cpu_name(made)}, {metrics.get('threads')} thread, {metrics.get('epochs')} epochs "
        f"([record]({record.link('summary.md')})).\n"
    )
