"""One run, the same for every task: seed → data → model → fit → probe → figures → metrics.json.

The runner knows nothing task-specific: it asks the task (the `Task` of `cfg.task.module`) for
its data, its model and where its attention should look.
"""

import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import keras
import numpy as np
from omegaconf import OmegaConf

from attention import attention_model, predict_in_batches
from experiments.run import provenance
from experiments.run.buckets import EpochOfBuckets, LengthBuckets
from experiments.run.callbacks import ResumableTraining
from experiments.run.classification import positive_class_scores
from experiments.run.config import ConfigError, attends_by_stack, config_fingerprint, same_config
from experiments.run.faithfulness import (
    audit_stack,
    audit_trained,
    headline,
    load_trained,
    stack_headline,
    write_audit,
    write_stack_audit,
)
from experiments.run.files import RunDir
from experiments.run.plots import FIGURES, Probe, training_curves
from experiments.run.run_callbacks import RunContext, build_callbacks, instantiated
from experiments.run.seeds import seeded_task_data
from experiments.run.task import Splits, Task

log = logging.getLogger("experiments")
ATTENTION_LAYER = "attention"
PREDICT_BATCH = 256


def keras_verbosity(setting, stream=None):
    """`trainer.verbose` for Keras: `auto` is the per-batch progress bar on a terminal and one line
    per epoch elsewhere (under make, in logs and in CI, where a bar redrawn per batch is noise)."""
    if setting != "auto":
        return setting
    stream = stream or sys.stdout
    return 1 if stream.isatty() else 2


def completed_before(cfg, run_dir):
    """The metrics of an earlier completed run of this very config in `run_dir`, or None."""
    metrics = RunDir(run_dir).metrics()
    same = metrics is not None and metrics.get("status") == "completed" and same_config(cfg, metrics.get("config"))
    return metrics if same else None


def run(cfg, run_dir, threads=None):
    """Trains the configured task and writes every output file into `run_dir`; returns the metrics.

    `metrics.json` is written last, even when the run fails or is interrupted (status `failed`,
    with the reason), so a sweep can tell finished jobs from the rest. `threads` is recorded
    there: the CPU threads the caller gave the backend (None: all cores). After it, where the task
    sets `task.audit.at_end`, the faithfulness audit writes `audit.json` and `audit.png`.
    """
    run_dir = RunDir(run_dir)
    run_dir.path.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    metrics = {
        "task": cfg.task.name,
        "attention": cfg.attention.name,
        "seed": cfg.seed,
        "status": "failed",
        "config": config_fingerprint(cfg),
        "backend": keras.backend.backend(),
        "threads": threads,
        "provenance": provenance.collect(keras.backend.backend()),
    }
    prepared, trained, earlier = None, None, 0.0
    try:
        prepared = _prepare(cfg, run_dir, metrics["config"])
        if earlier := prepared.earlier_tries_s:  # a resumed run: the training of the epochs it kept
            metrics["earlier_tries_s"] = round(earlier, 3)
        trained = _train_and_probe(cfg, run_dir, prepared, metrics)
    except BaseException as error:  # KeyboardInterrupt too: the record says why it stopped
        metrics["reason"] = f"{type(error).__name__}: {error}"
        raise
    finally:
        metrics["wall_time_s"] = round(time.perf_counter() - started + earlier, 3)
        run_dir.write_metrics(metrics)
        if trained is None and prepared is not None:
            _finish_loggers(prepared.callbacks, metrics)
    if trained is None:
        return metrics
    audit = cfg.task.get("audit") or {}
    if audit.get("at_end") and cfg.attention.layer is not None:
        audit_at_end(cfg, run_dir.path, trained)
    _finish_loggers(prepared.callbacks, metrics)  # after the audit: its files are the run's too
    return metrics


def _finish_loggers(callbacks, metrics):
    """Hands each logger that keeps more than the epochs (logger=mlflow) the run's final metrics."""
    for key, callback in callbacks.items():
        if hasattr(callback, "finish"):
            try:
                callback.finish(metrics)
            except Exception:  # the run itself is complete and recorded in its directory
                log.exception("%s could not log the run's end; metrics.json holds it", key)


def audit_at_end(cfg, run_dir, trained=None):
    """The audit at the end of a completed run, of `trained` (task module, model, data), or where
    that is None (an audit cut short before), of the model the run saved: audit.json and audit.png,
    or for a stack of attention layers audit_stack.json and audit_stack.png. A failure is logged:
    the run itself is complete and recorded, and `make audit` can try again."""
    run_dir = RunDir(run_dir)
    stack = attends_by_stack(cfg)
    with run_dir.auditing():  # a marker while it runs, left if it is cut: the job run again redoes it
        try:
            trained = trained or load_trained(cfg, run_dir.path)
            result = audit_stack(cfg, *trained) if stack else audit_trained(cfg, *trained)
        except Exception:
            log.exception("the audit at the end failed; the run itself completed (%s)", run_dir.path / RunDir.METRICS)
            return
        if stack:
            write_stack_audit(run_dir.path, result)
            log.info("audit of the stack: %s", stack_headline(result))
        else:
            write_audit(run_dir.path, *result)
            log.info("audit: %s", headline(result[0]))


def _new_probe(cfg, task, data):
    """The probe inputs (the task's own, or the first test samples) and what the task knows of them."""
    x, y = data.probe or tuple(a[: cfg.task.probe_samples] for a in data.test)
    return Probe(
        x,
        y,
        weights=None,
        expected=task.expected_attention(cfg.task, x, y),
        tokens=task.input_tokens(cfg.task, data, x),
        output_tokens=task.output_tokens(cfg.task, data, y),
        labels=task.probe_labels(cfg.task, data, y),
    )


def _attention_layer(cfg):
    """The variant's layer, named so the runner can probe it, or None for `attention=none`.

    A task whose model needs another kind of layer (an encoder-decoder's cross-attention) names
    it in `task.attention_layer`, built with the variant's score.
    """
    if cfg.attention.layer is None:
        return None
    # A stack of attention layers (encoder=transformer) replaces the task's layer, whatever it is.
    own = cfg.task.get("attention_layer") and not attends_by_stack(cfg)
    key = "task.attention_layer" if own else "attention.layer"
    return instantiated(OmegaConf.select(cfg, key), key, name=ATTENTION_LAYER)


# Names Keras' compile reads itself, by the model's output, and its metrics registry does not hold.
COMPILE_ONLY_METRICS = ("accuracy", "acc", "crossentropy", "ce")


def _check_compile_names(options):
    """task.loss and task.metrics as Keras will read them: an unknown name as a ConfigError in one
    line now, not a traceback in the first step of training."""
    import keras  # noqa: PLC0415  (TensorFlow has started)

    checks = [("task.loss", options.get("loss"), keras.losses.get)]
    checks += [("task.metrics", name, keras.metrics.get) for name in options.get("metrics") or []]
    for key, name, get in checks:
        if isinstance(name, str) and name.lower() not in COMPILE_ONLY_METRICS:
            try:
                get(name)
            except ValueError:
                raise ConfigError(
                    f"{key}: {name!r} is not a name Keras knows (see keras.{get.__module__.split('.')[-1]})"
                ) from None


@dataclass(frozen=True)
class Prepared:
    """A run before it trains: its task, data and compiled model, what reads its attention, the
    probe's inputs, its callbacks by their config key (callbacks.NAME, logger.NAME), and the
    training time of the tries before it where it resumes."""

    task: Task
    data: Splits
    model: keras.Model
    options: dict
    attend: Callable[[Any], Any] | None
    probe: Probe
    title: str
    callbacks: dict
    earlier_tries_s: float


def _prepare(cfg, run_dir, fingerprint):
    """The run's data, model, probe inputs and callbacks (`Prepared`), in `run_dir` (a RunDir)."""
    task, data = seeded_task_data(cfg)

    attention = _attention_layer(cfg)
    model = task.build_model(cfg.task, attention, data)
    # A task may train with an optimizer of its own (a paper's), in place of trainer.optimizer.
    key = "task.optimizer" if cfg.task.get("optimizer") else "trainer.optimizer"
    optimizer = instantiated(OmegaConf.select(cfg, key), key)
    options = task.compile_options(cfg.task, data)
    _check_compile_names(options)
    model.compile(optimizer=optimizer, **options)
    attend = None
    if attention is not None:
        probe_model = attention_model(model, ATTENTION_LAYER)  # shares the layers being trained

        def attend(x):
            return predict_in_batches(probe_model, x, PREDICT_BATCH)

    probe = _new_probe(cfg, task, data)
    title = f"{cfg.task.name} · attention={cfg.attention.name} · seed={cfg.seed}"
    ResumableTraining.discard_other(run_dir.backup_dir, fingerprint)  # another config's backup
    earlier = ResumableTraining.seconds_before(run_dir.backup_dir) or 0.0
    context = RunContext(run_dir.path, data, attend, probe, title, fingerprint, PREDICT_BATCH)
    return Prepared(task, data, model, options, attend, probe, title, build_callbacks(cfg, context), earlier)


def _train_and_probe(cfg, run_dir, prepared, record):
    """Fits, evaluates, probes, draws and saves, each step returning what it makes; each result
    goes into `record` (metrics.json) as soon as it exists, so that a later step that fails (a full
    disk while drawing, say) leaves every number before it recorded.

    Returns (task module, model, data) when the run completed, for the audit; else None."""
    history = _fit(cfg, prepared)
    record.update(_training_summary(prepared, history))
    record["figures"] = [
        _save_figure(training_curves(record["history"], prepared.title), run_dir, "training_curves.png")
    ]
    if math.isnan(history["loss"][-1]):
        record["reason"] = f"nan loss: the training loss became NaN in epoch {record['epochs']}"
        ResumableTraining.discard(run_dir.backup_dir)
        return None  # nothing more to evaluate, draw or save
    record["test"] = _evaluate(cfg, prepared)
    probe = _probed(cfg, prepared)
    record["attention_quality"] = None if probe is None else probe.quality
    for name, fig in _attention_figures(cfg, prepared, probe):
        record["figures"].append(_save_figure(fig, run_dir, name))
    if cfg.task.get("epoch_figure") and probe is not None:  # drawn by its callback
        record["figures"].append(f"{cfg.task.epoch_figure}.gif")
    _save(cfg, prepared, run_dir, probe)
    ResumableTraining.discard(run_dir.backup_dir)  # kept until now: a run cut above trains no epoch again
    record["status"] = "completed"
    return prepared.task, prepared.model, prepared.data


def _fit(cfg, prepared):
    """Trains the model; returns every epoch's logs {name: [value per epoch]}."""
    data, callbacks = prepared.data, list(prepared.callbacks.values())
    validation = (
        {"validation_data": data.validation}
        if data.validation is not None
        else {"validation_split": cfg.task.validation_split}
    )
    training = {"x": data.train[0], "y": data.train[1], "batch_size": cfg.task.batch_size}
    if cfg.task.get("length_buckets"):  # the padding side of the inputs, whose batches are cut
        train, validation = data.train, validation.get("validation_data")
        if validation is None:  # the rows Keras' validation_split would hold out: the last ones
            split_at = math.floor(len(train[0]) * (1.0 - cfg.task.validation_split))
            train, validation = tuple(a[:split_at] for a in train), tuple(a[split_at:] for a in train)
        buckets = LengthBuckets(*train, cfg.task.batch_size, cfg.seed, padding=cfg.task.length_buckets)
        callbacks.insert(0, EpochOfBuckets(buckets))
        training, validation = {"x": buckets}, {"validation_data": validation}
    fitted = prepared.model.fit(
        **training,
        epochs=cfg.task.epochs,
        callbacks=callbacks,
        verbose=keras_verbosity(cfg.trainer.verbose),
        **validation,
    )
    # Every epoch's logs, those of a first try that was killed included (Keras' History has only
    # the epochs of this process), unless the run was made without callbacks.resume.
    resumable = prepared.callbacks.get("callbacks.resume")
    if resumable is None:
        return fitted.history
    return {name: [log[name] for log in resumable.epoch_logs] for name in resumable.epoch_logs[-1]}


def _training_summary(prepared, history):
    """What metrics.json says of the training: parameters, epochs, each epoch's logs, and where
    early stopping stopped and which epoch it kept."""
    summary = {
        "params": int(sum(np.prod(w.shape) for w in prepared.model.trainable_weights)),
        "epochs": len(history["loss"]),
        "history": {name: [float(v) for v in values] for name, values in history.items()},
    }
    stopper = prepared.callbacks.get("callbacks.early_stopping")
    if stopper is not None:
        summary["stopped_epoch"] = stopper.stopped_epoch + 1 if stopper.stopped_epoch else None
        summary["best_epoch"] = stopper.best_epoch + 1
    timer, tester = (prepared.callbacks.get(f"callbacks.{name}") for name in ("epoch_seconds", "evaluate_each_epoch"))
    if timer is not None:  # the epochs this try trained (a resumed run's earlier ones are in earlier_tries_s)
        parts = {"train": timer.train, "validation": timer.validation, "test": tester.seconds if tester else []}
        summary["epoch_seconds"] = {part: [round(s, 3) for s in seconds] for part, seconds in parts.items()}
    return summary


def _evaluate(cfg, prepared):
    """The trained model's results on the test set: Keras' metrics, the positive class's scores
    for a binary classifier (F1 and the rest, as papers report), and the task's own."""
    model, data = prepared.model, prepared.data
    test = model.evaluate(*data.test, batch_size=PREDICT_BATCH, verbose=0, return_dict=True)
    if _binary(model, prepared.options["loss"]):
        probabilities = predict_in_batches(model, data.test[0], PREDICT_BATCH)
        test.update(positive_class_scores(data.test[1], probabilities))
    test.update(prepared.task.evaluate(cfg.task, model, data))
    # numbers as floats; a task's structured results (a confusion matrix) as they are
    return {name: value if isinstance(value, dict) or value is None else float(value) for name, value in test.items()}


def _probed(cfg, prepared):
    """The probe with the trained model's attention on it (a stack's: the rollout over the input
    steps, and every layer's and head's weights) and the task's measure of it; None without
    attention."""
    if prepared.attend is None:
        return None
    probe = replace(prepared.probe, weights=prepared.attend(prepared.probe.inputs))
    if attends_by_stack(cfg):
        stack_model = attention_model(prepared.model, ATTENTION_LAYER, read="return_stack")
        probe = replace(probe, stack=predict_in_batches(stack_model, probe.inputs, PREDICT_BATCH))
    return replace(probe, quality=prepared.task.attention_quality(cfg.task, probe, prepared.data, prepared.attend))


def _attention_figures(cfg, prepared, probe):
    """(file name, figure) of each figure of the probe's attention that the task draws."""
    if probe is None:
        return
    for name in cfg.task.plots:
        yield f"{name}.png", FIGURES[name](probe, prepared.title)
    if probe.stack is not None:
        yield "attention_heads.png", FIGURES["attention_heads"](probe, prepared.title)


def _save(cfg, prepared, run_dir, probe):
    """The model, the probe's attention, and the task's own files (a vocabulary, say)."""
    if probe is not None:
        np.save(run_dir.path / "attention.npy", probe.weights)
        if probe.stack is not None:
            np.save(run_dir.path / "attention_stack.npy", probe.stack)
    prepared.model.save(run_dir.model_file)
    for name, text in prepared.task.artifacts(cfg.task, prepared.data).items():
        (run_dir.path / name).write_text(text, encoding="utf-8")


def _binary(model, loss):
    """Whether the model is a binary classifier: one sigmoid output trained with binary cross-entropy."""
    name = loss if isinstance(loss, str) else type(loss).__name__
    one_output = not isinstance(model.output, (list, tuple)) and model.output.shape[-1] == 1
    return one_output and name in ("binary_crossentropy", "BinaryCrossentropy")


def _save_figure(fig, run_dir, name):
    """Saves `fig` as `name` in the run's directory; returns the name, for metrics.json."""
    fig.savefig(run_dir.path / name, dpi=110)
    return name
