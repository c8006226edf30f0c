"""`make verify`: run recorded jobs again and compare their numbers with the record.

    python -m experiments.verify docs/results/seed_000_readme
    python -m experiments.verify docs/results/imdb_table --seed 0 --attention luong
    python -m experiments.verify docs/results/imdb_table --jobs 1

Each selected job runs again as `python -m experiments` with its recorded `.hydra/overrides.yaml`
(its config must compose to the recorded fingerprint), in a process of its own with the record's
kernel variables (`ONEDNN_MAX_CPU_ISA`, ...), into `outputs/verify/<record>/<job>/`. Every number of
its `metrics.json` (test metrics, attention quality, epochs, parameters, the seed protocol's max
test accuracy) is printed beside the recorded one, with the difference and PASS or FAIL. Where
nothing that decides numbers differs from the record (packages, Python, backend, CPU model, its
instruction sets and core count) they must be equal; elsewhere each may differ by the relative
tolerance `--rtol` (default 5%), and epoch counts, which early stopping turns on small differences,
are shown but not judged. Each job says which of commit, packages and CPU differ from the record.
Exit 0 when every job passes, 1 otherwise, 2 on bad input."""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

from omegaconf import OmegaConf

from experiments import provenance
from experiments.config import compose, config_fingerprint, validate

DEFAULT_RTOL = 0.05
# Counted, not measured: equal on the record's environment, only shown elsewhere.
EPOCH_COUNTS = ("epochs", "best_epoch", "stopped_epoch")


class VerifyError(ValueError):
    """A request that cannot run; the message is one line for the user."""


def recorded_jobs(record_dir):
    """(job directory, metrics) of every completed job recorded under `record_dir`, in order."""
    record_dir = Path(record_dir)
    if not record_dir.is_dir():
        raise VerifyError(f"no record at {record_dir}: give a directory under docs/results/")
    jobs = []
    for path in sorted(record_dir.rglob("metrics.json")):
        metrics = json.loads(path.read_text())
        if metrics.get("status") == "completed" and (path.parent / ".hydra" / "overrides.yaml").is_file():
            jobs.append((path.parent, metrics))
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
    for key in ("params", *EPOCH_COUNTS):
        if metrics.get(key) is not None:
            found[key] = metrics[key]
    test_curve = (metrics.get("history") or {}).get("test_accuracy")
    if test_curve:
        found["max_test_accuracy"] = max(test_curve)
    return found


def environment_differences(recorded, current):
    """What differs between the provenance of a record and this machine: {'commit': (a, b), ...}."""
    recorded = recorded or {}
    differences = {}
    for key in ("commit", "dirty", "python", "backend", "cpu", "cpu_isa", "cores", "gpus", "environment"):
        if key in recorded and recorded[key] != current.get(key):  # older records may lack a key
            differences[key] = (recorded.get(key), current.get(key))
    packages_then, packages_now = recorded.get("packages") or {}, current.get("packages") or {}
    for name in sorted(set(packages_then) & set(packages_now)):  # another backend's package installed beside: no matter
        if packages_then.get(name) != packages_now.get(name):
            differences[name] = (packages_then.get(name), packages_now.get(name))
    return differences


def same_environment(differences):
    """Whether numbers must be equal: nothing that decides them differs (the code may, if clean)."""
    return not (set(differences) - {"commit", "dirty"})


def compare(recorded, new, exact, rtol):
    """[(name, recorded, new, difference, verdict)] for every number of the record."""
    rows = []
    new_numbers = numbers(new)
    for name, before in numbers(recorded).items():
        after = new_numbers.get(name)
        if after is None:
            rows.append((name, before, None, None, "FAIL"))
            continue
        difference = after - before
        if name in EPOCH_COUNTS and not exact:
            verdict = "shown"
        elif exact:
            verdict = "PASS" if after == before else "FAIL"
        else:
            verdict = "PASS" if math.isclose(after, before, rel_tol=rtol, abs_tol=1e-12) else "FAIL"
        rows.append((name, before, after, difference, verdict))
    return rows


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
        for o in OmegaConf.load(Path(job_dir) / ".hydra" / "overrides.yaml")
        if o.split("=")[0] not in ("trainer.verbose", "hydra.verbose")
    ]
    recorded = json.loads((Path(job_dir) / "metrics.json").read_text())
    fingerprint = config_fingerprint(_compose(overrides))
    if fingerprint != recorded.get("config"):
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
    try:
        return json.loads((Path(out_dir) / "metrics.json").read_text())
    except (OSError, ValueError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": "failed", "reason": f"exit {done.returncode}: {last}"}


def verify(record_dir, jobs, out_root, rtol=DEFAULT_RTOL, rerun_job=rerun, echo=print):
    """Reruns `jobs` of the record and prints the comparison; returns True when all pass."""
    all_passed = True
    for job_dir, recorded in jobs:
        relative = Path(job_dir).relative_to(record_dir)
        echo(
            f"\n{relative.as_posix() or '.'}: {recorded.get('task')} · attention={recorded.get('attention')} · seed={recorded.get('seed')}"
        )
        new = rerun_job(job_dir, Path(out_root) / relative)
        if new.get("status") != "completed":
            echo(f"  FAIL: the run did not complete: {new.get('reason')}")
            all_passed = False
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
        echo(
            "  judged: "
            + (
                "exactly (same packages, Python, backend, CPU and kernel settings)"
                if exact
                else f"within {rtol:.0%} of each recorded value (another environment); epoch counts shown only"
            )
        )
        rows = compare(recorded, new, exact, rtol)
        width = max(len(name) for name, *_ in rows)
        echo(f"  {'metric':<{width}}  {'recorded':>12}  {'new':>12}  {'difference':>12}  verdict")
        for name, before, after, difference, verdict in rows:
            echo(
                f"  {name:<{width}}  {_format(before):>12}  {_format(after):>12}  {_format(difference):>12}  {verdict}"
            )
        echo(f"  wall time: recorded {recorded.get('wall_time_s')} s, now {new.get('wall_time_s')} s (not judged)")
        all_passed &= all(verdict != "FAIL" for *_, verdict in rows)
    echo(f"\n{'PASS' if all_passed else 'FAIL'}: {len(jobs)} job(s) of {record_dir}")
    return all_passed


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run recorded jobs again and compare with the record.")
    parser.add_argument("record", help="a record directory, e.g. docs/results/seed_000_readme")
    parser.add_argument("--jobs", type=int, help="only the first N recorded jobs")
    parser.add_argument("--seed", type=int, action="append", default=[], help="only this seed (repeatable)")
    parser.add_argument("--attention", action="append", default=[], help="only this attention variant (repeatable)")
    parser.add_argument(
        "--rtol",
        type=float,
        default=DEFAULT_RTOL,
        help=f"relative tolerance on another environment (default {DEFAULT_RTOL})",
    )
    parser.add_argument("--out", default="outputs/verify", help="where the runs go (default outputs/verify)")
    args = parser.parse_args(argv)
    try:
        if args.jobs is not None and args.jobs < 1:
            raise VerifyError(f"--jobs {args.jobs}: give a positive number of jobs")
        if not 0 <= args.rtol < 1:
            raise VerifyError(f"--rtol {args.rtol}: give a fraction from 0 to 1, e.g. 0.05")
        record = Path(args.record)
        jobs = select(recorded_jobs(record), args.seed, args.attention, args.jobs)
        passed = verify(record, jobs, Path(args.out) / record.name, args.rtol)
    except VerifyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
