"""Keras callbacks used by the runner."""

import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from experiments.run.errors import StopRequest
from experiments.run.plots import save_animation


class StopWhenAsked(keras.callbacks.Callback):
    """Raises the stop a signal asked for (StopRequest) at the next batch, where Keras swallowed it."""

    def _check(self, *args, **kwargs):
        if StopRequest.reason is not None:
            raise KeyboardInterrupt(StopRequest.reason)

    on_train_batch_end = on_test_batch_end = on_predict_batch_end = on_epoch_end = _check


class EvaluateEachEpoch(keras.callbacks.Callback):
    """Adds `test_<metric>` to each epoch's logs: the protocol of keras-attention's IMDB table
    (original 004), which picks epochs on the test set. It must come before the callbacks that read
    the logs (CSVLogger; History comes last)."""

    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.seconds = []  # each epoch's evaluation of the test set

    def on_epoch_end(self, epoch, logs=None):
        started = time.perf_counter()
        results = self.model.evaluate(self.x, self.y, batch_size=self.batch_size, verbose=0, return_dict=True)
        self.seconds.append(time.perf_counter() - started)
        logs.update({f"test_{name}": float(value) for name, value in results.items()})


class EpochSeconds(keras.callbacks.Callback):
    """The seconds of each epoch's training and of its validation, which Keras runs between the
    fit's on_test_begin and on_test_end (the test set's evaluation each epoch times itself, in
    EvaluateEachEpoch). It comes first, so that the epoch's training ends where validation begins."""

    def __init__(self):
        super().__init__()
        self.train, self.validation = [], []
        self._started = self._validating = None

    def on_epoch_begin(self, epoch, logs=None):
        self._started, self._validating = time.perf_counter(), None

    def on_test_begin(self, logs=None):
        self._validating = time.perf_counter()

    def on_test_end(self, logs=None):
        self.validation.append(time.perf_counter() - self._validating)

    def on_epoch_end(self, epoch, logs=None):
        self.train.append((self._validating or time.perf_counter()) - self._started)


class AttentionFrames(keras.callbacks.Callback):
    """After every epoch, draws the probe's attention with `figure` into `directory`/epochs/ (and,
    given a `tensorboard` log directory, as an image of its `attention/` run, step = the epoch);
    at the end of training, puts all epochs together into `directory`/<figure name>.gif.
    """

    def __init__(self, attend, probe, figure, title, directory, tensorboard=None):
        super().__init__()
        self.attend, self.probe, self.figure = attend, probe, figure
        self.title, self.directory = title, directory
        self.frames = []  # (epoch, weights): small, the probe is a handful of samples
        self.images = None
        if tensorboard is not None:
            import tensorflow as tf  # noqa: PLC0415  (on TensorFlow only)

            self.images = tf.summary.create_file_writer(str(Path(tensorboard) / "attention"))

    def _draw(self, frame, fig=None):
        epoch, weights = frame
        probe = replace(self.probe, weights=weights)
        return self.figure(probe, f"{self.title} · epoch {epoch}", fig=fig)

    def on_epoch_end(self, epoch, logs=None):
        frame = (epoch + 1, self.attend(self.probe.inputs))
        self.frames.append(frame)
        epochs_dir = self.directory / "epochs"
        epochs_dir.mkdir(exist_ok=True)
        fig = self._draw(frame)
        fig.savefig(epochs_dir / f"{self.figure.__name__}_epoch{epoch + 1:03d}.png", dpi=80)
        if self.images is not None:
            import tensorflow as tf  # noqa: PLC0415  (on TensorFlow only)

            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            pixels = np.asarray(canvas.buffer_rgba())[..., :3]
            with self.images.as_default():
                tf.summary.image(self.figure.__name__, pixels[None], step=epoch)  # as Keras counts the scalars
            self.images.flush()

    def on_train_end(self, logs=None):
        if self.frames:
            save_animation(self._draw, self.frames, self.directory / f"{self.figure.__name__}.gif")


def _seed_generators(model):
    """Every `keras.random.SeedGenerator` of the model's layers (dropout's, ...), in a fixed order."""
    found, seen = [], set()

    def visit(obj, depth=0):
        if id(obj) in seen or depth > 6:
            return
        seen.add(id(obj))
        if isinstance(obj, keras.random.SeedGenerator):
            found.append(obj)
        elif isinstance(obj, keras.layers.Layer):
            for value in vars(obj).values():
                for item in value if isinstance(value, (list, tuple)) else [value]:
                    if isinstance(item, (keras.layers.Layer, keras.random.SeedGenerator)):
                        visit(item, depth + 1)

    visit(model)
    return found


class ResumableTraining(keras.callbacks.BackupAndRestore):
    """Keras' BackupAndRestore, plus what it leaves out, so that a run killed after epoch k and
    started again in the same directory ends with the numbers of an uninterrupted run:
    the random state of dropout, the logs of the epochs already run, and an early stopper's state
    (its best epoch, its patience count, and the best weights it will restore).

    Keras saves the weights, the optimizer and the epoch; this callback saves the rest beside
    them (`resume.json`, `resume.npz`) after each epoch. When training ends the backup says so and
    stays until the runner has saved the model (`discard`): a run killed while it evaluates, draws
    or saves starts again with no epoch to train, and ends with the same weights.
    """

    @staticmethod
    def discard_other(directory, config):
        """Removes a backup in `directory` left by a run of another config (or unreadable)."""
        directory = Path(directory)
        if not directory.is_dir():
            return
        try:
            same = json.loads((directory / "resume.json").read_text()).get("config") == config
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(directory)

    @staticmethod
    def discard(directory):
        """Removes the backup in `directory`, once the run it kept has saved its model."""
        shutil.rmtree(directory, ignore_errors=True)

    @staticmethod
    def seconds_before(directory):
        """The training seconds that the earlier tries spent on the epochs a backup in `directory`
        keeps (0.0 without one): a resumed run's wall time adds them, so that it is the run's."""
        try:
            return float(json.loads((Path(directory) / "resume.json").read_text()).get("seconds", 0.0))
        except (OSError, ValueError):
            return 0.0

    def __init__(self, directory, stopper=None, config=None):
        super().__init__(backup_dir=str(directory), save_freq="epoch", delete_checkpoint=False)
        self.directory = Path(directory)
        self.generators = []  # the model's SeedGenerators, found once when training begins
        self.stopper = stopper
        self.config = config  # the run's config fingerprint: a backup of another config is not resumed
        self.epoch_logs = []  # the logs of every epoch, those before a restart included

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)  # weights, optimizer and epoch, if there is a backup
        self.generators = _seed_generators(self.model)
        self.started, self.earlier_seconds = time.perf_counter(), 0.0
        state_path = self.directory / "resume.json"
        if not state_path.is_file():
            return
        state = json.loads(state_path.read_text())
        self.earlier_seconds = float(state.get("seconds", 0.0))
        arrays = np.load(self.directory / "resume.npz")
        for i, generator in enumerate(self.generators):
            generator.state.assign(arrays[f"seed_{i}"])
        self.epoch_logs = state["epoch_logs"]
        if self.stopper is not None and state.get("stopper"):
            self.stopper.wait, self.stopper.best, self.stopper.best_epoch = (
                state["stopper"]["wait"],
                state["stopper"]["best"],
                state["stopper"]["best_epoch"],
            )
            self.stopper.stopped_epoch = state["stopper"].get("stopped_epoch", 0)
            count = state["stopper"]["best_weights"]
            self.stopper.best_weights = [arrays[f"best_{i}"] for i in range(count)] if count else None
        if state.get("finished"):  # trained to the end before (an early stop too): no epoch is left
            self.model._initial_epoch = self.params["epochs"]

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs.append({k: float(v) for k, v in (logs or {}).items()})
        super().on_epoch_end(epoch, logs)
        arrays = {f"seed_{i}": keras.ops.convert_to_numpy(g.state.value) for i, g in enumerate(self.generators)}
        seconds = self.earlier_seconds + time.perf_counter() - self.started
        state = {"config": self.config, "epoch": epoch + 1, "epoch_logs": self.epoch_logs, "seconds": seconds}
        if self.stopper is not None:
            best = self.stopper.best_weights or []
            arrays.update({f"best_{i}": w for i, w in enumerate(best)})
            state["stopper"] = {
                "wait": self.stopper.wait,
                "best": float(self.stopper.best),
                "best_epoch": self.stopper.best_epoch,
                "stopped_epoch": self.stopper.stopped_epoch,  # set in this epoch's end, when it stops
                "best_weights": len(best),
            }
        np.savez(self.directory / "resume.npz", **arrays)
        (self.directory / "resume.json").write_text(json.dumps(state))

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        state_path = self.directory / "resume.json"
        if state_path.is_file():  # a run of no epoch (epochs=0) has no backup to mark
            state = json.loads(state_path.read_text())
            state_path.write_text(json.dumps({**state, "finished": True}))
