"""A trained run's directory, found and checked before its model is loaded (for audit, explain and
translate): the checks are files only, so a bad request fails before TensorFlow starts."""

import json
from pathlib import Path

from omegaconf import OmegaConf

from experiments.run.files import read_runs, shown


def newest_completed_run(root, task):
    """The most recently finished completed run of `task` under `root` that saved its model, or None."""
    runs = [
        ((run_dir / "metrics.json").stat().st_mtime, run_dir)
        for run_dir, metrics in read_runs(root)
        if (metrics.get("task"), metrics.get("status")) == (task, "completed") and (run_dir / "model.keras").is_file()
    ]
    return max(runs)[1] if runs else None


def checked_run(run_dir, purpose, error):
    """(metrics, config) of a completed run with attention and a saved model; otherwise raises
    `error` with one line that says what is missing (`purpose`: what the caller would do with it)."""
    run_dir = Path(run_dir)
    metrics_path, config_path = run_dir / "metrics.json", run_dir / ".hydra" / "config.yaml"
    try:
        found = metrics_path.is_file() and config_path.is_file()
    except OSError as cause:  # a name too long for the file system, say
        raise error(f"cannot read the run directory {shown(run_dir)}: {cause.strerror}") from None
    if not found:
        raise error(f"{run_dir} is not a run directory: it needs metrics.json and .hydra/config.yaml")
    try:
        metrics = json.loads(metrics_path.read_text())
    except ValueError:
        raise error(f"{metrics_path} is not the JSON a run writes: not a run directory to {purpose}") from None
    if metrics.get("attention") == "none":
        raise error(f"{run_dir} is a run of attention=none: there is no attention to {purpose}")
    if metrics.get("status") != "completed" or not (run_dir / "model.keras").is_file():
        raise error(f"{run_dir} holds no trained model (model.keras) of a completed run to {purpose}")
    return metrics, OmegaConf.load(config_path)
