"""Seed variance (Wiegreffe & Pinter 2019, §3.2): how far the attention of the same model moves when
only the seed changes, the background against which an "alternative" attention must be judged.

At the end of a sweep, for each task and attention variant audited with two seeds or more on the
same test samples (each audited run keeps what it read, `audit_attention.npz`), every pair of seeds
gives per unit the Jensen–Shannon divergence between their attention (nats, as Jain & Wallace's
adversary reports it) and the total variation distance between their outputs. The adversary's
divergence of each run is then read against it: the share of units whose adversarial attention is
farther from the learned one than any other seed's attention is. Writes `seed_variance.csv` (one
row per pair of seeds) and `seed_variance.png` (violins, as Wiegreffe & Pinter's figure), and
returns the lines of summary.md's section.
"""

import itertools
import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.run.files import RunDir

CSV = "seed_variance.csv"
PNG = "seed_variance.png"
TITLE = "Seed variance: the attention of other seeds (Wiegreffe & Pinter)"


def audited(runs, sweep_dir):
    """{(task, attention): {seed: the arrays its audit kept}} of the completed, audited runs."""
    kept = {}
    for row in runs[runs.status == "completed"].itertuples():
        arrays = RunDir(sweep_dir / row.run_dir).audited_attention()
        if arrays is not None:
            kept.setdefault((row.task, row.attention), {})[int(row.seed)] = arrays
    return kept


def _total_variation(a, b):
    """Per unit, between two runs' outputs (units, values): a binary output's absolute difference,
    classes' total variation distance, or a regression's absolute difference."""
    difference = np.abs(a - b)
    return difference[..., 0] if a.shape[-1] == 1 else 0.5 * difference.sum(axis=-1)


def pairs(audited):
    """(one row per pair of seeds, {group: per-unit JSDs of all its pairs, adversarial JSDs, share
    of units beyond the seeds}) for groups whose runs audited the same samples."""
    from attention.audit import js_divergence  # noqa: PLC0415  (it starts the backend, as the summary's audit columns do)

    rows, spread = [], {}
    for (task, attention), by_seed in sorted(audited.items()):
        # Only runs that audited the same samples compare: the most common set of inputs.
        digests = pd.Series({seed: a["inputs_sha256"].item() for seed, a in by_seed.items()})
        same = sorted(digests.index[digests == digests.mode().iloc[0]])
        if len(same) < 2:
            continue
        divergences = []
        for a, b in itertools.combinations(same, 2):
            jsd = js_divergence(by_seed[a]["weights"], by_seed[b]["weights"], base=math.e)  # (samples, units)
            tvd = _total_variation(by_seed[a]["outputs"], by_seed[b]["outputs"])
            divergences.append(jsd)
            rows.append(
                {
                    "task": task,
                    "attention": attention,
                    "seed_a": a,
                    "seed_b": b,
                    "units": int(jsd.size),
                    "jsd_mean": float(jsd.mean()),
                    "jsd_median": float(np.median(jsd)),
                    "tvd_mean": float(tvd.mean()),
                }
            )
        background = np.max(divergences, axis=0)  # per unit: the farthest any other seed's attention went
        adversarial = np.stack([by_seed[s]["adversarial_jsd"] for s in same if "adversarial_jsd" in by_seed[s]])
        found = ~np.isnan(adversarial) if adversarial.size else np.zeros(0, dtype=bool)
        beyond = (adversarial > background[None]) & found if adversarial.size else found
        spread[(task, attention)] = {
            "seeds": np.concatenate([d.ravel() for d in divergences]),
            "adversarial": adversarial[found] if adversarial.size else adversarial,
            "beyond": float(beyond.sum() / found.sum()) if found.any() else math.nan,
        }
    return pd.DataFrame(rows), spread


def write_seed_variance(runs, sweep_dir, label):
    """Writes seed_variance.csv and seed_variance.png where two seeds or more of a group were
    audited on the same samples; returns summary.md's section (no lines where none were)."""
    table, spread = pairs(audited(runs, sweep_dir))
    if table.empty:
        return []
    table.to_csv(sweep_dir / CSV, index=False)
    figure(spread, label).savefig(sweep_dir / PNG, dpi=110)
    lines = [
        "",
        f"## {TITLE}",
        "",
        "Per unit, the Jensen–Shannon divergence (nats, at most ln 2 ≈ 0.69) between the attention of two",
        "seeds on the same test samples, and the total variation distance between their outputs; the",
        "adversary's divergence is read against it: the share of units whose adversarial attention lies",
        "farther from the learned one than any other seed's.",
        "",
        "| task | attention | pairs | JSD mean (median) | output TVD mean | adversarial JSD mean | adversary beyond the seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for (task, attention), group in table.groupby(["task", "attention"], sort=True):
        kept = spread[(task, attention)]
        adversarial = f"{kept['adversarial'].mean():.3f}" if kept["adversarial"].size else "–"
        beyond = "–" if math.isnan(kept["beyond"]) else f"{kept['beyond']:.2f}"
        lines.append(
            f"| {task} | {attention} | {len(group)} | {np.mean(kept['seeds']):.3f} ({np.median(kept['seeds']):.3f}) "
            f"| {group.tvd_mean.mean():.4f} | {adversarial} | {beyond} |"
        )
    return lines


def figure(spread, label):
    """Per group, a violin of the seed pairs' per-unit JSD beside one of the adversary's."""
    groups = list(spread)
    fig = Figure(figsize=(max(5.0, 2.6 * len(groups)), 4), layout="constrained")
    ax = fig.subplots()
    for i, group in enumerate(groups):
        for offset, (name, colour) in zip((-0.18, 0.18), (("seeds", "tab:blue"), ("adversarial", "tab:red"))):
            values = spread[group][name]
            if len(values) > 1:
                parts = ax.violinplot([values], positions=[i + offset], widths=0.32, showmedians=True)
                for body in parts["bodies"]:
                    body.set_facecolor(colour)
    ax.plot([], [], color="tab:blue", label="another seed's attention")
    ax.plot([], [], color="tab:red", label="the adversary's (output within tolerance)")
    ax.axhline(math.log(2), color="black", linewidth=0.8, linestyle=":")
    ax.set_xticks(range(len(groups)), ["\n".join(g) for g in groups])
    ax.set_ylim(0, 0.72)
    ax.set_ylabel("JSD from the learned attention (nats)")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(f"seed variance · {label}", fontsize=9)
    return fig
