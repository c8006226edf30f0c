"""The Transformers page: the Transformer encoder beside the LSTM with attention, and which
explanation of its stack of attention layers finds the steps that decide (transformer_attention,
the synthetic tasks) or what the output rests on (transformer_imdb, by ERASER)."""

import numpy as np

from experiments.records.describe import test_text
from experiments.records.publish.engine import block
from experiments.records.publish.format import table
from experiments.records.publish.record import Record
from experiments.run.catalog import quality_text
from experiments.run.files import RunDir

RECORD = "transformer_attention"
IMDB_RECORD = "transformer_imdb"
# Each task's LSTM with attention at its default variant, seed 0, from the record of its scores.
LSTM_RECORDS = {
    "find_max": ("find_max_scores", "luong"),
    "add_two_numbers": ("add_two_numbers_scores", "bahdanau"),
    "imdb": ("imdb_table", "luong"),
}
EXPLANATIONS = {
    "last_layer": "last layer's weights",
    "mean_of_layers": "mean of the layers",
    "rollout": "rollout",
    "flow": "flow",
}
IMPORTANCES = {
    "gradient": "gradient × input",
    "leave_one_out": "leave-one-out",
    "integrated_gradients": "integrated gradients",
}


def _audits(record, task):
    """The audit_stack.json of each seed's job of `task` in the record, in seed order."""
    jobs = sorted((m["seed"], job) for job, m, _ in record.jobs if m["task"] == task)
    return [audit for _, job in jobs if (audit := RunDir(job).audit(RunDir.STACK_AUDIT))]


def _spread(values, digits=2):
    """'mean ± std (n=k)' of the defined values, or '–'."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f} (n={len(values)})"


def _mean_hit_rates(audits):
    """{explanation or importance: its mean hit rate on the deciding steps over the audits that
    measured it}, explanations first."""
    means = {}
    for kind, names in (("explanations", EXPLANATIONS), ("importances", IMPORTANCES)):
        for name in names:
            rates = [a[kind][name]["hit_rate"] for a in audits if a[kind].get(name)]
            if rates and None not in rates:
                means[name] = float(np.mean(rates))
    return means


def _tasks(record):
    """The tasks of the record, in the order of its jobs."""
    return list(dict.fromkeys(m["task"] for _, m, _ in record.jobs))


def _runs(count, kind="run"):
    return f"{count} {kind}{'s' if count != 1 else ''}"


@block("transformer_models", record=RECORD)
@block("transformer_imdb_models", record=IMDB_RECORD)
def block_transformer_models(record):
    """Per task: the Transformer's test result and attention quality (its rollout's) over the seeds,
    beside the LSTM with attention of the task's own record (seed 0)."""
    rows = []
    for task in _tasks(record):
        runs = [(m, c) for _, m, c in record.jobs if m["task"] == task]
        lstm_name, lstm_attention = LSTM_RECORDS.get(task, (None, None))
        lstm = Record(lstm_name, record.path.parent).find(task, lstm_attention, seed=0) if lstm_name else None
        rows.append(
            (
                f"`{task}`",
                f"{len(runs)} (seeds {', '.join(str(m['seed']) for m, _ in runs)})",
                "; ".join(test_text(m, c) for m, c in runs),
                "; ".join(quality_text(task, m.get("attention_quality")) for m, _ in runs),
                "–" if lstm is None else f"`{lstm_attention}`: {test_text(lstm[1], lstm[2])}",
                "–" if lstm is None else quality_text(task, lstm[1].get("attention_quality")),
            )
        )
    header = [
        "task",
        "runs",
        "Transformer: test",
        "its rollout: where it looks",
        "LSTM + attention: test",
        "where it looks",
    ]
    return table(header, rows)


# ERASER's measures, as the audit names them.
ERASER = ("comprehensiveness", "sufficiency")


def _eraser_aopc(audits, measure, name):
    """'mean ± std (n=k)' of ERASER's AOPC of `measure` in the order of `name` over the audits."""
    return _spread([(a["eraser"][measure].get(name) or {}).get("aopc") for a in audits], 3)


@block("transformer_explanations", record=RECORD)
@block("transformer_imdb_explanations", record=IMDB_RECORD)
def block_transformer_explanations(record):
    """Per task: each explanation's and importance's hit rate on the deciding steps (where the task
    knows them), τ with leave-one-out and, for a classifier, ERASER's AOPC in its order (mean ± std
    over the seeds); which found the deciding steps best, or which order removed the most."""
    text = ""
    for task in _tasks(record):
        audits = _audits(record, task)
        if not audits:
            continue
        knows = bool(_mean_hit_rates(audits))
        eraser = all(a.get("eraser") for a in audits)
        rows = []
        for kind, names in (("explanations", EXPLANATIONS), ("importances", IMPORTANCES)):
            for name, label in names.items():
                entries = [a[kind].get(name) for a in audits]
                row = [f"{label} ({'attention' if kind == 'explanations' else 'importance'})"]
                if knows:
                    row.append(_spread([e["hit_rate"] if e else None for e in entries]))
                row.append(
                    _spread([e["tau"]["leave_one_out"] if e else None for e in entries])
                    if kind == "explanations"
                    else "–"
                )
                if eraser:
                    row += [_eraser_aopc(audits, "comprehensiveness", name), _eraser_aopc(audits, "sufficiency", name)]
                rows.append(row)
        if eraser:
            rows.append(
                ["random order", *(["–"] if knows else []), "–", *(_eraser_aopc(audits, m, "random") for m in ERASER)]
            )
        header = ["explanation", *(["top step on a deciding step"] if knows else []), "τ with leave-one-out"]
        header += (
            ["ERASER comprehensiveness (AOPC, high: faithful)", "sufficiency (AOPC, low: faithful)"] if eraser else []
        )
        samples = audits[0]["samples"]
        flow = audits[0]["flow_samples"]
        text += f"\n**`{task}`** ({_runs(len(audits), 'audited run')}, {samples} test samples each; "
        text += (
            f"flow on the first {flow}):\n\n"
            if flow
            else "flow not computed: the sequences are longer than its limit):\n\n"
        )
        text += table(header, rows)
        gaps = [a["integrated_gradients"]["largest_completeness_gap"] for a in audits]
        text += (
            f"\nIntegrated gradients ({audits[0]['integrated_gradients']['steps']} steps from a zero baseline): "
            f"each run's largest gap between the sum of a sample's attributions and f(x) − f(0) lies between "
            f"{min(gaps):.3f} and {max(gaps):.3f}; where it is large against the outputs, their order is not "
            "to be trusted.\n"
        )
        text += _best_line(task, audits)
    return text.lstrip("\n")


def _mean_comprehensiveness(audits):
    """{explanation or importance: its mean ERASER comprehensiveness AOPC}, for the audits of a
    classifier (empty otherwise), explanations first."""
    if not all(a.get("eraser") for a in audits):
        return {}
    means = {}
    for name in [*EXPLANATIONS, *IMPORTANCES]:
        values = [a["eraser"]["comprehensiveness"].get(name) for a in audits]
        if None not in values:
            means[name] = float(np.mean([v["aopc"] for v in values]))
    return means


def _random_comprehensiveness(audits):
    """The mean ERASER comprehensiveness AOPC of a random order: the floor of the others."""
    return float(np.mean([a["eraser"]["comprehensiveness"]["random"]["aopc"] for a in audits]))


def _best_line(task, audits):
    """Which explanation found the deciding steps best, or where none are known, whose order
    removed the most of the decided class's probability."""
    labels = {**EXPLANATIONS, **IMPORTANCES}
    means = _mean_hit_rates(audits)
    if means:
        best = max(means, key=means.get)
        return f"\nBest at finding the deciding steps on `{task}`: {labels[best]}, {means[best]:.2f} of the samples.\n"
    removed = _mean_comprehensiveness(audits)
    if not removed:
        return ""
    best = max(removed, key=removed.get)
    random = _random_comprehensiveness(audits)
    return (
        f"\nMost comprehensive on `{task}`: removing the top of the order of {labels[best]} drops the decided class's "
        f"probability most, by {removed[best]:.3f} on average over the shares (a random order: {random:.3f}).\n"
    )


# Abnar & Zuidema 2020, Tables 1 and 2, the last layer (L6) of their 6-layer Transformer on verb
# number prediction (2,000 test samples): mean ± std over the samples of Spearman's correlation of
# the class token's raw attention, rollout and flow with blank-out and with input gradients. Read
# from notes on the paper (viktor-shcherb/msc_thesis, references/2020-07-quantifying-attention-flow,
# commit d8817a6); the raw row of Table 1 was checked against the arXiv PDF's, the rest not.
ABNAR_ZUIDEMA_L6 = {
    "raw attention": ("0.29 ± 0.39", "0.46 ± 0.35"),
    "rollout": ("0.71 ± 0.24", "0.54 ± 0.31"),
    "flow": ("0.70 ± 0.22", "0.61 ± 0.28"),
}


@block("transformer_papers")
def block_transformer_papers(root):
    """Abnar & Zuidema's own finding, for the last layer of their model, with where it was read."""
    rows = [(name, *values) for name, values in ABNAR_ZUIDEMA_L6.items()]
    text = table(["last layer (L6)", "Spearman ρ with blank-out", "with input gradients"], rows)
    return (
        text + "\nAbnar & Zuidema 2020, Tables 1 and 2 (a 6-layer Transformer, verb number prediction, 2,000 test "
        "samples; mean ± std over the samples). Read from notes on the paper (the repository "
        "viktor-shcherb/msc_thesis); the raw-attention row of Table 1 was checked against the arXiv PDF, the "
        "others were not checked here.\n"
    )


@block("transformer_verdict", record=RECORD)
@block("transformer_imdb_verdict", record=IMDB_RECORD)
def block_transformer_verdict(record):
    """A line per task for the README: how often each explanation's top step decides, best first;
    where no step is known to decide, how much removing the top of each one's order drops the
    decided class's probability (ERASER's comprehensiveness), most first."""
    labels = {**EXPLANATIONS, **IMPORTANCES}
    lines = []
    for task in _tasks(record):
        audits = _audits(record, task)
        if means := _mean_hit_rates(audits):
            said = ", ".join(f"{labels[name]} {rate:.2f}" for name, rate in sorted(means.items(), key=lambda i: -i[1]))
            lines.append(f"- `{task}` ({_runs(len(audits))}), top step on a deciding step: {said}.\n")
        elif removed := _mean_comprehensiveness(audits):
            random = _random_comprehensiveness(audits)
            said = ", ".join(f"{labels[n]} {v:.3f}" for n, v in sorted(removed.items(), key=lambda i: -i[1]))
            lines.append(
                f"- `{task}` ({_runs(len(audits))}), the decided class's probability dropped by removing the top of "
                f"each order (ERASER comprehensiveness): {said}; a random order {random:.3f}.\n"
            )
    return "".join(lines) or "_No run of the record has been audited yet._\n"
