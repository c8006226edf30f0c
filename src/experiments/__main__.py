"""`python -m experiments [overrides]`: the Hydra entry point. With no overrides: dense hello-world."""

import os
import sys
from pathlib import Path

# TensorFlow's C++ log lines are CUDA probing noise on a CPU machine; TF_CPP_MIN_LOG_LEVEL=0 shows them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import hydra
from hydra.core.hydra_config import HydraConfig

from experiments.cli import CONFIG_DIR, UsageError, normalize_args
from experiments.config import ConfigError, validate


def _fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def _run(cfg):
    try:
        validate(cfg)
    except ConfigError as error:
        _fail(error)
    from experiments.runner import run  # imports TensorFlow: only once the config is known good

    run(cfg, Path(HydraConfig.get().runtime.output_dir))


def main():
    try:
        sys.argv[1:] = normalize_args(sys.argv[1:])
    except UsageError as error:
        _fail(error)
    _run()


if __name__ == "__main__":
    main()
