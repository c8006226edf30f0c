"""The Speed page: `make bench`'s record."""

import json
from pathlib import Path

import pandas as pd

from experiments.records.publish.engine import block
from experiments.records.publish.format import table
from experiments.records.publish.record import missing


@block("bench")
def block_bench(root):
    """The TensorFlow training step of each model: medians, quartiles, ratios to the floor with
    their intervals; the goals' verdicts; the sweep timing; the other backends in one line each."""
    path = Path(root) / "bench"
    if not (path / "bench.json").is_file():
        return missing("bench")
    record = json.loads((path / "bench.json").read_text())
    rows_read = pd.read_csv(path / "bench.csv")
    train = rows_read[rows_read.phase == "train"]
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
        text += f"- {model} on {backend}: {cells}\n"
    sweeps = record.get("sweeps") or []
    if len(sweeps) == 2 and all(s["completed"] == s["jobs"] for s in sweeps):
        sequential, parallel = sweeps[0]["wall_s"], sweeps[1]["wall_s"]
        text += (
            f"- The reduced 4-job IMDB sweep: sequential {sequential:.1f} s, joblib (2 jobs of 1 thread) "
            f"{parallel:.1f} s: {sequential / parallel:.2f}× faster.\n"
        )
    load = record["provenance"].get("load_average_1min")
    text += (
        f"\nRecord: [docs/results/bench](docs/results/bench/bench.md) ({record['args']['reps']} rounds after "
        f"{record['args']['warmup']} warm-up calls; load average {load} when it started).\n"
    )
    return text.lstrip("\n")
