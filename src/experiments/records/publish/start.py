"""The Start here page: which attention to use, answered from the records, each number beside
its chance level."""

from math import comb

from experiments.records.publish.engine import block
from experiments.records.publish.record import SCORES, Record, compared, missing

# The attention quality each synthetic task reports, and its chance level: what weights drawn at
# random would score, from the task's number of steps.
KNOWN_ANSWER = {
    "add_two_numbers": ("hit_rate", "both numbers are the two largest weights", lambda steps: 1 / comb(steps, 2)),
    "find_max": ("argmax_accuracy", "the largest weight is on the maximum", lambda steps: 1 / steps),
}
FOUND = 0.9  # a score "finds the answer" when it does so on at least this share of both tasks' samples


@block("which_attention")
def block_which_attention(root):
    records = {task: Record(f"{task}_scores", root) for task in KNOWN_ANSWER}
    imdb = Record("imdb_table", root)
    if not all(records.values()) or not imdb:
        return "".join(missing(name) for name in (*(f"{t}_scores" for t in records), "imdb_table"))
    lines, finds = [], {}
    for task, record in records.items():
        key, meaning, chance_of = KNOWN_ANSWER[task]
        steps = record.jobs[0][2].task.data.steps
        chance = chance_of(steps)
        values = {s: m["attention_quality"][key] for s in SCORES if (m := record.job(task, s)[0]) is not None}
        for score, value in values.items():
            finds[score] = finds.get(score, True) and value >= FOUND
        shown = ", ".join(f"`{s}` {v:.3f}" for s, v in sorted(values.items(), key=lambda item: -item[1]))
        lines.append(f"- `{task}` ({meaning}; chance over {steps} steps: {chance:.3f}): {shown}.")
    found = [s for s, ok in finds.items() if ok]
    others = [s for s, ok in finds.items() if not ok]
    text = (
        f"**Where the answer is known, only {' and '.join(f'`{s}`' for s in found) or 'no score'} put the attention "
        f"on it** (on at least {FOUND:.0%} of the samples of both tasks); "
        f"{', '.join(f'`{s}`' for s in others)} look elsewhere, though their models still learn the task "
        "(the test MAE is in [Attention variants](attention.md#score-functions-compared)):\n\n" + "\n".join(lines)
    )
    said = compared(imdb.runs(), (("luong", "none"), ("luong", "uniform")))
    better = {b: p < 0.05 and difference > 0 for _, b, difference, p, _ in said}
    runs = int(imdb.runs().query("attention == 'luong' and status == 'completed'").shape[0])
    verdict = {
        (True, False): "learned attention beats no attention there, but not attention with every weight equal",
        (True, True): "learned attention beats both no attention and equal weights there",
        (False, False): "learned attention beats neither no attention nor equal weights there",
        (False, True): "learned attention beats equal weights there, but not no attention",
    }[(better.get("none", False), better.get("uniform", False))]
    text += (
        f"\n\n**On IMDB, where no answer is known**, over {runs} seeds of each (honest protocol): "
        + "; ".join(text for *_, text in said)
        + f". So {verdict}.\n"
    )
    return text
