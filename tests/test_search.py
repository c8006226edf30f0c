"""Hyperparameter search (hparams_search=..., Hydra's Optuna sweeper): a trial's value is the task's
monitored validation metric, the study's best trial is the best of its trials, and a search that
would optimise the wrong way is refused."""

import pytest
import yaml
from omegaconf import OmegaConf

from conftest import experiments_in_process
from experiments.records import results
from experiments.run.files import CONFIG_DIR
from experiments.run.search import monitored_value

pytest.importorskip("optuna", reason="the search extra (pip install -e '.[search]') is not installed")


def _experiments(*args, cwd):
    """`experiments ARGS` by the command's own main, in this process (not a new Python for each)."""
    return experiments_in_process(*args, cwd=cwd)


def test_a_three_trial_study_writes_its_best_trial_and_the_parameters_importances(tmp_path):
    done = _experiments(
        "task=find_max", "hparams_search=find_max", "-m", "debug=smoke", "hydra.sweeper.n_trials=3",
        f"paths.output_dir={tmp_path}", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    search = tmp_path / "searches" / "find_max" / "luong"
    assert [line.split(" · ")[0] for line in done.stdout.splitlines() if line.startswith("job ")] == [
        "job 1/3",
        "job 2/3",
        "job 3/3",
    ]
    values, settings = [], []
    for trial in range(3):
        run_dir = search / f"trial_{trial}"
        cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
        metrics = yaml.safe_load((run_dir / "metrics.json").read_text())
        # Its value: val_loss at the epoch it kept, never a test metric.
        value = monitored_value(cfg, metrics)
        assert value == metrics["history"]["val_loss"][metrics["best_epoch"] - 1]
        values.append(value)
        settings.append(
            {
                "trainer.optimizer.learning_rate": cfg.trainer.optimizer.learning_rate,
                "attention.layer.units": cfg.attention.layer.units,
                "task.model.lstm_units": cfg.task.model.lstm_units,
            }
        )
    assert len({tuple(s.values()) for s in settings}) == 3  # three settings tried
    best = yaml.safe_load((search / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(min(values))
    assert best["best_params"] == pytest.approx(settings[values.index(min(values))])
    importances = yaml.safe_load((search / "param_importances.yaml").read_text())
    assert importances["trials"] == {"completed": 3, "failed": 0}
    assert set(importances["importances"]) == set(settings[0])
    assert sum(importances["importances"].values()) == pytest.approx(1.0)
    # The same command with one trial more goes on: the three are sampled again and skipped, one runs.
    again = _experiments(
        "task=find_max", "hparams_search=find_max", "-m", "debug=smoke", "hydra.sweeper.n_trials=4",
        f"paths.output_dir={tmp_path}", cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    lines = [line for line in again.stdout.splitlines() if line.startswith("job ")]
    assert [" · skipped: " in line for line in lines] == [True, True, True, False] and lines[-1].startswith(
        "job 4/4 · "
    )
    assert yaml.safe_load((search / "param_importances.yaml").read_text())["trials"] == {"completed": 4, "failed": 0}
    # A record of the study keeps its best trial and the importances, and gives them back to a sweep
    # directory that resumes elsewhere.
    record, elsewhere = tmp_path / "record", tmp_path / "elsewhere"
    assert results.copy_record(search, record) == 4
    assert results.restore_jobs(record, elsewhere) == 4
    for name in ("optimization_results.yaml", "param_importances.yaml"):
        assert (record / name).read_text() == (elsewhere / name).read_text() == (search / name).read_text()


@pytest.mark.parametrize(("variant", "search"), [("luong", "imdb"), ("uniform", "imdb"), ("none", "imdb_none")])
def test_each_tuned_setting_is_the_best_trial_of_its_committed_study(compose_config, variant, search):
    """tuned=imdb_<variant>, which experiment=imdb_best trains, is the variant at the best trial of
    the search recorded in docs/results/imdb_search_<variant>, which the preset makes."""
    name = f"imdb_search_{variant}"
    published = results.published_experiments()[name]
    assert published.overrides == ("experiment=imdb_search", f"attention={variant}", f"hparams_search={search}")
    best = yaml.safe_load((results.RECORDS / name / "optimization_results.yaml").read_text())["best_params"]
    cfg = compose_config("experiment=imdb_best", f"tuned=imdb_{variant}", "seed=0")
    assert cfg.attention.name == variant
    assert {key: OmegaConf.select(cfg, key) for key in best} == best


def test_a_trial_that_did_not_complete_is_a_failed_trial(compose_config):
    cfg = compose_config("task=imdb")
    history = {"val_accuracy": [0.6, 0.8, 0.7], "val_loss": [0.5, 0.4, 0.45]}
    assert monitored_value(cfg, {"status": "completed", "history": history, "best_epoch": 2}) == 0.8
    assert monitored_value(cfg, {"status": "failed", "history": history}) is None
    assert monitored_value(cfg, None) is None  # failed before it wrote metrics.json


def test_failed_trials_do_not_end_the_study_and_a_study_of_none_ends_in_one_line(tmp_path):
    """Adam with beta_2 = 2 makes its second moment negative: every trial's loss is NaN at once.
    Each is recorded as failed and the next one runs; with none completed there is no best trial,
    which the command says in one line (Optuna would raise, and a NaN returned raised at once)."""
    done = _experiments(
        "task=find_max", "hparams_search=find_max", "-m", "debug=smoke", "hydra.sweeper.n_trials=2",
        "+trainer.optimizer.beta_2=2.0", f"paths.output_dir={tmp_path}", cwd=tmp_path,
    )  # fmt: skip
    jobs = [line for line in done.stdout.splitlines() if line.startswith("job ")]
    assert [line.split(" · ")[0] for line in jobs] == ["job 1/2", "job 2/2"], done.stderr[-3000:]
    assert all("failed: nan loss" in line for line in jobs)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "error: no trial of the search completed; each trial's metrics.json and run.log say why"
    )


@pytest.mark.parametrize(
    "attention, search, searched",
    [
        ("luong", "imdb", {"trainer.optimizer.learning_rate", "attention.layer.units", "task.model.lstm_units"}),
        (
            "none",
            "imdb_none",
            {"trainer.optimizer.learning_rate", "task.model.baseline_dense_units", "task.model.lstm_units"},
        ),
    ],
)
def test_each_imdb_search_searches_only_settings_its_variant_has(attention, search, searched):
    """attention=none has no attention layer: its search takes its Dense head's size instead, and
    none of the other preset's keys (Hydra merges the presets' params, it never drops one)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            "config", ["task=imdb", f"attention={attention}", f"hparams_search={search}"], return_hydra_config=True
        )
    params = cfg.hydra.sweeper.params
    assert set(params) == searched
    assert cfg.hydra.sweeper.direction == "maximize" and cfg.task.samples == 5000
    for key in searched:  # each one is a setting of this variant's config
        assert OmegaConf.select(cfg, key) is not None, key


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["task=imdb", "hparams_search=find_max", "-m"],
            "hydra.sweeper.direction is minimize, but task 'imdb' keeps the epoch of the maximum val_accuracy: "
            "the search would pick its worst trial; use hydra.sweeper.direction=maximize (or the task's own "
            "hparams_search preset)",
        ),
        (
            ["task=find_max", "hparams_search=grid", "-m"],
            "unknown hparams_search 'grid'; accepted: find_max, imdb, imdb_none, optuna",
        ),
    ],
)
def test_a_search_that_cannot_work_is_refused_in_one_line(args, line, tmp_path):
    done = _experiments(*args, f"paths.output_dir={tmp_path}", cwd=tmp_path)
    assert (done.returncode, done.stderr.strip()) == (2, f"error: {line}")
