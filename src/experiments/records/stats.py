"""Sweep statistics, from the files the jobs wrote: `experiments stats SWEEP_DIR`.

Also run by Hydra at the end of every multirun (`SweepSummary`). Nothing is kept in memory across
jobs: under parallel launchers the jobs run in other processes, so the sweep directory is the
only shared record. Writes `summary.csv` (one row per job), `summary.md` and `summary.png`; and
where seeds were audited on the same samples, `seed_variance.csv` and `seed_variance.png`.
"""

import functools
import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from omegaconf import OmegaConf
from scipy import stats

from experiments.records.seed_variance import write_seed_variance
from experiments.run import config as _resolvers  # noqa: F401  (a sweep's params may name a family)
from experiments.run.catalog import task_catalog
from experiments.run.errors import ToolParser
from experiments.run.files import RunDir
from experiments.run.quiet import start_tensorflow

# The two ways of reading a run's accuracy: (column, what it is). The run keeps the epoch its task's
# early stopping picks on the validation set (`task.early_stopping.monitor`), or its last without one.
PROTOCOLS = {
    "test_accuracy": "Test accuracy of the epoch the run kept: best on its validation monitor, or the last (honest)",
    "max_test_accuracy": "Max test accuracy over the epochs (the original's protocol: picks the epoch on the test set)",
}
KEYS = ["task", "attention", "seed"]
# A binary task's scores of its positive class (metrics.json's `test`): column test_<name>.
POSITIVE_CLASS = {"f1": "F1", "precision": "precision", "recall": "recall", "roc_auc": "ROC AUC"}


@functools.cache
def audit_columns():
    """{column: (path in audit.json, label)} of the audit's numbers that a summary keeps per
    audited run, as the audit's measures declare them (`attention.audit.summary_columns`)."""
    start_tensorflow()  # the audit's package starts Keras (and so TensorFlow): quietly, and only here
    from attention.audit import summary_columns  # noqa: PLC0415  (it starts the backend)

    return summary_columns()


@functools.cache
def attention_ranked_columns():
    """The audit columns that rest on the attention's own order (`attention.audit`'s declaration):
    undefined for the `uniform` baseline, whose equal weights rank nothing."""
    start_tensorflow()
    from attention.audit import attention_ranked_columns as declared  # noqa: PLC0415  (it starts the backend)

    return declared()


# The suite's baseline of equal weights (attention=uniform).
EQUAL_WEIGHTS = "uniform"


def audit_values(audit):
    """{audit column: the number in `audit` (an audit.json's dict), or None}."""
    values = {}
    for column, (path, _) in audit_columns().items():
        node = audit
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        values[column] = node
    return values


def _row(metrics, run_dir, audit=None):
    history = metrics.get("history") or {}
    test_curve = history.get("test_accuracy") or []
    test = metrics.get("test") or {}
    epochs = metrics.get("epochs")
    return {
        "task": metrics.get("task"),
        "attention": metrics.get("attention"),
        "seed": metrics.get("seed"),
        "status": metrics.get("status"),
        "reason": metrics.get("reason", ""),
        "params": metrics.get("params"),
        "epochs": epochs,
        "best_epoch": metrics.get("best_epoch"),
        "test_accuracy": test.get("accuracy"),
        "test_loss": test.get("loss"),
        # The positive class of a binary task (None elsewhere, and in runs recorded before them).
        **{f"test_{name}": test.get(name) for name in POSITIVE_CLASS},
        "max_test_accuracy": max(test_curve) if test_curve else None,
        "max_test_epoch": int(np.argmax(test_curve)) + 1 if test_curve else None,
        "wall_time_s": metrics.get("wall_time_s"),
        "seconds_per_epoch": metrics["wall_time_s"] / epochs if epochs and metrics.get("wall_time_s") else None,
        "run_dir": str(run_dir),
        **audit_values(audit or {}),
        # For summary.png only (not a summary.csv column): read once here, not again per figure.
        "val_curve": history.get("val_accuracy") or history.get("val_loss") or [],
    }


def _expected_jobs(sweep_dir):
    """The (task, attention, seed) jobs the sweep asked for, as far as multirun.yaml tells."""
    path = sweep_dir / "multirun.yaml"
    if not path.is_file():
        return {}
    cfg = OmegaConf.load(path)
    params = cfg.hydra.sweeper.get("params") or {}
    overrides = [f"{k}={v}" for k, v in params.items()] + list(cfg.hydra.overrides.task)
    values = {}
    for override in OverridesParser.create().parse_overrides(overrides):  # later ones win
        key = override.key_or_group
        if key in KEYS:
            values[key] = list(override.sweep_iterator()) if override.is_sweep_override() else [override.value()]
    return values


def collect(sweep_dir):
    """One row per job of the sweep: completed, failed, or missing (no metrics.json)."""
    sweep_dir = Path(sweep_dir)
    rows, readable = [], set()
    for job in RunDir.under(sweep_dir):
        if (metrics := job.metrics()) is None:
            continue  # cut short: listed below as missing, with the reason
        readable.add(job.path)
        rows.append(_row(metrics, job.path.relative_to(sweep_dir), job.audit()))
    found = {tuple(r[k] for k in KEYS) for r in rows}
    for hydra_dir in sorted(sweep_dir.rglob(".hydra")):  # a job that started and left no record
        if hydra_dir.parent not in readable:
            job = OmegaConf.load(hydra_dir / "config.yaml")
            key = (job.task.name, job.attention.name, job.seed)
            found.add(key)
            cut = RunDir(hydra_dir.parent).metrics_file.exists()
            rows.append(
                {
                    **dict(zip(KEYS, key)),
                    "status": "missing",
                    "reason": "its metrics.json cannot be read (cut short?): run the sweep again to redo it"
                    if cut
                    else "started, no metrics.json yet (still running, or killed)",
                    "run_dir": str(hydra_dir.parent.relative_to(sweep_dir)),
                }
            )
    expected = _expected_jobs(sweep_dir)
    if rows and expected.get("seed"):
        tasks = expected.get("task") or sorted({r["task"] for r in rows})
        for task in tasks:
            attentions = expected.get("attention") or sorted({r["attention"] for r in rows if r["task"] == task})
            for attention, seed in itertools.product(attentions, expected["seed"]):
                if (task, attention, seed) not in found:
                    rows.append(
                        {
                            "task": task,
                            "attention": attention,
                            "seed": seed,
                            "status": "missing",
                            "reason": "never started",
                        }
                    )
    columns = list(_row({}, "").keys())
    floats = [*audit_columns(), *(f"test_{name}" for name in POSITIVE_CLASS)]
    runs = pd.DataFrame(rows, columns=columns).astype({column: float for column in floats})  # None → NaN
    return runs.sort_values(KEYS, kind="stable", ignore_index=True)


def group_statistics(runs, column):
    """Per (task, attention), over completed runs: n, MAX, AVG, STDDEV (sample) and the 95% CI
    of the mean (Student t), in percent."""
    done = runs[(runs.status == "completed") & runs[column].notna()]
    rows = []
    for (task, attention), group in done.groupby(["task", "attention"], sort=True):
        values = group[column].to_numpy(dtype=float) * 100
        n, mean = len(values), float(values.mean())
        std = float(values.std(ddof=1)) if n > 1 else float("nan")
        half = float(stats.t.ppf(0.975, n - 1) * std / np.sqrt(n)) if n > 1 else float("nan")
        rows.append(
            {
                "task": task,
                "attention": attention,
                "n": n,
                "max": float(values.max()),
                "avg": mean,
                "stddev": std,
                "ci_low": mean - half,
                "ci_high": mean + half,
            }
        )
    return pd.DataFrame(rows, columns=["task", "attention", "n", "max", "avg", "stddev", "ci_low", "ci_high"])


def differences(runs, column):
    """Every pair of attention variants of a task: difference of the mean accuracies (points)
    and the p-value of Welch's t-test (unequal variances)."""
    done = runs[(runs.status == "completed") & runs[column].notna()]
    rows = []
    for task, group in done.groupby("task", sort=True):
        samples = {a: g[column].to_numpy(dtype=float) * 100 for a, g in group.groupby("attention", sort=True)}
        for a, b in itertools.combinations(samples, 2):
            x, y = samples[a], samples[b]
            p = float(stats.ttest_ind(x, y, equal_var=False).pvalue) if min(len(x), len(y)) > 1 else float("nan")
            rows.append({"task": task, "a": a, "b": b, "difference": float(x.mean() - y.mean()), "p_value": p})
    return pd.DataFrame(rows, columns=["task", "a", "b", "difference", "p_value"])


def audit_means(runs):
    """Per (task, attention): the number of audited runs and the mean of each audit column."""
    runs = runs.assign(**{c: np.nan for c in audit_columns() if c not in runs})  # a summary from before audits
    audited = runs[(runs.status == "completed")].dropna(subset=list(audit_columns()), how="all")
    if audited.empty:
        return pd.DataFrame(columns=["task", "attention", "audited", *audit_columns()])
    grouped = audited.groupby(["task", "attention"], sort=True)
    means = grouped[list(audit_columns())].mean()
    means.insert(0, "audited", grouped.size())
    # Equal weights have no order of their own: what ranks by them ranks only the ties.
    means.loc[means.index.get_level_values("attention") == EQUAL_WEIGHTS, list(attention_ranked_columns())] = np.nan
    return means.reset_index()


def audit_table(means):
    """Markdown lines: one column per variant, one row per audit measure it has."""
    lines = ["| mean over audited runs | " + " | ".join(means.attention) + " |", "|---|" + "---|" * len(means)]
    lines.append("| runs audited | " + " | ".join(str(int(n)) for n in means.audited) + " |")
    for column, (_, label) in audit_columns().items():
        if means[column].notna().any():
            lines.append(f"| {label} | " + " | ".join(number(v, 3) for v in means[column]) + " |")
    return lines


def number(value, digits=2):
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def p_value_text(p):
    """A p-value to 4 decimals; below that, "< 0.0001" rather than a p of 0."""
    return "< 0.0001" if p is not None and p < 0.0001 else number(p, 4)


def statistics_table(table):
    variants = list(table.attention)
    lines = ["| | " + " | ".join(variants) + " |", "|---|" + "---|" * len(variants)]
    for label, key in (
        ("n runs", "n"),
        ("MAX accuracy", "max"),
        ("AVG accuracy", "avg"),
        ("STDDEV accuracy", "stddev"),
    ):
        cells = [str(v) if key == "n" else number(v) for v in table[key]]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    cis = [f"[{number(lo)}, {number(hi)}]" for lo, hi in zip(table.ci_low, table.ci_high)]
    lines.append("| 95% CI of the mean | " + " | ".join(cis) + " |")
    return lines


AUDIT_TITLE = (
    "Is the attention faithful? (`audit.json` of each run; τ is Kendall's; τ and the attention order are "
    "undefined for uniform weights)"
)


def _job_counts(runs):
    counts = runs.status.value_counts()
    return (
        f"{len(runs)} jobs: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("completed", "failed", "missing")) + "."
    )


def _protocol_sections(task_runs):
    """[(title, table lines, difference lines)] of each protocol with numbers for the task."""
    sections = []
    for column, title in PROTOCOLS.items():
        table = group_statistics(task_runs, column)
        if table.empty:
            continue
        diffs = differences(task_runs, column)
        lines = []
        if not diffs.empty:
            lines = ["| A | B | A − B (points) | Welch p-value |", "|---|---|---|---|"]
            lines += [
                f"| {r.a} | {r.b} | {r.difference:+.2f} | {p_value_text(r.p_value)} |" for r in diffs.itertuples()
            ]
        sections.append((title, statistics_table(table), lines))
    return sections


def positive_class_table(task_runs):
    """Lines of the mean F1, precision, recall and ROC AUC of each variant, where runs recorded them."""
    columns = [f"test_{name}" for name in POSITIVE_CLASS]
    done = task_runs[task_runs.status == "completed"].dropna(subset=columns, how="all")
    if done.empty:
        return []
    means = done.groupby("attention")[columns].mean()
    lines = [
        "",
        "### The positive class on the test set (threshold 0.5), mean over runs",
        "",
        "| attention | runs | " + " | ".join(POSITIVE_CLASS.values()) + " |",
        "|---|---|" + "---|" * len(POSITIVE_CLASS),
    ]
    counts = done.groupby("attention").size()
    for attention, row in means.iterrows():
        lines.append(f"| {attention} | {counts[attention]} | " + " | ".join(number(row[c], 4) for c in columns) + " |")
    return lines


def markdown(runs, sweep_dir):
    lines = [
        f"# Sweep summary: `{sweep_dir}`",
        "",
        _job_counts(runs),
        "Accuracies in percent. STDDEV is the sample standard deviation; the 95% confidence interval of",
        "the mean uses Student's t. Failed and missing jobs are left out of the statistics and listed below.",
    ]
    for task in sorted(runs.task.dropna().unique()):
        lines += ["", f"## {task}"]
        task_runs = runs[runs.task == task]
        sections = _protocol_sections(task_runs)
        for title, table, diffs in sections:
            lines += ["", f"### {title}", "", *table] + (["", *diffs] if diffs else [])
        if not sections:
            lines += ["", "No accuracy was recorded for this task; see summary.csv for its runs."]
        lines += positive_class_table(task_runs)
        audits = audit_means(task_runs)
        if not audits.empty:
            lines += [
                "",
                f"### {AUDIT_TITLE}",
                "",
                *audit_table(audits),
            ]
        done = task_runs[task_runs.status == "completed"]
        if len(done):
            timing = done.groupby("attention").agg(
                params=("params", "first"), seconds_per_epoch=("seconds_per_epoch", "mean")
            )
            lines += [
                "",
                "| attention | parameters | wall seconds per epoch (whole run ÷ epochs, mean) |",
                "|---|---|---|",
            ]
            lines += [f"| {a} | {int(r.params):,} | {number(r.seconds_per_epoch, 1)} |" for a, r in timing.iterrows()]
    bad = runs[runs.status != "completed"]
    lines += ["", "## Failed or missing jobs", ""]
    if bad.empty:
        lines.append("None.")
    else:
        lines += ["| task | attention | seed | status | reason |", "|---|---|---|---|---|"]
        lines += [f"| {r.task} | {r.attention} | {r.seed} | {r.status} | {r.reason} |" for r in bad.itertuples()]
    return "\n".join(lines) + "\n"


def figure(runs, sweep_dir):
    """Per-run accuracies of each group side by side, and the validation curves."""
    done = runs[runs.status == "completed"]
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    groups = sorted(done.groupby(["task", "attention"]).groups)
    colours = {g: f"C{i}" for i, g in enumerate(groups)}
    for i, group in enumerate(groups):
        runs_of = done[(done.task == group[0]) & (done.attention == group[1])]
        for offset, (column, marker) in zip((-0.12, 0.12), (("test_accuracy", "o"), ("max_test_accuracy", "^"))):
            values = runs_of[column].dropna().to_numpy(dtype=float) * 100
            left.scatter(np.full(len(values), i + offset), values, marker=marker, color=colours[group], alpha=0.8)
        for curve in runs_of.val_curve:
            right.plot(np.arange(1, len(curve) + 1), curve, color=colours[group], alpha=0.6)
        right.plot([], [], color=colours[group], label="/".join(group))
    left.set_xticks(range(len(groups)), ["\n".join(g) for g in groups])
    left.set_ylabel("accuracy (%): ○ honest, △ original's protocol")
    left.set_title("per-run test accuracy")
    right.set_xlabel("epoch")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_ylabel("validation accuracy (validation loss where there is none)")
    right.set_title("validation curves")
    if groups:
        right.legend()
    fig.suptitle(f"sweep {sweep_dir}")
    return fig


def write_summary(sweep_dir, label=None):
    """Writes summary.csv, summary.md and summary.png into `sweep_dir`; returns the runs table.

    `label` names the sweep in the titles (default: `sweep_dir`)."""
    sweep_dir = Path(sweep_dir)
    label = label or sweep_dir
    runs = collect(sweep_dir)
    runs.drop(columns="val_curve").to_csv(sweep_dir / "summary.csv", index=False)
    seeds = write_seed_variance(runs, sweep_dir, label)  # seed_variance.csv and .png, where seeds compare
    lines = [*run_tables(runs, sweep_dir, label), *seeds]
    (sweep_dir / "summary.md").write_text(markdown(runs, label) + "".join(f"{line}\n" for line in lines))
    figure(runs, label).savefig(sweep_dir / "summary.png", dpi=110)
    return runs


def run_tables(runs, sweep_dir, label):
    """summary.md's table of each completed run on its own line, for a task whose runs differ by
    more than the seed (a sweep over λ, say): the test results its `about.run_table` names
    ({key of metrics.json's `test`: heading}), by job directory. Where the task also names
    `about.run_figure` ({x, y: keys of `test`; label: the setting that tells its runs apart}),
    writes runs.png: each run's y against its x, beside the pairs of seeds of the sweep that its
    base run (`task.base_run`) came from, where that sweep's seed_variance.csv is at hand."""
    lines = []
    for task in sorted(runs.task.dropna().unique()):
        about = task_catalog().get(task, {})
        columns = about.get("run_table")
        done = runs[(runs.task == task) & (runs.status == "completed")]
        if not columns or done.empty:
            continue
        jobs = [RunDir(Path(sweep_dir) / run_dir) for run_dir in done.run_dir]
        tests = [job.metrics().get("test") or {} for job in jobs]
        lines += ["", f"## {task}: each run", "", "| run | " + " | ".join(columns.values()) + " |"]
        lines.append("|---|" + "---|" * len(columns))
        lines += [
            f"| {run_dir} | " + " | ".join(number(test.get(key), 4) for key in columns) + " |"
            for run_dir, test in zip(done.run_dir, tests, strict=True)
        ]
        if about.get("run_figure"):
            configs = [OmegaConf.load(job.config_file) for job in jobs]
            run_figure(about["run_figure"], tests, configs, f"{task} · {label}").savefig(
                Path(sweep_dir) / RUN_FIGURE, dpi=110
            )
            lines += [
                "",
                f"Each run's {about['run_figure']['y']} against its {about['run_figure']['x']}: `{RUN_FIGURE}`.",
            ]
    return lines


RUN_FIGURE = "runs.png"
JSD_AXIS = 0.72  # nats: a JSD is at most ln 2 ≈ 0.693


def run_figure(axes, tests, configs, title):
    """Each run's test[axes.y] against test[axes.x], labelled by its setting axes.label; and the
    seed pairs (their mean JSD of attention and TVD of outputs) of the sweep its base run came from."""
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.subplots()
    points = [(test.get(axes["x"]), test.get(axes["y"])) for test in tests]
    for (x, y), config in zip(points, configs, strict=True):
        if x is not None and y is not None:
            ax.scatter(x, y, color="tab:red", zorder=3)
            right = x > JSD_AXIS / 2  # past the middle: the label goes left of its point, inside the axes
            ax.annotate(f"{axes['label']} = {OmegaConf.select(config, axes['label'])}", (x, y), fontsize=8,
                        xytext=(-4 if right else 4, 4), textcoords="offset points", ha="right" if right else "left")  # fmt: skip
    base = {OmegaConf.select(config, "task.base_run") for config in configs} - {None}
    seeds = pd.concat([_base_seed_pairs(run) for run in sorted(base)] or [pd.DataFrame()])
    if not seeds.empty:
        ax.scatter(seeds.jsd_mean, seeds.tvd_mean, color="tab:blue", marker="x", label="two seeds of the base model")
    ax.scatter([], [], color="tab:red", label="the adversary")
    ax.set_xlabel(f"{axes['x']}: JSD of the attention from the base's (nats)")
    ax.set_ylabel(f"{axes['y']}: TVD of the predictions from the base's")
    ax.set_xlim(0, JSD_AXIS)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.1)  # room above the highest point for its label
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    return fig


def _base_seed_pairs(run):
    """The pairs of seeds of the base run's own variant (task and attention) in the
    seed_variance.csv of the sweep it came from (empty where there is none): another variant's,
    a uniform baseline's say, is no background for this model."""
    path, made = Path(run).parents[2] / "seed_variance.csv", RunDir(run).metrics() or {}
    if not path.is_file():
        return pd.DataFrame()
    pairs = pd.read_csv(path)
    return pairs[(pairs.task == made.get("task")) & (pairs.attention == made.get("attention"))]


def group_tables(runs):
    """For the terminal: the line of job counts and, per task, the first table of summary.md (the
    accuracy per attention variant, or the audit for a task without accuracy)."""
    lines = [_job_counts(runs)]
    for task in sorted(runs.task.dropna().unique()):
        task_runs = runs[runs.task == task]
        sections = _protocol_sections(task_runs)
        audits = audit_means(task_runs)
        if sections:
            title, table, _ = sections[0]
        elif not audits.empty:  # a task without accuracy: its audit
            title, table = AUDIT_TITLE, audit_table(audits)
        else:
            continue
        lines += ["", f"## {task}", f"### {title}", *table]
    return "\n".join(lines)


class SweepSummary(Callback):
    """Hydra callback: the statistics at the end of every multirun, from the jobs' files."""

    def on_multirun_end(self, config, **kwargs):
        sweep_dir = Path(config.hydra.sweep.dir)
        if sweep_dir.is_dir():
            print(f"\n{group_tables(write_summary(sweep_dir))}\n")
            print(f"sweep summary: {sweep_dir / 'summary.md'} (and summary.csv, summary.png)", flush=True)


def main(argv=None):
    parser = ToolParser("stats", description="The statistics of a sweep again: summary.csv, summary.md, summary.png.")
    parser.add_argument("sweep", type=Path, help="a sweep directory (under outputs/sweeps/)")
    sweep = parser.parse_args(argv).sweep
    if not sweep.is_dir():
        parser.error(f"{sweep} is not a directory: give a sweep directory under outputs/sweeps/")
    if not (sweep / "multirun.yaml").is_file() and not RunDir.any_under(sweep):
        parser.error(f"{sweep} holds no sweep (no multirun.yaml, no run's metrics.json): give a sweep directory")
    write_summary(sweep)
    print((sweep / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
