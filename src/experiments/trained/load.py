"""A trained run's directory, found and checked before its model is loaded (for audit, explain and
translate): the checks are files only, so a bad request fails before TensorFlow starts."""

from omegaconf import OmegaConf

from experiments.run.files import RunDir, shown


def newest_completed_run(root, task):
    """The most recently finished completed run of `task` under `root` that saved its model, or None."""
    runs = [
        (run.finished(), run.path)
        for run in RunDir.under(root)
        if ((run.metrics() or {}).get("task"), run.completed()) == (task, True) and run.has_model()
    ]
    return max(runs)[1] if runs else None


def checked_run(run_dir, purpose, error):
    """(metrics, config) of a completed run with attention and a saved model; otherwise raises
    `error` with one line that says what is missing (`purpose`: what the caller would do with it)."""
    run = RunDir(run_dir)
    try:
        found = run.metrics_file.is_file() and run.config_file.is_file()
    except OSError as cause:  # a name too long for the file system, say
        raise error(f"cannot read the run directory {shown(run_dir)}: {cause.strerror}") from None
    if not found:
        raise error(f"{run_dir} is not a run directory: it needs metrics.json and .hydra/config.yaml")
    metrics = run.metrics()
    if metrics is None:
        raise error(f"{run.metrics_file} is not the JSON a run writes: not a run directory to {purpose}")
    if metrics.get("attention") == "none":
        raise error(f"{run_dir} is a run of attention=none: there is no attention to {purpose}")
    if metrics.get("status") != "completed" or not run.has_model():
        raise error(f"{run_dir} holds no trained model (model.keras) of a completed run to {purpose}")
    return metrics, OmegaConf.load(run.config_file)
