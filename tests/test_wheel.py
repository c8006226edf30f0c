"""The layer library on its own: its wheel holds `attention/` and nothing of the suite, and in a
fresh virtual environment with Keras and JAX but no TensorFlow it trains, saves, reloads without
custom_objects, gives its weights and audits a model."""

import json
import os
import subprocess
import sys
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

import attention

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            str(ROOT / "packages" / "attention"),
            "-w",
            str(out),
        ],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("keras_attention_layers-*.whl")
    return built


def test_the_wheel_holds_the_library_and_nothing_of_the_suite(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    package = [n for n in names if not n.startswith("keras_attention_layers-")]
    assert package and all(n.startswith("attention/") for n in package), package
    assert not any("experiments" in n or "__pycache__" in n for n in names)
    assert {"attention/py.typed", "attention/audit/core.py", "attention/layer.py"} <= set(names)
    library = ROOT / "packages" / "attention" / "src"
    sources = {p.relative_to(library).as_posix() for p in (library / "attention").rglob("*.py")}
    assert sources <= set(names)  # every module of the library
    meta = zipfile.ZipFile(wheel).read(f"keras_attention_layers-{attention.__version__}.dist-info/METADATA").decode()
    requires = [line for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert {r.split()[1].split(">")[0].split(";")[0] for r in requires} == {"keras", "numpy", "scipy", "networkx"}
    for audit_only in ("scipy", "networkx"):
        assert any(audit_only in r and "extra == 'audit'" in r.replace('"', "'") for r in requires)


def test_the_library_installs_and_works_without_tensorflow(wheel, tmp_path):
    """Versions as in this environment (the lock's): pip takes them from its cache where it can."""
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    wanted = ["keras", "numpy", "scipy", "networkx", "jax", "jaxlib"]
    installed = {d.metadata["Name"].lower(): d.version for d in metadata.distributions()}
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(
        "".join(f"{name}=={version}\n" for name, version in sorted(installed.items()) if name != "tensorflow")
    )
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--constraint",
            str(constraints),
            f"{wheel}[audit]",
            *wanted[3:],
        ],
        check=True,
        timeout=900,
    )
    done = subprocess.run(
        [str(python), str(TESTS / "wheel_check.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "KERAS_BACKEND": "jax"},
        cwd=tmp_path,  # not the checkout: nothing of it on the path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    made = json.loads(done.stdout.strip().splitlines()[-1])
    assert (made["backend"], made["tensorflow"], made["experiments"]) == ("jax", False, False)
    assert made["version"] == attention.__version__
    assert made["loss"][-1] < made["loss"][0]  # it trained
    assert made["same_predictions"]  # reloaded without custom_objects, the same model
    assert made["weights_shape"] == [8, 10] and all(abs(s - 1) < 1e-5 for s in made["weights_sum"])
    assert made["audit_samples"] == 32 and -1 <= made["audit_tau_gradient"] <= 1
