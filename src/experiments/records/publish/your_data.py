"""The Your own data page: the Japanese Vowels example over seeds, and the archive's 1-NN baselines."""

import json
from pathlib import Path

from experiments.records.publish.engine import block
from experiments.records.publish.format import minutes, table
from experiments.records.publish.record import Record, missing, sweep_statistics
from experiments.records.stats import group_statistics
from experiments.trained.neighbours import METHODS


@block("sequences_example")
def block_sequences_example(root):
    return sweep_statistics("sequences_example", root)


@block("sequences_neighbours")
def block_sequences_neighbours(root):
    """The archive's 1-NN benchmarks on the example's test samples, and each attention variant's
    mean (honest protocol) against the best of them."""
    path = Path(root) / "sequences_neighbours" / "neighbours.json"
    if not path.is_file():
        return missing("sequences_neighbours")
    made = json.loads(path.read_text())
    split, methods = made["split"], made["methods"]
    text = (
        f"The UEA archive's nearest-neighbour benchmarks, run on the same {split['test']} test samples "
        f"(classified from the {split['train']} others; full warping window, the features as recorded):\n\n"
    )
    text += table(
        ["baseline", "test accuracy %", "time"],
        [(METHODS[name], f"{100 * m['accuracy']:.2f}", minutes(m["seconds"])) for name, m in methods.items()],
    )
    best_name, best = max(methods.items(), key=lambda item: item[1]["accuracy"])
    record = Record("sequences_example", root)
    if record:
        means = group_statistics(record.runs(), "test_accuracy")
        gaps = ", ".join(f"{row.attention} {row.avg - 100 * best['accuracy']:+.2f}" for row in means.itertuples())
        text += (
            f"\nEach variant's mean test accuracy over its seeds (honest protocol, above) minus the best "
            f"of them (`{best_name}`), in points: {gaps}.\n"
        )
    return text + (
        "\nRecord: [docs/results/sequences_neighbours](docs/results/sequences_neighbours/neighbours.md) "
        "(`make results ONLY=sequences_neighbours`).\n"
    )
