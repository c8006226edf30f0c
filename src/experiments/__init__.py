"""The experiment half of the suite: Hydra entry point, runner, tasks, plots, and the record tools.

From Python: `experiments.run_task(...)` runs a task in this process and `experiments.read_run(...)`
reads a run back (`experiments.api`).
"""

import importlib

__all__ = ["ConfigError", "Run", "SuiteError", "UsageError", "read_run", "run_task"]


def __getattr__(name):
    # The API on first use (PEP 562): every `python -m experiments ...` imports this package
    # first, and a bad command line must fail before the plotting and loading tools are read.
    if name in __all__:
        return getattr(importlib.import_module("experiments.api"), name)
    raise AttributeError(f"module 'experiments' has no attribute {name!r}")
