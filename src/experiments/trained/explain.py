"""`experiments explain RUN INPUT`: a trained model's predictions on new inputs, and where
its attention looked for each.

RUN is a run directory, or a task name for the newest completed run of that task under `outputs/`.
INPUT is what the task reads: a `.npz` (with `x`) or a long-form `.csv` (id, step, features...)
for `sequences` and the synthetic tasks; a text, or a file with one review per line, for `imdb`.
Writes into RUN/explain/ (or `--out DIR`): `predictions.csv`, `attention.npy` and one figure per
input (`input_<i>.png`: the words shaded by weight for text, the attention above the series
otherwise). `translate` stays the way to ask a `dates` model.

In Python, `explain(model, x)` does the same for any Keras model that holds one of this suite's
attention layers (named "attention", or `layer=`), and `explain_run(run_dir, source)` for a run:

    from experiments.trained.explain import explain
    result = explain(model, x, class_names=["walking", "running"])
    result.predictions, result.weights, result.figure(0)
"""

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.run.cli import group_options
from experiments.run.errors import SuiteError, ToolParser, report
from experiments.run.files import load_saved_model, out_directory
from experiments.run.plots import Probe, attention_samples, attention_words
from experiments.run.quiet import start_tensorflow
from experiments.run.task import load_task
from experiments.tasks.sequence_data import read_inputs, read_vectors
from experiments.trained.load import checked_run, newest_completed_run

EXPLAIN_DIR = "explain"
ATTENTION_LAYER = "attention"


class ExplainError(SuiteError, ValueError):
    """A request `explain` cannot answer; the message is one line for the user."""


@dataclass
class Explanation:
    """Predictions and attention weights of a model on `inputs`, one row per input."""

    inputs: np.ndarray
    outputs: np.ndarray  # the model's raw outputs: probabilities, or values
    weights: np.ndarray  # the attention weights, (inputs, steps, ...)
    class_names: list | None = None  # for a softmax over classes
    tokens: list | None = None  # for text: the word at each position (None for padding)

    def _class_probabilities(self):
        """(samples, classes) probabilities where the outputs are a classifier's with named
        classes (a softmax over them, or one sigmoid for two), else None."""
        flat = self.outputs.reshape(len(self.outputs), -1)
        if not self.class_names:
            return None
        if flat.shape[1] == len(self.class_names) > 1:
            return flat
        if flat.shape[1] == 1 and len(self.class_names) == 2:
            return np.concatenate([1 - flat, flat], axis=1)
        return None

    @property
    def predictions(self):
        """The predicted class name per input where there are classes, else the output itself."""
        probabilities = self._class_probabilities()
        if probabilities is not None:
            return [self.class_names[i] for i in probabilities.argmax(axis=-1)]
        return [float(v) for v in self.outputs.reshape(len(self.outputs), -1)[:, 0]]

    def describe(self, i):
        """Input `i`'s prediction in words: "positive, p = 0.920" (the probability of the class
        it names), or the value a regression predicts."""
        probabilities = self._class_probabilities()
        if probabilities is None:
            return f"predicted {self.predictions[i]:.4g}"
        chosen = int(probabilities[i].argmax())
        return f"{self.class_names[chosen]}, p = {probabilities[i, chosen]:.3f}"

    def table(self):
        """predictions.csv as a pandas DataFrame: input, prediction and every output column."""
        flat = self.outputs.reshape(len(self.outputs), -1)
        if self.class_names and flat.shape[1] == len(self.class_names):
            names = [f"p_{name}" for name in self.class_names]
        elif self.class_names and flat.shape[1] == 1 and len(self.class_names) == 2:
            names = [f"p_{self.class_names[1]}"]  # a sigmoid: the probability of the second class
        else:
            names = [f"output_{i}" for i in range(flat.shape[1])]
        table = pd.DataFrame(flat, columns=names)
        table.insert(0, "prediction", self.predictions)
        table.insert(0, "input", range(len(flat)))
        return table

    def figure(self, i):
        """Input `i` with its attention: words shaded for text, the weights above the series else."""
        probe = Probe(
            self.inputs[i : i + 1],
            None,
            self.weights[i : i + 1],
            tokens=self.tokens[i : i + 1] if self.tokens else None,
            labels=[self.describe(i)],
        )
        title = f"input {i}: {probe.labels[0]}"
        return attention_words(probe, title) if self.tokens else attention_samples(probe, title)


def explain(model, x, layer=ATTENTION_LAYER, class_names=None, tokens=None, batch_size=256):
    """Predictions and attention weights of a Keras `model` on the array(s) `x`."""
    # TensorFlow starts here, once start_tensorflow has quieted it.
    from attention import attention_weights, predict_in_batches  # noqa: PLC0415

    try:
        model.get_layer(layer)
    except ValueError:
        raise ExplainError(f"the model has no attention layer named {layer!r}: nothing to explain") from None
    expected = tuple(model.inputs[0].shape[1:])
    given = tuple(np.shape(x)[1:])
    if len(given) != len(expected) or any(e is not None and e != g for e, g in zip(expected, given, strict=False)):
        raise ExplainError(f"the inputs have shape {given} per sample; the model reads {expected}")
    outputs = predict_in_batches(model, x, batch_size)
    weights = attention_weights(model, layer, x, batch_size=batch_size)
    return Explanation(np.asarray(x), np.asarray(outputs), np.asarray(weights), class_names, tokens)


def explain_run(run_dir, source):
    """`explain` for a run directory: its model, its task's way of reading `source`, its classes."""
    run_dir = Path(run_dir)
    metrics, cfg = checked_run(run_dir, "explain", ExplainError)
    if metrics.get("task") == "dates":
        raise ExplainError("a dates model translates text: use experiments translate (make translate)")

    start_tensorflow()
    # TensorFlow starts here, once start_tensorflow has quieted it.

    import attention  # noqa: PLC0415, F401  (registers the layers for loading)

    task = load_task(cfg.task.module)
    model = load_saved_model(run_dir, ExplainError)
    input_shape = tuple(model.inputs[0].shape[1:])
    if len(model.inputs) > 1:  # the adversary, or the diagnostic's frozen weights
        raise ExplainError(
            f"a model of task {metrics['task']} reads another run's attention beside its inputs: explain takes a "
            "model of one input (explain the run it read)"
        )
    try:
        prepared = task.explain_inputs(cfg.task, run_dir, source, input_shape)
        if prepared is not None:
            x, tokens = prepared
        elif None in input_shape:  # token ids of any length, with no reader of the task's own
            raise ExplainError(
                f"explain has no reader of new inputs for task {metrics['task']}, whose model reads token ids of any "
                "length; it reads new reviews for the IMDB tasks, and .npz or .csv inputs for models of a fixed size"
            )
        elif len(input_shape) == 1:  # a vector per sample
            x, tokens = read_vectors(source, input_shape[0]), None
        else:
            x, tokens = read_inputs(source, input_shape[0])[0].astype("float32"), None
    except (ValueError, RuntimeError) as error:  # the data readers' one-line errors
        raise ExplainError(str(error)) from None
    saved = run_dir / "sequences.json"
    class_names = json.loads(saved.read_text()).get("class_names") if saved.is_file() else None
    return explain(model, x, class_names=class_names or task.class_names(cfg.task), tokens=tokens)


def write(result, out_dir):
    """predictions.csv, attention.npy and input_<i>.png into `out_dir`; returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result.table().to_csv(out_dir / "predictions.csv", index=False)
    np.save(out_dir / "attention.npy", result.weights)
    figures = []
    for i in range(len(result.inputs)):
        figures.append(out_dir / f"input_{i}.png")
        result.figure(i).savefig(figures[-1], dpi=110)
    return [out_dir / "predictions.csv", out_dir / "attention.npy", *figures]


def _is_dir(path):
    try:
        return path.is_dir()
    except OSError:  # a name too long for the file system: not a directory, and checked_run says why
        return False


def main(argv=None):
    parser = ToolParser("explain", description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run directory, or a task name for its newest completed run")
    parser.add_argument(
        "input", help="a .npz or .csv of inputs (dense: a row per sample); for imdb, a text or a file of texts"
    )
    parser.add_argument("--outputs", default="outputs", help="where to look for a task's newest run (default: outputs)")
    parser.add_argument("--out", help=f"where to write (default: RUN/{EXPLAIN_DIR})")
    args = parser.parse_args(argv)
    try:
        run_dir = Path(args.run)
        if not _is_dir(run_dir):
            if args.run not in group_options("task"):
                raise ExplainError(
                    f"{args.run} is neither a run directory nor a task ({', '.join(group_options('task'))})"
                )
            run_dir = newest_completed_run(args.outputs, args.run)
            if run_dir is None:
                raise ExplainError(
                    f"no completed {args.run} run with a saved model under {args.outputs}/: train one (make {args.run})"
                )
        out = out_directory(args.out, ExplainError) if args.out else run_dir / EXPLAIN_DIR
        result = explain_run(run_dir, args.input)
    except ExplainError as error:
        return report(error)
    written = write(result, out)
    for i in range(min(len(result.inputs), 10)):
        print(f"input {i}: {result.describe(i)}")
    print(f"{len(result.inputs)} input(s) explained with {run_dir}: {written[0].parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
