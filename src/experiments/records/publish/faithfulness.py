"""The Faithfulness page: the audit of every task, IMDB beside the papers, the padding, and the
audit held against Jain & Wallace's model."""

import pandas as pd

from experiments.records.publish.engine import block
from experiments.records.publish.format import table
from experiments.records.publish.record import SCORES, SEED_000_TASKS, Record, missing
from experiments.records.stats import (
    EQUAL_WEIGHTS,
    attention_ranked_columns,
    audit_columns,
    audit_means,
    audit_values,
    group_statistics,
    number,
)
from experiments.run.files import RunDir

# The audit's figures per task at its default variant, and find_max and dates for every score.
FAITHFULNESS_SOURCES = (
    [("seed_000_readme", task, None) for task in SEED_000_TASKS]
    + [("lstm_after_variants", "lstm_after", v) for v in ("block_3d_shared", "pooling")]
    + [("add_two_numbers_scores", "add_two_numbers", s) for s in SCORES]
    + [("find_max_scores", "find_max", s) for s in SCORES]
    + [("dates_scores", "dates", s) for s in SCORES]
)


@block("faithfulness")
def block_faithfulness(root):
    """Per task and variant (seed 0): agreement, erasure and ground-truth hit rates from audit.json."""
    rows, hit_rows, records, unaudited = [], [], {}, set()
    for name, task, attention in FAITHFULNESS_SOURCES:
        found = records.setdefault(name, Record(name, root)).find(task, attention, seed=0)
        audit = RunDir(found[0]).audit() if found else {}
        if not audit:
            unaudited.add(name)
            continue
        agreement, erasure = audit["agreement"], audit["erasure"]
        hits = (audit.get("ground_truth") or {}).get("hit_rate") or {}
        names = (f"`{task}`", f"`{audit['attention']}`")
        rows.append(
            (
                *names,
                *(number(agreement[k]["mean"]) for k in ("gradient", "leave_one_out")),
                number(audit["permutation"]["median_output_change"]["mean"], 3),
                *(number(erasure[k]["flip_rate"], 3) for k in ("largest", "random")),
                f"{audit['seconds']:.0f} s",
            )
        )
        hit_rows.append((*names, *(number(hits.get(k), 2) for k in ("attention", "gradient", "leave_one_out"))))
    # Two tables, not one of eleven columns: each shows whole on a 1,300-pixel screen.
    header = ["task", "attention", "τ gradient", "τ leave-one-out", "output change, permuted"]
    text = table([*header, "flips: largest erased", "random erased", "audit time"], rows)
    text += (
        "\nHow often the top step of each explanation is a step that decides the answer (ties count as a "
        "random pick):\n\n" + table(["task", "attention", "top step: attention", "gradient", "leave-one-out"], hit_rows)
    )
    for name in sorted(unaudited):
        text += f"\n- Not audited yet in `{name}`: `make audit RUN=...` on its runs, then `make results ONLY={name}`."
    return text + ("\n" if unaudited else "")


@block("faithfulness_verdict")
def block_faithfulness_verdict(root):
    """The audit's findings in a few sentences, before its tables: on the tasks with a known answer,
    and on IMDB against a random ranking's τ of 0."""
    groups, gradient_hits, records = {"high": [], "middle": [], "low": []}, [], {}
    for name, task, attention in FAITHFULNESS_SOURCES:
        located = records.setdefault(name, Record(name, root)).find(task, attention, seed=0)
        audit = RunDir(located[0]).audit() if located else {}
        hit = (audit.get("ground_truth") or {}).get("hit_rate") or {}
        if hit.get("attention") is None:
            continue
        share = round(hit["attention"], 2)  # as the table shows it
        group = "high" if share >= 0.9 else "middle" if share >= 0.5 else "low"
        groups[group].append(f"`{task}` `{audit['attention']}` {hit['attention']:.2f}")
        if group == "low" and hit.get("gradient") is not None:
            gradient_hits.append(hit["gradient"])
    if not any(groups.values()):
        return missing("seed_000_readme")
    counted = ", ".join(
        f"{label} for {len(groups[key])}" + (f" ({', '.join(groups[key])})" if groups[key] and key != "high" else "")
        for key, label in (("high", "at least 0.9"), ("middle", "between 0.5 and 0.9"), ("low", "below 0.5"))
    )
    text = (
        "- **Where the answer is known** (the synthetic tasks, seed 0), the share of samples whose top step by "
        f"attention decides the answer is {counted} models."
    )
    if gradient_hits:
        text += (
            " Below 0.5, the attention does not show where the decision comes from, while gradient × input finds "
            f"the deciding step in {min(gradient_hits):.2f} to {max(gradient_hits):.2f} of the samples."
        )
    text += "\n"
    imdb = Record("imdb_table", root)
    audits = audit_means(imdb.runs()).set_index("attention") if imdb else None
    if audits is not None and "luong" in audits.index:
        row = audits.loc["luong"]
        taus = (row["audit_tau_gradient"], row["audit_tau_leave_one_out"])
        unrelated = max(abs(t) for t in taus) < 0.1
        text += (
            f"- **On IMDB** ({int(row['audited'])} audited runs of `luong`), the attention's ranking of the words "
            f"{'is unrelated to' if unrelated else 'agrees in part with'} the importances': τ {taus[0]:.2f} with the "
            f"gradient and {taus[1]:.2f} with leave-one-out, where a random ranking gives 0. Erasing its largest "
            f"weight flips {row['audit_flip_largest']:.3f} of the decisions, a random weight "
            f"{row['audit_flip_random']:.3f}. "
            + (
                "Jain & Wallace's verdict holds for this model: its weights do not explain its decisions.\n"
                if unrelated
                else "\n"
            )
        )
    return text


# The papers' IMDB figures (../shared/FAITHFULNESS.md): Jain & Wallace's Table 2 (BiLSTM + additive
# attention; mean τ over test reviews), Wiegreffe & Pinter's Table 2 (F1 of the positive class).
PAPERS_IMDB = {"tau_gradient": 0.37, "tau_leave_one_out": 0.30, "f1_learned": 0.902, "f1_uniform": 0.879}


@block("faithfulness_imdb", record="imdb_table")
def block_faithfulness_imdb(record):
    """The IMDB table's audits and its uniform baseline beside the papers' figures."""
    runs = record.runs()
    audits = audit_means(runs).set_index("attention")
    spread = (
        runs[runs.status == "completed"].reindex(columns=["attention", *audit_columns()]).groupby("attention").std()
    )
    honest = group_statistics(runs, "test_accuracy").set_index("attention")

    def tau(variant, column):
        if variant not in audits.index or pd.isna(audits.loc[variant, column]):
            return "undefined (constant weights)" if variant == EQUAL_WEIGHTS else "not audited yet"
        n = int(audits.loc[variant, "audited"])
        deviation = spread.loc[variant, column]
        return f"{audits.loc[variant, column]:.2f}" + (f" ± {deviation:.2f}" if n > 1 else "") + f" ({n} runs)"

    def accuracy(variant):
        if variant not in honest.index:
            return "not run yet"
        return f"{honest.loc[variant, 'avg']:.2f}% ({int(honest.loc[variant, 'n'])} runs)"

    rows = [
        (
            "τ attention vs gradient",
            f"{PAPERS_IMDB['tau_gradient']:.2f}",
            tau("luong", "audit_tau_gradient"),
            tau("uniform", "audit_tau_gradient"),
        ),
        (
            "τ attention vs leave-one-out",
            f"{PAPERS_IMDB['tau_leave_one_out']:.2f}",
            tau("luong", "audit_tau_leave_one_out"),
            tau("uniform", "audit_tau_leave_one_out"),
        ),
        ("test score, learned weights", f"F1 {PAPERS_IMDB['f1_learned']:.3f}", f"accuracy {accuracy('luong')}", "–"),
        ("test score, uniform weights", f"F1 {PAPERS_IMDB['f1_uniform']:.3f}", "–", f"accuracy {accuracy('uniform')}"),
    ]
    text = table(["IMDB", "published (Jain & Wallace; Wiegreffe & Pinter)", "here: `luong`", "here: `uniform`"], rows)
    padding = _padding_share(record, "luong")
    if padding is not None:
        text += (
            f"\n- Attention on padding (the original model does not mask it), mean over the audited `luong` runs: "
            f"{padding:.2f} of each review's weight.\n"
        )
    return text


def _padding_share(record, attention):
    """The mean share of each review's attention on padding over the record's audited runs, or None."""
    audits = [RunDir(d).audit() for d, m, _ in record.jobs if m["attention"] == attention]
    shares = [(audit.get("attention_on_padding") or {}).get("mean", 0.0) for audit in audits if audit]
    return sum(shares) / len(shares) if shares else None


@block("imdb_padding")
def block_imdb_padding(root):
    """imdb_quick (the original, unmasked model) beside imdb_quick_masked: accuracy and faithfulness."""
    records = {
        "unmasked (the original)": Record("imdb_quick", root),
        "masked (`mask_zero=true`)": Record("imdb_quick_masked", root),
    }
    if not all(records.values()):
        return "\n".join(missing(r.name) for r in records.values() if not r) + "\n"
    runs = {label: r.runs() for label, r in records.items()}  # each summary.csv read once
    columns = {
        label: (
            group_statistics(runs[label], "test_accuracy").set_index("attention"),
            audit_means(runs[label]).set_index("attention"),
            r,
        )
        for label, r in records.items()
    }

    def accuracy(variant):
        return lambda honest, audits, record: (
            f"{honest.loc[variant, 'avg']:.2f}% (n={int(honest.loc[variant, 'n'])})" if variant in honest.index else "–"
        )

    def audited(column, digits=2):
        return lambda honest, audits, record: (
            number(audits.loc["luong", column], digits) if "luong" in audits.index else "not audited yet"
        )

    def padding(honest, audits, record):
        share = _padding_share(record, "luong")
        return "not audited yet" if share is None else f"{share:.3f}"

    rows = [
        ("honest accuracy, `luong`", accuracy("luong")),
        ("honest accuracy, `none`", accuracy("none")),
        ("`luong`: attention on padding, per review", padding),
        ("`luong`: τ attention vs gradient", audited("audit_tau_gradient")),
        ("`luong`: τ attention vs leave-one-out", audited("audit_tau_leave_one_out")),
        ("`luong`: decisions flipped by erasing the largest weight", audited("audit_flip_largest", 3)),
        ("`luong`: … by erasing a random weight", audited("audit_flip_random", 3)),
    ]
    return table(
        ["5,000 reviews of 200 words, 3 epochs, seeds 0 to 2", *columns],
        [(label, *(cell(*columns[c]) for c in columns)) for label, cell in rows],
    )


# Jain & Wallace's IMDB figures (../shared/FAITHFULNESS.md): mean τ, and the share of reviews with
# p ≤ 0.05 over their two predicted classes; τ(gradient, leave-one-out) is the retrained model's in
# their repository (the paper gives none). F1 and accuracy: Wiegreffe & Pinter's F1, their ≈ 0.90.
JAIN_WALLACE = {
    "audit_tau_gradient": "0.37",
    "audit_significant_gradient": "0.99–1.00",
    "audit_tau_leave_one_out": "0.30",
    "audit_significant_leave_one_out": "0.98–0.99",
    "audit_tau_gradient_vs_leave_one_out": "0.52 (retrained)",
    "test_f1": "0.902 (W&P)",
    "test_accuracy": "≈ 0.90",
    "audit_attention_on_padding": "0 (masked)",
}


# The columns of the reference table: (heading, record, attention variant).
REFERENCE_COLUMNS = (
    ("their model here, `tanh`", "imdb_jain_wallace", "tanh"),
    ("their model here, `uniform`", "imdb_jain_wallace", "uniform"),
    ("the original model masked, `luong`", "imdb_table_masked", "luong"),
    ("the original model unmasked, `luong`", "imdb_table", "luong"),
)


def variant_runs(record, attention):
    """One row per completed job of `attention`: its test scores, whether it was audited, and its
    audit's numbers (NaN where it has none)."""
    rows = []
    for job_dir, metrics, _ in record.jobs:
        if metrics["attention"] == attention:
            test = metrics.get("test") or {}
            audit = RunDir(job_dir).audit()
            rows.append({"test_accuracy": test.get("accuracy"), "test_f1": test.get("f1"), "audited": bool(audit)})
            rows[-1].update(audit_values(audit))
    return pd.DataFrame(rows)


def mean_cell(runs, column, attention, digits=2):
    """Mean ± std over the runs that have `column`, with their count."""
    if runs.empty:
        return "not run yet"
    if column.startswith("audit_") and not runs.audited.any():
        return "not audited yet"
    if attention == EQUAL_WEIGHTS and column in attention_ranked_columns():
        return "undefined (equal weights)"
    values = pd.to_numeric(runs[column], errors="coerce").dropna()
    if values.empty:
        # The audit reports padding only where the model does not mask it.
        return "0 (masked)" if column == "audit_attention_on_padding" else "not recorded"
    text = f"{values.mean():.{digits}f}"
    if len(values) > 1:
        text += f" ± {values.std(ddof=1):.{digits}f}"
    return f"{text} (n={len(values)})"


@block("faithfulness_reference")
def block_faithfulness_reference(root):
    """Jain & Wallace's IMDB figures beside their model trained here (learned and uniform) and
    the original model, masked and unmasked: agreement, scores, erasure and ERASER."""
    records = {name: Record(name, root) for name in {name for _, name, _ in REFERENCE_COLUMNS}}
    runs = {(name, attention): variant_runs(records[name], attention) for _, name, attention in REFERENCE_COLUMNS}
    rows = [
        ("τ attention vs gradient", "audit_tau_gradient", 2),
        ("… reviews with p ≤ 0.05", "audit_significant_gradient", 2),
        ("τ attention vs leave-one-out", "audit_tau_leave_one_out", 2),
        ("… reviews with p ≤ 0.05", "audit_significant_leave_one_out", 2),
        ("τ gradient vs leave-one-out", "audit_tau_gradient_vs_leave_one_out", 2),
        ("F1, positive class", "test_f1", 3),
        ("accuracy", "test_accuracy", 3),
        ("decisions flipped, largest weight erased", "audit_flip_largest", 3),
        ("… a random weight erased", "audit_flip_random", 3),
        # ERASER's AOPC by explanation, as the audit's measure declares them.
        *((label, column, 3) for column, (path, label) in audit_columns().items() if path[0] == "eraser"),
        ("attention on padding, per review", "audit_attention_on_padding", 3),
    ]
    text = table(
        ["IMDB", "Jain & Wallace, published", *(heading for heading, _, _ in REFERENCE_COLUMNS)],
        [
            (
                label,
                JAIN_WALLACE.get(column, "–"),
                *(
                    mean_cell(runs[name, attention], column, attention, digits)
                    for _, name, attention in REFERENCE_COLUMNS
                ),
            )
            for label, column, digits in rows
        ],
    )
    unrecorded = [name for name, record in records.items() if not record]
    return text + "".join("\n" + missing(name) for name in sorted(unrecorded))
