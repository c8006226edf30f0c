"""`make results`: every published experiment, run into a fixed sweep directory, its record in docs/.

    python -m experiments.results                     every published experiment (hours on a CPU)
    python -m experiments.results imdb_table          one (make results ONLY=imdb_table)
    python -m experiments.results --copy-only NAME    only copy what has finished into docs/results/

Each experiment runs as `python -m experiments experiment=NAME` into `RUNS/NAME` (default
outputs/results/NAME): running it again resumes it, skipping the jobs that completed. Before it
runs, the jobs already recorded in `docs/results/NAME` are put back into the sweep directory, so a
table started on one machine goes on from its committed records on another. After it, the record
`docs/results/NAME/` gets, for every completed job, `metrics.json` and `.hydra/overrides.yaml` and
`config.yaml`; the sweep's `multirun.yaml`; the figures the README shows; and the summary
(`summary.csv`, `summary.md`, `summary.png`) computed from the record itself. Models, backups and
caches stay in the sweep directory.
"""

import argparse
import fnmatch
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from experiments.stats import write_summary

SUITE_ROOT = Path(__file__).resolve().parents[2]
RECORDS = SUITE_ROOT / "docs" / "results"
JOB_FILES = ("metrics.json", ".hydra/overrides.yaml", ".hydra/config.yaml")
SUMMARY_FILES = ("summary.csv", "summary.md", "summary.png")


@dataclass(frozen=True)
class Published:
    """One published experiment: how it runs, and which figures the README shows from it."""

    overrides: tuple
    figures: tuple = ()  # patterns of job-directory/file, relative to the sweep directory
    launcher: tuple = ()  # how it runs here; changes no number (thread counts are tested alike)


PUBLISHED = {
    "seed_000_readme": Published(("experiment=seed_000_readme",),
                                 figures=("*/*/attention_bar.png", "*/*/attention_per_dimension.png")),
    "lstm_after_variants": Published(("experiment=lstm_after_variants",), figures=("lstm_after/*/attention_bar.png",)),
    "add_two_numbers_scores": Published(("experiment=add_two_numbers_scores",),
                                        figures=("add_two_numbers/bahdanau/attention_map.png",
                                                 "add_two_numbers/bahdanau/attention_map.gif")),
    "find_max_scores": Published(("experiment=find_max_scores",),
                                 figures=("find_max/luong/attention_argmax.png",)),
    "dates_scores": Published(("experiment=dates_scores",), figures=("dates/bahdanau/alignment.png",)),
    "imdb_quick": Published(("experiment=imdb_quick",)),
    # Two jobs of one thread side by side: 1.29x the throughput of one job of two threads here
    # (a 4-job IMDB sweep, measured before the table was started; see the README).
    "imdb_table": Published(("experiment=imdb_table",), figures=("imdb/luong/seed=0/attention_words.png",),
                            launcher=("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")),
}
BENCH = "bench"
# What `benchmarks/bench.py` writes: its verdicts and provenance, the medians, every round, the sweeps.
BENCH_FILES = ("bench.json", "bench.csv", "rounds.csv", "sweep.csv", "bench.md")
NAMES = (*PUBLISHED, BENCH)


class ResultsError(ValueError):
    """A request that cannot run; the message is one line for the user."""


def _job_dirs(sweep_dir):
    return sorted(path.parent for path in Path(sweep_dir).rglob("metrics.json"))


def _completed(job_dir):
    try:
        return json.loads((Path(job_dir) / "metrics.json").read_text()).get("status") == "completed"
    except (OSError, ValueError):
        return False


def _copy(source, target):
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def restore_jobs(record_dir, sweep_dir):
    """Puts the recorded completed jobs back into `sweep_dir` where it has no completed run of them;
    the sweep then skips them (same config fingerprint). Returns how many it put back."""
    restored = 0
    for job in _job_dirs(record_dir):
        target = Path(sweep_dir) / job.relative_to(record_dir)
        if _completed(target) or not _completed(job):
            continue
        for name in JOB_FILES:
            if (job / name).is_file():
                _copy(job / name, target / name)
        restored += 1
    if (Path(record_dir) / "multirun.yaml").is_file() and not (Path(sweep_dir) / "multirun.yaml").is_file():
        _copy(Path(record_dir) / "multirun.yaml", Path(sweep_dir) / "multirun.yaml")
    return restored


def copy_record(sweep_dir, record_dir, figures=()):
    """Copies the completed jobs of `sweep_dir` into `record_dir` (replacing what it held) and
    writes the record's summary; returns the number of jobs recorded."""
    sweep_dir, record_dir = Path(sweep_dir), Path(record_dir)
    staging = _staging(record_dir)
    jobs = [job for job in _job_dirs(sweep_dir) if _completed(job)]
    for job in jobs:
        relative = job.relative_to(sweep_dir)
        for name in JOB_FILES:
            if (job / name).is_file():
                _copy(job / name, staging / relative / name)
        for name in json.loads((job / "metrics.json").read_text()).get("figures", []):
            path = f"{relative.as_posix()}/{name}"
            if any(fnmatch.fnmatch(path, pattern) for pattern in figures):
                _copy(job / name, staging / relative / name)
    if (sweep_dir / "multirun.yaml").is_file():
        _copy(sweep_dir / "multirun.yaml", staging / "multirun.yaml")
    if jobs:
        write_summary(staging, label=_display(record_dir))
    _swap_in(staging, record_dir)
    return len(jobs)


def _staging(record_dir):
    staging = record_dir.with_name(f".{record_dir.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def _swap_in(staging, record_dir):
    """Replaces `record_dir` by `staging` whole: an interrupted copy leaves the previous record."""
    if record_dir.exists():
        old = record_dir.with_name(f".{record_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        record_dir.rename(old)
        staging.rename(record_dir)
        shutil.rmtree(old)
    else:
        staging.rename(record_dir)


def _display(path):
    path = Path(path).absolute()
    try:
        return path.relative_to(SUITE_ROOT).as_posix()
    except ValueError:
        return str(path)


def run_experiment(name, runs_dir, extra=()):
    """Runs (or resumes) the published experiment `name` into `runs_dir/name`; returns the exit code."""
    published = PUBLISHED[name]
    sweep_dir = Path(runs_dir) / name
    restored = restore_jobs(RECORDS / name, sweep_dir) if (RECORDS / name).is_dir() else 0
    if restored:
        print(f"{name}: {restored} jobs restored from {_display(RECORDS / name)}; they are not run again", flush=True)
    command = [sys.executable, "-m", "experiments", *published.overrides, f"hydra.sweep.dir={sweep_dir}",
               "trainer.verbose=2", *published.launcher, *extra]
    print(f"{name}: {' '.join(command[1:])}", flush=True)
    return subprocess.run(command).returncode


def run_bench(runs_dir, extra=()):
    """`make bench` into runs_dir/bench, with the peer's venv where `make bench` made it."""
    peer = SUITE_ROOT / ".venv-peer" / "bin" / "python"
    command = [sys.executable, str(SUITE_ROOT / "benchmarks" / "bench.py"), "--out", str(Path(runs_dir) / BENCH),
               *(["--peer-python", str(peer)] if peer.is_file() else []), *extra]
    print(f"{BENCH}: {' '.join(command[1:])}", flush=True)
    return subprocess.run(command).returncode


def copy_bench(bench_dir, record_dir):
    """Copies a finished benchmark (bench.json says so) into `record_dir`; returns 1, or 0 if none."""
    bench_dir, record_dir = Path(bench_dir), Path(record_dir)
    if not _completed_bench(bench_dir):
        return 0
    staging = _staging(record_dir)
    for name in BENCH_FILES:
        if (bench_dir / name).is_file():
            _copy(bench_dir / name, staging / name)
    _swap_in(staging, record_dir)
    return 1


def _completed_bench(bench_dir):
    try:
        return json.loads((bench_dir / "bench.json").read_text()).get("status") == "completed"
    except (OSError, ValueError):
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run the published experiments and record them in docs/results/.")
    parser.add_argument("names", nargs="*", help=f"which (default: all): {', '.join(NAMES)}")
    parser.add_argument("--runs", default="outputs/results", help="where the sweeps run (default outputs/results)")
    parser.add_argument("--copy-only", action="store_true", help="copy what has finished; run nothing")
    args, extra = parser.parse_known_args(argv)
    try:
        names = _names(args.names)
    except ResultsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        code = 0
        if not args.copy_only:
            code = run_bench(args.runs, extra) if name == BENCH else run_experiment(name, args.runs, extra)
        source = Path(args.runs) / name
        if name == BENCH:
            count = copy_bench(source, RECORDS / BENCH) if source.is_dir() else 0
        else:
            count = copy_record(source, RECORDS / name, PUBLISHED[name].figures) if source.is_dir() else 0
        print(f"{name}: {count} completed jobs recorded in {_display(RECORDS / name)}", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"error: {', '.join(failed)} did not finish; run the same command again to resume", file=sys.stderr)
        return 1
    return 0


def _names(given):
    unknown = [name for name in given if name not in NAMES]
    if unknown:
        raise ResultsError(f"unknown published experiment '{unknown[0]}'; accepted: {', '.join(NAMES)}")
    return list(dict.fromkeys(given)) or list(NAMES)


if __name__ == "__main__":
    sys.exit(main())
