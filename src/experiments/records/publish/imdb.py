"""The IMDB page: the 10-run table of keras-attention (original 004) run again, and the reduced sweep."""

import math
from datetime import datetime, timedelta

from omegaconf import OmegaConf

from experiments.records.publish.engine import block
from experiments.records.publish.format import minutes, p_in_words, table
from experiments.records.publish.record import Record, compared, missing, sweep_statistics
from experiments.records.publish.results import cpu_label
from experiments.records.report import PUBLISHED as ORIGINALS_PUBLISHED
from experiments.records.stats import PROTOCOLS, audit_means, differences, group_statistics, number


@block("imdb_quick")
def block_imdb_quick(root):
    return sweep_statistics("imdb_quick", root)


def _span(record):
    """(first start, last end) of the record's jobs, from their provenance."""
    starts, ends = [], []
    for _, metrics, _ in record.jobs:
        started = (metrics.get("provenance") or {}).get("started")
        if started:
            start = datetime.fromisoformat(started)
            starts.append(start)
            ends.append(start + timedelta(seconds=metrics.get("wall_time_s") or 0))
    return (min(starts), max(ends)) if starts else (None, None)


@block("imdb_verdict", record="imdb_table")
def block_imdb_verdict(record):
    """The IMDB table's findings in a few sentences: the honest differences, and how flat the
    attention is against uniform weights."""
    runs = record.runs()
    said = [text for *_, text in compared(runs, (("luong", "none"), ("luong", "uniform")))]
    text = (
        f"- **Accuracy** ({int((runs.status == 'completed').sum())} runs, honest protocol): " + "; ".join(said) + ".\n"
    )
    found = record.find("imdb", "luong", seed=0)
    if found:
        _, metrics, config = found
        quality, steps = metrics["attention_quality"], config.task.data.maxlen
        text += (
            f"- **Where `luong` looks** (seed 0, the test reviews): a mean peak weight of "
            f"{quality['mean_peak_weight']:.4f} against {1 / steps:.4f} for uniform weights over its {steps} "
            f"positions, and an entropy of {quality['mean_entropy_nats']:.2f} nats of at most "
            f"ln {steps} = {math.log(steps):.2f}"
            + (": nearly flat.\n" if quality["mean_entropy_nats"] > 0.95 * math.log(steps) else ".\n")
        )
    return text


@block("imdb_table", record="imdb_table")
def block_imdb_table(record):
    """The original's 10-run table beside ours: both protocols, Welch's p, times."""
    runs = record.runs()
    theirs = ORIGINALS_PUBLISHED["imdb"]["attention"]
    variants = [v for v in ("luong", "uniform", "none", "bahdanau") if v in set(runs.attention)]
    stats = {column: group_statistics(runs, column).set_index("attention") for column in PROTOCOLS}
    original_protocol, honest = stats["max_test_accuracy"], stats["test_accuracy"]
    header = ["accuracy in %"]
    for variant in variants:
        header += [f"`{variant}`: the original", f"`{variant}`: here"] if variant in theirs else [f"`{variant}`: here"]

    def cells(ours, published=None):
        row = []
        for variant in variants:
            if variant in theirs:
                row.append(published(theirs[variant]) if published else "–")
            row.append(ours(variant))
        return row

    def ours(frame, key, digits=2):
        return lambda v: number(frame.loc[v, key], digits) if v in frame.index else "–"

    def interval(frame):
        return lambda v: (
            f"[{number(frame.loc[v, 'ci_low'])}, {number(frame.loc[v, 'ci_high'])}]" if v in frame.index else "–"
        )

    done = runs[runs.status == "completed"]
    params = done.groupby("attention").params.first()
    # The median: a run that waited (a paused sweep, a busy machine) does not move it.
    median_time = done.groupby("attention").wall_time_s.median()
    rows = [
        [
            "n runs",
            *cells(lambda v: int(original_protocol.loc[v, "n"]) if v in original_protocol.index else 0, lambda s: 10),
        ],
        ["MAX accuracy, original's protocol", *cells(ours(original_protocol, "max"), lambda s: f"{s['max']:.2f}")],
        ["AVG accuracy, original's protocol", *cells(ours(original_protocol, "avg"), lambda s: f"{s['avg']:.2f}")],
        ["STDDEV, original's protocol", *cells(ours(original_protocol, "stddev"), lambda s: f"{s['stddev']:.2f}")],
        ["AVG accuracy, honest protocol", *cells(ours(honest, "avg"))],
        ["95% CI of the mean, honest", *cells(interval(honest))],
        ["parameters", *cells(lambda v: f"{int(params[v]):,}" if v in params.index else "–")],
        ["time per run (median)", *cells(lambda v: minutes(median_time[v]) if v in median_time.index else "–")],
    ]
    audits = audit_means(runs).set_index("attention")
    if not audits.empty:

        def audited(column, digits=2):
            return lambda v: number(audits.loc[v, column], digits) if v in audits.index else "–"

        rows += [
            [
                "runs audited (`audit.json`)",
                *cells(lambda v: int(audits.loc[v, "audited"]) if v in audits.index else "–"),
            ],
            ["τ attention vs gradient (mean)", *cells(audited("audit_tau_gradient"))],
            ["τ attention vs leave-one-out (mean)", *cells(audited("audit_tau_leave_one_out"))],
            ["decisions flipped by erasing the largest weight", *cells(audited("audit_flip_largest", 3))],
            ["… by erasing a random weight", *cells(audited("audit_flip_random", 3))],
        ]
    text = table(header, rows)
    for column, protocol in (
        ("max_test_accuracy", "the original's protocol"),
        ("test_accuracy", "the honest protocol"),
    ):
        for row in differences(runs, column).itertuples():
            text += f"\n- In {protocol}: {row.a} − {row.b} = {row.difference:+.2f} points, Welch p {p_in_words(row.p_value)}."
    first, last = _span(record)
    launched = {(m.get("provenance") or {}).get("cores") for _, m, _ in record.jobs}
    threads = sorted({m.get("threads") for _, m, _ in record.jobs}, key=str)
    to_run = runs[runs.status != "completed"]
    text += (
        f"\n- {len(done)} runs completed"
        + (f", {len(to_run)} still to run" if len(to_run) else "")
        + f"; {minutes(done.wall_time_s.sum())} of run time in all, "
        f"threads per run {', '.join(map(str, threads))} on {', '.join(map(str, launched))}-core machines. "
        f"Wall time of the table, from the first run's start to the last run's end: {minutes((last - first).total_seconds())}.\n"
    )
    return text


@block("imdb_rerun")
def block_imdb_rerun(root):
    """The IMDB table's first job (seed 0, `luong`) as its record holds it, beside the same config
    run again later (the imdb_words record): what drifted, and on what code and CPU each ran."""
    jobs = [Record(name, root).find("imdb", "luong", seed=0) for name in ("imdb_table", "imdb_words")]
    if not all(jobs):
        return missing("imdb_table" if not jobs[0] else "imdb_words")
    rows = [
        ["made at commit", *(f"`{(m.get('provenance') or {}).get('commit', '?')[:7]}`" for _, m, _ in jobs)],
        ["on", *(cpu_label(m.get("provenance") or {}) for _, m, _ in jobs)],
        ["best epoch (of 10)", *(str(m.get("best_epoch")) for _, m, _ in jobs)],
        ["test accuracy", *(f"{m['test']['accuracy']:.5f}" for _, m, _ in jobs)],
        ["mean peak weight", *(f"{m['attention_quality']['mean_peak_weight']:.5f}" for _, m, _ in jobs)],
        ["mean entropy, nats", *(f"{m['attention_quality']['mean_entropy_nats']:.3f}" for _, m, _ in jobs)],
    ]
    return table(["seed 0, `luong`", "`imdb_table`'s record", "run again (`imdb_words`)"], rows)


BEST_VARIANTS = ("luong", "uniform", "none")


def _setting(config):
    """The searched settings of a run's config, in words: learning rate, LSTM, and the head's size."""
    head = (
        f"Dense({config.task.model.baseline_dense_units})"
        if config.attention.layer is None
        else f"{config.attention.layer.units} units"
    )
    return f"lr {config.trainer.optimizer.learning_rate:.2g}, LSTM {config.task.model.lstm_units}, {head}"


def _mean_and_interval(table, variant):
    rows = table[table.attention == variant]
    if rows.empty:
        return "–"
    row = rows.iloc[0]
    return f"{row.avg:.2f} [{row.ci_low:.2f}, {row.ci_high:.2f}] ({row.n} runs)"


@block("imdb_best", record="imdb_best")
def block_imdb_best(record):
    """Each variant at the best setting its own search found, over seeds, beside the same size at
    the default setting (imdb_quick), and the honest differences."""
    root = record.path.parent
    runs = record.runs()
    column = next(iter(PROTOCOLS))  # the honest protocol: the epoch kept by validation
    best = group_statistics(runs, column)
    default_record = Record("imdb_quick", root)
    default = group_statistics(default_record.runs(), column) if default_record else best.iloc[0:0]
    rows, searched_s = [], 0.0
    for variant in BEST_VARIANTS:
        found = record.find("imdb", variant)
        if found is None:
            continue
        study = Record(f"imdb_search_{variant}", root)
        trials = len(study.jobs)
        searched_s += sum(metrics.get("wall_time_s") or 0 for _, metrics, _ in study.jobs)
        results = study.path / "optimization_results.yaml"  # the study's best trial, as the sweeper wrote it
        best_value = OmegaConf.load(results).best_value if results.is_file() else None
        rows.append(
            [
                f"`{variant}`",
                _setting(found[2]),
                f"{trials} ([record]({study.link('summary.md')}))" if study else "–",
                number(None if best_value is None else best_value * 100),
                _mean_and_interval(best, variant),
                _mean_and_interval(default, variant),
            ]
        )
    header = [
        "variant",
        "its best setting",
        "trials",
        "best validation accuracy, %",
        "test accuracy at it, % [95% CI]",
        "at the default setting (`imdb_quick`)",
    ]
    done = runs[runs.status == "completed"]
    return (
        table(header, rows)
        + "\n"
        + _best_differences(runs)
        + f"\nThe searches: {minutes(searched_s)} of training in all; the runs at the best settings: "
        f"{len(done)} runs, {minutes(done.wall_time_s.sum())} (`wall_time_s`, summed). "
        f"Record: [{record.link()}]({record.link('summary.md')}).\n"
    )


def _best_differences(runs):
    """The honest differences between the variants at their best settings, one line each."""
    pairs = (("luong", "none"), ("uniform", "none"), ("luong", "uniform"))
    return "".join(f"- {text}.\n" for *_, text in compared(runs, pairs, next(iter(PROTOCOLS))))


@block("imdb_best_verdict", record="imdb_best")
def block_imdb_best_verdict(record):
    """The differences of imdb_best alone, for the README."""
    runs = record.runs()
    return (
        f"Each variant at its own best setting ({int((runs.status == 'completed').sum())} runs):\n\n"
        + _best_differences(runs)
    )
