"""How the published tables write numbers, times and tables."""

from experiments.records.stats import p_value_text


def p_in_words(p):
    """ "= 0.0033", or "< 0.0001": for "Welch p ..." in a sentence."""
    text = p_value_text(p)
    return text if text.startswith("<") else f"= {text}"


def minutes(seconds):
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    whole = round(seconds / 60)  # rounded once: 7 h 59.6 min is 8 h 00 min, not 7 h 60 min
    return f"{whole // 60} h {whole % 60:02d} min"


def cpu_name(made):
    """A CPU from a run's provenance, with its family and model where they were recorded:
    'AMD EPYC (family 25 model 17)' (two generations of one line share a name)."""
    signature = made.get("cpu_signature")
    return f"{made.get('cpu')}" + (f" ({signature})" if signature else "")


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def epochs(metrics):
    best = metrics.get("best_epoch")
    return f"{metrics['epochs']}" + (f" (best {best})" if best and best != metrics["epochs"] else "")


def run_time(metrics):
    """The run's wall time, marked when the machine was busy with other work as it started
    (a 1-minute load average above half its cores; the suite's own jobs side by side count too)."""
    made = metrics.get("provenance") or {}
    busy = (made.get("load_average_1min") or 0) > 0.5 * (made.get("cores") or 1)
    return minutes(metrics.get("wall_time_s")) + (" (shared CPU)" if busy else "")
