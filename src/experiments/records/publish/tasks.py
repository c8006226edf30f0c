"""The table of tasks (the README and the Tasks page): each task at its default size and variant."""

from experiments.records.describe import test_text
from experiments.records.publish.engine import block
from experiments.records.publish.format import epochs, run_time, table
from experiments.records.publish.record import SEED_000_TASKS, Record
from experiments.run.catalog import chance_text, quality_text


@block("tasks")
def block_tasks(root):
    """One row per task at its default size and variant, seed 0: where it looks, how well it does."""
    sources = [("seed_000_readme", task, None) for task in SEED_000_TASKS]
    sources += [
        ("add_two_numbers_scores", "add_two_numbers", "bahdanau"),
        ("find_max_scores", "find_max", "luong"),
        ("dates_scores", "dates", "bahdanau"),
        ("imdb_table", "imdb", "luong"),
    ]
    rows = []
    records = {name: Record(name, root) for name in dict.fromkeys(name for name, _, _ in sources)}  # each read once
    for name, task, attention in sources:
        record = records[name]
        found = record.find(task, attention, seed=0)
        if not found:
            rows.append((f"`{task}`", "–", f"not recorded yet: `make results ONLY={name}`", "–", "–", "–"))
            continue
        _, metrics, config = found
        rows.append(
            (
                f"[`{task}`]({record.link()})",  # its record
                f"`{metrics['attention']}`",
                f"{quality_text(task, metrics.get('attention_quality'))} (chance: {chance_text(task, config, metrics.get('attention_quality'))})",
                test_text(metrics, config),
                epochs(metrics),
                run_time(metrics),
            )
        )
    header = ["task (its record)", "attention", "where it looks (test data), and at chance", "test", "epochs", "time"]
    return table(header, rows)
