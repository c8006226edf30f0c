"""TensorFlow started without its C++ start-up lines.

TensorFlow 2.21 writes its start-up lines (oneDNN, CUDA probing on a machine without a GPU) to the
process's standard error before it reads `TF_CPP_MIN_LOG_LEVEL`, once for each library it loads, so
they are printed twice and the variable alone cannot hide them. `start_tensorflow()` imports
TensorFlow with file descriptor 2 pointed at /dev/null; later C++ lines obey the level, 3 by
default. `TF_CPP_MIN_LOG_LEVEL=0` shows every line again.
"""

import contextlib
import importlib.util
import logging
import os
import sys

LEVEL = "TF_CPP_MIN_LOG_LEVEL"


def set_log_level():
    """TensorFlow's C++ log level for this process and the ones it starts: errors only, unless set."""
    return os.environ.setdefault(LEVEL, "3")


@contextlib.contextmanager
def _native_stderr_silenced():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def start_tensorflow():
    """Import TensorFlow (where installed) quietly, unless the log level asks for its lines."""
    level = set_log_level()
    if "tensorflow" in sys.modules or importlib.util.find_spec("tensorflow") is None:
        return
    if level.isdigit() and int(level) == 0:
        import tensorflow  # noqa: PLC0415  (started here, once quieted)

        return
    with _native_stderr_silenced():
        import tensorflow  # noqa: PLC0415, F401  (started here, once quieted)


@contextlib.contextmanager
def retracing_expected():
    """Within the block, TensorFlow's Python warnings are not shown: a block that reads batches of
    many widths, or builds many models, makes it warn of retracing, which is expected there."""
    tf_log = logging.getLogger("tensorflow")
    level = tf_log.level
    tf_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        tf_log.setLevel(level)
