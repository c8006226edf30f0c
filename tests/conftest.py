import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import contextlib
import io
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from durations import DURATIONS, node_id
from experiments.__main__ import main
from experiments.run.catalog import task_catalog
from experiments.run.config import CONFIG_DIR

# The local IMDB copy: ATTENTION_DATA_DIR, or ../shared/data beside the checkout (CI has it).
_shared = CONFIG_DIR.parents[1] / "shared" / "data"
IMDB_DIR = Path(os.environ.get("ATTENTION_DATA_DIR") or _shared)
IMDB_DIR = IMDB_DIR if (IMDB_DIR / "imdb.npz").is_file() else None
if IMDB_DIR is not None:
    os.environ["ATTENTION_DATA_DIR"] = str(IMDB_DIR)  # for the configs and the subprocesses

# A task that trains against a trained run (about.needs_run) is tested by its own tests, not by
# those of every task.
IMDB_TASKS = tuple(
    task for task, about in task_catalog().items() if about.get("needs_data") == "imdb" and not about.get("needs_run")
)
TASKS = tuple(task for task, about in task_catalog().items() if not about.get("needs_data"))  # no data file
RUN_TASKS = tuple(task for task, about in task_catalog().items() if about.get("needs_run"))


def _unit(item):
    """The tests that run one after another: those of a module whose fixture is made once for the
    module (it would be made again each time the order came back to the module), else the test."""
    fixtures = item._fixtureinfo.name2fixturedefs.values() if hasattr(item, "_fixtureinfo") else ()
    return item.module.__name__ if any(defs[-1].scope == "module" for defs in fixtures) else item.nodeid


def pytest_collection_modifyitems(config, items):
    """The slowest tests first, as measured (tests/durations.json, make test-durations): the
    workers take the next test as each finishes, so they end together instead of one waiting on a
    long test started last. Tests not measured keep their order, after them."""
    measured = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
    units = {}
    for item in items:
        units[_unit(item)] = units.get(_unit(item), 0.0) + measured.get(node_id(item.nodeid), 0.0)
    items.sort(key=lambda item: (-units[_unit(item)], _unit(item)))


@pytest.fixture
def compose_config():
    """Composes the suite's config with the given overrides, as the command line would."""

    def _compose(*overrides):
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name="config", overrides=list(overrides))

    return _compose


def _absl_stream(stream):
    """Points absl's log handler (TensorFlow's) at `stream`; returns the stream it had, or None
    where absl is not imported. Hydra configures logging anew for each launch, which closes every
    handler, and absl's then closes its stream unless that is the sys.stderr of the moment: under a
    redirect, pytest's own capture would be closed."""
    absl_logging = sys.modules.get("absl.logging")
    if absl_logging is None:
        return None
    handler = absl_logging.get_absl_handler().python_handler
    previous, handler.stream = handler.stream, stream
    return previous


def experiments_in_process(*args, cwd=None):
    """`experiments ARGS` run in this process by the command's own `main`, as a subprocess would run
    it but without starting Python and TensorFlow again (seconds each): for the tests of what a
    command prints, refuses and writes, where the process itself is not what is tested. Returns a
    `subprocess.CompletedProcess` (stdout and stderr as Python wrote them). Hydra's global state,
    the root logger, sys.argv, the environment and the working directory are put back."""
    out, err = io.StringIO(), io.StringIO()
    argv, environ, where = sys.argv[:], dict(os.environ), os.getcwd()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    os.environ.pop("HYDRA_FULL_ERROR", None)  # as the command line without it: one line, no traceback
    absl_stream = None
    try:
        if cwd is not None:
            os.chdir(cwd)
        sys.argv[:] = ["experiments"]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            absl_stream = _absl_stream(sys.__stderr__)
            try:
                code = main(list(args))
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
    finally:
        os.chdir(where)
        sys.argv[:] = argv
        os.environ.clear()
        os.environ.update(environ)
        root.handlers[:], root.level = handlers, level
        GlobalHydra.instance().clear()
        _absl_stream(absl_stream or sys.stderr)  # as absl takes it at import where it was not yet imported
    return subprocess.CompletedProcess(["experiments", *args], code or 0, out.getvalue(), err.getvalue())


def run_numbers(metrics):
    """A run's metrics without when and how long it ran (wall time, provenance): what the same
    seed must repeat exactly."""
    timing = ("wall_time_s", "earlier_tries_s", "epoch_seconds", "provenance")
    return {k: v for k, v in metrics.items() if k not in timing}


# IMDB in tests: the last 120 words of each review, not 500. Still more than 100 steps, so attention
# flow (one max-flow per step and sample) stays off, as on full IMDB.
IMDB_SHORT = "task.data.maxlen=120"

# Every task, with IMDB where its data is at hand.
ALL_TASKS = TASKS + (IMDB_TASKS if IMDB_DIR is not None else ())


def pooled_bilstm(vocabulary, embedding, units, mask_zero=True):
    """A tiny model of Jain & Wallace's kind: token ids (0 is padding) -> Embedding -> BiLSTM ->
    `AttentionPooling` (their query-free `tanh` score, named "attention") -> Dense(1, sigmoid)."""
    import keras

    from attention import AttentionPooling

    tokens = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(vocabulary, embedding, mask_zero=mask_zero)(tokens)
    h = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True))(h)
    h = AttentionPooling(units=5, name="attention")(h)
    return keras.Model(tokens, keras.layers.Dense(1, activation="sigmoid")(h))


def headless_chromium(width=1300, height=2400):
    """A headless Chromium driven by Selenium, at `width` × `height` pixels, or a skip that says what
    is missing. The caller quits it."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install -e '.[test]'")
    driver_path, browser_path = shutil.which("chromedriver"), shutil.which("chromium")
    if not (driver_path and browser_path):
        pytest.skip("Chromium is not installed: apt-get install chromium chromium-driver (.ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={width},{height}"):
        options.add_argument(flag)
    from selenium.webdriver.chrome.service import Service

    return webdriver.Chrome(service=Service(driver_path), options=options)


def short_reviews(count, rng):
    """Reviews for Jain & Wallace's model in tests: 4 to 11 words (ids 4 to 33) between <sos> and
    <eos>, padded to 14 steps; `vocabulary_only()` builds the model that reads them."""
    from experiments.tasks.imdb_data import EOS, SOS

    x = np.zeros((count, 14), dtype="int32")
    for row, length in enumerate(rng.integers(4, 12, count)):
        x[row, : length + 2] = [SOS, *rng.integers(4, 34, length), EOS]
    return x


def vocabulary_only():
    """The data Jain & Wallace's model is built from for `short_reviews`: its 30 words' vocabulary."""
    from experiments.run.task import Splits

    return Splits(train=(None, None), test=(None, None), extras={"vocabulary": np.arange(100, 130)})
