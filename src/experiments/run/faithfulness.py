"""The faithfulness audit of a trained model, as a run makes it at its end and `make audit` makes
it later: the measures of `attention.audit` on the run's first `task.audit.samples` test samples,
written as `audit.json` and `audit.png`."""

import hashlib
import logging
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from omegaconf import OmegaConf

from experiments.run.config import check_adversary
from experiments.run.errors import ConfigError, SuiteError
from experiments.run.files import RunDir, load_saved_model, write_json
from experiments.run.quiet import retracing_expected

log = logging.getLogger(__name__)

AUDIT_JSON = RunDir.AUDIT
AUDIT_PNG = "audit.png"
DEFAULT_PERMUTATIONS = 100


class AuditError(SuiteError, ValueError):
    """A run that cannot be audited; the message is one line for the user."""


def positive_integer(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AuditError(f"{name} must be a positive integer, got {value!r}")
    return value


def load_trained(cfg, run_dir):
    """(task module, model, data) of the completed run in `run_dir`: its saved model, and its data
    made again from its config and seed. The backend must have started."""
    import attention  # noqa: F401, PLC0415  (registers the layers for loading)
    from experiments.run.seeds import seeded_task_data  # noqa: PLC0415  (it starts the backend)

    task, data = seeded_task_data(cfg)
    return task, load_saved_model(run_dir, AuditError), data


def audit_trained(cfg, task, model, data, samples=None, permutations=None, measures=None):
    """The audit of a trained `model` of task module `task` on its test data: (result, details).

    `cfg` is the run's whole config; `samples` and `permutations` default to `task.audit`'s;
    `measures`: the names of the measures to run (default all).
    """
    # TensorFlow starts here, once start_tensorflow has quieted it.
    from attention.audit import AttentionAudit  # noqa: PLC0415

    settings = cfg.task.get("audit") or {}
    samples = positive_integer("samples", samples if samples is not None else settings.get("samples", 200))
    permutations = positive_integer(
        "permutations", permutations if permutations is not None else settings.get("permutations", DEFAULT_PERMUTATIONS)
    )
    x_test = data.test[0]
    count = min(samples, len(x_test[0] if isinstance(x_test, list) else x_test))
    x = [a[:count] for a in x_test] if isinstance(x_test, list) else x_test[:count]
    if count < samples:  # the audit.json says how many it audited
        log.info("audit: the %d test samples there are, fewer than the %d asked for", count, samples)
    deciding = task.deciding_steps(cfg.task, data, count)
    started = time.perf_counter()
    with retracing_expected():  # each model the audit builds traces its own predict function
        audit = AttentionAudit(
            model, layer_name="attention", regression_tolerance=settings.get("regression_tolerance", 0.1)
        )
        result = audit.run(
            x,
            deciding=deciding,
            permutations=permutations,
            seed=cfg.seed,
            adversary=adversary_search(settings),
            measures=measures,
        )
    result = {
        "task": cfg.task.name,
        "attention": cfg.attention.name,
        "seed": cfg.seed,
        **result,
        "seconds": round(time.perf_counter() - started, 2),
    }
    # Which samples were audited, and what the model gave on them: a sweep compares seeds on these.
    audited = hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in audit.forward.inputs)).hexdigest()
    return result, {**audit.details, "outputs": audit.forward.outputs, "inputs_sha256": audited}


def adversary_search(settings):
    """The search for adversarial attention as `task.audit.adversary` sets it (a run made before
    the setting existed: Jain & Wallace's constants), checked as a run's config is."""
    from attention.audit import AdversarySearch  # noqa: PLC0415  (TensorFlow starts here)

    adversary = settings.get("adversary")
    try:
        check_adversary(adversary)
    except ConfigError as error:  # `make audit` reports each run it cannot audit, and goes on
        raise AuditError(str(error)) from None
    return AdversarySearch(**(OmegaConf.to_container(adversary) if adversary is not None else {}))


STACK_AUDIT_JSON = RunDir.STACK_AUDIT
STACK_AUDIT_PNG = "audit_stack.png"


def audit_stack(cfg, task, model, data, samples=None):
    """The audit of a stack of attention layers (encoder=transformer: `attention.audit.stack`) on
    the run's first `samples` (default `task.audit.samples`) test samples: its explanations against
    the importances and the steps that decide (where the task knows them). Returns the JSON-ready
    result."""
    from attention.audit import StackAudit  # noqa: PLC0415  (TensorFlow starts here)

    settings = cfg.task.get("audit") or {}
    x_test = data.test[0]
    asked = samples if samples is not None else settings.get("samples", 200)
    count = min(positive_integer("samples", asked), len(x_test))
    started = time.perf_counter()
    audit = StackAudit(
        model,
        ig_steps=positive_integer("integrated_gradients_steps", settings.get("integrated_gradients_steps", 32)),
        flow_samples=positive_integer("flow_samples", settings.get("flow_samples", 50)),
        flow_max_steps=positive_integer("flow_max_steps", settings.get("flow_max_steps", 100)),
    )
    result = audit.run(x_test[:count], deciding=task.deciding_steps(cfg.task, data, count), seed=cfg.seed)
    return {
        "task": cfg.task.name,
        "attention": cfg.attention.name,
        "seed": cfg.seed,
        **result,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _explained(result):
    """The explanations of a stack's audit that it computed (flow is None beyond its longest)."""
    return {name: e for name, e in result["explanations"].items() if e is not None}


def stack_headline(result):
    """The audit of a stack in one line: each explanation's hit rate on the deciding steps (or its
    τ with leave-one-out where none are known)."""
    explained = _explained(result)
    if all(e["hit_rate"] is None for e in explained.values()):
        parts = [f"{name} τ(leave-one-out) {number(e['tau']['leave_one_out'])}" for name, e in explained.items()]
    else:
        parts = [f"{name} {number(e['hit_rate'])}" for name, e in {**explained, **result["importances"]}.items()]
        parts[0] = "top step on a deciding step: " + parts[0]
    return ", ".join(parts)


def number(value, digits=2):
    return "–" if value is None else f"{value:.{digits}f}"


def write_stack_audit(run_dir, result):
    """`audit_stack.json` and its figure, `audit_stack.png`: per explanation and importance, the
    hit rate on the deciding steps (where the task knows them), τ with leave-one-out, and ERASER's
    AOPC (for a classifier)."""
    run_dir = Path(run_dir)
    write_json(run_dir / STACK_AUDIT_JSON, result)
    explanations = _explained(result)
    rows = {**explanations, **result["importances"]}
    colours = ["tab:purple"] * len(explanations) + ["tab:grey"] * len(result["importances"])
    knows_deciding = any(row["hit_rate"] is not None for row in rows.values())
    panels = 1 + knows_deciding + (result.get("eraser") is not None)
    fig = Figure(figsize=(5 * panels, 3.6), layout="constrained")
    axes = list(fig.subplots(1, panels, squeeze=False)[0])
    if knows_deciding:
        hit_ax = axes.pop(0)
        hit_ax.barh(list(rows), [row["hit_rate"] or 0.0 for row in rows.values()], color=colours)
        hit_ax.set_xlim(0, 1)
        hit_ax.set_xlabel("top step on a deciding step (share of samples)")
        hit_ax.invert_yaxis()
    tau_ax = axes.pop(0)
    tau_ax.barh(
        list(explanations), [e["tau"]["leave_one_out"] or 0.0 for e in explanations.values()], color="tab:purple"
    )
    tau_ax.set_xlim(-1, 1)
    tau_ax.axvline(0, color="black", linewidth=0.8)
    tau_ax.set_xlabel("Kendall τ with leave-one-out (mean)")
    tau_ax.invert_yaxis()
    if result.get("eraser") is not None:
        eraser_ax = axes.pop(0)
        comprehensiveness, sufficiency = result["eraser"]["comprehensiveness"], result["eraser"]["sufficiency"]
        names = list(comprehensiveness)
        place = np.arange(len(names))
        eraser_ax.barh(place - 0.2, [comprehensiveness[n]["aopc"] for n in names], 0.4, label="comprehensiveness")
        eraser_ax.barh(place + 0.2, [sufficiency[n]["aopc"] for n in names], 0.4, label="sufficiency")
        eraser_ax.set_yticks(place, names)
        eraser_ax.axvline(0, color="black", linewidth=0.8)
        eraser_ax.set_xlabel("ERASER AOPC (drop of the decided class's probability)")
        eraser_ax.legend(fontsize=8)
        eraser_ax.invert_yaxis()
    fig.suptitle(
        f"{result['task']} · attention={result['attention']} · seed={result['seed']}\n"
        f"the stack's explanations (purple) and the input importances (grey), {result['samples']} test samples"
    )
    fig.savefig(run_dir / STACK_AUDIT_PNG, dpi=110)


def write_audit(run_dir, result, details):
    """`audit.json`, `audit.png` and `audit_attention.npz` (what a sweep compares across seeds) in
    `run_dir`."""
    run_dir = Path(run_dir)
    write_json(run_dir / AUDIT_JSON, result)
    figure(result, details).savefig(run_dir / AUDIT_PNG, dpi=110)
    np.savez_compressed(
        run_dir / RunDir.AUDIT_ATTENTION,
        weights=details["weights"].astype("float32"),  # (samples, units, steps)
        outputs=details["outputs"].astype("float32"),  # (samples, units, values)
        adversarial_jsd=details["adversarial_jsd"],  # (samples, units), nan where none was found
        inputs_sha256=np.array(details["inputs_sha256"]),
    )


def figure(result, details):
    """Six panels: τ histograms, permutation against the largest weight, erasure, hit rates,
    ERASER's comprehensiveness and sufficiency curves, and the adversary's JSD against the largest
    weight."""
    fig = Figure(figsize=(23, 3.8), layout="constrained")
    tau_ax, perm_ax, erase_ax, truth_ax, eraser_ax, adversary_ax = fig.subplots(1, 6)

    for name, colour in (("gradient", "tab:blue"), ("leave_one_out", "tab:orange")):
        tau = details["tau"][name][..., 0].ravel()
        tau = tau[~np.isnan(tau)]
        if len(tau):
            tau_ax.hist(tau, bins=30, range=(-1, 1), alpha=0.6, color=colour, label=f"{name} (mean {tau.mean():.2f})")
    tau_ax.set_xlabel("Kendall τ with the attention")
    tau_ax.set_ylabel("units")
    tau_ax.set_title("agreement")
    if tau_ax.get_legend_handles_labels()[0]:
        tau_ax.legend(fontsize=8)
    else:
        tau_ax.text(0.5, 0.5, "undefined:\nconstant attention", ha="center", va="center", transform=tau_ax.transAxes)

    perm_ax.scatter(details["max_weight"].ravel(), details["permutation"].ravel(), s=6, alpha=0.5)
    perm_ax.set_xlabel("largest attention weight")
    perm_ax.set_ylabel("median output change")
    perm_ax.set_title(f"{result['permutation']['permutations']} permutations of the weights")

    orders = list(details["removals"])
    flipped = [result["erasure"]["removals_to_flip"][o]["flipped"] for o in orders]
    erase_ax.bar(orders, flipped, color=["tab:red", "tab:blue", "tab:gray"])
    erase_ax.set_ylim(0, 1)
    erase_ax.set_ylabel("units whose decision flips")
    largest, random = (result["erasure"][k]["flip_rate"] for k in ("largest", "random"))
    erase_ax.set_title(
        "removing weights in each order\n(one weight: largest flips "
        + (f"{largest:.2f}, random {random:.2f})" if largest is not None else "n/a)"),
        fontsize=9,
    )

    truth = result.get("ground_truth")
    if truth:
        names = list(truth["hit_rate"])
        truth_ax.bar(names, [truth["hit_rate"][n] or 0 for n in names], color=["tab:red", "tab:blue", "tab:orange"])
        truth_ax.set_ylim(0, 1)
        truth_ax.set_ylabel("top step decides the answer")
        truth_ax.set_title(f"ground truth ({truth['units']} units)")
    else:
        truth_ax.set_axis_off()
        truth_ax.text(0.5, 0.5, "no ground truth\n(real text)", ha="center", va="center", transform=truth_ax.transAxes)
    eraser = result.get("eraser")
    if eraser:
        shares = [100 * f for f in eraser["fractions"]]
        colours = {"attention": "tab:red", "gradient": "tab:blue", "leave_one_out": "tab:orange", "random": "tab:gray"}
        for name, colour in colours.items():
            for measure, style in (("comprehensiveness", "-"), ("sufficiency", "--")):
                curve = eraser[measure][name]
                label = f"{name}: {measure[:4]}. {curve['aopc']:.2f}"
                eraser_ax.plot(shares, curve["by_fraction"], style, color=colour, marker="o", ms=3, label=label)
        eraser_ax.set_xscale("log")
        eraser_ax.set_xlabel("% of real steps: top removed (—), kept alone (- -)")
        eraser_ax.set_ylabel("drop of the decided class's probability")
        eraser_ax.set_title("ERASER: comprehensiveness, sufficiency\n(AOPC in the legend)", fontsize=9)
        eraser_ax.legend(fontsize=6, ncol=2)
    else:
        eraser_ax.set_axis_off()
        eraser_ax.text(0.5, 0.5, "no ERASER measures\n(a regression, or an older audit)", ha="center", va="center",
                       transform=eraser_ax.transAxes)  # fmt: skip
    adversarial = result["adversarial"]
    adversary_ax.scatter(details["max_weight"].ravel(), details["adversarial_jsd"].ravel(), s=6, alpha=0.5)
    adversary_ax.axhline(np.log(2), color="black", linewidth=0.8, linestyle=":")  # the most there is
    adversary_ax.set_ylim(0, 0.72)
    adversary_ax.set_xlabel("largest attention weight")
    adversary_ax.set_ylabel("JSD (nats) of the farthest within tolerance")
    adversary_ax.set_title(
        f"adversarial attention (output within {adversarial['tolerance']:g}):\n"
        f"found for {adversarial['found_rate']:.0%} of units",
        fontsize=9,
    )
    fig.suptitle(
        f"Is the attention faithful? {result['task']} · attention={result['attention']} · seed={result['seed']}"
        f" · {result['samples']} test samples"
    )
    return fig


def headline(result):
    """One line: the τs, the erasure flip rates and the hit rates."""
    agreement = result["agreement"]

    def tau(name):
        mean = agreement[name]["mean"]
        return "undefined" if mean is None else f"{mean:.2f}"

    parts = [f"τ_g {tau('gradient')}", f"τ_loo {tau('leave_one_out')}"]
    largest = result["erasure"]["largest"]["flip_rate"]
    if largest is not None:
        parts.append(f"erasing the largest weight flips {largest:.1%}")
    adversarial = result.get("adversarial")
    if adversarial and adversarial["max_jsd"] is not None:
        parts.append(f"adversarial attention at JSD {adversarial['max_jsd']['mean']:.2f}")
    if result.get("ground_truth"):
        rates = result["ground_truth"]["hit_rate"]
        parts.append("hits " + ", ".join(f"{k} {v:.2f}" for k, v in rates.items() if v is not None))
    return "; ".join(parts) + f" ({result['seconds']:.0f} s)"
