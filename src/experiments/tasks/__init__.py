"""One module per task. Each answers three questions, asked by the runner in this order:

- `make_data(cfg, rng) -> Splits`: what data;
- `build_model(cfg, attention, data) -> keras.Model`: what model, around the given attention
  layer (named "attention", so the runner can read its weights); `data` for sizes that the data
  decides, such as a vocabulary's;
- `attention_quality(cfg, probe, data, attend) -> dict`: where the attention should look, and how
  close it came (JSON-ready). `probe` holds the probe inputs and their weights; `attend(x)` gives
  the trained model's attention weights for any inputs.

A task may also define:
- `expected_attention(cfg, x, y)`: the ground-truth attention map (0/1, the shape of the weights)
  that its figures draw beside the learned one;
- for text, `input_tokens(cfg, data, x)`: the token at each input position (None for padding),
  and `output_tokens(cfg, data, y)`: the token at each output step, for the figures;
- `evaluate(cfg, model, data) -> dict`: test metrics beyond Keras' own (for example accuracy of
  greedy decoding, or a confusion matrix as a dict), added to `test` in `metrics.json`;
- `deciding_steps(cfg, data, count) -> 0/1 array`: the input steps that decide the answers of the
  first `count` test samples ((count, steps), or (count, output steps, steps)), for the
  faithfulness audit's ground truth;
- `artifacts(cfg, data) -> {file name: text}`: files that belong beside the saved model (for
  example its vocabularies), written into the run directory;
- `compile_options(cfg, data) -> {"loss": ..., "metrics": [...]}`: where the data decides the
  loss and metrics (instead of `task.loss` and `task.metrics`);
- `probe_labels(cfg, data, y)`: the class name of each probe sample, for per-class figures;
- `explain_inputs(cfg, run_dir, source, input_shape) -> (x, tokens or None)`: new inputs for
  `experiments.trained.explain` from a file or a text, prepared as the task's own (default: a `.npz`
  with `x`, or a long-form `.csv`, used as they are).

`cfg` is the task's own config node (`conf/task/<name>.yaml`).
"""

from dataclasses import dataclass, field

import numpy as np

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
