import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest
from hydra import compose, initialize_config_dir

from experiments.cli import CONFIG_DIR

TASKS = ("dense", "lstm_before", "lstm_after", "multidim_per_dim", "multidim_shared", "add_two_numbers", "find_max")


@pytest.fixture
def compose_config():
    """Composes the suite's config with the given overrides, as the command line would."""

    def _compose(*overrides):
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name="config", overrides=list(overrides))

    return _compose
