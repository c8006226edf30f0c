"""Hyperparameter search (hparams_search=<name>, Hydra's Optuna sweeper): what each trial returns.
The study's own files are `experiments.run.study`'s, which needs the search extra."""


def monitored_value(cfg, metrics):
    """What a trial of a search returns: the task's monitored validation metric
    (task.early_stopping.monitor, else val_loss) at the epoch the run kept (its best epoch where it
    stopped early, else its last), never a test metric; None for a run that did not complete, which
    the sweeper records as a failed trial and goes on (a nan it would record as failed, then raise
    on: Optuna 2.10's tell refuses the value it was told once more)."""
    if not metrics or metrics.get("status") != "completed":
        return None
    monitor = (cfg.task.get("early_stopping") or {}).get("monitor", "val_loss")
    history = metrics.get("history") or {}
    if monitor not in history:
        return None
    kept = metrics.get("best_epoch") or len(history[monitor])
    return float(history[monitor][kept - 1])
