"""logger=mlflow: a small sweep logged into MLflow's SQLite database, read back through MLflow's own
client, and its UI (make mlflow) served on 127.0.0.1 and opened in a browser."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import headless_chromium

pytest.importorskip("mlflow", reason="the mlflow extra (pip install -e '.[mlflow]') is not installed")
from mlflow.tracking import MlflowClient

ROOT = Path(__file__).resolve().parents[1]
# One module-scoped sweep, and a browser: in one group of workers, as the report's browser test is.
pytestmark = pytest.mark.xdist_group("browser")


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A sweep of find_max over seeds 0 and 1 with logger=mlflow, at the smoke size."""
    outputs = tmp_path_factory.mktemp("mlflow")
    done = subprocess.run(
        [sys.executable, "-m", "experiments", "task=find_max", "logger=mlflow", "-m", "seed=0,1", "debug=smoke",
         "task.epochs=2", f"paths.output_dir={outputs}", f"hydra.sweep.dir={outputs}/sweep"],
        capture_output=True, text=True, cwd=outputs,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return outputs


def test_a_sweep_is_one_mlflow_experiment_whose_runs_hold_what_the_run_directories_hold(logged):
    client = MlflowClient(tracking_uri=f"sqlite:///{logged}/mlflow.db")
    experiment = client.get_experiment_by_name(str((logged / "sweep").resolve()))
    runs = client.search_runs([experiment.experiment_id], order_by=["tags.seed ASC"])
    assert [(r.info.run_name, r.info.status) for r in runs] == [
        ("find_max/luong/seed=0", "FINISHED"),
        ("find_max/luong/seed=1", "FINISHED"),
    ]
    for seed, run in enumerate(runs):
        run_dir = logged / "sweep" / "find_max" / "luong" / f"seed={seed},task.epochs=2"
        metrics = json.loads((run_dir / "metrics.json").read_text())
        tags = run.data.tags
        assert (tags["task"], tags["attention"], tags["seed"]) == ("find_max", "luong", str(seed))
        assert tags["fingerprint"] == metrics["config"] and Path(tags["run_dir"]) == run_dir.resolve()
        # Each epoch's logs, as history.csv holds them; the test results at the end.
        history = client.get_metric_history(run.info.run_id, "val_loss")
        assert [(m.step, m.value) for m in history] == pytest.approx(list(enumerate(metrics["history"]["val_loss"])))
        assert run.data.metrics["test_loss"] == pytest.approx(metrics["test"]["loss"])
        assert run.data.metrics["quality_argmax_accuracy"] == pytest.approx(
            metrics["attention_quality"]["argmax_accuracy"]
        )
        assert run.data.params["task.model.lstm_units"] == "128" and run.data.params["seed"] == str(seed)
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"metrics.json", "history.csv", *metrics["figures"]} <= artifacts
    # The artifacts live under the outputs, not in an mlruns/ of wherever the command ran.
    assert (logged / "mlartifacts").is_dir() and not (logged / "mlruns").exists()


def test_a_run_that_resumes_goes_on_in_the_mlflow_run_of_its_first_try(logged, tmp_path, compose_config):
    """A run cut in training keeps its backup; the try that resumes it logs into the same MLflow
    run (its epochs go on there), not into a new one. Here on a copy of the sweep's database."""
    from experiments.run.files import RunDir
    from experiments.run.tracking import MlflowLogger

    shutil.copy(logged / "mlflow.db", tmp_path / "mlflow.db")
    uri, name = f"sqlite:///{tmp_path}/mlflow.db", str((logged / "sweep").resolve())
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(name)
    first = client.search_runs([experiment.experiment_id], order_by=["tags.seed ASC"])[0]
    run_dir = RunDir(tmp_path / "run")

    def logger():
        made = MlflowLogger(compose_config("task=find_max"), run_dir.path, name, uri, tmp_path / "artifacts")
        made.on_train_begin()
        return made

    client.set_tag(first.info.run_id, "run_dir", str(run_dir.path.resolve()))  # the try that was cut
    run_dir.backup_dir.mkdir(parents=True)
    resumed = logger()
    assert resumed.run_id == first.info.run_id
    assert client.get_run(first.info.run_id).info.status == "RUNNING"
    resumed.on_epoch_end(7, {"loss": 0.25})
    assert (7, 0.25) in [(m.step, m.value) for m in client.get_metric_history(first.info.run_id, "loss")]
    run_dir.backup_dir.rmdir()  # no backup: the run starts afresh, in an MLflow run of its own
    assert logger().run_id != first.info.run_id


def test_the_loggers_change_no_number(logged, tmp_path):
    plain = subprocess.run(
        [sys.executable, "-m", "experiments", "task=find_max", "logger=csv", "seed=0", "debug=smoke", "task.epochs=2",
         f"hydra.run.dir={tmp_path}/run"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert plain.returncode == 0, plain.stderr[-3000:]
    tracked = json.loads(
        (logged / "sweep" / "find_max" / "luong" / "seed=0,task.epochs=2" / "metrics.json").read_text()
    )
    untracked = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (untracked["config"], untracked["test"], untracked["history"]) == (
        tracked["config"],
        tracked["test"],
        tracked["history"],
    )


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_make_mlflow_serves_the_runs_on_127_0_0_1_and_a_browser_finds_them(logged, tmp_path):
    port = _free_port()
    venv = Path(sys.executable).parents[1]  # this interpreter's: -o, never an install from a test
    server = subprocess.Popen(
        ["make", "--no-print-directory", "-C", str(ROOT), "-o", f"{venv}/.installed", "mlflow", f"VENV={venv}",
         f"MLFLOW_PORT={port}", f"MLFLOW_DB={logged}/mlflow.db"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    browser = None
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):  # its workers take a few seconds to start
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the MLflow server did not answer on 127.0.0.1 within a minute")
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        assert [line.split()[3] for line in listening.splitlines()] == [f"127.0.0.1:{port}"]  # local addresses
        client = MlflowClient(tracking_uri=f"sqlite:///{logged}/mlflow.db")
        experiment = client.get_experiment_by_name(str((logged / "sweep").resolve()))
        browser = headless_chromium(1300, 900)
        browser.get(f"{url}/#/experiments/{experiment.experiment_id}/runs")
        for _ in range(60):  # the page draws its table of runs once its scripts have asked the server
            if "find_max/luong/seed=1" in browser.page_source:
                break
            time.sleep(0.5)
        browser.save_screenshot(str(tmp_path / "mlflow.png"))
        assert "find_max/luong/seed=0" in browser.page_source and "find_max/luong/seed=1" in browser.page_source
    finally:
        if browser is not None:
            browser.quit()
        os.killpg(server.pid, signal.SIGTERM)  # make, and the server it started
        server.wait(timeout=30)
