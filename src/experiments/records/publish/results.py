"""The Published results page: which code and machine made each record, and the tasks of
keras-attention-mechanism (original 000) on other CPUs and kernel settings."""

import json
from pathlib import Path

from experiments.records.publish.engine import block
from experiments.records.publish.format import cpu_name, table
from experiments.records.publish.record import SEED_000_TASKS, Record, missing
from experiments.records.results import COMMANDS, OTHER_CPUS, other_cpu_records


def cpu_label(made):
    """A CPU in a few words from a run's provenance: 'AMD EPYC, AVX-512 (family 25 model 17)'."""
    isa = made.get("cpu_isa") or []
    widest = (
        "AVX-512" if "avx512f" in isa else "AVX2" if "avx2" in isa else "no AVX2" if isa else "instruction sets unknown"
    )
    signature = f" ({made['cpu_signature']})" if made.get("cpu_signature") else ""
    return f"{made.get('cpu')}, {widest}{signature}"


def _peaks(record):
    """{task: attention_quality} of a record of the keras-attention-mechanism tasks."""
    return {m["task"]: m["attention_quality"] for _, m, _ in record.jobs}


def _peak_text(quality):
    if not quality:
        return "–"
    return f"{quality['peak_weight']:.4f} ({quality['runner_up_weight']:.4f}) at {quality['peak_index']}"


def _largest_gap(peaks, other, key="peak_weight"):
    """The largest |difference| of `key` between two records over the tasks both hold."""
    return max((abs(peaks[t][key] - other[t][key]) for t in SEED_000_TASKS if t in peaks and t in other), default=0.0)


@block("cpu_drift")
def block_cpu_drift(root):
    """The keras-attention-mechanism tasks on real CPUs side by side (the record, and cpus/* made on
    other CPUs), and on the record's CPU with oneDNN capped at AVX2 and off, with what the simulation
    predicts."""
    base = Record("seed_000_readme", root)
    simulated = [
        (Record("cpu_drift/avx2", root), "oneDNN capped at AVX2"),
        (Record("cpu_drift/no_onednn", root), "oneDNN off"),
    ]
    if not base or not all(record for record, _ in simulated):
        return missing("cpu_drift")
    machines = [(Record(f"{OTHER_CPUS}/{label}", root), label) for label in other_cpu_records(root)]
    machines = [(record, label, _peaks(record)) for record, label in machines if record]
    base_peaks = _peaks(base)
    simulated = [(record, what, _peaks(record)) for record, what in simulated]
    header = ["task", f"{cpu_label(base.jobs[0][1]['provenance'])}: the record's CPU"]
    header += [f"{cpu_label(r.jobs[0][1]['provenance'])}: {label}" for r, label, _ in machines]
    header += [f"the record's CPU, {what}" for _, what, _ in simulated]
    columns = [base_peaks, *(peaks for *_, peaks in machines + simulated)]
    rows = [[f"`{task}`"] + [_peak_text(peaks.get(task)) for peaks in columns] for task in SEED_000_TASKS]
    text = table(header, rows) + "\n"
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


@block("provenance")
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
                values(lambda p: f"{cpu_name(p)} ×{p.get('cores')}"),
                f"{starts[0]} – {starts[-1]}" if starts and starts[0] != starts[-1] else (starts[0] if starts else "–"),
                f"{max(p.get('load_average_1min') or 0 for p in provenances):.2f}",
            )
        )
    if not rows:
        return "_No records yet: `make results` writes them._\n"
    return table(
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
