"""`make results`: every published experiment, run into a fixed sweep directory, its record in docs/.

    experiments results                     every published experiment (hours on a CPU)
    experiments results imdb_table          one (make results ONLY=imdb_table)
    experiments results --copy-only NAME    only copy what has finished into docs/results/

The published experiments are declared by the presets themselves: `publish:` in
`conf/experiment/<preset>.yaml` names each record made from it, with its place in the order, the
figures it keeps, how it runs here, and the overrides that make it where one preset makes several
(the searches of `imdb_search`). Each runs as `python -m experiments experiment=<preset>` into `RUNS/NAME` (default
outputs/results/NAME): running it again resumes it, skipping the jobs that completed. Before it
runs, the jobs already recorded in `docs/results/NAME` are put back into the sweep directory, so a
table started on one machine goes on from its committed records on another. After it, the record
`docs/results/NAME/` gets, for every completed job, `metrics.json` and `.hydra/overrides.yaml` and
`config.yaml` (and `audit.json`: a job whose audit at the end has not been written waits out of the
record); the sweep's `multirun.yaml` (and a search's `optimization_results.yaml` and
`param_importances.yaml`); the figures the README shows; and the summary
(`summary.csv`, `summary.md`, `summary.png`) computed from the record itself. A record only grows:
jobs it holds that the sweep directory lacks are kept. Models, backups and caches stay in the
sweep directory. An experiment with environments (`cpu_drift`) runs once per setting, into
NAME/<setting>/. A result made by one command rather than a sweep (`bench`, `sequences_neighbours`)
runs it into `RUNS/NAME` and, once its JSON says it completed, replaces the record with its files.
"""

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from experiments.records.stats import write_summary
from experiments.run.config import CONFIG_DIR
from experiments.run.errors import SuiteError, ToolParser, report
from experiments.run.files import SUITE_ROOT, RunDir

RECORDS = SUITE_ROOT / "docs" / "results"
JOB_FILES = (
    RunDir.METRICS,
    ".hydra/overrides.yaml",
    ".hydra/config.yaml",
    RunDir.AUDIT,
    RunDir.STACK_AUDIT,
    RunDir.AUDIT_ATTENTION,  # what the seeds are compared on (seed_variance)
)
HYDRA_FILES = (".hydra/overrides.yaml", ".hydra/config.yaml")
# The sweep's own files: Hydra's, and a search's best trial and its parameters' importances.
SWEEP_FILES = ("multirun.yaml", "optimization_results.yaml", "param_importances.yaml")
SUMMARY_FILES = ("summary.csv", "summary.md", "summary.png")


@dataclass(frozen=True)
class Published:
    """One published experiment: how it runs, and which figures the README shows from it."""

    overrides: tuple
    figures: tuple = ()  # patterns of job-directory/file, relative to the sweep directory
    launcher: tuple = ()  # how it runs here; changes no number (thread counts are tested alike)
    # (label, environment variables): the same sweep once per setting, in NAME/label/.
    environments: tuple = ()

    def parts(self, name):
        """(where under RUNS and docs/results, the environment variables) of each sweep it runs."""
        if not self.environments:
            return [(name, {})]
        return [(f"{name}/{label}", variables) for label, variables in self.environments]


def published_experiments(folder=CONFIG_DIR / "experiment"):
    """{record name: Published} from the `publish:` of each experiment preset (its own file, not
    what it inherits), in their `order`."""
    found = []
    for path in sorted(Path(folder).glob("*.yaml")):
        declared = OmegaConf.to_container(OmegaConf.load(path)).get("publish") or {}
        for name, settings in declared.items():
            published = Published(
                (f"experiment={path.stem}", *(settings.get("overrides") or ())),
                figures=tuple(settings.get("figures") or ()),
                launcher=tuple(settings.get("launcher") or ()),
                environments=tuple((label, dict(v)) for label, v in (settings.get("environments") or {}).items()),
            )
            found.append((settings.get("order", 0), name, published))
    return {name: published for _, name, published in sorted(found, key=lambda item: item[:2])}


PUBLISHED = published_experiments()


@dataclass(frozen=True)
class Command:
    """A published result that one command makes, not a sweep. The command writes `files` into the
    directory it is given; the first is a JSON with "status": "completed" and "provenance"."""

    arguments: object  # output directory -> the arguments after the Python executable
    files: tuple


def _bench_arguments(out):
    """`make bench`, with the peer's venv where `make bench` made it."""
    peer = SUITE_ROOT / ".venv-peer" / "bin" / "python"
    return [str(SUITE_ROOT / "benchmarks" / "bench.py"), "--out", str(out)] + (
        ["--peer-python", str(peer)] if peer.is_file() else []
    )


COMMANDS = {
    # Its verdicts and provenance, the medians, every round, the sweeps.
    "bench": Command(_bench_arguments, ("bench.json", "bench.csv", "rounds.csv", "sweep.csv", "bench.md")),
    # Where a training step's time goes, kernel by kernel (TensorFlow's profiler).
    "profile": Command(
        lambda out: [str(SUITE_ROOT / "benchmarks" / "profile_step.py"), "--out", str(out)],
        ("profile.json", "profile.csv", "profile.md"),
    ),
    # The archive's 1-NN benchmarks on the test samples of the shipped example (sequences_example).
    "sequences_neighbours": Command(
        lambda out: ["-m", "experiments", "neighbours", "--out", str(out)], ("neighbours.json", "neighbours.md")
    ),
}
NAMES = (*PUBLISHED, *COMMANDS)


class ResultsError(SuiteError, ValueError):
    """A request that cannot run; the message is one line for the user."""


def _job_dirs(sweep_dir):
    return [job.path for job in RunDir.under(sweep_dir)]


def _completed(job_dir):
    return RunDir(job_dir).completed()


def _read_bytes(path):
    return path.read_bytes() if path.is_file() else None


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
    for name in SWEEP_FILES:
        if (Path(record_dir) / name).is_file() and not (Path(sweep_dir) / name).is_file():
            _copy(Path(record_dir) / name, Path(sweep_dir) / name)
    return restored


def copy_record(sweep_dir, record_dir, figures=()):
    """Copies the completed jobs of `sweep_dir` into `record_dir` and writes the record's summary;
    returns the number of jobs the record holds."""
    sweep_dir, record_dir = Path(sweep_dir), Path(record_dir)
    if not sweep_dir.is_dir():
        return 0
    staging = _staging(record_dir)
    jobs = [job for job in _job_dirs(sweep_dir) if _completed(job)]
    # A job whose audit has not been written waits: recorded now, it would miss its audit.json.
    for job in [job for job in jobs if RunDir(job).audit_pending()]:
        print(
            f"{_display(job)}: its audit has not finished (still running, or cut: run the sweep again or `make audit RUN={_display(job)}`);"
            " left out of the record until it has",
            file=sys.stderr,
        )
        jobs.remove(job)
    # The record keeps the jobs it held that this sweep directory lacks (a sweep that resumed
    # elsewhere, or one whose runs were cleaned): it only ever grows or is brought up to date.
    for job in _job_dirs(record_dir) if record_dir.is_dir() else []:
        if _completed(job) and sweep_dir / job.relative_to(record_dir) not in jobs:
            shutil.copytree(job, staging / job.relative_to(record_dir))
    for job in jobs:
        relative = job.relative_to(sweep_dir)
        # A run the record holds already keeps its Hydra files as recorded: a sweep that resumes
        # rewrites them in the jobs it skips, with the config of the code that resumed it.
        recorded = record_dir / relative
        same_run = _read_bytes(RunDir(recorded).metrics_file) == _read_bytes(RunDir(job).metrics_file)
        for name in JOB_FILES:
            source = recorded if same_run and name in HYDRA_FILES and (recorded / name).is_file() else job
            if (source / name).is_file():
                _copy(source / name, staging / relative / name)
        drawn = (RunDir(job).metrics() or {}).get("figures", [])
        for name in [*drawn, "audit.png", "audit_stack.png"]:
            path = f"{relative.as_posix()}/{name}"
            # A job put back from the record (restore_jobs) has its JSON, not its figures: the
            # record's own copy of the same run's figure stays.
            source = job / name if (job / name).is_file() else recorded / name if same_run else None
            if source is not None and source.is_file() and any(fnmatch.fnmatch(path, p) for p in figures):
                _copy(source, staging / relative / name)
    for name in SWEEP_FILES:
        if (sweep_dir / name).is_file():
            _copy(sweep_dir / name, staging / name)
    if not RunDir.any_under(staging):  # no job finished: a sweep's multirun.yaml alone is no record
        shutil.rmtree(staging)
        return 0
    write_summary(staging, label=_display(record_dir))
    _swap_in(staging, record_dir)
    return len(_job_dirs(record_dir))


# Records of `seed_000_readme` made on other CPUs, one per CPU: cpus/<label>/. Each is made on its
# machine by `make verify RECORD=docs/results/seed_000_readme ARGS="--record-as cpus/<label>"`
# (or copied from such a run), and the README's drift section sets them side by side.
OTHER_CPUS = "cpus"


def other_cpu_records(root=RECORDS):
    """The labels of the other CPUs' records under root/cpus/, sorted."""
    folder = Path(root) / OTHER_CPUS
    return (
        sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.is_dir() else []
    )


_RECORD_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def checked_record_name(name):
    """`name` if it names a record under docs/results/ (`NAME`, or `cpus/LABEL` for another CPU's),
    else ResultsError: the record it names is replaced whole, so it must not reach outside."""
    parts = str(name).split("/")
    if not ((len(parts) == 1 and name != OTHER_CPUS) or (len(parts) == 2 and parts[0] == OTHER_CPUS)) or not all(
        _RECORD_PART.fullmatch(part) and ".." not in part for part in parts
    ):
        raise ResultsError(
            f"--record-as {name!r}: give a record name (letters, digits, _ . -; not {OTHER_CPUS} itself) or "
            f"{OTHER_CPUS}/LABEL; it names a directory under docs/results/ that the record replaces"
        )
    return name


def record_runs(runs_dir, name, source):
    """Records the completed runs under `runs_dir` (jobs of the published experiment `source`, run
    again by `verify`) as docs/results/NAME, with the figures `source` records; returns the count."""
    figures = PUBLISHED[source].figures if source in PUBLISHED else ()
    return copy_record(runs_dir, RECORDS / checked_record_name(name), figures)


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


def sweep_command(published, sweep_dir, extra=()):
    """The command that runs (or resumes) one part of `published` into `sweep_dir`, with the user's
    overrides `extra`: a setting the user gives wins over ours (the command refuses a key given twice)."""
    given = {arg.partition("=")[0].lstrip("+~") for arg in extra}
    ours = [f"hydra.sweep.dir={sweep_dir}", "trainer.verbose=2", *published.launcher]
    ours = [arg for arg in ours if arg.partition("=")[0].lstrip("+~") not in given]
    return [sys.executable, "-m", "experiments", *published.overrides, *ours, *extra]


def run_experiment(name, runs_dir, extra=()):
    """Runs (or resumes) the published experiment `name` into `runs_dir/name`; returns the exit code."""
    published = PUBLISHED[name]
    code = 0
    for part, variables in published.parts(name):
        sweep_dir, record_dir = Path(runs_dir) / part, RECORDS / part
        restored = restore_jobs(record_dir, sweep_dir) if record_dir.is_dir() else 0
        if restored:
            print(f"{part}: {restored} jobs restored from {_display(record_dir)}; they are not run again", flush=True)
        command = sweep_command(published, sweep_dir, extra)
        shown = " ".join(f"{k}={v}" for k, v in variables.items())
        print(f"{part}: {shown + ' ' if shown else ''}{' '.join(command[1:])}", flush=True)
        code = code or subprocess.run(command, env={**os.environ, **variables}).returncode
    return code


def run_command(name, runs_dir):
    """Runs the command of the published result `name` into `runs_dir/name`; returns the exit code."""
    command = [sys.executable, *COMMANDS[name].arguments(Path(runs_dir) / name)]
    print(f"{name}: {' '.join(command[1:])}", flush=True)
    return subprocess.run(command).returncode


def copy_command(name, out_dir, record_dir):
    """Copies a command's finished result (its JSON says so) into `record_dir`; returns 1, or 0 if none."""
    out_dir, files = Path(out_dir), COMMANDS[name].files
    try:
        finished = json.loads((out_dir / files[0]).read_text()).get("status") == "completed"
    except (OSError, ValueError):
        finished = False
    if not finished:
        return 0
    staging = _staging(record_dir)
    for file in files:
        if (out_dir / file).is_file():
            _copy(out_dir / file, staging / file)
    _swap_in(staging, record_dir)
    return 1


def main(argv=None):
    parser = ToolParser(
        "results",
        description="Run the published experiments and record them in docs/results/.",
        epilog="Other arguments are Hydra overrides for every experiment's command.",
    )
    parser.add_argument("names", nargs="*", help=f"which (default: all): {', '.join(NAMES)}")
    parser.add_argument("--runs", default="outputs/results", help="where the sweeps run (default outputs/results)")
    parser.add_argument("--copy-only", action="store_true", help="copy what has finished; run nothing")
    args, extra = parser.parse_known_args(argv)
    options = [a for a in extra if a.startswith("-")]
    if options:  # what is left goes to Hydra as overrides: an option there is a misspelt one of ours
        parser.error(f"unrecognized arguments: {' '.join(options)}")
    extra = [a for a in args.names if "=" in a] + extra  # key=value: a Hydra override, not a name
    try:
        names = _names([a for a in args.names if "=" not in a])
        if args.copy_only and not Path(args.runs).is_dir():  # nothing to copy: a misspelt --runs
            raise ResultsError(f"--runs {args.runs}: no such directory; give where the sweeps ran")
    except ResultsError as error:
        return report(error)
    failed = []
    for name in names:
        code = 0
        if not args.copy_only:
            code = run_command(name, args.runs) if name in COMMANDS else run_experiment(name, args.runs, extra)
        if name in COMMANDS:
            count = copy_command(name, Path(args.runs) / name, RECORDS / name)
        else:
            count = sum(
                copy_record(Path(args.runs) / part, RECORDS / part, PUBLISHED[name].figures)
                for part, _ in PUBLISHED[name].parts(name)
            )
        record = _display(RECORDS / name)
        if name in COMMANDS:
            done = f"its result recorded in {record}" if count else f"no finished result; {record} left as it was"
        else:
            done = f"{count} completed jobs recorded in {record}"
        print(f"{name}: {done}", flush=True)
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
