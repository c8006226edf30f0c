"""A task and a score that exist only here, added the documented way: a config directory of one's
own (EXPERIMENTS_CONFIG_PATH) holding the task's YAML and the score's YAML, and a module on
PYTHONPATH holding the task (a subclass of `Task`) and the score (a subclass of `Score`). They run
through the command line, a sweep's statistics and the report, and no file of the suite is touched."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd

SUITE = Path(__file__).resolve().parents[1]


def _suite_status():
    """The suite's own files as git sees them: what a test must leave as it found them."""
    return subprocess.run(["git", "status", "--porcelain"], cwd=SUITE, capture_output=True, text=True).stdout


TASK_YAML = """\
name: spike
about:
  order: 1000
  quality: "spike found at {peak_index} (planted at {target_index})"
module: spike_task
attentions: [scores]
samples: 2000
test_samples: 200
probe_samples: 50
epochs: 1
batch_size: 32
validation_split: 0.1
loss: binary_crossentropy
metrics: [accuracy]
plots: [attention_bar]
data:
  steps: 8
  dims: 2
  signal_step: 3
"""
SCORE_YAML = """\
name: negated
family: scores
layer:
  _target_: attention.Attention
  units: 16
  score: negated
"""
MODULE = '''
"""A task and a score of a user's own."""

import keras

from attention.scores import Score
from experiments.run.quality import peak_quality
from experiments.run.task import Task
from experiments.tasks.signal import train_test


class Negated(Score, name="negated"):
    """-s_tᵀ h_i: the states least like the query score highest."""

    def __call__(self, s_t, h_s):
        return -keras.ops.matmul(s_t, keras.ops.swapaxes(h_s, -1, -2))


class Spike(Task):
    def make_data(self, cfg, rng):
        return train_test(cfg, rng, (cfg.data.steps, cfg.data.dims), cfg.data.signal_step)

    def build_model(self, cfg, attention, data):
        inputs = keras.Input((cfg.data.steps, cfg.data.dims))
        states = keras.layers.LSTM(16, return_sequences=True)(inputs)
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(attention(states)))

    def attention_quality(self, cfg, probe, data, attend):
        return peak_quality(probe.weights, cfg.data.signal_step)
'''


def test_a_task_and_a_score_of_ones_own_run_through_the_cli_the_statistics_and_the_report(tmp_path):
    before = _suite_status()
    plugin = tmp_path / "plugin"
    (plugin / "conf" / "task").mkdir(parents=True)
    (plugin / "conf" / "attention").mkdir()
    (plugin / "conf" / "task" / "spike.yaml").write_text(TASK_YAML)
    (plugin / "conf" / "attention" / "negated.yaml").write_text(SCORE_YAML)
    (plugin / "spike_task.py").write_text(textwrap.dedent(MODULE))
    env = {
        **os.environ,
        "EXPERIMENTS_CONFIG_PATH": str(plugin / "conf"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(plugin), os.environ.get("PYTHONPATH")])),
    }
    outputs, sweep = tmp_path / "outputs", tmp_path / "outputs" / "sweep"

    def experiments(*args, tool=()):
        return subprocess.run(
            [sys.executable, "-m", "experiments", *tool, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    # The family `scores` has the new score; a bad choice names it among the accepted ones.
    refused = experiments("task=spike", "attention=block_2d")
    assert refused.returncode == 2
    assert "negated" in refused.stderr and "luong" in refused.stderr

    done = experiments(
        "-m", "task=spike", "attention=negated,luong", "seed=0", "trainer.verbose=0",
        f"paths.output_dir={outputs}", f"hydra.sweep.dir={sweep}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "spike found at" in done.stdout  # the run's line, in the task's own words

    summary = pd.read_csv(sweep / "summary.csv")
    assert sorted(zip(summary.task, summary.attention, summary.status)) == [
        ("spike", "luong", "completed"),
        ("spike", "negated", "completed"),
    ]
    metrics = json.loads(next(sweep.rglob("negated/**/metrics.json")).read_text())
    assert metrics["attention_quality"]["target_index"] == 3
    assert "negated" in (sweep / "summary.md").read_text()

    report = subprocess.run(
        [sys.executable, "-m", "experiments", "report", str(outputs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr[-2000:]
    html = (outputs / "report" / "index.html").read_text(encoding="utf-8")
    assert "spike" in html and "spike found at" in html
    assert _suite_status() == before
