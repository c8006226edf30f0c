"""Keras callbacks used by the runner."""

from dataclasses import replace

import keras

from experiments.plots import save_animation


class EvaluateEachEpoch(keras.callbacks.Callback):
    """Adds `test_<metric>` to each epoch's logs: the seed's protocol, which picks epochs on the
    test set. It must come before the callbacks that read the logs (CSVLogger; History comes last)."""

    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def on_epoch_end(self, epoch, logs=None):
        results = self.model.evaluate(self.x, self.y, batch_size=self.batch_size, verbose=0, return_dict=True)
        logs.update({f"test_{name}": float(value) for name, value in results.items()})


class AttentionFrames(keras.callbacks.Callback):
    """After every epoch, draws the probe's attention with `figure` into `directory`/epochs/;
    at the end of training, puts all epochs together into `directory`/<figure name>.gif.
    """

    def __init__(self, attend, probe, figure, title, directory):
        super().__init__()
        self.attend, self.probe, self.figure = attend, probe, figure
        self.title, self.directory = title, directory
        self.frames = []  # (epoch, weights): small, the probe is a handful of samples

    def _draw(self, frame, fig=None):
        epoch, weights = frame
        probe = replace(self.probe, weights=weights)
        return self.figure(probe, f"{self.title} · epoch {epoch}", fig=fig)

    def on_epoch_end(self, epoch, logs=None):
        frame = (epoch + 1, self.attend(self.probe.inputs))
        self.frames.append(frame)
        epochs_dir = self.directory / "epochs"
        epochs_dir.mkdir(exist_ok=True)
        self._draw(frame).savefig(epochs_dir / f"{self.figure.__name__}_epoch{epoch + 1:03d}.png", dpi=80)

    def on_train_end(self, logs=None):
        if self.frames:
            save_animation(self._draw, self.frames, self.directory / f"{self.figure.__name__}.gif")
