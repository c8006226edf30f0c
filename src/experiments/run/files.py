"""Where the suite's files are, and the files of a run: written atomically (readers may open them
while they are written) and read back."""

import json
import os
from pathlib import Path

SUITE_ROOT = Path(__file__).resolve().parents[3]  # the checkout: conf/, docs/, outputs/


def write_json(path, data):
    """Writes `data` as JSON atomically: readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write (a full disk) leaves the old file, and no litter


def read_runs(root, skip=None):
    """(run directory, metrics) for every readable metrics.json under `root`, except under `skip`."""
    for path in Path(root).rglob("metrics.json"):
        if skip is not None and Path(skip) in path.parents:
            continue
        try:
            yield path.parent, json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being written, or not ours


def read_audit(run_dir):
    """The run's audit.json, or {} where it has none (or one being written)."""
    try:
        return json.loads((Path(run_dir) / "audit.json").read_text())
    except (OSError, ValueError):
        return {}
