"""The Attention variants page: `lstm_after` with each variant, and every score on two tasks."""

from experiments.records.describe import test_text
from experiments.records.publish.engine import block
from experiments.records.publish.format import epochs, table
from experiments.records.publish.record import SCORES, Record, missing


@block("lstm_after_variants", record="lstm_after_variants")
def block_lstm_after_variants(record):
    rows = []
    for _, metrics, config in record.jobs:
        quality = metrics["attention_quality"]
        rows.append(
            (
                f"`{metrics['attention']}`",
                quality["peak_index"],
                f"{quality['peak_weight']:.3f}",
                f"{quality['runner_up_weight']:.3f}",
                test_text(metrics, config),
            )
        )
    return table(["attention", "peak step (label at 10)", "peak weight", "runner-up", "test"], rows)


@block("scores")
def block_scores(root):
    """add_two_numbers and find_max with every score, side by side."""
    records = {task: Record(f"{task}_scores", root) for task in ("add_two_numbers", "find_max")}
    if not any(records.values()):
        return missing("add_two_numbers_scores") + "\n" + missing("find_max_scores")
    quality_key = {"add_two_numbers": "hit_rate", "find_max": "argmax_accuracy"}
    rows = []
    for score in SCORES:
        cells = [f"`{score}`"]
        for task, record in records.items():
            metrics, _ = record.job(task, score)
            if metrics is None:
                cells += ["–"] * 3
                continue
            cells += [
                f"{metrics['attention_quality'][quality_key[task]]:.3f}",
                f"{metrics['test']['loss']:.4f}",
                epochs(metrics),
            ]
        rows.append(cells)
    return table(
        ["score", "`add_two_numbers`: hit rate", "MAE", "epochs", "`find_max`: argmax accuracy", "MAE", "epochs"], rows
    )
