"""Timing shared by the benchmark scripts: ours (Keras 3) and the peer's (tf-keras, its own venv).

Only NumPy and the standard library, so that both environments can import it.
"""

import time

import numpy as np

BATCH = 64
IMDB_LENGTH, IMDB_WORDS = 500, 5000
FIND_MAX_STEPS = 10


def imdb_batch(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, IMDB_WORDS, size=(BATCH, IMDB_LENGTH)).astype("int32")
    return x, rng.integers(0, 2, size=(BATCH, 1)).astype("float32")


def find_max_batch(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.beta(1.0 / FIND_MAX_STEPS, 1.0, size=(BATCH, FIND_MAX_STEPS, 1)).astype("float32")
    return x, x.max(axis=1)


BATCHES = {"imdb": imdb_batch, "find_max": find_max_batch}


def interleaved_ms(steps, warmup, reps, budget_s=60.0):
    """{name: [ms of each round]} of each `steps[name]()`, timed round-robin: every round times
    each step once, so that a change in the machine's load hits all of them alike, and round i of
    one step can be paired with round i of another.

    The second call of each step (the first compiles) tells how long a round takes; slow backends
    then get fewer warm-up calls and repetitions (at least 3) to stay near `budget_s`.
    """
    for step in steps.values():  # the first call compiles: not a measure of a round
        step()
    round_s = 0.0
    for step in steps.values():
        start = time.perf_counter()
        step()
        round_s += time.perf_counter() - start
    rounds = int(budget_s / max(round_s, 1e-9))
    for _ in range(min(warmup - 2, rounds // 4)):
        for step in steps.values():
            step()
    times = {name: [] for name in steps}
    for _ in range(max(3, min(reps, rounds))):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(1000 * (time.perf_counter() - start))
    return times


def time_models(models, x, y, warmup, reps):
    """[(name, phase, round, ms)]: every timed round of one training step and one inference pass
    of each model on one batch."""
    rows = []
    for phase, call in (
        ("train", lambda m: lambda: m.train_on_batch(x, y)),
        ("infer", lambda m: lambda: m.predict_on_batch(x)),
    ):
        rounds = interleaved_ms({name: call(model) for name, model in models.items()}, warmup, reps)
        rows += [(name, phase, i, ms) for name, times in rounds.items() for i, ms in enumerate(times)]
    return rows
