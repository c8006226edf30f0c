"""`python -m experiments.publish [--check]`: the README's result tables, rendered from docs/results/.

Every measured number in the README stands between a pair of markers,

    <!-- results:NAME -->
    ...
    <!-- /results:NAME -->

and this module writes what is between them from the committed records. A figure of a record is
`<!-- results:figure RECORD/PATH | caption -->`, drawn once the record holds it. `--check` writes nothing
and exits 1 when the README differs from what the records render (a test runs it). A block whose
record is not there yet says so, with the command that makes it.
"""

import argparse
import json
import re
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from experiments.records.describe import test_text
from experiments.records.report import PUBLISHED as SEEDS_PUBLISHED
from experiments.records.results import COMMANDS, OTHER_CPUS, other_cpu_records
from experiments.records.stats import (
    AUDIT_COLUMNS,
    EXPLANATIONS,
    PROTOCOLS,
    audit_means,
    audit_values,
    differences,
    group_statistics,
    number,
    p_value_text,
    statistics_table,
)
from experiments.run.catalog import quality_text
from experiments.run.config import attention_family
from experiments.run.files import SUITE_ROOT, read_audit, read_runs
from experiments.trained.neighbours import METHODS


def _p(p):
    """ "= 0.0033", or "< 0.0001": for "Welch p ..." in a sentence."""
    text = p_value_text(p)
    return text if text.startswith("<") else f"= {text}"


README = SUITE_ROOT / "README.md"
RECORDS = SUITE_ROOT / "docs" / "results"
BLOCK = re.compile(
    r"(<!-- results:(?P<name>[\w-]+)(?: (?P<argument>[^>]*?))? -->\n)(?P<body>.*?)(<!-- /results:(?P=name) -->)", re.S
)
SCORES = attention_family("scores")  # every learned score, as the *_scores sweeps run them
SEED_000_TASKS = ["dense", "lstm_before", "lstm_after", "multidim_per_dim", "multidim_shared"]


class PublishError(ValueError):
    """The README cannot be rendered; the message is one line."""


# --- reading records ---------------------------------------------------------------------------

# While `numbers_read` runs: {job directory: names of the numbers a block read from its metrics}.
_READS = ContextVar("publish_reads", default=None)


class _ReadNumbers(dict):
    """A job's metrics that note each number a block reads (`test.accuracy`, ...): what the README
    publishes of that job, and so what `verify` judges on another machine."""

    def __init__(self, values, seen, prefix=""):
        super().__init__(values)
        self._seen, self._prefix = seen, prefix

    def _noted(self, key, value):
        name = f"{self._prefix}{key}"
        if isinstance(value, dict):
            return _ReadNumbers(value, self._seen, f"{name}.")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self._seen.add(name)
        return value

    def __getitem__(self, key):
        return self._noted(key, super().__getitem__(key))

    def get(self, key, default=None):
        return self._noted(key, super().__getitem__(key)) if key in self else default


@contextmanager
def numbers_read():
    """Within it, records note which numbers of each job the blocks read: yields
    {resolved job directory: {metric name, ...}}."""
    reads = {}
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)


class Record:
    """The completed jobs of one record directory under docs/results/."""

    def __init__(self, name, root=RECORDS):
        self.name = name
        self.path = Path(root) / name
        self.jobs = []  # (job directory, metrics, config)
        if self.path.is_dir():
            for job_dir, metrics in sorted(read_runs(self.path), key=lambda item: str(item[0])):
                if metrics.get("status") == "completed":
                    if (reads := _READS.get()) is not None:
                        metrics = _ReadNumbers(metrics, reads.setdefault(Path(job_dir).resolve(), set()))
                    config_file = job_dir / ".hydra" / "config.yaml"
                    config = OmegaConf.load(config_file) if config_file.is_file() else None
                    self.jobs.append((job_dir, metrics, config))

    def __bool__(self):
        return bool(self.jobs)

    def find(self, task, attention=None, seed=None):
        """(job directory, metrics, config) of the first job of `task` (and `attention`, `seed`
        where given), or None."""
        for job_dir, metrics, config in self.jobs:
            if (
                metrics["task"] == task
                and attention in (None, metrics["attention"])
                and seed in (None, metrics["seed"])
            ):
                return job_dir, metrics, config
        return None

    def job(self, task, attention, seed=None):
        """(metrics, config) of the job, or (None, None)."""
        found = self.find(task, attention, seed)
        return found[1:] if found else (None, None)

    def runs(self):
        """The record's summary.csv, re-read (one row per job)."""
        return pd.read_csv(self.path / "summary.csv")

    def link(self, relative=""):
        return (Path("docs/results") / self.name / relative).as_posix()


def _missing(name):
    return f"_Not recorded yet: `make results ONLY={name}` runs it and writes `docs/results/{name}/`._\n"


# --- formatting --------------------------------------------------------------------------------


def _minutes(seconds):
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    minutes = round(seconds / 60)  # rounded once: 7 h 59.6 min is 8 h 00 min, not 7 h 60 min
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _epochs(metrics):
    best = metrics.get("best_epoch")
    return f"{metrics['epochs']}" + (f" (best {best})" if best and best != metrics["epochs"] else "")


# --- the blocks --------------------------------------------------------------------------------


def block_tasks(root):
    """One row per task at its default size and variant, seed 0: where it looks, how well it does."""
    sources = [("seed_000_readme", task, None) for task in SEED_000_TASKS]
    sources += [
        ("add_two_numbers_scores", "add_two_numbers", "bahdanau"),
        ("find_max_scores", "find_max", "luong"),
        ("dates_scores", "dates", "bahdanau"),
        ("imdb_table", "imdb", "luong"),
    ]
    rows = []
    records = {name: Record(name, root) for name in dict.fromkeys(name for name, _, _ in sources)}  # each read once
    for name, task, attention in sources:
        record = records[name]
        found = record.find(task, attention, seed=0)
        if not found:
            rows.append((f"`{task}`", "–", "not recorded yet", "–", "–", "–", f"`make results ONLY={name}`"))
            continue
        _, metrics, config = found
        rows.append(
            (
                f"`{task}`",
                f"`{metrics['attention']}`",
                quality_text(task, metrics.get("attention_quality")),
                test_text(metrics, config),
                _epochs(metrics),
                _time(metrics),
                f"[{name}]({record.link()})",
            )
        )
    return _table(["task", "attention", "where it looks (test data)", "test", "epochs", "time", "record"], rows)


def block_lstm_after_variants(root):
    record = Record("lstm_after_variants", root)
    if not record:
        return _missing("lstm_after_variants")
    rows = []
    for _, metrics, config in record.jobs:
        quality = metrics["attention_quality"]
        rows.append(
            (
                f"`{metrics['attention']}`",
                quality["peak_index"],
                f"{quality['peak_weight']:.3f}",
                f"{quality['runner_up_weight']:.3f}",
                test_text(metrics, config),
            )
        )
    return _table(["attention", "peak step (label at 10)", "peak weight", "runner-up", "test"], rows)


def block_scores(root):
    """add_two_numbers and find_max with every score, side by side."""
    records = {task: Record(f"{task}_scores", root) for task in ("add_two_numbers", "find_max")}
    if not any(records.values()):
        return _missing("add_two_numbers_scores") + "\n" + _missing("find_max_scores")
    quality_key = {"add_two_numbers": "hit_rate", "find_max": "argmax_accuracy"}
    rows = []
    for score in SCORES:
        cells = [f"`{score}`"]
        for task, record in records.items():
            metrics, _ = record.job(task, score)
            if metrics is None:
                cells += ["–"] * 3
                continue
            cells += [
                f"{metrics['attention_quality'][quality_key[task]]:.3f}",
                f"{metrics['test']['loss']:.4f}",
                _epochs(metrics),
            ]
        rows.append(cells)
    return _table(
        ["score", "`add_two_numbers`: hit rate", "MAE", "epochs", "`find_max`: argmax accuracy", "MAE", "epochs"], rows
    )


def block_dates_scores(root):
    record = Record("dates_scores", root)
    if not record:
        return _missing("dates_scores")
    rows = []
    for score in SCORES:
        metrics, _ = record.job("dates", score)
        if metrics is None:
            continue
        test, quality = metrics["test"], metrics["attention_quality"]
        rows.append(
            (
                f"`{score}`",
                f"{test['exact_match']:.3f}",
                f"{test['char_accuracy']:.4f}",
                f"{quality['field_hit_rate']:.3f}",
                f"{quality['day_hit_rate']:.3f}",
                f"{quality['month_hit_rate']:.3f}",
                f"{quality['year_hit_rate']:.3f}",
                f"{quality['mass_on_field']:.3f}",
                _epochs(metrics),
                _time(metrics),
            )
        )
    return _table(
        [
            "score",
            "exact match",
            "char accuracy",
            "field hit rate",
            "day",
            "month",
            "year",
            "weight on field",
            "epochs",
            "time",
        ],
        rows,
    )


def _protocol_tables(runs):
    """Both protocols' statistics and the variants' difference, as summary.md gives them."""
    text = ""
    for column, title in PROTOCOLS.items():
        table = group_statistics(runs, column)
        if table.empty:
            continue
        text += f"\n{title}:\n\n" + "\n".join(statistics_table(table)) + "\n"
        for row in differences(runs, column).itertuples():
            text += f"\n{row.a} − {row.b}: {row.difference:+.2f} points, Welch p {_p(row.p_value)}.\n"
    return text.lstrip("\n")


def _sweep_statistics(name, root):
    """A sweep record's statistics as summary.md gives them, its run count, time and link."""
    record = Record(name, root)
    if not record:
        return _missing(name)
    runs = record.runs()
    done = runs[runs.status == "completed"]
    return (
        _protocol_tables(runs) + f"\n{len(done)} runs, {_minutes(done.wall_time_s.sum())} of training in all "
        f"(`wall_time_s`, summed). Record: [{record.link()}]({record.link('summary.md')}).\n"
    )


def block_imdb_quick(root):
    return _sweep_statistics("imdb_quick", root)


def block_sequences_example(root):
    return _sweep_statistics("sequences_example", root)


def block_sequences_neighbours(root):
    """The archive's 1-NN benchmarks on the example's test samples, and each attention variant's
    mean (honest protocol) against the best of them."""
    path = Path(root) / "sequences_neighbours" / "neighbours.json"
    if not path.is_file():
        return _missing("sequences_neighbours")
    made = json.loads(path.read_text())
    split, methods = made["split"], made["methods"]
    text = (
        f"The UEA archive's nearest-neighbour benchmarks, run on the same {split['test']} test samples "
        f"(classified from the {split['train']} others; full warping window, the features as recorded):\n\n"
    )
    text += _table(
        ["baseline", "test accuracy %", "time"],
        [(METHODS[name], f"{100 * m['accuracy']:.2f}", _minutes(m["seconds"])) for name, m in methods.items()],
    )
    best_name, best = max(methods.items(), key=lambda item: item[1]["accuracy"])
    record = Record("sequences_example", root)
    if record:
        means = group_statistics(record.runs(), "test_accuracy")
        gaps = ", ".join(f"{row.attention} {row.avg - 100 * best['accuracy']:+.2f}" for row in means.itertuples())
        text += (
            f"\nEach variant's mean test accuracy over its seeds (honest protocol, above) minus the best "
            f"of them (`{best_name}`), in points: {gaps}.\n"
        )
    return text + (
        "\nRecord: [docs/results/sequences_neighbours](docs/results/sequences_neighbours/neighbours.md) "
        "(`make results ONLY=sequences_neighbours`).\n"
    )


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


def block_imdb_table(root):
    """The seed's 10-run table beside ours: both protocols, Welch's p, times."""
    record = Record("imdb_table", root)
    if not record:
        return _missing("imdb_table")
    runs = record.runs()
    seed_said = SEEDS_PUBLISHED["imdb"]["attention"]
    variants = [v for v in ("luong", "uniform", "none", "bahdanau") if v in set(runs.attention)]
    stats = {column: group_statistics(runs, column).set_index("attention") for column in PROTOCOLS}
    seeds_protocol, honest = stats["max_test_accuracy"], stats["test_accuracy"]
    header = ["accuracy in %"]
    for variant in variants:
        header += [f"`{variant}`: the seed", f"`{variant}`: here"] if variant in seed_said else [f"`{variant}`: here"]

    def cells(ours, published=None):
        row = []
        for variant in variants:
            if variant in seed_said:
                row.append(published(seed_said[variant]) if published else "–")
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
    minutes = done.groupby("attention").wall_time_s.median()
    rows = [
        ["n runs", *cells(lambda v: int(seeds_protocol.loc[v, "n"]) if v in seeds_protocol.index else 0, lambda s: 10)],
        ["MAX accuracy, seed's protocol", *cells(ours(seeds_protocol, "max"), lambda s: f"{s['max']:.2f}")],
        ["AVG accuracy, seed's protocol", *cells(ours(seeds_protocol, "avg"), lambda s: f"{s['avg']:.2f}")],
        ["STDDEV, seed's protocol", *cells(ours(seeds_protocol, "stddev"), lambda s: f"{s['stddev']:.2f}")],
        ["AVG accuracy, honest protocol", *cells(ours(honest, "avg"))],
        ["95% CI of the mean, honest", *cells(interval(honest))],
        ["parameters", *cells(lambda v: f"{int(params[v]):,}" if v in params.index else "–")],
        ["time per run (median)", *cells(lambda v: _minutes(minutes[v]) if v in minutes.index else "–")],
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
    text = _table(header, rows)
    for column, protocol in (("max_test_accuracy", "the seed's protocol"), ("test_accuracy", "the honest protocol")):
        for row in differences(runs, column).itertuples():
            text += f"\n- In {protocol}: {row.a} − {row.b} = {row.difference:+.2f} points, Welch p {_p(row.p_value)}."
    first, last = _span(record)
    launched = {(m.get("provenance") or {}).get("cores") for _, m, _ in record.jobs}
    threads = sorted({m.get("threads") for _, m, _ in record.jobs}, key=str)
    missing = runs[runs.status != "completed"]
    text += (
        f"\n- {len(done)} runs completed"
        + (f", {len(missing)} still to run" if len(missing) else "")
        + f"; {_minutes(done.wall_time_s.sum())} of run time in all, "
        f"threads per run {', '.join(map(str, threads))} on {', '.join(map(str, launched))}-core machines. "
        f"Wall time of the table, from the first run's start to the last run's end: {_minutes((last - first).total_seconds())}.\n"
    )
    return text


def cpu_label(made):
    """A CPU in a few words from a run's provenance: 'AMD EPYC, AVX-512 (family 25 model 17)'."""
    isa = made.get("cpu_isa") or []
    widest = (
        "AVX-512" if "avx512f" in isa else "AVX2" if "avx2" in isa else "no AVX2" if isa else "instruction sets unknown"
    )
    signature = f" ({made['cpu_signature']})" if made.get("cpu_signature") else ""
    return f"{made.get('cpu')}, {widest}{signature}"


def _peaks(record):
    """{task: attention_quality} of a seed-000 record."""
    return {m["task"]: m["attention_quality"] for _, m, _ in record.jobs}


def _peak_text(quality):
    if not quality:
        return "–"
    return f"{quality['peak_weight']:.4f} ({quality['runner_up_weight']:.4f}) at {quality['peak_index']}"


def _largest_gap(peaks, other, key="peak_weight"):
    """The largest |difference| of `key` between two records over the tasks both hold."""
    return max((abs(peaks[t][key] - other[t][key]) for t in SEED_000_TASKS if t in peaks and t in other), default=0.0)


def block_cpu_drift(root):
    """The seed-000 tasks on real CPUs side by side (the record, and cpus/* made on other CPUs), and
    on the record's CPU with oneDNN capped at AVX2 and off, with what the simulation predicts."""
    base = Record("seed_000_readme", root)
    simulated = [
        (Record("cpu_drift/avx2", root), "oneDNN capped at AVX2"),
        (Record("cpu_drift/no_onednn", root), "oneDNN off"),
    ]
    if not base or not all(record for record, _ in simulated):
        return _missing("cpu_drift")
    machines = [(Record(f"{OTHER_CPUS}/{label}", root), label) for label in other_cpu_records(root)]
    machines = [(record, label, _peaks(record)) for record, label in machines if record]
    base_peaks = _peaks(base)
    simulated = [(record, what, _peaks(record)) for record, what in simulated]
    header = ["task", f"{cpu_label(base.jobs[0][1]['provenance'])}: the record's CPU"]
    header += [f"{cpu_label(r.jobs[0][1]['provenance'])}: {label}" for r, label, _ in machines]
    header += [f"the record's CPU, {what}" for _, what, _ in simulated]
    columns = [base_peaks, *(peaks for *_, peaks in machines + simulated)]
    rows = [[f"`{task}`"] + [_peak_text(peaks.get(task)) for peaks in columns] for task in SEED_000_TASKS]
    text = _table(header, rows) + "\n"
    base_jobs = {m["task"]: m for _, m, _ in base.jobs}
    for record, label, other in machines:
        same = [t for t in SEED_000_TASKS if t in other and _peak_text(other[t]) == _peak_text(base_peaks.get(t))]
        text += f"{cpu_label(record.jobs[0][1]['provenance'])} ([{label}]({record.link()})): "
        if len(same) == len(SEED_000_TASKS):
            equal = all(
                m["test"] == base_jobs[m["task"]]["test"]
                and m["attention_quality"] == base_jobs[m["task"]]["attention_quality"]
                for _, m, _ in record.jobs
            )
            text += f"all {len(same)} tasks show the record's numbers" + (
                ", and every test metric and attention measure equals the record's to the last digit.\n\n"
                if equal
                else " to the digits above.\n\n"
            )
            continue
        gap = _largest_gap(other, base_peaks)
        text += (
            f"{len(same)} of {len(SEED_000_TASKS)} tasks show the record's numbers to the digits above"
            + (f" ({', '.join(f'`{t}`' for t in same)})" if same else "")
            + f"; the peak weights of the others differ by up to {gap:.4f}. The simulations on the "
            "record's CPU miss this CPU's peak weights by: "
            + "; ".join(f"{what}, up to {_largest_gap(peaks, other):.4f}" for _, what, peaks in simulated)
            + f" (the record itself misses them by up to {gap:.4f}).\n\n"
        )
    return text + (
        f"Records: [seed_000_readme]({base.link()}), [cpu_drift](docs/results/cpu_drift)"
        + "".join(f", [{OTHER_CPUS}/{label}]({record.link()})" for record, label, _ in machines)
        + ".\n"
    )


def _time(metrics):
    """The run's wall time, marked when the machine was busy with other work as it started
    (a 1-minute load average above half its cores; the suite's own jobs side by side count too)."""
    made = metrics.get("provenance") or {}
    busy = (made.get("load_average_1min") or 0) > 0.5 * (made.get("cores") or 1)
    return _minutes(metrics.get("wall_time_s")) + (" (shared CPU)" if busy else "")


def block_provenance(root):
    """Which code, packages and machine made each record."""
    rows = []
    paths = (
        sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith("."))
        if Path(root).is_dir()
        else []
    )
    for path in paths:
        if path.name in COMMANDS:  # one command's result: its JSON holds the provenance
            made = path / COMMANDS[path.name].files[0]
            provenances = [json.loads(made.read_text())["provenance"]] if made.is_file() else []
        else:
            provenances = [m.get("provenance") or {} for _, m, _ in Record(path.name, root).jobs]
        if not provenances:
            continue
        kernels = sorted(
            {" ".join(f"{k}={v}" for k, v in sorted((p.get("environment") or {}).items())) for p in provenances}
        )

        def values(get, provenances=provenances):
            return ", ".join(sorted({str(get(p)) for p in provenances}))

        starts = sorted(p["started"][:10] for p in provenances if p.get("started"))
        rows.append(
            (
                f"[{path.name}](docs/results/{path.name})",
                len(provenances),
                values(lambda p: (p.get("commit") or "?")[:7] + ("+dirty" if p.get("dirty") else "")),
                values(lambda p: p.get("packages", {}).get("tensorflow")),
                values(lambda p: p.get("packages", {}).get("keras")),
                values(lambda p: p.get("backend")) + "".join(f" ({k})" for k in kernels if k),
                values(lambda p: f"{p.get('cpu')} ×{p.get('cores')}"),
                f"{starts[0]} – {starts[-1]}" if starts and starts[0] != starts[-1] else (starts[0] if starts else "–"),
                f"{max(p.get('load_average_1min') or 0 for p in provenances):.2f}",
            )
        )
    if not rows:
        return "_No records yet: `make results` writes them._\n"
    return _table(
        [
            "record",
            "runs",
            "commit",
            "TensorFlow",
            "Keras",
            "backend",
            "CPU × cores",
            "run on",
            "highest load at a start",
        ],
        rows,
    )


def block_bench(root):
    """The TensorFlow training step of each model: medians, quartiles, ratios to the floor with
    their intervals; the goals' verdicts; the sweep timing; the other backends in one line each."""
    path = Path(root) / "bench"
    if not (path / "bench.json").is_file():
        return _missing("bench")
    record = json.loads((path / "bench.json").read_text())
    table = pd.read_csv(path / "bench.csv")
    train = table[table.phase == "train"]
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
        text += _table(["model", "ms (median)", "quartiles", "rounds", "ratio to the floor [95% interval]"], rows)
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


# The audit's figures per task at its default variant, and find_max and dates for every score.
FAITHFULNESS_SOURCES = (
    [("seed_000_readme", task, None) for task in SEED_000_TASKS]
    + [("lstm_after_variants", "lstm_after", v) for v in ("block_3d_shared", "pooling")]
    + [("add_two_numbers_scores", "add_two_numbers", s) for s in SCORES]
    + [("find_max_scores", "find_max", s) for s in SCORES]
    + [("dates_scores", "dates", s) for s in SCORES]
)


def block_faithfulness(root):
    """Per task and variant (seed 0): agreement, erasure and ground-truth hit rates from audit.json."""
    rows, records, missing = [], {}, set()
    for name, task, attention in FAITHFULNESS_SOURCES:
        found = records.setdefault(name, Record(name, root)).find(task, attention, seed=0)
        audit = read_audit(found[0]) if found else {}
        if not audit:
            missing.add(name)
            continue
        agreement, erasure = audit["agreement"], audit["erasure"]
        hits = (audit.get("ground_truth") or {}).get("hit_rate") or {}
        rows.append(
            (
                f"`{task}`",
                f"`{audit['attention']}`",
                *(number(agreement[k]["mean"]) for k in ("gradient", "leave_one_out")),
                number(audit["permutation"]["median_output_change"]["mean"], 3),
                *(number(erasure[k]["flip_rate"], 3) for k in ("largest", "random")),
                *(number(hits.get(k), 2) for k in ("attention", "gradient", "leave_one_out")),
                f"{audit['seconds']:.0f} s",
            )
        )
    text = _table(
        [
            "task",
            "attention",
            "τ gradient",
            "τ leave-one-out",
            "output change, permuted",
            "flips: largest erased",
            "random erased",
            "top on deciding step: attention",
            "gradient",
            "leave-one-out",
            "audit time",
        ],
        rows,
    )
    for name in sorted(missing):
        text += f"\n- Not audited yet in `{name}`: `make audit RUN=...` on its runs, then `make results ONLY={name}`."
    return text + ("\n" if missing else "")


# The papers' IMDB figures (../shared/FAITHFULNESS.md): Jain & Wallace's Table 2 (BiLSTM + additive
# attention; mean τ over test reviews), Wiegreffe & Pinter's Table 2 (F1 of the positive class).
PAPERS_IMDB = {"tau_gradient": 0.37, "tau_leave_one_out": 0.30, "f1_learned": 0.902, "f1_uniform": 0.879}


def block_faithfulness_imdb(root):
    """The IMDB table's audits and its uniform baseline beside the papers' figures."""
    record = Record("imdb_table", root)
    if not record:
        return _missing("imdb_table")
    runs = record.runs()
    audits = audit_means(runs).set_index("attention")
    spread = runs[runs.status == "completed"].reindex(columns=["attention", *AUDIT_COLUMNS]).groupby("attention").std()
    honest = group_statistics(runs, "test_accuracy").set_index("attention")

    def tau(variant, column):
        if variant not in audits.index or pd.isna(audits.loc[variant, column]):
            return "undefined (constant weights)" if variant == "uniform" else "not audited yet"
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
    text = _table(["IMDB", "published (Jain & Wallace; Wiegreffe & Pinter)", "here: `luong`", "here: `uniform`"], rows)
    padding = _padding_share(record, "luong")
    if padding is not None:
        text += (
            f"\n- Attention on padding (the seed's model does not mask it), mean over the audited `luong` runs: "
            f"{padding:.2f} of each review's weight.\n"
        )
    return text


def _padding_share(record, attention):
    """The mean share of each review's attention on padding over the record's audited runs, or None."""
    audits = [read_audit(d) for d, m, _ in record.jobs if m["attention"] == attention]
    shares = [(audit.get("attention_on_padding") or {}).get("mean", 0.0) for audit in audits if audit]
    return sum(shares) / len(shares) if shares else None


def block_imdb_padding(root):
    """imdb_quick (the seed's unmasked model) beside imdb_quick_masked: accuracy and faithfulness."""
    records = {
        "unmasked (the seed's)": Record("imdb_quick", root),
        "masked (`mask_zero=true`)": Record("imdb_quick_masked", root),
    }
    if not all(records.values()):
        return "\n".join(_missing(r.name) for r in records.values() if not r) + "\n"
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
    return _table(
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
    ("the seed's model masked, `luong`", "imdb_table_masked", "luong"),
    ("the seed's model unmasked, `luong`", "imdb_table", "luong"),
)


def _variant_runs(record, attention):
    """One row per completed job of `attention`: its test scores, whether it was audited, and its
    audit's numbers (NaN where it has none)."""
    rows = []
    for job_dir, metrics, _ in record.jobs:
        if metrics["attention"] == attention:
            test = metrics.get("test") or {}
            audit = read_audit(job_dir)
            rows.append({"test_accuracy": test.get("accuracy"), "test_f1": test.get("f1"), "audited": bool(audit)})
            rows[-1].update(audit_values(audit))
    return pd.DataFrame(rows)


# What equal weights cannot rank: the attention's own order (τ, and ERASER by attention).
RANKED_BY_ATTENTION = (
    "audit_tau_gradient",
    "audit_significant_gradient",
    "audit_tau_leave_one_out",
    "audit_significant_leave_one_out",
    "audit_comprehensiveness_attention",
    "audit_sufficiency_attention",
)


def _mean_cell(runs, column, attention, digits=2):
    """Mean ± std over the runs that have `column`, with their count."""
    if runs.empty:
        return "not run yet"
    if column.startswith("audit_") and not runs.audited.any():
        return "not audited yet"
    if attention == "uniform" and column in RANKED_BY_ATTENTION:
        return "undefined (equal weights)"
    values = pd.to_numeric(runs[column], errors="coerce").dropna()
    if values.empty:
        # The audit reports padding only where the model does not mask it.
        return "0 (masked)" if column == "audit_attention_on_padding" else "not recorded"
    text = f"{values.mean():.{digits}f}"
    if len(values) > 1:
        text += f" ± {values.std(ddof=1):.{digits}f}"
    return f"{text} (n={len(values)})"


def block_faithfulness_reference(root):
    """Jain & Wallace's IMDB figures beside their model trained here (learned and uniform) and
    the seed's model, masked and unmasked: agreement, scores, erasure and ERASER."""
    records = {name: Record(name, root) for name in {name for _, name, _ in REFERENCE_COLUMNS}}
    runs = {(name, attention): _variant_runs(records[name], attention) for _, name, attention in REFERENCE_COLUMNS}
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
        *(
            (f"{measure} AOPC, {explanation.replace('_', '-')} order", f"audit_{measure}_{explanation}", 3)
            for measure in ("comprehensiveness", "sufficiency")
            for explanation in EXPLANATIONS
        ),
        ("attention on padding, per review", "audit_attention_on_padding", 3),
    ]
    table = _table(
        ["IMDB", "Jain & Wallace, published", *(heading for heading, _, _ in REFERENCE_COLUMNS)],
        [
            (
                label,
                JAIN_WALLACE.get(column, "–"),
                *(
                    _mean_cell(runs[name, attention], column, attention, digits)
                    for _, name, attention in REFERENCE_COLUMNS
                ),
            )
            for label, column, digits in rows
        ],
    )
    missing = [name for name, record in records.items() if not record]
    return table + "".join("\n" + _missing(name) for name in sorted(missing))


BLOCKS = {
    "tasks": block_tasks,
    "lstm_after_variants": block_lstm_after_variants,
    "scores": block_scores,
    "dates_scores": block_dates_scores,
    "imdb_quick": block_imdb_quick,
    "sequences_example": block_sequences_example,
    "sequences_neighbours": block_sequences_neighbours,
    "imdb_table": block_imdb_table,
    "bench": block_bench,
    "cpu_drift": block_cpu_drift,
    "provenance": block_provenance,
    "faithfulness": block_faithfulness,
    "faithfulness_imdb": block_faithfulness_imdb,
    "imdb_padding": block_imdb_padding,
    "faithfulness_reference": block_faithfulness_reference,
}


def figure(root, argument):
    """`<!-- results:figure RECORD/PATH | caption -->`: the record's figure, once it is recorded."""
    path, _, caption = (argument or "").partition("|")
    path, caption = path.strip(), caption.strip()
    if not path or not caption:
        raise PublishError(f"a figure block needs 'RECORD/PATH | caption', got '{argument}'")
    if not (Path(root) / path).is_file():
        return f"_Figure not recorded yet: `make results ONLY={path.split('/')[0]}` draws it._\n"
    return f"![{caption}](docs/results/{path})\n"


def render(text, root=RECORDS):
    """`text` with every results block rendered from the records under `root`."""
    unknown = sorted({m.group("name") for m in BLOCK.finditer(text)} - set(BLOCKS) - {"figure"})
    if unknown:
        raise PublishError(f"unknown results block '{unknown[0]}' in the README; known: {', '.join(BLOCKS)}, figure")

    def block(match):
        name = match.group("name")
        body = figure(root, match.group("argument")) if name == "figure" else BLOCKS[name](root)
        return match.group(1) + body + match.group(5)

    return BLOCK.sub(block, text)


def published_numbers(readme=README, root=RECORDS):
    """{resolved job directory: names of its numbers that the README shows} for every record job."""
    with numbers_read() as reads:
        render(Path(readme).read_text(encoding="utf-8"), root)
    return reads


def main(argv=None):
    parser = argparse.ArgumentParser(description="Render the README's result tables from docs/results/.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the README is out of date")
    parser.add_argument("--readme", default=str(README))
    args = parser.parse_args(argv)
    readme = Path(args.readme)
    try:
        before = readme.read_text(encoding="utf-8")
        after = render(before)
    except (OSError, PublishError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        if before != after:
            stale = [
                m.group("name")
                for m, n in zip(BLOCK.finditer(before), BLOCK.finditer(after))
                if m.group(0) != n.group(0)
            ]
            print(f"{readme} is out of date in: {', '.join(stale)}; run `make publish`", file=sys.stderr)
            return 1
        print(f"{readme}: every results block matches docs/results/")
        return 0
    if before != after:
        readme.write_text(after, encoding="utf-8")
    print(
        f"{readme}: {len(list(BLOCK.finditer(after)))} results blocks rendered from {RECORDS.relative_to(SUITE_ROOT)}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
