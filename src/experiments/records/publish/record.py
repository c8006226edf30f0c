"""Reading the records under docs/results/: the completed jobs of one, the numbers a block reads
of each (what `verify` judges), and a sweep record's statistics as its summary.md gives them."""

from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from experiments.records.publish.format import minutes, p_in_words
from experiments.records.stats import PROTOCOLS, differences, group_statistics, statistics_table
from experiments.run.config import attention_family
from experiments.run.files import SUITE_ROOT, RunDir

RECORDS = SUITE_ROOT / "docs" / "results"

SCORES = attention_family("scores")  # every learned score, as the *_scores sweeps run them


SEED_000_TASKS = ["dense", "lstm_before", "lstm_after", "multidim_per_dim", "multidim_shared"]


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


def _job_config(path):
    """A job's config.yaml, parsed once for as long as the file is unchanged: the pages' blocks open
    the same records again and again (publish renders 66 blocks, and verify all of them)."""
    stat = path.stat()
    return _parsed_config(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4096)
def _parsed_config(path, mtime_ns, size):
    config = OmegaConf.load(path)
    OmegaConf.set_readonly(config, True)  # shared by every reader: none may change it
    return config


class Record:
    """The completed jobs of one record directory under docs/results/."""

    def __init__(self, name, root=RECORDS):
        self.name = name
        self.path = Path(root) / name
        self.jobs = []  # (job directory, metrics, config)
        if self.path.is_dir():
            for job in sorted(RunDir.under(self.path), key=lambda job: str(job.path)):
                metrics = job.metrics() or {}
                if metrics.get("status") == "completed":
                    if (reads := _READS.get()) is not None:
                        metrics = _ReadNumbers(metrics, reads.setdefault(job.path.resolve(), set()))
                    config = _job_config(job.config_file) if job.config_file.is_file() else None
                    self.jobs.append((job.path, metrics, config))

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


def compared(runs, pairs, column="test_accuracy"):
    """[(a, b, a's mean − b's in points, Welch p, a sentence of both)] for each (a, b) of `pairs`
    that the runs hold, whichever order `differences` gives the pair in."""
    found = {(row.a, row.b): row for row in differences(runs, column).itertuples()}
    said = []
    for a, b in pairs:
        row = found.get((a, b)) or found.get((b, a))
        if row is None:
            continue
        difference = row.difference if (row.a, row.b) == (a, b) else -row.difference
        verdict = "a real difference" if row.p_value < 0.05 else "no difference the runs can tell from chance"
        text = f"`{a}` − `{b}` = {difference:+.2f} points (Welch p {p_in_words(row.p_value)}): {verdict}"
        said.append((a, b, difference, row.p_value, text))
    return said


def missing(name):
    return f"_Not recorded yet: `make results ONLY={name}` runs it and writes `docs/results/{name}/`._\n"


def protocol_tables(runs):
    """Both protocols' statistics and the variants' difference, as summary.md gives them."""
    text = ""
    for column, title in PROTOCOLS.items():
        table = group_statistics(runs, column)
        if table.empty:
            continue
        text += f"\n{title}:\n\n" + "\n".join(statistics_table(table)) + "\n"
        for row in differences(runs, column).itertuples():
            text += f"\n{row.a} − {row.b}: {row.difference:+.2f} points, Welch p {p_in_words(row.p_value)}.\n"
    return text.lstrip("\n")


def sweep_statistics(name, root):
    """A sweep record's statistics as summary.md gives them, its run count, time and link."""
    record = Record(name, root)
    if not record:
        return missing(name)
    runs = record.runs()
    done = runs[runs.status == "completed"]
    return (
        protocol_tables(runs) + f"\n{len(done)} runs, {minutes(done.wall_time_s.sum())} of training in all "
        f"(`wall_time_s`, summed). Record: [{record.link()}]({record.link('summary.md')}).\n"
    )
