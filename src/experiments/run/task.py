"""The contract of a task: `Task`, whose three questions every task answers and whose optional
hooks have their defaults here, and `Splits`, the data a task makes.

A task is one YAML file in `conf/task/` (its `module:` names the module) and one module under
`experiments/tasks/` that defines one subclass of `Task`; `load_task` finds it. The runner, the audit and `explain` call the
hooks in the same order for every task. Each hook's `cfg` is the task's own config node
(`conf/task/<name>.yaml`).
"""

import importlib
import inspect
from dataclasses import dataclass, field

import numpy as np
from hydra.utils import instantiate
from omegaconf import OmegaConf

Arrays = tuple[np.ndarray, np.ndarray]


@dataclass
class Splits:
    """A task's data. Without `validation`, Keras holds out `task.validation_split` of `train`;
    without `probe`, the probe inputs are the first `task.probe_samples` test samples. `x` may be
    a list of arrays for a model with several inputs. `extras` holds what the task's other hooks
    need from its data (vocabularies, where each field of a text sits)."""

    train: Arrays
    test: Arrays
    validation: Arrays | None = None
    probe: Arrays | None = None
    extras: dict = field(default_factory=dict)


class Task:
    """What a task answers. The first three are its questions; the rest have defaults."""

    # ---- the three questions ----------------------------------------------------------------------

    def make_data(self, cfg, rng) -> Splits:
        """What data: the splits, drawn from `rng` (a NumPy generator seeded with the run's seed)."""
        raise NotImplementedError

    def build_model(self, cfg, attention, data):
        """What model (a `keras.Model`), around the given attention layer (named "attention", so
        the runner can read its weights; None for `attention=none`); `data` for the sizes that
        the data decides, such as a vocabulary's."""
        raise NotImplementedError

    def attention_quality(self, cfg, probe, data, attend) -> dict:
        """Where the attention should look, and how close it came (JSON-ready). `probe` holds the
        probe inputs and their weights; `attend(x)` gives the trained model's weights for any inputs."""
        raise NotImplementedError

    # ---- optional hooks ---------------------------------------------------------------------------

    def compile_options(self, cfg, data) -> dict:
        """The loss and metrics of `model.compile`: by default `task.loss` (a Keras name, or a
        `_target_` node) and `task.metrics`; a task whose data decides them overrides this."""
        loss = instantiate(cfg.loss) if OmegaConf.is_dict(cfg.loss) else cfg.loss
        return {"loss": loss, "metrics": list(cfg.metrics)}

    def evaluate(self, cfg, model, data) -> dict:
        """Test metrics beyond Keras' own (accuracy of greedy decoding, a confusion matrix as a
        dict), added to `test` in `metrics.json`."""
        return {}

    def expected_attention(self, cfg, x, y):
        """The ground-truth attention map (0/1, the shape of the weights) that the figures draw
        beside the learned one, or None."""
        return None

    def input_tokens(self, cfg, data, x):
        """For text: the token at each input position (None for padding), for the figures; or None."""
        return None

    def output_tokens(self, cfg, data, y):
        """For a model that writes text: the token at each output step, for the figures; or None."""
        return None

    def probe_labels(self, cfg, data, y):
        """The class name of each probe sample, for per-class figures; or None."""
        return None

    def deciding_steps(self, cfg, data, count):
        """0/1 marks of the input steps that decide the answers of the first `count` test samples
        ((count, steps), or (count, output steps, steps)), for the audit's ground truth; or None."""
        return None

    def artifacts(self, cfg, data) -> dict:
        """{file name: text} that belong beside the saved model (its vocabularies, say), written
        into the run directory."""
        return {}

    def class_names(self, cfg):
        """The names of the classes a classifier decides between, in the order of its outputs (a
        binary one: [negative, positive]); None where they have none. `explain` names them."""
        return None

    def explain_inputs(self, cfg, run_dir, source, input_shape):
        """New inputs for `explain` from a file or a text, prepared as the task's own:
        (x, tokens or None); or None, and `explain` reads a `.npz` with `x`, or a long-form `.csv`
        (id, step, features...), and uses them as they are."""
        return None


def load_task(module_name):
    """The `Task` that module `module_name` defines (the one subclass of `Task` defined there)."""
    module = importlib.import_module(module_name)
    found = [
        value
        for value in vars(module).values()
        if inspect.isclass(value) and issubclass(value, Task) and value.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise TypeError(f"{module_name} must define exactly one subclass of Task; it defines {len(found)}")
    return found[0]()
