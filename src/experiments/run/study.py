"""The files of an Optuna search (hparams_search=<name>) beside the sweeper's own: the directory its
study lives in, and how much each parameter mattered. Only a search imports it (Hydra builds its
callback from the preset), so Optuna is needed only by those who ask for a search."""

import logging
from pathlib import Path

import optuna
import yaml
from hydra.experimental.callback import Callback

log = logging.getLogger("experiments")
IMPORTANCES_FILE = "param_importances.yaml"


class StudyFiles(Callback):
    """Hydra callback of an Optuna search: makes the sweep directory before the sweeper opens its
    study there (optuna.db), and at the end writes each parameter's importance (Optuna's mean
    decrease in impurity, seeded) and the count of completed and failed trials to
    param_importances.yaml, beside the sweeper's optimization_results.yaml."""

    def on_multirun_start(self, config, **kwargs):
        Path(config.hydra.sweep.dir).mkdir(parents=True, exist_ok=True)

    def on_multirun_end(self, config, **kwargs):
        sweeper = config.hydra.sweeper
        if not sweeper.get("storage"):
            log.warning("param importances: the study has no storage to read back; none written")
            return
        study = optuna.load_study(study_name=sweeper.study_name, storage=sweeper.storage)
        completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        importances = {}
        if len(completed) >= 2:
            # Mean decrease in impurity of a random forest (scikit-learn): Optuna 2's fANOVA fails on
            # the trees of today's scikit-learn.
            evaluator = optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=config.get("seed", 0))
            importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
        path = Path(config.hydra.sweep.dir) / IMPORTANCES_FILE
        trials = {
            "completed": len(completed),
            "failed": sum(t.state == optuna.trial.TrialState.FAIL for t in study.trials),
        }
        path.write_text(
            yaml.safe_dump(
                {"importances": {k: float(v) for k, v in importances.items()}, "trials": trials}, sort_keys=False
            )
        )
