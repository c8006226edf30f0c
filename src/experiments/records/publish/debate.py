"""The debate page: Jain & Wallace's model with its marks masked, their adversarial attention,
Wiegreffe & Pinter's seed variance, diagnostic and model-consistent adversary, and Mohankumar et
al.'s Diversity LSTM, each from its record and each with the side of the debate it supports here.
Each experiment's finding (what was found, in words, and the side it supports) is one function,
read by its own table's block and by the README's headline block alike."""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.records.publish.engine import block
from experiments.records.publish.faithfulness import mean_cell, variant_runs
from experiments.records.publish.format import table
from experiments.records.publish.record import Record, missing
from experiments.records.seed_variance import audited, pairs
from experiments.records.stats import number

BEFORE, AFTER = "imdb_jain_wallace", "jain_wallace_adversary"  # their model, marks attended / masked
ADVERSARY, DIAGNOSTIC, DIVERSITY = "wp_adversary", "wp_diagnostic", "diversity_lstm"
LN2 = math.log(2)
JAIN_WALLACE = "Jain & Wallace's side"
WIEGREFFE_PINTER = "Wiegreffe & Pinter's side"


@dataclass(frozen=True)
class Finding:
    """What one experiment found here, in a few words, and the side of the debate it supports."""

    found: str
    side: str


def _values(runs, column):
    return pd.to_numeric(runs[column], errors="coerce").dropna() if column in runs else pd.Series(dtype=float)


def _seeds(runs):
    return f"{len(runs)} seed{'s' if len(runs) != 1 else ''}"


def _mean(runs, column):
    values = _values(runs, column)
    return None if values.empty else float(values.mean())


def _seed_background(record, attention="tanh"):
    """(per-unit JSDs of every pair of seeds, the pairs' mean TVD of outputs, the share of units whose
    adversarial attention lies beyond every other seed's) of `attention` in `record`, or None."""
    if not record:
        return None
    pair_rows, spread = pairs(audited(record.runs(), record.path))
    kept = spread.get((record.jobs[0][1]["task"], attention))
    if kept is None:
        return None
    return kept["seeds"], float(pair_rows[pair_rows.attention == attention].tvd_mean.mean()), kept["beyond"]


# ---- each experiment's finding --------------------------------------------------------------------


def mean_shift(before, after):
    """(after's mean − before's, the standard error of that difference over the seeds), the error
    None where either side has fewer than two seeds."""
    shift = float(after.mean() - before.mean())
    if min(len(before), len(after)) < 2:
        return shift, None
    return shift, math.sqrt(before.var() / len(before) + after.var() / len(after))


def masking_verdict(shifts):
    """What masking did to the τs, from their (shift, standard error) pairs: a change counts where
    it is more than twice its error; theirs are higher than ours, so a rise is toward theirs."""
    if any(error is None for _, error in shifts):
        return "too few seeds to tell a change from the seeds' spread"
    if all(abs(shift) <= 2 * error for shift, error in shifts):
        return "masking moved τ less than the seeds' spread"
    rose, fell = (any(sign * shift > 2 * error for shift, error in shifts) for sign in (1, -1))
    if rose and fell:
        return "masking moved one τ up and the other down"
    return "masking moved τ toward theirs" if rose else "masking moved τ away from theirs"


def marks_finding(root):
    """τ of their `tanh` model with the marks attended and masked."""
    before, after = (variant_runs(Record(name, root), "tanh") for name in (BEFORE, AFTER))
    columns = ("audit_tau_gradient", "audit_tau_leave_one_out")
    taus = [[_values(runs, column) for column in columns] for runs in (before, after)]
    if any(values.empty for pair in taus for values in pair):
        return None
    verdict = masking_verdict([mean_shift(taus[0][i], taus[1][i]) for i in range(len(columns))])
    return Finding(
        f"τ with the gradient {taus[0][0].mean():.2f} → {taus[1][0].mean():.2f}, with leave-one-out "
        f"{taus[0][1].mean():.2f} → {taus[1][1].mean():.2f} (their 0.37 and 0.30; {_seeds(after)} masked)",
        verdict,
    )


def adversary_finding(record):
    """Jain & Wallace's search on the learned attention, against the seed variance."""
    runs = variant_runs(record, "tanh")
    jsd, found = _mean(runs, "audit_adversarial_jsd"), _mean(runs, "audit_adversarial_found")
    if jsd is None or found is None:
        return None
    text = (
        f"on {found:.0%} of the reviews, an attention {jsd:.2f} nats away (of {LN2:.2f}) keeps the output"
        f" ({_seeds(runs)})"
    )
    background = _seed_background(record)
    if background:
        text += f"; beyond every other seed's attention on {background[2]:.0%} of them"
    far = found >= 0.5 and jsd >= LN2 / 2 and (background is None or background[2] >= 0.5)
    return Finding(text, JAIN_WALLACE if far else WIEGREFFE_PINTER)


def wp_adversary_finding(record):
    """The model-consistent adversaries against the seed pairs of the base's sweep."""
    points = [(m["test"]["jsd_from_base"], m["test"]["tvd_from_base"]) for _, m, _ in record.jobs]
    background = _seed_background(Record(AFTER, record.path.parent))
    if not points or background is None:
        return None
    seeds_jsd, seeds_tvd = float(np.mean(background[0])), background[1]
    beyond = sum(jsd > seeds_jsd and tvd <= seeds_tvd for jsd, tvd in points)
    return Finding(
        f"{beyond} of {len(points)} adversaries moved their attention farther than another seed's "
        f"({seeds_jsd:.2f} nats) with predictions as close ({seeds_tvd:.3f})",
        JAIN_WALLACE if beyond else WIEGREFFE_PINTER,
    )


DIAGNOSTIC_SOURCES = (
    ("uniform", "uniform"),
    ("tanh", "learned by the MLP itself"),
    ("frozen_lstm", "frozen from the LSTM"),
    ("frozen_adversary", "frozen from its adversary"),
)


def _diagnostic_f1(record):
    return {
        attention: (found[1]["test"].get("f1") if (found := record.find("imdb_diagnostic", attention)) else None)
        for attention, _ in DIAGNOSTIC_SOURCES
    }


def diagnostic_finding(record):
    """Whether the LSTM's weights help the MLP more than uniform ones."""
    f1 = _diagnostic_f1(record)
    if f1["uniform"] is None or f1["frozen_lstm"] is None:
        return None
    return Finding(
        f"F1 with the LSTM's weights {f1['frozen_lstm']:.3f}, uniform {f1['uniform']:.3f}"
        + (f", the adversary's {f1['frozen_adversary']:.3f}" if f1["frozen_adversary"] is not None else ""),
        WIEGREFFE_PINTER if f1["frozen_lstm"] > f1["uniform"] else JAIN_WALLACE,
    )


def diversity_finding(root):
    """The Diversity LSTM's conicity and τ beside the plain LSTM's."""
    plain, diverse = (variant_runs(Record(name, root), "tanh") for name in (AFTER, DIVERSITY))
    columns = ("audit_conicity", "audit_tau_gradient")
    (conicity, tau), (conicity_d, tau_d) = ([_mean(r, c) for c in columns] for r in (plain, diverse))
    if None in (conicity, tau, conicity_d, tau_d):
        return None
    return Finding(
        f"conicity {conicity:.2f} → {conicity_d:.2f}, τ with the gradient {tau:.2f} → {tau_d:.2f}",
        "the fix reproduces" if conicity_d < conicity and tau_d > tau else "the fix does not reproduce here",
    )


def _said(finding):
    return f"\nHere: {finding.found}. {finding.side[0].upper()}{finding.side[1:]}.\n" if finding else ""


# ---- the blocks -----------------------------------------------------------------------------------


@block("debate_headline")
def block_debate_headline(root):
    """One row per experiment: what the paper reports, what was found here, the side it supports."""

    def recorded(name, finding):
        return finding(Record(name, root)) if Record(name, root) else None

    # (experiment, the paper, the records it reads, in the order they are made, what was found)
    rows = [
        ("their model, marks masked", "τ 0.37 with the gradient, 0.30 with leave-one-out", (BEFORE, AFTER),
         marks_finding(root)),
        ("adversarial attention (J&W §4.2)", "a figure: far attention keeps the output on most reviews", (AFTER,),
         recorded(AFTER, adversary_finding)),
        ("model-consistent adversary (W&P §4)", "a figure: attention moves far only as predictions move",
         (AFTER, ADVERSARY), recorded(ADVERSARY, wp_adversary_finding)),
        ("diagnostic MLP (W&P §3.3)", "the LSTM's weights help; the adversary's do not", (AFTER, ADVERSARY, DIAGNOSTIC),
         recorded(DIAGNOSTIC, diagnostic_finding)),
        ("Diversity LSTM (Mohankumar et al.)", "conicity falls; attention agrees better", (AFTER, DIVERSITY),
         diversity_finding(root)),
    ]  # fmt: skip
    return table(
        ["experiment", "the paper", "here", "side"],
        [
            (name, paper, *((f.found, f.side) if f else (_waits_for(needs, root), "–")))
            for name, paper, needs, f in rows
        ],
    )


def _waits_for(needs, root):
    """The records an experiment still waits for: those missing, or where all are there, the rest of
    their runs (the seed variance needs two seeds or more)."""
    missing_ones = [name for name in needs if not Record(name, root)]
    if not missing_ones:
        return "waits for the rest of " + ", ".join(f"`make results ONLY={name}`" for name in needs)
    return "waits for " + ", then ".join(f"`make results ONLY={name}`" for name in missing_ones)


@block("debate_marks")
def block_debate_marks(root):
    """τ and the scores of their `tanh` model before and after <sos> and <eos> were masked out."""
    records = [Record(name, root) for name in (BEFORE, AFTER)]
    rows = [
        ("τ attention vs gradient", "audit_tau_gradient", "0.37", 2),
        ("τ attention vs leave-one-out", "audit_tau_leave_one_out", "0.30", 2),
        ("τ gradient vs leave-one-out", "audit_tau_gradient_vs_leave_one_out", "0.52 (retrained)", 2),
        ("F1, positive class", "test_f1", "0.902 (W&P)", 3),
        ("decisions flipped, largest weight erased", "audit_flip_largest", "–", 3),
        ("conicity of the attended states", "audit_conicity", "–", 2),
    ]
    runs = [variant_runs(record, "tanh") for record in records]
    text = table(
        ["their model, `tanh`", "Jain & Wallace, published", "marks attended (before)", "marks masked (after)"],
        [
            (label, paper, *(mean_cell(r, column, "tanh", digits) for r in runs))
            for label, column, paper, digits in rows
        ],
    )
    return text + _said(marks_finding(root)) + "".join("\n" + missing(r.name) for r in records if not r)


@block("debate_adversary", record=AFTER)
def block_debate_adversary(record):
    """Jain & Wallace's adversarial attention per variant, read against the seed variance."""
    rows = []
    for attention in ("tanh", "uniform"):
        runs, background = variant_runs(record, attention), _seed_background(record, attention)
        rows.append(
            (f"`{attention}`", mean_cell(runs, "audit_adversarial_found", attention, 2),
             mean_cell(runs, "audit_adversarial_jsd", attention, 3),
             f"{np.mean(background[0]):.3f}" if background else "–", number(background[2], 2) if background else "–")
        )  # fmt: skip
    header = ["variant", "reviews with an adversary", "its JSD from the learned (nats)", "JSD between seeds (nats)"]
    return table([*header, "adversary beyond every seed"], rows) + _said(adversary_finding(record))


@block("debate_wp_adversary", record=ADVERSARY)
def block_debate_wp_adversary(record):
    """Each λ's model-consistent adversary: how far its predictions and attention moved from the base."""
    rows = [
        (f"{config.task.divergence_weight:g}", number(m["test"]["tvd_from_base"], 4),
         number(m["test"]["jsd_from_base"], 3), number(m["test"]["agreement_with_base"], 3), number(m["test"]["f1"], 3))
        for _, m, config in sorted(record.jobs, key=lambda job: float(job[2].task.divergence_weight))
    ]  # fmt: skip
    text = table(["λ", "TVD of predictions", "JSD of attention (nats)", "decides as the base", "its own F1"], rows)
    return text + _said(wp_adversary_finding(record))


@block("debate_diagnostic", record=DIAGNOSTIC)
def block_debate_diagnostic(record):
    """The diagnostic MLP's test F1 by the source of its weights."""
    f1 = _diagnostic_f1(record)
    rows = [(label, number(f1[attention], 3)) for attention, label in DIAGNOSTIC_SOURCES]
    found = Record(AFTER, record.path.parent).find("imdb_jain_wallace", "tanh", seed=0)  # the LSTM it froze
    rows.append(("(the LSTM itself, seed 0)", number(found[1]["test"].get("f1") if found else None, 3)))
    return table(["weights of the average", "test F1 (one run each)"], rows) + _said(diagnostic_finding(record))


@block("debate_diversity")
def block_debate_diversity(root):
    """Mohankumar et al.'s Diversity LSTM beside the plain LSTM of their model (both masked, `tanh`)."""
    records = [Record(name, root) for name in (AFTER, DIVERSITY)]
    runs = [variant_runs(record, "tanh") for record in records]
    rows = [
        ("conicity of the attended states", "audit_conicity", 2),
        ("τ attention vs gradient", "audit_tau_gradient", 2),
        ("τ attention vs leave-one-out", "audit_tau_leave_one_out", 2),
        ("output change, weights permuted", "audit_permutation_change", 3),
        ("reviews with an adversary", "audit_adversarial_found", 2),
        ("its JSD from the learned (nats)", "audit_adversarial_jsd", 3),
        ("F1, positive class", "test_f1", 3),
    ]
    text = table(
        ["`tanh`, marks masked", "LSTM", "Diversity LSTM"],
        [(label, *(mean_cell(r, column, "tanh", digits) for r in runs)) for label, column, digits in rows],
    )
    return text + _said(diversity_finding(root)) + "".join("\n" + missing(r.name) for r in records if not r)
