"""Hyperparameter search (hparams_search=<name>, Hydra's Optuna sweeper): what each trial returns.
The study's own files are `experiments.run.study`'s, which needs the search extra."""

import math


def monitored_value(cfg, metrics):
    """What a trial of a search returns: the task's monitored validation metric
    (task.early_stopping.monitor, else val_loss) at the epoch the run kept (its best epoch where it
    stopped early, else its last), never a test metric; nan for a run that did not complete, which
    the sweeper records as a failed trial."""
    if not metrics or metrics.get("status") != "completed":
        return math.nan
    monitor = (cfg.task.get("early_stopping") or {}).get("monitor", "val_loss")
    history = metrics.get("history") or {}
    if monitor not in history:
        return math.nan
    kept = metrics.get("best_epoch") or len(history[monitor])
    return float(history[monitor][kept - 1])
