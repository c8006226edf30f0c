"""`experiments report [DIR]`: one HTML page of everything under `outputs/` (or DIR).

Writes DIR/report/index.html:
- one section per task, headlining its newest full-size run of the task's default variant (a smoke
  run only when there is nothing else), with its figures, attention quality, test metrics and config
  one click away, and a table of every other run of the task;
- "Is the attention faithful?": per task, the latest audited run's `audit.json` (agreement with
  gradient and leave-one-out, permutation, erasure, ground-truth hit rates) and `audit.png`;
- every failed run, with its reason;
- one section per sweep: its statistics (from summary.csv), summary.png, and the originals'
  published numbers beside ours where the originals give numbers;
- the `make translate` heatmaps and the `make bench` table, where present.

Images are linked relatively, never copied or redrawn, so the page opens from the file with no
server, and rebuilding after one more run only reads the runs' small JSON and YAML files.
"""

import datetime
import functools
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from omegaconf import OmegaConf

from experiments.records.describe import test_text
from experiments.records.stats import PROTOCOLS, group_statistics
from experiments.run.catalog import quality_text, task_catalog
from experiments.run.config import CONFIG_DIR, compose
from experiments.run.errors import ToolParser, report
from experiments.run.files import RunDir

# The originals' own numbers, where they give some: the IMDB table of keras-attention (original 004:
# 10 runs, max test accuracy over 10 epochs per run, in percent), as REFERENCE.md quotes it.
PUBLISHED = {
    "imdb": {
        "source": "the keras-attention README (original 004): 10 runs, max test accuracy over 10 epochs",
        "column": "max_test_accuracy",
        "epochs": 10,  # shown only beside sweeps run for as many epochs (the original's protocol)
        "attention": {
            "luong": {"max": 88.76, "avg": 87.62, "stddev": 0.14},
            "none": {"max": 88.22, "avg": 87.02, "stddev": 0.18},
        },
    },
}


@dataclass
class Run:
    """One run directory, as its metrics.json and .hydra/ describe it."""

    path: Path
    link: str  # the run directory, relative to the report
    metrics: dict
    finished: float  # metrics.json's modification time
    overrides: str = ""
    config_link: str = ""
    figures: list = field(default_factory=list)
    audit: dict | None = None  # audit.json, where the run was audited
    samples: int | None = None  # training samples (task.samples)
    epochs: int | None = None  # the epochs it was set to run (task.epochs; early stopping may end it sooner)
    kind: str = "full"  # "full" (the task's default size and epochs), "reduced", or "smoke" (debug=smoke)
    test_summary: str = ""  # the test metric in a few words
    quality: str = ""  # the attention quality in a few words

    @property
    def status(self):
        return self.metrics.get("status", "unknown")


def task_description(task):
    """The comment lines at the top of conf/task/<task>.yaml: what the task is and where its
    attention should look, in the words of its config."""
    path = CONFIG_DIR / "task" / f"{task}.yaml"
    if not path.is_file():
        return ""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").rstrip())
    return " ".join(lines)


def _relative(path, report_dir):
    return Path(os.path.relpath(path, report_dir)).as_posix()


@functools.cache
def task_defaults(task):
    """(default attention, samples, epochs) of a task as its config file sets them; None if unknown."""
    try:
        cfg = compose([f"task={task}"])
    except Exception:  # a task of another version of the suite: nothing to compare with
        return None
    return cfg.attention.name, cfg.task.samples, cfg.task.epochs


def _kind(run):
    """Whether a run is full size: smoke runs say so in their overrides; a run set to the task's own
    samples and epochs is full (early stopping may end it sooner); anything else is reduced."""
    if re.search(r"^- debug=smoke$", run.overrides, re.M):
        return "smoke"
    defaults = task_defaults(run.metrics.get("task"))
    if defaults is None or run.overrides == "":
        return "full"  # nothing to compare with
    return "full" if (run.samples, run.epochs) == defaults[1:] else "reduced"


def headline_run(task_runs):
    """The run a task's section shows: the newest full-size run of the task's default variant, else
    the newest full-size run, else the newest reduced one, and a smoke run only when there is nothing
    else. Completed runs only; `task_runs` are newest first."""
    completed = [r for r in task_runs if r.status == "completed"]
    if not completed:
        return None
    default = (task_defaults(completed[0].metrics.get("task")) or (None,))[0]
    return max(
        completed,  # max() keeps the first of equals: the newest
        key=lambda r: (r.kind == "full" and r.metrics.get("attention") == default, r.kind == "full", r.kind != "smoke"),
    )


def find_runs(root, report_dir):
    """Every run directory under `root` (single runs and sweep jobs), newest first."""
    runs = []
    for found in RunDir.under(root, skip=report_dir):
        if (metrics := found.metrics()) is None:
            continue  # being written, or not ours
        run_dir, config = found.path, None
        run = Run(run_dir, _relative(run_dir, report_dir), metrics, found.finished())
        if found.overrides_file.is_file():
            run.overrides = found.overrides_file.read_text()
            run.config_link = _relative(found.config_file, report_dir)
            config = OmegaConf.load(found.config_file)
            run.samples, run.epochs = config.task.get("samples"), config.task.get("epochs")
        run.kind = _kind(run)
        run.test_summary = test_text(metrics, config)
        run.quality = quality_text(metrics.get("task"), metrics.get("attention_quality"))
        # Where the model looks first; how it trained after.
        names = sorted(metrics.get("figures", []), key=lambda name: name == "training_curves.png")
        run.figures = [f"{run.link}/{name}" for name in names if (run_dir / name).is_file()]
        run.audit = found.audit() or None
        runs.append(run)
    return sorted(runs, key=lambda r: r.finished, reverse=True)


def _percent_table(stats):
    def shown(value):  # a single run has no spread: "–", not nan
        return "–" if pd.isna(value) else f"{value:.2f}"

    return [
        {**row, **{k: shown(row[k]) for k in ("max", "avg", "stddev", "ci_low", "ci_high")}}
        for row in stats.to_dict("records")
    ]


def _published_beside(task, column, task_runs):
    """The originals' numbers for this task and protocol, if this sweep ran it as the original did."""
    published = PUBLISHED.get(task)
    if not published or published["column"] != column:
        return None, None
    epochs = task_runs[task_runs.status == "completed"].epochs
    if epochs.empty or not (epochs == published["epochs"]).all():
        return (
            None,
            f"the original's numbers ({published['source']}) are not shown: this sweep ran other than {published['epochs']} epochs",
        )
    return published["attention"], f"Published: {published['source']}."


def find_sweeps(root, report_dir):
    """Every sweep directory under `root` (one with summary.csv), newest first."""
    sweeps = []
    for summary in root.rglob("summary.csv"):
        sweep_dir = summary.parent
        runs = pd.read_csv(summary)
        sweep = {
            "name": _relative(sweep_dir, root),
            "link": _relative(sweep_dir, report_dir),
            "finished": summary.stat().st_mtime,
            "counts": runs.status.value_counts().to_dict(),
            "figure": _relative(sweep_dir / "summary.png", report_dir)
            if (sweep_dir / "summary.png").is_file()
            else None,
            "has_markdown": (sweep_dir / "summary.md").is_file(),
            "protocols": [],
            "bad": runs[runs.status != "completed"].astype(object).fillna("").to_dict("records"),
        }
        for column, title in PROTOCOLS.items():
            for task, task_runs in runs.groupby("task", sort=True):
                stats = group_statistics(task_runs, column)
                if stats.empty:
                    continue
                beside, note = _published_beside(task, column, task_runs)
                sweep["protocols"].append(
                    {"task": task, "title": title, "rows": _percent_table(stats), "published": beside, "note": note}
                )
        sweeps.append(sweep)
    return sorted(sweeps, key=lambda s: s["finished"], reverse=True)


def build(root="outputs"):
    """Writes `root`/report/index.html; returns its path."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"no directory {root}: run an experiment first (make run), or name one")
    if not RunDir.any_under(root):  # an empty page would say nothing
        raise FileNotFoundError(
            f"{root} holds no runs (no metrics.json): run an experiment first (make run), or name one"
        )
    report_dir = root / "report"
    report_dir.mkdir(exist_ok=True)
    runs = find_runs(root, report_dir)
    tasks = []
    order = list(task_catalog())
    for task in sorted(
        {r.metrics.get("task") for r in runs if r.metrics.get("task")},
        key=lambda t: (order.index(t) if t in order else len(order), t),
    ):
        task_runs = [r for r in runs if r.metrics.get("task") == task]
        headline = headline_run(task_runs)
        tasks.append(
            {
                "name": task,
                "description": task_description(task),
                "headline": headline,
                "others": [r for r in task_runs if r is not headline],
                "count": len(task_runs),
                "failed": sum(r.status != "completed" for r in task_runs),
                "audited": next((r for r in task_runs if r.audit), None),
            }
        )
    environment = Environment(loader=PackageLoader("experiments.records", "templates"), autoescape=select_autoescape())
    environment.filters["number"] = lambda v: f"{v:.4g}" if isinstance(v, float) else v
    html = environment.get_template("report.html.j2").render(
        root=root,
        generated=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        tasks=tasks,
        failed=[r for r in runs if r.status != "completed"],
        sweeps=find_sweeps(root, report_dir),
        translations=[_relative(p, report_dir) for p in sorted((root / "translations").glob("*.png"))],
        bench=_bench_table(root / "bench" / "bench.csv"),
        bench_link=_relative(root / "bench" / "bench.csv", report_dir),
    )
    index = report_dir / "index.html"
    tmp = index.with_name(".index.html.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, index)  # a browser that reloads sees the old page or the new one
    return index


def _bench_table(path):
    """The training-step table of `make bench`: ms by name, one column per model and backend."""
    if not path.is_file():
        return None
    bench = pd.read_csv(path)
    train = bench[bench.phase == "train"]
    if train.empty:
        return None
    table = train.pivot_table(index="name", columns=["model", "backend"], values="ms_median", sort=False)
    return {
        "columns": [f"{m} · {b}" for m, b in table.columns],
        "rows": [
            (name, [None if pd.isna(v) else round(float(v), 2) for v in values]) for name, values in table.iterrows()
        ],
    }


def main(argv=None):
    parser = ToolParser("report", description="One HTML page of every run and sweep under DIR: DIR/report/index.html.")
    parser.add_argument("dir", nargs="?", default="outputs", help="where the runs are (default: outputs)")
    try:
        index = build(parser.parse_args(argv).dir)
    except FileNotFoundError as error:
        return report(error)
    print(f"report: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
