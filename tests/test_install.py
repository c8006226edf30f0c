"""The suite installed as a user installs it: its wheel holds `experiments` and its configs and
nothing of `attention`, which the layer library's wheel owns; both sdists build; and in a fresh
virtual environment that holds the two wheels, from a directory outside the checkout, the command
line, its tools and the Python API run, and uninstalling either distribution leaves the other whole.

The fresh environment takes the locked third-party dependencies from this one, linked rather than
installed again (TensorFlow alone is hundreds of megabytes): a `.pth` file names a directory of
links to everything in this environment's site-packages except the suite's and the library's own
entries, so `experiments` and `attention` come from the wheels alone.
"""

import csv
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "packages" / "attention"
OURS = ("keras_attention_suite", "keras_attention_layers", "_editable_impl_keras_attention", "__editable__")


def _build(kind, project, out):
    """Builds `project`'s wheel or sdist into `out` with hatchling (installed with the test extra)."""
    code = f"from hatchling.build import build_{kind}; print(build_{kind}({str(out)!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return Path(out) / done.stdout.strip().splitlines()[-1]  # hatchling gives the file's name


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheels")
    return {"suite": _build("wheel", ROOT, out), "library": _build("wheel", LIBRARY, out)}


def test_each_wheel_owns_its_package_and_the_suite_carries_its_configs(wheels):
    suite = zipfile.ZipFile(wheels["suite"]).namelist()
    package = [n for n in suite if ".dist-info/" not in n]
    # Besides its package, the search's sweeper, where Hydra finds plugins: a part of the shared
    # hydra_plugins namespace, so never its __init__.py (that would hide the other plugins).
    assert package and all(n.startswith(("experiments/", "hydra_plugins/experiments_search/")) for n in package)
    assert "hydra_plugins/experiments_search/search_sweeper.py" in package
    assert "hydra_plugins/__init__.py" not in package
    configs = {p.relative_to(ROOT).as_posix() for p in (ROOT / "conf").rglob("*.yaml")}
    assert {f"experiments/{c}" for c in configs} <= set(suite)  # every config, as package data
    library = [n for n in zipfile.ZipFile(wheels["library"]).namelist() if ".dist-info/" not in n]
    assert library and all(n.startswith("attention/") for n in library)
    meta = zipfile.ZipFile(wheels["suite"]).read(next(n for n in suite if n.endswith("/METADATA"))).decode()
    assert "Requires-Dist: keras-attention-layers[audit]" in meta
    scripts = zipfile.ZipFile(wheels["suite"]).read(next(n for n in suite if n.endswith("/entry_points.txt")))
    assert "experiments = experiments.__main__:main" in scripts.decode()


@pytest.mark.parametrize("project", [ROOT, LIBRARY], ids=["suite", "library"])
def test_each_sdist_builds_a_wheel(project, tmp_path):
    sdist = _build("sdist", project, tmp_path / "sdist")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    (source,) = (tmp_path / "unpacked").iterdir()
    wheel = _build("wheel", source, tmp_path / "wheel")
    names = zipfile.ZipFile(wheel).namelist()
    expected = "experiments/conf/config.yaml" if project == ROOT else "attention/layer.py"
    assert expected in names


def _environment(tmp_path, wheels):
    """A fresh venv with the two wheels, and this environment's other packages linked in."""
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    linked = tmp_path / "dependencies"
    linked.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(OURS) and not entry.name.endswith(".pth") and entry.name not in ("pip", "bin"):
            (linked / entry.name).symlink_to(entry)
    (site / "dependencies.pth").write_text(f"{linked}\n")
    install = [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps"]
    subprocess.run([*install, str(wheels["library"]), str(wheels["suite"])], check=True, timeout=300)
    return environment, site


def _run(environment, *args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{environment / 'bin'}{os.pathsep}{env['PATH']}"
    return subprocess.run(list(args), capture_output=True, text=True, timeout=600, cwd=cwd, env=env)


def _record(site, distribution):
    """The files that `distribution` installed (its RECORD), as paths."""
    (info,) = site.glob(f"{distribution}-*.dist-info")
    with open(info / "RECORD", newline="") as record:
        return [(site / row[0]).resolve() for row in csv.reader(record)]


@pytest.mark.slow
def test_the_installed_wheels_run_from_anywhere_and_uninstall_apart(wheels, tmp_path):
    environment, site = _environment(tmp_path, wheels)
    python = str(environment / "bin" / "python")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    where = _run(
        environment,
        python,
        "-c",
        "import attention, experiments; print(attention.__file__, experiments.__file__)",
        cwd=elsewhere,
    )
    assert where.returncode == 0, where.stderr[-2000:]
    assert all(str(site) in path for path in where.stdout.split()), where.stdout  # the wheels', not the checkout's

    helped = _run(environment, "experiments", "--help", cwd=elsewhere)
    assert helped.returncode == 0, helped.stderr[-2000:]
    assert all(f"  {tool} " in helped.stdout for tool in ("audit", "explain", "stats", "verify", "publish"))
    assert "task: add_two_numbers, dates, dense" in helped.stdout  # Hydra found the packaged configs

    trained = _run(environment, "experiments", "task=dense", "debug=smoke", cwd=elsewhere)
    assert trained.returncode == 0, trained.stderr[-3000:]
    (metrics,) = (elsewhere / "outputs" / "runs" / "dense").rglob("metrics.json")  # under the current directory
    made = json.loads(metrics.read_text())
    assert made["status"] == "completed"
    # No checkout, so no commit: the provenance names the two distributions' versions instead.
    assert made["provenance"]["commit"] is None
    assert {"keras-attention-layers", "keras-attention-suite"} <= set(made["provenance"]["packages"])

    api = "import experiments; run = experiments.run_task('dense', overrides=['debug=smoke']); print(run.metrics['status'])"
    from_python = _run(environment, python, "-c", api, cwd=elsewhere)
    assert from_python.returncode == 0 and from_python.stdout.split()[-1] == "completed", from_python.stderr[-3000:]

    refused = _run(environment, "experiments", "publish", cwd=elsewhere)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "error: 'experiments publish' works on the published records of the suite's source checkout "
        "(git clone, then make install); this installation has none"
    ]

    suite_files = _record(site, "keras_attention_suite")
    uninstall = [python, "-m", "pip", "uninstall", "--quiet", "--yes"]
    assert _run(environment, *uninstall, "keras-attention-layers", cwd=elsewhere).returncode == 0
    kept = [p for p in suite_files if p.suffix != ".pyc" and ".dist-info" not in p.parts[-2]]
    assert kept and all(p.exists() for p in kept)  # removing the library took nothing of the suite

    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", str(wheels["library"])], check=True
    )
    assert _run(environment, *uninstall, "keras-attention-suite", cwd=elsewhere).returncode == 0
    layers = _run(environment, python, "-c", "import attention; print(attention.Attention.__name__)", cwd=elsewhere)
    assert layers.returncode == 0 and layers.stdout.split()[-1] == "Attention", layers.stderr[-2000:]
