"""logger=mlflow: each run logged to MLflow (a local SQLite database by default): its config as
parameters, each epoch's metrics, its test results and attention quality, its figures, metrics.json
and audit as artifacts, and tags for the task, the attention, the seed and the config's fingerprint.
A sweep is one MLflow experiment; a run that resumes goes on in the MLflow run of its first
try. Only logger=mlflow imports it (the mlflow extra)."""

import json
import math
import time
from pathlib import Path

import keras
from mlflow.entities import Metric, Param, RunStatus
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from experiments.run.files import RunDir

# MLflow's limits: a parameter's value (6,000 characters) and a batch of one call.
PARAM_LENGTH = 6000
BATCH = 900
ARTIFACTS = ("metrics.json", "audit.json", "audit.png", "audit_stack.json", "audit_stack.png", "history.csv")


def _flat(node, prefix=""):
    """{'a.b.c': value} of a nested config."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _flat(value, f"{prefix}{key}.")
    else:
        yield prefix[:-1], node


def _numbers(prefix, values):
    """{prefix_name: value} of the finite numbers among `values` (a task's structured results are left out)."""
    return {
        f"{prefix}{name}": float(value)
        for name, value in (values or {}).items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    }


class MlflowLogger(keras.callbacks.Callback):
    """Logs one run to MLflow: the run is made when training begins, each epoch's logs as they come,
    and the rest when the runner `finish`es it with the run's directory and metrics."""

    def __init__(self, config, run_dir, experiment_name, tracking_uri, artifact_location):
        super().__init__()
        self.config, self.run_dir = config, Path(run_dir)
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.experiment_name = experiment_name
        # MLflow's default is ./mlruns of wherever the command runs: kept under the outputs instead.
        self.artifact_location = Path(artifact_location).resolve().as_uri()
        self.run_id = None

    def _experiment_id(self):
        found = self.client.get_experiment_by_name(self.experiment_name)
        if found is not None:
            return found.experiment_id
        try:
            # Model training, not GenAI: the UI opens the experiment on its table of runs.
            kind = {"mlflow.experimentKind": "custom_model_development"}
            return self.client.create_experiment(self.experiment_name, self.artifact_location, tags=kind)
        except MlflowException:  # another job of the sweep made it first
            return self.client.get_experiment_by_name(self.experiment_name).experiment_id

    def _earlier_try(self, experiment_id):
        """The MLflow run of an earlier try of this run, which was cut and now resumes from its
        backup (its epochs go on in the same MLflow run), or None."""
        if not RunDir(self.run_dir).backup_dir.is_dir():
            return None
        path = str(self.run_dir.resolve()).replace("'", "\\'")
        found = self.client.search_runs(
            [experiment_id], f"tags.run_dir = '{path}'", order_by=["attributes.start_time DESC"], max_results=1
        )
        return found[0] if found else None

    def on_train_begin(self, logs=None):
        experiment_id = self._experiment_id()
        if (earlier := self._earlier_try(experiment_id)) is not None:
            self.run_id = earlier.info.run_id  # its parameters are logged already
            self.client.update_run(self.run_id, status=RunStatus.to_string(RunStatus.RUNNING))
            return
        cfg = self.config
        settings = OmegaConf.to_container(cfg, resolve=True)
        settings.pop("hydra", None)
        tags = {"task": cfg.task.name, "attention": cfg.attention.name, "seed": str(cfg.seed)}
        tags["run_dir"] = str(self.run_dir.resolve())
        run = self.client.create_run(
            experiment_id, run_name=f"{cfg.task.name}/{cfg.attention.name}/seed={cfg.seed}", tags=tags
        )
        self.run_id = run.info.run_id
        params = [Param(key, str(value)[:PARAM_LENGTH]) for key, value in _flat(settings)]
        for start in range(0, len(params), BATCH):
            self.client.log_batch(self.run_id, params=params[start : start + BATCH])

    def on_epoch_end(self, epoch, logs=None):
        now = int(time.time() * 1000)
        values = _numbers("", logs)
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, epoch) for k, v in values.items()])

    def finish(self, metrics):
        """The run's results, figures and files, and its end: FINISHED where it completed, else FAILED."""
        if self.run_id is None:  # it failed before training began
            return
        self.client.set_tag(self.run_id, "fingerprint", metrics.get("config"))
        results = {**_numbers("test_", metrics.get("test")), **_numbers("quality_", metrics.get("attention_quality"))}
        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, 0) for k, v in results.items()])
        for name in [*ARTIFACTS, *metrics.get("figures", [])]:
            if (self.run_dir / name).is_file():
                self.client.log_artifact(self.run_id, str(self.run_dir / name))
        completed = metrics.get("status") == "completed"
        if not completed:
            self.client.set_tag(self.run_id, "reason", json.dumps(metrics.get("reason")))
        status = RunStatus.FINISHED if completed else RunStatus.FAILED
        self.client.set_terminated(self.run_id, RunStatus.to_string(status))
