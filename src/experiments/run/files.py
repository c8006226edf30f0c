"""Where the suite's files are, and the files of a run: written atomically (readers may open them
while they are written) and read back."""

import json
import os
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

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


class RunDir:
    """A run's directory and the files the suite keeps in it. Every reader of a run goes through
    it: its metrics.json, its audits, the marker of an audit under way, its model and its backup.

        run = RunDir("outputs/runs/imdb/luong/seed0_...")
        run.metrics()       # metrics.json as a dict, or None where there is none (or it is cut)
        run.audit()         # audit.json, or {}
    """

    METRICS = "metrics.json"
    AUDIT = "audit.json"
    STACK_AUDIT = "audit_stack.json"  # the audit of a stack of attention layers (encoder=transformer)
    # What the audit read and found per unit, for the comparisons across seeds (`seed_variance`).
    AUDIT_ATTENTION = "audit_attention.npz"
    # Lies in the directory while the audit at the end runs, and stays there if the audit is cut:
    # metrics.json already says completed, so only this tells a record to wait for the audit.
    AUDIT_RUNNING = "audit.running"
    MODEL = "model.keras"
    BACKUP = "backup"  # the state a killed run resumes from; gone once the run has saved its model

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self):
        return f"RunDir({str(self.path)!r})"

    def __eq__(self, other):
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self):
        return hash(self.path)

    @classmethod
    def under(cls, root, skip=None):
        """Every run directory under `root` (those holding a metrics.json), except under `skip`."""
        for path in sorted(Path(root).rglob(cls.METRICS)):
            if skip is None or Path(skip) not in path.parents:
                yield cls(path.parent)

    @classmethod
    def any_under(cls, root):
        """Whether any run has written its metrics.json under `root`."""
        return next(Path(root).rglob(cls.METRICS), None) is not None

    @property
    def metrics_file(self):
        return self.path / self.METRICS

    @property
    def config_file(self):
        """The run's composed config, as Hydra saved it."""
        return self.path / ".hydra" / "config.yaml"

    @property
    def overrides_file(self):
        """The overrides the run was made with, as Hydra saved them."""
        return self.path / ".hydra" / "overrides.yaml"

    @property
    def model_file(self):
        return self.path / self.MODEL

    def has_model(self):
        """Whether the run saved its trained model."""
        return self.model_file.is_file()

    @property
    def backup_dir(self):
        return self.path / self.BACKUP

    def metrics(self):
        """The run's metrics.json, or None where there is none (or it cannot be read)."""
        return _read_json(self.metrics_file)

    def write_metrics(self, metrics):
        write_json(self.metrics_file, metrics)

    def finished(self):
        """When metrics.json was last written (seconds since the epoch)."""
        return self.metrics_file.stat().st_mtime

    def completed(self):
        """Whether metrics.json says the run completed."""
        return (self.metrics() or {}).get("status") == "completed"

    def audit(self, name=AUDIT):
        """The run's audit.json (or `name`: audit_stack.json), or {} where it has none (or one
        being written)."""
        return _read_json(self.path / name) or {}

    def audited_attention(self):
        """{name: array} of what the audit kept (its attention, the outputs, the adversary's JSD and
        the digest of the samples), or None where the run has none."""
        path = self.path / self.AUDIT_ATTENTION
        if not path.is_file():
            return None
        with np.load(path) as arrays:
            return dict(arrays)

    def audit_pending(self):
        """Whether the audit at the end has begun and not been written: still running, or cut."""
        written = (self.path / self.AUDIT).is_file() or (self.path / self.STACK_AUDIT).is_file()
        return (self.path / self.AUDIT_RUNNING).is_file() and not written

    @contextmanager
    def auditing(self):
        """The audit at the end runs inside: the marker lies in the directory until the audit
        returns or fails, and stays if it is cut (an interrupt, a kill), for the job run again."""
        marker = self.path / self.AUDIT_RUNNING
        marker.touch()
        try:
            yield
        except Exception:
            marker.unlink(missing_ok=True)
            raise
        marker.unlink(missing_ok=True)


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None  # none, being written, or not ours


def load_saved_model(run_dir, error):
    """The run's model.keras, loaded (the backend started, the layers registered); a file that is
    cut short or not a Keras archive raises `error` in one line, not Keras' "File not found"."""
    import keras  # noqa: PLC0415  (the caller has started the backend)

    path = RunDir(run_dir).model_file
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
