"""Where the suite's files are, and the files of a run: written atomically (readers may open them
while they are written) and read back."""

import json
import os
import zipfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # experiments/


def _checkout(root):
    """`root` if it is the suite's source checkout (its pyproject.toml and conf/), else None."""
    return root if (root / "conf" / "config.yaml").is_file() and (root / "pyproject.toml").is_file() else None


# The source checkout that this code runs from (make install's editable install): conf/, docs/results/,
# the lock. None where the suite was installed from its wheel: there the configs are package data,
# and the tools that write the published records (publish, results, verify) have nothing to write to.
SUITE_ROOT = _checkout(PACKAGE_DIR.parents[1])
# The configs: the checkout's conf/, or the copy that the wheel carries as experiments/conf/.
CONFIG_DIR = SUITE_ROOT / "conf" if SUITE_ROOT is not None else PACKAGE_DIR / "conf"


def shown(path, width=80):
    """A path for a one-line message: as it is, or its first `width` characters and "..." if longer."""
    text = str(path)
    return text if len(text) <= width else f"{text[:width]}..."


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


def recorded_metrics(run_dir):
    """The run's metrics.json, or None where there is none (or it cannot be read)."""
    try:
        return json.loads((Path(run_dir) / "metrics.json").read_text())
    except (OSError, ValueError):
        return None


def holds_runs(root):
    """Whether any run has written its metrics.json under `root`."""
    return next(Path(root).rglob("metrics.json"), None) is not None


def read_audit(run_dir, name="audit.json"):
    """The run's audit.json (or `name`: audit_stack.json, say), or {} where it has none (or one being
    written)."""
    try:
        return json.loads((Path(run_dir) / name).read_text())
    except (OSError, ValueError):
        return {}


def load_saved_model(run_dir, error):
    """The run's model.keras, loaded (the backend started, the layers registered); a file that is
    cut short or not a Keras archive raises `error` in one line, not Keras' "File not found"."""
    import keras  # noqa: PLC0415  (the caller has started the backend)

    path = Path(run_dir) / "model.keras"
    if path.is_file() and not zipfile.is_zipfile(path):  # Keras would say "File not found"
        raise error(f"{path} is not a whole .keras archive (cut short, or another file): train the run again")
    try:
        return keras.models.load_model(path)
    except (ValueError, OSError, zipfile.BadZipFile, KeyError) as cause:
        reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        raise error(f"{path} cannot be loaded ({reason[:120]}): train the run again") from None


def out_directory(path, error):
    """`path` as a tool's output directory: one that exists or can be made, else `error` (a file on
    the way, or a name the file system refuses)."""
    path = Path(path)
    try:
        blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    except OSError as cause:
        raise error(f"--out {shown(path)}: {cause.strerror}") from None
    if blocking is not None:
        raise error(f"--out {path}: {blocking} is a file: give a directory for the outputs")
    return path
