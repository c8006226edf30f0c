"""One module per task. Each answers three questions, asked by the runner in this order:

- `make_data(cfg, rng) -> Splits`: what data;
- `build_model(cfg, attention) -> keras.Model`: what model, around the given attention layer
  (named "attention", so the runner can read its weights);
- `attention_quality(cfg, probe, data, attend) -> dict`: where the attention should look, and how
  close it came (JSON-ready). `probe` holds the probe inputs and their weights; `attend(x)` gives
  the trained model's attention weights for any inputs.

A task may also define `expected_attention(cfg, x, y)`: the ground-truth attention map (0/1, the
shape of the weights) that its figures draw beside the learned one; and, for text,
`input_tokens(cfg, x)`: the word at each position (None for padding), for the figures.

`cfg` is the task's own config node (`conf/task/<name>.yaml`).
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

Arrays = Tuple[np.ndarray, np.ndarray]


@dataclass
class Splits:
    """A task's data. Without `validation`, Keras holds out `task.validation_split` of `train`;
    without `probe`, the probe inputs are the first `task.probe_samples` test samples."""

    train: Arrays
    test: Arrays
    validation: Optional[Arrays] = None
    probe: Optional[Arrays] = None
