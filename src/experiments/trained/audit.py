"""`make audit RUN=...`: is a trained run's attention where its decisions come from?

    experiments audit outputs/runs/find_max/luong/seed=0
    experiments audit outputs/sweeps/imdb_table/imdb/luong/seed=*  --samples 100

On the run's saved model and the first `task.audit.samples` of its test samples, runs the measures
of `attention.audit` (agreement with gradient and leave-one-out importance, permutation, erasure,
and where the task knows which input decides the answer, ground-truth hit rates) and writes
`audit.json` and `audit.png` into the run directory; a run of a stack of attention layers
(encoder=transformer) gets the audit of a stack instead, `audit_stack.json` and `audit_stack.png`. A run also audits itself at its end where its
task sets `task.audit.at_end` (on where that costs under a minute at the task's default size).
`--measure NAME` (repeatable) runs that measure alone again, on the samples of the run's audit, and
puts it in place in its `audit.json`: where a measure's definition changed, without the hours the
adversary's search takes on IMDB.
Exit 0 when every run was audited; 2 when one could not be (each says why in one line, and
the others are audited).
"""

import sys
from pathlib import Path

from experiments.run.config import attends_by_stack, compose
from experiments.run.errors import ToolParser, report
from experiments.run.faithfulness import (
    DEFAULT_PERMUTATIONS,
    AuditError,
    audit_stack,
    audit_trained,
    headline,
    load_trained,
    positive_integer,
    stack_headline,
    write_audit,
    write_stack_audit,
)
from experiments.run.files import RunDir, write_json
from experiments.run.quiet import start_tensorflow
from experiments.trained.load import checked_run


def audit_run(run_dir, samples=None, permutations=None, measures=()):
    """Audits the completed run in `run_dir` (its model.keras and its config), writes its files
    and returns the result; with `measures`, runs those again and updates them in its audit.json."""
    for name, value in (("--samples", samples), ("--permutations", permutations)):
        if value is not None:
            positive_integer(name, value)
    run_dir = Path(run_dir)
    _, cfg = checked_run(run_dir, "audit", AuditError)
    if "audit" not in cfg.task:  # a run from before task.audit existed: today's settings of its task
        cfg.task.audit = compose([f"task={cfg.task.name}"]).task.audit
    if measures:
        return _measure_again(run_dir, cfg, tuple(measures), samples, permutations)

    if attends_by_stack(cfg):
        if permutations is not None:  # a setting that is accepted must be used
            raise AuditError(
                f"{run_dir}: --permutations is a setting of the one-layer audit; this run's attention is a stack "
                f"(attention={cfg.attention.name}), audited without permutations"
            )
        start_tensorflow()
        result = audit_stack(cfg, *load_trained(cfg, run_dir), samples)
        write_stack_audit(run_dir, result)
        return result
    start_tensorflow()  # TensorFlow starts here, once start_tensorflow has quieted it
    result, details = audit_trained(cfg, *load_trained(cfg, run_dir), samples, permutations)
    write_audit(run_dir, result, details)
    return result


def _measure_again(run_dir, cfg, measures, samples, permutations):
    """The run's audit.json with `measures` run again on the samples it audited, written back."""
    if attends_by_stack(cfg):
        raise AuditError(f"{run_dir}: --measure runs a measure of the one-layer audit; this run's attention is a stack")
    if samples is not None:  # a setting that is accepted must be used
        raise AuditError("--samples: --measure runs the measures again on the samples of the run's audit; leave it out")
    if permutations is not None and "permutation" not in measures:
        raise AuditError("--permutations is a setting of the permutation measure, which --measure leaves out")
    audited = RunDir(run_dir).audit()
    if not audited:
        raise AuditError(f"{run_dir} has no audit.json to update: audit it whole first (experiments audit {run_dir})")
    start_tensorflow()  # TensorFlow starts here, once start_tensorflow has quieted it
    from attention.audit import chosen_measures  # noqa: PLC0415  (it starts the backend)

    try:
        chosen_measures(measures)
    except ValueError as error:
        raise AuditError(f"--measure: {error}") from None
    result, _ = audit_trained(cfg, *load_trained(cfg, run_dir), audited["samples"], permutations, measures)
    updated = {key: value for key, value in audited.items() if key not in measures}
    updated.update({name: result[name] for name in measures if name in result})  # None, omitted: left out
    write_json(run_dir / RunDir.AUDIT, updated)
    return updated


def main(argv=None):
    parser = ToolParser("audit", description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="run directories (each with model.keras and .hydra/config.yaml)")
    parser.add_argument("--samples", type=int, help="test samples to audit (default: task.audit.samples)")
    parser.add_argument("--permutations", type=int, help=f"permutations per sample (default {DEFAULT_PERMUTATIONS})")
    parser.add_argument(
        "--measure",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this measure again (repeatable; conicity, adversarial, ...) and update it in the run's audit.json",
    )
    args = parser.parse_args(argv)
    refused = 0
    for run_dir in args.runs:  # one run that cannot be audited does not stop the others
        try:
            result = audit_run(run_dir, args.samples, args.permutations, args.measure)
        except (AuditError, NotImplementedError) as error:  # NotImplementedError: a backend without the gradients
            report(error)
            refused += 1
            continue
        print(f"{run_dir}: {stack_headline(result) if 'explanations' in result else headline(result)}")
    return 2 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
