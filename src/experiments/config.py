"""Checks of a composed config that must pass before any data is made or any model trained."""


class ConfigError(ValueError):
    """A composed config that cannot run; the message is one line for the user."""


def validate(cfg):
    """Raises ConfigError naming what is wrong and what is accepted."""
    seed = cfg.seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(
            f"seed must be a non-negative integer (or a range such as seed=0..9 with -m), got {seed!r}"
        )
    accepted = list(cfg.task.attentions)
    if cfg.attention.name not in accepted:
        raise ConfigError(
            f"attention '{cfg.attention.name}' does not apply to task '{cfg.task.name}'; "
            f"accepted: {', '.join(accepted)}"
        )
    for key in ("samples", "test_samples", "probe_samples", "epochs", "batch_size"):
        value = cfg.task[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"task.{key} must be a positive integer, got {value!r}")
    if not 0.0 <= cfg.task.validation_split < 1.0:
        raise ConfigError(
            f"task.validation_split must be in [0, 1), got {cfg.task.validation_split!r}"
        )
