"""A run's results in a few words: for the README's tables and the line that ends every run."""

from pathlib import Path

from experiments.run.catalog import quality_text


def test_text(metrics, config):
    test = metrics.get("test") or {}
    if "exact_match" in test:
        return f"exact match {test['exact_match']:.3f}"
    if "accuracy" in test:
        return f"accuracy {test['accuracy']:.4f}"
    if "mae" in test:
        return f"MAE {test['mae']:.4f}"
    loss = config.task.loss if config is not None and isinstance(config.task.loss, str) else "loss"
    return f"{loss.upper() if loss == 'mae' else loss} {test.get('loss', float('nan')):.4f}"


def _duration(seconds):
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def run_line(metrics, config, run_dir):
    """One line: task, attention, seed, status, the test metric, where the attention looked, the
    wall time and the run directory (or why the run failed)."""
    head = f"{metrics.get('task')} · attention={metrics.get('attention')} · seed {metrics.get('seed')} · {metrics.get('status')}"
    if metrics.get("status") != "completed":
        return f"{head}: {metrics.get('reason', 'no reason recorded')} · {Path(run_dir)}"
    parts = [head, test_text(metrics, config)]
    if metrics.get("attention_quality"):
        parts.append(quality_text(metrics.get("task"), metrics["attention_quality"]))
    parts += [_duration(metrics.get("wall_time_s") or 0.0), str(Path(run_dir))]
    return " · ".join(parts)
