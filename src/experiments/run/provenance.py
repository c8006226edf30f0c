"""What made a run's numbers: the suite's commit, the packages, the backend and the machine.

Every run's `metrics.json` carries this as `provenance`, so that a published number says which
code, packages and CPU produced it, and `verify` can say which of them differ from a new run.
"""

import functools
import hashlib
import importlib.metadata
import os
import platform
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

from experiments.run.files import SUITE_ROOT

# The distributions that decide a run's numbers (those installed are recorded).
PACKAGES = (
    "tensorflow",
    "keras",
    "numpy",
    "hydra-core",
    "omegaconf",
    "scipy",
    "pandas",
    "matplotlib",
    "babel",
    "ml-dtypes",
    "jax",
    "jaxlib",
    "torch",
    # The suite's code itself: where it was installed from its wheels there is no commit to name.
    "keras-attention-layers",
    "keras-attention-suite",
)


def _git(*args):
    """The output of a git command in the suite's checkout, or None (no git, not a checkout)."""
    if SUITE_ROOT is None:  # installed from its wheel: no commit to name (the version is recorded)
        return None
    try:
        done = subprocess.run(["git", "-C", str(SUITE_ROOT), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


# Results, not code: a record written into the checkout does not make the next run's code dirty.
NOT_CODE = ("docs/results",)


def code_version():
    """{'commit': the suite's git commit or None, 'dirty': whether tracked or new files differ from it}."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--", ".", *(f":(exclude){path}" for path in NOT_CODE)) if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


@functools.cache
def installed_versions():
    """{canonical name: version} of every installed distribution, read in one pass over the path
    (a lookup per package scans it each time), once per process: the code a process runs is what
    it imported, whatever is installed later. Where a name is on the path twice, the first wins,
    as for `importlib.metadata.version`."""
    versions = {}
    for distribution in importlib.metadata.distributions():
        name = distribution.metadata["Name"]
        if name:  # a broken install can lack its metadata
            versions.setdefault(canonicalize_name(name), distribution.version)
    return versions


def _installed(name):
    return installed_versions().get(canonicalize_name(name))


# The exact versions `make install` installs (`make lock` writes it with uv; pip checks its hashes).
LOCK_FILE = SUITE_ROOT / "requirements.lock" if SUITE_ROOT is not None else None
# A pinned requirement of the lock: `name==version`, then its environment marker if it has one.
LOCKED_LINE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)\s*(?:;\s*(?P<marker>[^\\]+?))?\s*\\?$"
)


def locked_versions(lock_file=LOCK_FILE):
    """{canonical name: version} of the lock's pins that apply to this Python and platform
    (a universal lock pins some packages once per Python range), or None without a lock."""
    if lock_file is None:  # installed from its wheel: no lock beside it
        return None
    try:
        text = Path(lock_file).read_text()
    except OSError:
        return None
    versions = {}
    for line in text.splitlines():
        found = LOCKED_LINE.match(line)
        if found and (found["marker"] is None or Marker(found["marker"]).evaluate()):
            versions[canonicalize_name(found["name"])] = found["version"]
    return versions


def lock_state(locked, lock_file=LOCK_FILE):
    """{'sha256': the lock file's hash, 'differs': {package: {'locked', 'installed'}}} for the
    `locked` packages (`locked_versions`) whose installed version is another (None installed:
    missing), or None when there is no lock (an install from a wheel, say)."""
    if locked is None:
        return None
    differs = {}
    for name, version in sorted(locked.items()):
        installed = _installed(name)
        if installed != version:
            differs[name] = {"locked": version, "installed": installed}
    return {"sha256": hashlib.sha256(Path(lock_file).read_bytes()).hexdigest(), "differs": differs}


def package_versions(locked):
    """{name: installed version} of the packages that decide numbers (PACKAGES, first) and of every
    other `locked` package: a record then names its whole environment, and `verify` each difference."""
    names = [*PACKAGES, *sorted(set(locked or ()) - {canonicalize_name(n) for n in PACKAGES})]
    return {name: version for name in names if (version := _installed(name)) is not None}


# The vector instruction sets that decide which kernels oneDNN and XLA pick, and so the rounding:
# two CPUs of one model name may differ here.
ISA_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


def _cpuinfo(field):
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.split(":", 1)[0].strip() == field:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model():
    """The CPU's model name as the OS reports it (Linux: /proc/cpuinfo), else platform's guess."""
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def cpu_signature():
    """'family F model M': tells apart CPUs of one model name (Linux x86), else None."""
    family, model = _cpuinfo("cpu family"), _cpuinfo("model")
    return f"family {family} model {model}" if family and model else None


def cpu_instruction_sets():
    """The vector instruction sets of ISA_FLAGS that this CPU has (Linux), else None."""
    flags = _cpuinfo("flags")
    return None if flags is None else [flag for flag in ISA_FLAGS if flag in flags.split()]


def gpus(backend):
    """The names of the GPUs the backend sees (empty on a CPU machine)."""
    try:
        if backend == "tensorflow":
            import tensorflow as tf  # noqa: PLC0415  (the backend in use only)

            return [
                tf.config.experimental.get_device_details(d).get("device_name", d.name)
                for d in tf.config.list_physical_devices("GPU")
            ]
        if backend == "jax":
            import jax  # noqa: PLC0415  (the backend in use only)

            return [d.device_kind for d in jax.devices() if d.platform == "gpu"]
        if backend == "torch":
            import torch  # noqa: PLC0415  (the backend in use only)

            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # a broken driver must not fail the run whose record this is
        return []
    return []


# Environment variables that choose kernels, and so change the rounding of a run's numbers.
KERNEL_VARIABLES = (
    "KERAS_BACKEND",
    "TF_ENABLE_ONEDNN_OPTS",
    "ONEDNN_MAX_CPU_ISA",
    "TF_DETERMINISTIC_OPS",
    "XLA_FLAGS",
    "CUDA_VISIBLE_DEVICES",
)


def machine_environment(backend):
    """The part of the provenance that decides numbers apart from the code: compared by `verify`."""
    locked = locked_versions()  # read once, for both
    return {
        "python": platform.python_version(),
        "packages": package_versions(locked),
        # The lock's hash and any installed version that departs from it (an unlocked install).
        "lock": lock_state(locked),
        "backend": backend,
        "cpu": cpu_model(),
        "cpu_signature": cpu_signature(),
        "cpu_isa": cpu_instruction_sets(),
        "cores": os.cpu_count(),
        "gpus": gpus(backend),
        "os": platform.platform(),
        "environment": {name: os.environ[name] for name in KERNEL_VARIABLES if name in os.environ},
    }


def collect(backend):
    """The provenance object of a run starting now."""
    return {
        **code_version(),
        **machine_environment(backend),
        # Whether the machine was busy when the run started: a time measured on a shared CPU says so.
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
