"""The Date translation page: every score on `dates`."""

from experiments.records.publish.engine import block
from experiments.records.publish.format import epochs, run_time, table
from experiments.records.publish.record import SCORES


@block("dates_scores", record="dates_scores")
def block_dates_scores(record):
    rows = []
    for score in SCORES:
        metrics, _ = record.job("dates", score)
        if metrics is None:
            continue
        test, quality = metrics["test"], metrics["attention_quality"]
        rows.append(
            (
                f"`{score}`",
                f"{test['exact_match']:.3f}",
                f"{test['char_accuracy']:.4f}",
                f"{quality['field_hit_rate']:.3f}",
                " / ".join(f"{quality[f'{field}_hit_rate']:.3f}" for field in ("day", "month", "year")),
                f"{quality['mass_on_field']:.3f}",
                f"{epochs(metrics)}; {run_time(metrics)}",
            )
        )
    header = ["score", "exact match", "char accuracy", "field hit rate", "day / month / year", "weight on field"]
    return table([*header, "epochs; time"], rows)
