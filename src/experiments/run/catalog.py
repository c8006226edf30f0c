"""What each task says of itself, read from its YAML (`about:` in conf/task/<name>.yaml; it changes
no number): its place in the order of the report, the README and the smoke tests, and how its
attention quality reads in a few words. Plain YAML, no Hydra and no TensorFlow: the record tools
read it too."""

import math
from functools import cache

from omegaconf import OmegaConf

from experiments.run.config import config_dirs, group_files


def task_catalog(config_dir=None):
    """{task name: its `about` (a dict)}, in the tasks' own order (then by name): the tasks of
    `config_dir` alone where given, else of the suite and EXPERIMENTS_CONFIG_PATH."""
    return _catalog(tuple([config_dir] if config_dir is not None else config_dirs()))


@cache
def _catalog(directories):
    found = {}
    for directory in directories:
        for name, path in group_files("task", directory).items():
            if name not in found:
                about = OmegaConf.load(path).get("about")
                found[name] = OmegaConf.to_container(about) if about is not None else {}
    return dict(sorted(found.items(), key=lambda item: (item[1].get("order", float("inf")), item[0])))


def quality_text(task, quality):
    """A run's attention quality in the words its task declares, or "–" where there is none."""
    template = task_catalog().get(task, {}).get("quality")
    if not quality or template is None:
        return "–"
    try:
        return template.format(**quality)
    except (KeyError, ValueError, TypeError):  # a record made before the task measured these
        return "–"


def chance_text(task, config, quality=None):
    """The chance level of a task's attention quality, in the words its task declares
    (`about.chance`: `over`, the setting that gives n, and `text`, formatted with n, uniform = 1/n,
    pair = 1/C(n, 2) and entropy = ln n, from a run's config; or `measured`, the key of the run's
    attention quality that holds it, and `text`, formatted with it as `value`); "–" where the task
    declares none or the run did not measure it."""
    chance = task_catalog().get(task, {}).get("chance")
    if chance and "measured" in chance:
        value = (quality or {}).get(chance["measured"])
        return "–" if value is None else chance["text"].format(value=value)
    n = OmegaConf.select(config.task, chance["over"]) if chance and config is not None else None
    if not isinstance(n, int) or n < 2:
        return "–"
    return chance["text"].format(n=n, uniform=1 / n, pair=1 / math.comb(n, 2), entropy=math.log(n))
