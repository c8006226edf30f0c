"""How much each parameter of an Optuna search (hparams_search=<name>) mattered, beside the
sweeper's own optimization_results.yaml. Only a search imports it (Hydra builds its callback from
the preset), so Optuna is needed only by those who ask for a search.

The study is read back from the trials' run directories (each one's overrides and metrics.json),
not from a database: Optuna 2, the last the Hydra sweeper accepts, cannot keep a study in a
database with SQLAlchemy 2, which MLflow needs. The directories are what resumes a search too: the
same command samples the same trials (TPE is seeded), finds them completed and skips them."""

import logging
import warnings
from pathlib import Path

import optuna
from hydra.experimental.callback import Callback
from hydra_plugins.hydra_optuna_sweeper._impl import create_params_from_overrides
from omegaconf import OmegaConf

from experiments.run.files import RunDir
from experiments.run.search import monitored_value

log = logging.getLogger("experiments")
IMPORTANCES_FILE = "param_importances.yaml"


def trials_of(sweep_dir, params):
    """The study of the search in `sweep_dir` as Optuna's trials: for each trial's run directory,
    its value of each searched parameter (of `params`, the sweeper's) and the value it returned,
    or a failed trial where its run did not complete."""
    distributions, _ = create_params_from_overrides([f"{key}={value}" for key, value in params.items()])
    trials = []
    for run_dir in sorted(Path(sweep_dir).glob("*/.hydra/overrides.yaml")):
        run_dir = run_dir.parents[1]
        cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
        chosen = {name: OmegaConf.select(cfg, name) for name in distributions}
        value = monitored_value(cfg, RunDir(run_dir).metrics())
        failed = value is None  # the run did not complete
        trials.append(
            optuna.trial.create_trial(
                params=chosen,
                distributions=distributions,
                value=None if failed else value,
                state=optuna.trial.TrialState.FAIL if failed else optuna.trial.TrialState.COMPLETE,
            )
        )
    return trials


class StudyFiles(Callback):
    """Hydra callback of an Optuna search: at its end, param_importances.yaml in the sweep
    directory: each searched parameter's importance (Optuna's mean decrease in impurity of a random
    forest, seeded; its fANOVA evaluator fails on the trees of today's scikit-learn) and how many
    trials completed and failed."""

    def on_multirun_end(self, config, **kwargs):
        sweeper = config.hydra.sweeper
        study = optuna.create_study(direction=sweeper.direction)
        params = OmegaConf.to_container(sweeper.params, resolve=True)
        # Optuna marks create_trial and add_trials experimental: a warning the user can do nothing about.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.add_trials(trials_of(config.hydra.sweep.dir, params))
        completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        importances = {}
        if len(completed) >= 2:
            evaluator = optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=config.get("seed", 0))
            importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
        trials = {"completed": len(completed), "failed": len(study.trials) - len(completed)}
        summary = {"importances": {k: float(v) for k, v in importances.items()}, "trials": trials}
        # As the sweeper writes optimization_results.yaml.
        OmegaConf.save(OmegaConf.create(summary), Path(config.hydra.sweep.dir) / IMPORTANCES_FILE)
