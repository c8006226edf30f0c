"""`make verify`: run recorded jobs again and compare their numbers with the record.

    experiments verify docs/results/seed_000_readme
    experiments verify docs/results/imdb_table --seed 0 --attention luong
    experiments verify docs/results/seed_000_readme --against docs/results/cpus/epyc_avx2

Each selected job runs again as `python -m experiments` with its recorded `.hydra/overrides.yaml`
(its config must compose to the recorded fingerprint), in a process of its own with the record's
kernel variables (`ONEDNN_MAX_CPU_ISA`, ...), into `outputs/verify/<record>/<job>/`; `--against DIR`
compares runs made already (another machine's record, say) instead. Every number of its
`metrics.json`, and of its audit where the run audits itself at its end (`audit.json`,
`audit_stack.json`: the debate's numbers come from there), is printed beside the recorded one,
with the difference and a verdict:

- Where nothing that decides numbers differs from the record (the packages of
  `provenance.PACKAGES`, Python, backend, CPU model, signature and instruction sets, core count,
  kernel variables), every number must be equal: same seed, same machine, same numbers.
- Elsewhere, a number the README or a docs page publishes must lie within its tolerance (`TOLERANCES`: absolute
  and relative together, as `numpy.isclose`); the others, and epoch counts (which early stopping
  turns on small differences), are shown but not judged unless `--all` is given. Where the record
  holds several seeds of a variant, the runs are only shown, and what the record publishes about
  them is judged: the mean over the re-run seeds against the interval in which a mean of that many
  new runs falls 95% of the time if nothing but the seed differs.

The last line counts what failed; exit 0 when nothing did, 1 otherwise, 2 on bad input.
"""

import math
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf
from scipy import stats

from experiments.records import results
from experiments.records.publish import published_numbers
from experiments.run import provenance
from experiments.run.config import compose, config_fingerprint, same_config, validate
from experiments.run.errors import SuiteError, ToolParser, report
from experiments.run.files import RunDir


@dataclass(frozen=True)
class Tolerance:
    """How far a number may move on another machine: |new − recorded| ≤ atol + rtol·|recorded|."""

    atol: float
    rtol: float = 0.0

    def accepts(self, recorded, new):
        return abs(new - recorded) <= self.atol + self.rtol * abs(recorded)

    def __str__(self):
        return f"±{self.atol:g}" + (f" + {self.rtol:.0%}" if self.rtol else "")


EXACT = Tolerance(0.0)
# Shares of the test samples (accuracies, hit rates): half a point, three times the 0.16-point spread
# of IMDB's test accuracy over its ten recorded seeds (5% of it would accept 4.4 points).
SHARE = Tolerance(0.005)
# Mean attention weights: the peaks of seed_000_readme (the keras-attention-mechanism tasks) moved by
# up to 0.0063 (runners-up 0.0025) between two real CPUs, and by as much under oneDNN's AVX2 cap;
# 0.01 + 2% keeps a 0.33 peak within ±0.017.
WEIGHT = Tolerance(0.01, 0.02)
# Losses and errors: near zero a relative tolerance alone fails 6.3e-5 against a recorded 5.5e-5.
LOSS = Tolerance(1e-3, 0.05)
# Entropies in nats, mean positions in steps.
SPREAD = Tolerance(0.02, 0.02)
# A number that no entry names (a new task's): a little more than its rounding.
DEFAULT_TOLERANCE = Tolerance(1e-3, 0.01)
_QUALITY = "attention_quality."
TOLERANCES = {
    "test.accuracy": SHARE,
    "max_test_accuracy": SHARE,
    **{f"test.{name}": SHARE for name in ("precision", "recall", "f1", "roc_auc")},
    "test.exact_match": SHARE,
    "test.char_accuracy": SHARE,
    **{
        _QUALITY + name: SHARE
        for name in (
            "argmax_accuracy",
            "hit_rate",
            "test_hit_rate",
            "probe_hit_rate",
            "field_hit_rate",
            "day_hit_rate",
            "month_hit_rate",
            "year_hit_rate",
        )
    },
    **{
        _QUALITY + name: WEIGHT
        for name in (
            "peak_weight",
            "runner_up_weight",
            "mean_peak_weight",
            "mean_uniform_peak_on_words",
            "mass_on_field",
            "padding_share",
            "attention_on_padding",
            "mean_relative_peak",
        )
    },
    _QUALITY + "mean_entropy_nats": SPREAD,
    _QUALITY + "mean_peak_step": SPREAD,
    # Where the attention peaks, and what was measured on how much: the claim itself, exact.
    _QUALITY + "peak_index": EXACT,
    _QUALITY + "target_index": EXACT,
    _QUALITY + "samples": EXACT,
    "params": EXACT,
    "test.loss": LOSS,
    "test.mae": LOSS,
}
# Counted, not measured: equal on the record's environment, only shown elsewhere.
EPOCH_COUNTS = ("epochs", "best_epoch", "stopped_epoch")
# What a record of several seeds publishes about a variant (summary.md's two protocols).
SWEEP_NUMBERS = ("test.accuracy", "max_test_accuracy")
CONFIDENCE = 0.95


def tolerance(name):
    return TOLERANCES.get(name, DEFAULT_TOLERANCE)


class VerifyError(SuiteError, ValueError):
    """A request that cannot run; the message is one line for the user."""


# The audits a run may hold beside its metrics (`experiments audit`, or its task's audit at the
# end), under these names: equal on the record's environment, only shown on another (how far an
# audit moves between machines is not measured); how long one took is not a number of it.
AUDITS = {"audit": RunDir.AUDIT, "audit_stack": RunDir.STACK_AUDIT}
AUDIT_TIMING = "seconds"


def with_audits(metrics, run_dir):
    """The run's metrics with its audits in them, by their names in AUDITS (those it has)."""
    run = RunDir(run_dir)
    audits = {name: audit for name, file in AUDITS.items() if (audit := run.audit(file))}
    return {**metrics, **{name: {k: v for k, v in a.items() if k != AUDIT_TIMING} for name, a in audits.items()}}


def recorded_jobs(record_dir):
    """(job directory, metrics with its audits) of every completed job recorded under
    `record_dir`, in order."""
    record_dir = Path(record_dir)
    if not record_dir.is_dir():
        raise VerifyError(f"no record at {record_dir}: give a directory under docs/results/")
    jobs = []
    for job in RunDir.under(record_dir):
        metrics = job.metrics() or {}
        if metrics.get("status") == "completed" and job.overrides_file.is_file():
            jobs.append((job.path, with_audits(metrics, job.path)))
    if not jobs:
        raise VerifyError(f"{record_dir} holds no completed job with .hydra/overrides.yaml to run again")
    return jobs


def select(jobs, seeds=(), attentions=(), count=None):
    chosen = [
        (d, m)
        for d, m in jobs
        if (not seeds or m.get("seed") in seeds) and (not attentions or m.get("attention") in attentions)
    ]
    if not chosen:
        recorded = sorted({(m.get("attention"), m.get("seed")) for _, m in jobs})
        raise VerifyError(f"no recorded job matches; recorded (attention, seed): {recorded}")
    return chosen[:count] if count else chosen


def numbers(metrics):
    """{name: value} of every number a run is judged by (flattened: `test.accuracy`, ...)."""
    found = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found[prefix] = value

    walk("test", metrics.get("test") or {})
    walk("attention_quality", metrics.get("attention_quality") or {})
    for name in AUDITS:  # where `with_audits` put them
        walk(name, metrics.get(name) or {})
    for key in ("params", *EPOCH_COUNTS):
        if metrics.get(key) is not None:
            found[key] = metrics[key]
    test_curve = (metrics.get("history") or {}).get("test_accuracy")
    if test_curve:
        found["max_test_accuracy"] = max(test_curve)
    return found


# What the provenance says about the machine and the code, in the order differences are printed.
MACHINE_KEYS = ("python", "backend", "cpu", "cpu_signature", "cpu_isa", "cores", "gpus", "environment")


def environment_differences(recorded, current):
    """What differs between the provenance of a record and this machine: {'commit': (a, b), ...};
    a package by its name, the lock file as 'lock'."""
    recorded = recorded or {}
    differences = {}
    for key in ("commit", "dirty", *MACHINE_KEYS):
        if key in recorded and recorded[key] != current.get(key):  # older records may lack a key
            differences[key] = (recorded.get(key), current.get(key))
    packages_then, packages_now = recorded.get("packages") or {}, current.get("packages") or {}
    for name in sorted(set(packages_then) & set(packages_now)):  # another backend's package installed beside: no matter
        if packages_then.get(name) != packages_now.get(name):
            differences[name] = (packages_then.get(name), packages_now.get(name))
    lock_then, lock_now = recorded.get("lock") or {}, current.get("lock") or {}
    if lock_then.get("sha256") != lock_now.get("sha256") and (lock_then or lock_now):
        differences["lock"] = (lock_then.get("sha256", "none")[:12], lock_now.get("sha256", "none")[:12])
    return differences


def same_environment(differences):
    """Whether numbers must be equal: nothing that decides them differs (the code may, if clean; a
    locked package outside `provenance.PACKAGES`, a test tool say, may too)."""
    return not (set(differences) & {*MACHINE_KEYS, *provenance.PACKAGES})


def compare(recorded, new, exact, published=None, judge_all=False):
    """[(name, recorded, new, difference, verdict)] for every number of the record. `published`
    holds the names the pages show (None: all of them); exact: everything must be equal."""
    rows = []
    new_numbers = numbers(new)
    for name, before in numbers(recorded).items():
        after = new_numbers.get(name)
        if after is None:
            rows.append((name, before, None, None, "FAIL"))
            continue
        # What the model is and where it looks (exact tolerances) is judged wherever it is recorded.
        judged = judge_all or published is None or name in published or tolerance(name) == EXACT
        if exact:
            verdict = "PASS" if after == before else "FAIL"
        elif name in EPOCH_COUNTS or name.split(".")[0] in AUDITS or not judged:
            verdict = "shown"  # an audit's drift across machines is not measured: exact or shown
        else:
            verdict = "PASS" if tolerance(name).accepts(before, after) else "FAIL"
        rows.append((name, before, after, after - before, verdict))
    return rows


def mean_interval(recorded_values, runs, confidence=CONFIDENCE):
    """(low, high): where the mean of `runs` new runs falls with probability `confidence` when
    they come from the recorded runs' distribution: mean ± t·s·√(1/n + 1/runs), Student's t with
    n − 1 degrees of freedom. (The record's interval of its own mean, ± t·s/√n, is narrower: it
    leaves out the new runs' own spread.)"""
    values = np.asarray(recorded_values, dtype=float)
    n = len(values)
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) * math.sqrt(1 / n + 1 / runs)
    return float(values.mean() - half), float(values.mean() + half)


def _format(value):
    if value is None:
        return "–"
    return f"{value:d}" if isinstance(value, int) else f"{value:.6g}"


def _compose(overrides):
    cfg = compose(overrides)
    validate(cfg)
    return cfg


def rerun(job_dir, out_dir):
    """Trains the job again into `out_dir`, as `python -m experiments` with its recorded overrides,
    in a process of its own with the record's kernel variables (ONEDNN_MAX_CPU_ISA, ...); returns
    the new metrics."""
    overrides = [
        o
        for o in OmegaConf.load(RunDir(job_dir).overrides_file)
        if o.split("=")[0] not in ("trainer.verbose", "hydra.verbose")
    ]
    recorded = RunDir(job_dir).metrics() or {}
    composed = _compose(overrides)
    if not same_config(composed, recorded.get("config")):
        fingerprint = config_fingerprint(composed)
        raise VerifyError(
            f"{job_dir}: its recorded overrides compose another config today than the one recorded "
            f"(fingerprint {fingerprint}, recorded {recorded.get('config')}): the config files changed since"
        )
    shutil.rmtree(out_dir, ignore_errors=True)  # never judge an earlier verification's run
    kernels = (recorded.get("provenance") or {}).get("environment") or {}
    env = {k: v for k, v in os.environ.items() if k not in provenance.KERNEL_VARIABLES}
    env.update(kernels)
    # A preset may make the launch a sweep (hydra.mode): this is one job of it, run alone.
    command = [
        sys.executable,
        "-m",
        "experiments",
        *overrides,
        "hydra.mode=RUN",
        f"hydra.run.dir='{out_dir}'",
        "trainer.verbose=0",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if (metrics := RunDir(out_dir).metrics()) is not None:
        return with_audits(metrics, out_dir)
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {"status": "failed", "reason": f"exit {done.returncode}: {last}"}


def runs_made_in(directory, record_dir):
    """A `rerun_job` that reads the runs made already under `directory`, at the record's job paths."""

    def read(job_dir, out_dir):
        return read_job(Path(directory) / Path(job_dir).relative_to(record_dir))

    return read


def read_job(path):
    metrics = RunDir(path).metrics()
    return with_audits(metrics, path) if metrics is not None else {"status": "failed", "reason": f"no run at {path}"}


def _variant(metrics):
    return metrics.get("task"), metrics.get("attention")


def seeded_variants(all_jobs):
    """{(task, attention): [recorded metrics]} of the variants the record holds several seeds of."""
    variants = defaultdict(list)
    for _, metrics in all_jobs:
        variants[_variant(metrics)].append(metrics)
    return {key: found for key, found in variants.items() if len({m.get("seed") for m in found}) > 1}


def _judge_variants(seeded, new_runs, echo):
    """Echoes and judges each seeded variant's mean over its re-run seeds; returns the failures
    ['imdb · luong test.accuracy, max_test_accuracy', ...], one per variant."""
    failed = []
    for key, recorded in seeded.items():
        runs = [new for new in new_runs.get(key, []) if new.get("status") == "completed"]
        if not runs:
            continue
        names = []
        for name in SWEEP_NUMBERS:
            before = [numbers(m)[name] for m in recorded if name in numbers(m)]
            after = [numbers(m)[name] for m in runs if name in numbers(m)]
            if len(before) < 2 or not after:
                continue
            low, high = mean_interval(before, len(after))
            mean = float(np.mean(after))
            verdict = "PASS" if low <= mean <= high else "FAIL"
            echo(
                f"  {' · '.join(map(str, key))} {name}: mean of {len(after)} re-run seed(s) {mean:.4f}; "
                f"recorded {np.mean(before):.4f} over {len(before)} seeds, where a mean of {len(after)} new "
                f"run(s) falls in [{low:.4f}, {high:.4f}] {CONFIDENCE:.0%} of the time: {verdict}"
            )
            if verdict == "FAIL":
                names.append(name)
        if names:
            failed.append(f"{' · '.join(map(str, key))} {', '.join(names)}")
    return failed


def verify(
    record_dir,
    jobs,
    out_root,
    rerun_job=rerun,
    echo=print,
    all_jobs=None,
    published=None,
    judge_all=False,
):
    """Reruns `jobs` of the record (`rerun_job`) and prints the comparison; returns True when
    nothing failed. `all_jobs`: every job of the record (default `jobs`), for the seeded variants'
    statistics; `published`: {resolved job directory: the names the pages show} (default: the
    README's and the docs pages', as `publish` renders them)."""
    if published is None:
        published = published_numbers()
    seeded = seeded_variants(all_jobs or jobs)
    if not judge_all and not any(published.get(Path(job_dir).resolve()) for job_dir, _ in all_jobs or jobs):
        echo(
            f"note: no page publishes a number of {record_dir} run by run: on another machine only its "
            "exact numbers (parameters, peak positions) and its seeded variants' means are judged; --all judges every number"
        )
    failed_jobs, failed_names, variant_runs = [], [], defaultdict(list)
    for job_dir, recorded in jobs:
        relative = Path(job_dir).relative_to(record_dir)
        echo(
            f"\n{relative.as_posix() or '.'}: {recorded.get('task')} · attention={recorded.get('attention')} · seed={recorded.get('seed')}"
        )
        new = rerun_job(job_dir, Path(out_root) / relative)
        if new.get("status") != "completed":
            echo(f"  FAIL: the run did not complete: {new.get('reason')}")
            failed_jobs.append(relative)
            failed_names.append("did not complete")
            continue
        then, now = recorded.get("provenance") or {}, new.get("provenance") or {}
        differences = environment_differences(then, now)
        exact = same_environment(differences)
        for key, (before, after) in differences.items():
            echo(f"  differs from the record: {key}: {before} → {after}")
        if not differences:
            echo("  same commit, packages, CPU and kernel settings as the record")
        if then.get("dirty") or now.get("dirty"):
            echo(
                "  note: uncommitted changes in the work tree (of the record or of this checkout): the code may differ from its commit"
            )
        apart = [name for name in AUDITS if name in recorded and name not in new]
        if apart:  # its audit was made after the run (experiments audit); the run again makes none
            echo(f"  note: the record's {' and '.join(apart)} was made apart from its run: not compared")
            recorded = {k: v for k, v in recorded.items() if k not in apart}
        in_seeded = _variant(recorded) in seeded and not exact
        if in_seeded:
            variant_runs[_variant(recorded)].append(new)
        shown = published.get(Path(job_dir).resolve(), set())
        if exact:
            echo("  judged: exactly (same packages, Python, backend, CPU and kernel settings)")
        elif in_seeded:
            echo("  judged: over the seeds of its variant, below (another environment; each run's numbers shown only)")
        else:
            echo(
                "  judged: "
                + ("every number" if judge_all else "the numbers the pages publish")
                + " within its tolerance (another environment); epoch counts"
                + ("" if judge_all else " and unpublished numbers")
                + " shown only"
            )
        rows = compare(
            recorded, new, exact, None if exact else (set() if in_seeded else shown), judge_all and not in_seeded
        )
        width = max(len(name) for name, *_ in rows)
        echo(f"  {'metric':<{width}}  {'recorded':>12}  {'new':>12}  {'difference':>12}  {'tolerance':>12}  verdict")
        for name, before, after, difference, verdict in rows:
            allowed = "exact" if exact else (str(tolerance(name)) if verdict != "shown" else "")
            echo(
                f"  {name:<{width}}  {_format(before):>12}  {_format(after):>12}  {_format(difference):>12}  {allowed:>12}  {verdict}"
            )
        echo(f"  wall time: recorded {recorded.get('wall_time_s')} s, now {new.get('wall_time_s')} s (not judged)")
        failures = [name for name, *_, verdict in rows if verdict == "FAIL"]
        if failures:
            failed_jobs.append(relative)
            failed_names += failures
    failed_variants = []
    if variant_runs:
        echo("\nThe seeded variants (another environment): the mean over the re-run seeds")
        failed_variants = _judge_variants(seeded, variant_runs, echo)
    echo("\n" + summary_line(record_dir, len(jobs), failed_jobs, failed_names, len(variant_runs), failed_variants))
    return not failed_jobs and not failed_variants


def summary_line(record_dir, count, failed_jobs, failed_names, variants, failed_variants):
    """'PASS: 5 of 5 jobs of RECORD', or 'FAIL: 3 of 5 jobs of RECORD failed: test.loss; ...'."""
    parts = []
    if failed_jobs:
        parts.append(
            f"{len(failed_jobs)} of {count} jobs of {record_dir} failed: {', '.join(dict.fromkeys(failed_names))}"
        )
    if failed_variants:
        parts.append(
            f"{len(failed_variants)} of {variants} seeded variants out of their interval: {'; '.join(failed_variants)}"
        )
    if parts:
        return "FAIL: " + "; ".join(parts)
    tail = f"; {variants} seeded variant(s) within their interval" if variants else ""
    return f"PASS: {count} of {count} jobs of {record_dir}{tail}"


def main(argv=None):
    parser = ToolParser("verify", description="Run recorded jobs again and compare with the record.")
    parser.add_argument("record", help="a record directory, e.g. docs/results/seed_000_readme")
    parser.add_argument("--jobs", type=int, help="only the first N recorded jobs")
    parser.add_argument("--seed", type=int, action="append", default=[], help="only this seed (repeatable)")
    parser.add_argument("--attention", action="append", default=[], help="only this attention variant (repeatable)")
    parser.add_argument(
        "--all", action="store_true", help="on another environment, judge every number, not only the published ones"
    )
    parser.add_argument(
        "--against", help="compare the runs already made in this directory (same job paths) instead of running them"
    )
    parser.add_argument(
        "--record-as",
        help="then record the new runs in docs/results/NAME (another CPU's record: NAME=cpus/<label>)",
    )
    parser.add_argument("--out", default="outputs/verify", help="where the runs go (default outputs/verify)")
    args = parser.parse_args(argv)
    try:
        if args.jobs is not None and args.jobs < 1:
            raise VerifyError(f"--jobs {args.jobs}: give a positive number of jobs")
        if args.against and not Path(args.against).is_dir():
            raise VerifyError(f"--against {args.against}: no such directory; give the runs to compare")
        if args.against and not RunDir.any_under(args.against):
            raise VerifyError(f"--against {args.against} holds no runs (no metrics.json): give the runs to compare")
        if args.against and args.record_as:
            raise VerifyError("--record-as records new runs; with --against nothing runs: give one of them")
        if args.record_as is not None:
            results.checked_record_name(args.record_as)  # before anything runs
        record = Path(args.record)
        every = recorded_jobs(record)
        jobs = select(every, args.seed, args.attention, args.jobs)
        out = Path(args.out) / record.name
        rerun_job = runs_made_in(args.against, record) if args.against else rerun
        passed = verify(record, jobs, out, rerun_job, all_jobs=every, judge_all=args.all)
    except (VerifyError, results.ResultsError) as error:
        return report(error)
    if args.record_as:
        count = results.record_runs(out, args.record_as, record.name)
        print(f"recorded {count} jobs in docs/results/{args.record_as}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
