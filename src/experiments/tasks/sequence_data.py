"""A user's labelled sequences, read and checked before anything trains (`task=sequences`).

Two forms are accepted:
- `.npz` with `x` (samples, steps, features) and `y` (samples,); optional `lengths` (samples,),
  `split` ("train" / "validation" / "test" per sample), `feature_names`, `class_names`. Sequences
  of different lengths either give `lengths` or fill the steps after their end with NaN.
- `.csv` in long form: one row per step, columns `id`, `step`, the features, and `label`
  (optional `split`, constant within an id).

Whether the task is classification or regression is read from `y`: strings or integers are
classes, other numbers a regression target; `objective` forces one. Every problem is a
`SequenceDataError` of one line that says what is wrong and what is accepted.
"""

import csv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.run.files import shown
from experiments.tasks.imdb_data import DataError

OBJECTIVES = ("auto", "classification", "regression")
SPLITS = ("train", "validation", "test")
SHIPPED = Path(__file__).parent / "data" / "japanese_vowels.npz"
CSV_NEEDS = "a .csv needs a header (id, step, the features and, to train, label) and a row per step under it"


class SequenceDataError(DataError):
    """A data file that cannot be trained on; the message is one line for the user (and, as every
    DataError, the command line stops with it before anything trains)."""


@dataclass
class Sequences:
    """Checked sequences: `x` with 0 after each sequence's end, `mask` True on the real steps."""

    x: np.ndarray  # (samples, steps, features) float32
    mask: np.ndarray  # (samples, steps) bool
    y: np.ndarray  # class indices (int) or targets (float32)
    objective: str  # "classification" or "regression"
    split: np.ndarray | None  # per sample, from the file, or None
    feature_names: list
    class_names: list  # [] for regression

    @property
    def lengths(self):
        return self.mask.sum(axis=1)


def _npz_needs(needed):
    return "a .npz needs x (samples, steps, features)" + (" and y (samples,)" if "y" in needed else "")


def _read_npz(path, needed=("x", "y")):
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # empty, text, a cut zip, ...
        raise SequenceDataError(
            f"{path} is not a .npz archive (numpy.savez writes one): {_npz_needs(needed)}"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):  # a .npy renamed: one bare array
        raise SequenceDataError(f"{path} holds one bare array (a .npy), not a .npz archive: {_npz_needs(needed)}")
    with archive as data:
        missing = [name for name in needed if name not in data]
        if missing:
            holds = f"has no {' or '.join(missing)} array" if data.files else "holds no arrays"
            raise SequenceDataError(f"{path} {holds}: {_npz_needs(needed)}")
        arrays = {}
        for name in data.files:
            try:
                arrays[name] = data[name]
            except ValueError:  # numpy refuses to unpickle object arrays
                raise SequenceDataError(
                    f"{path}: array {name} holds Python objects: save numbers, or strings for labels and names"
                ) from None
        return arrays


def _data_lines(path):
    """The file line of each data row, after checking that every row has the header's fields (pandas
    would fill a short row with NaN, and read a first row one field longer as an index)."""
    lines = []
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = next((row for row in reader if row), None)
        if header is None:
            raise SequenceDataError(f"{path} is empty: {CSV_NEEDS}")
        for row in reader:
            if not row:  # a blank line, which pandas skips too
                continue
            if len(row) != len(header):
                raise SequenceDataError(
                    f"{path}: line {reader.line_num} has {len(row)} fields, the header {len(header)}: "
                    "every row needs a value under each column of the header"
                )
            lines.append(reader.line_num)
    if not lines:
        raise SequenceDataError(f"{path} has a header and no rows: {CSV_NEEDS}")
    return lines


def _listed(values, most=5):
    shown = ", ".join(str(v) for v in values[:most])
    return shown + (f" and {len(values) - most} more" if len(values) > most else "")


def _named(word, values):
    """'line 3', or 'lines 3, 4, 5, 8, 9 and 2 more'."""
    return f"{word}{'s' if len(values) > 1 else ''} {_listed(values)}"


def _check_cells(path, frame, lines, needed):
    """Refuses empty cells in the `needed` columns (pandas reads them as NaN; an id of NaN would drop
    its rows) and a step given twice in a sequence."""
    for column in needed:
        rows = np.flatnonzero(frame[column].isna().to_numpy())
        if len(rows):
            ids = f" (sequence {_named('id', frame['id'].iloc[rows].unique())})" if column != "id" else ""
            raise SequenceDataError(
                f"{path}: {column} is empty or NaN on {len(rows)} row(s), {_named('line', [lines[r] for r in rows])}"
                f"{ids}: every row needs an id, a step and its sequence's label"
            )
    twice = frame.duplicated(["id", "step"], keep=False).to_numpy()
    if twice.any():
        first = frame.iloc[int(np.argmax(twice))]
        rows = np.flatnonzero((frame["id"] == first["id"]) & (frame["step"] == first["step"]))
        raise SequenceDataError(
            f"{path}: sequence id {first['id']} has step {first['step']} on more than one row "
            f"({_named('line', [lines[r] for r in rows])}): each step of a sequence needs one row"
        )


def _csv_frame(path, needs=CSV_NEEDS):
    """(the table, the file line of each row), or a SequenceDataError saying what a .csv `needs`."""
    try:
        lines = _data_lines(path)
    except UnicodeDecodeError:
        raise SequenceDataError(f"{path} is not a text file (UTF-8): {needs}") from None
    try:
        return pd.read_csv(path), lines
    except pd.errors.ParserError as error:  # what the csv module let through (quoting, say)
        raise SequenceDataError(f"{path} is not a .csv pandas can read ({error}): {needs}") from None


def _read_rows(path):
    frame, _ = _csv_frame(path, "a .csv of a row per sample, a column per feature")
    features = frame.drop(columns=[c for c in ("id",) if c in frame.columns])
    try:
        return {"x": features.to_numpy(dtype="float64")}
    except ValueError:
        raise SequenceDataError(f"{path}: the feature columns must hold numbers ({', '.join(features)})") from None


def _read_csv(path, needed=("id", "step", "label")):
    frame, lines = _csv_frame(path)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SequenceDataError(
            f"{path} has no column {', '.join(missing)}: a .csv needs id, step, the features and label, a row per step"
        )
    features = [c for c in frame.columns if c not in ("id", "step", "label", "split")]
    if not features:
        raise SequenceDataError(f"{path} has no feature column besides id, step, label and split")
    _check_cells(path, frame, lines, needed)
    if not pd.api.types.is_numeric_dtype(frame["step"]):  # text would sort t1, t10, t2: refused, not misread
        raise SequenceDataError(
            f"{path}: the step column must hold numbers (each row's place in its sequence), got "
            f"{_listed(frame['step'].unique(), 3)}"
        )
    frame = frame.sort_values(["id", "step"], kind="stable")
    groups = list(frame.groupby("id", sort=False))
    steps = max(len(g) for _, g in groups)
    x = np.full((len(groups), steps, len(features)), np.nan, dtype="float64")
    labels, splits = [], []
    for i, (sample, rows) in enumerate(groups):
        if "label" in needed and rows["label"].nunique() != 1:
            raise SequenceDataError(
                f"{path}: sequence id {sample} has more than one label ({_listed(rows['label'].unique())}): "
                "every row of a sequence needs the same label"
            )
        try:
            x[i, : len(rows)] = rows[features].to_numpy(dtype="float64")
        except ValueError:
            raise SequenceDataError(f"{path}: the feature columns must hold numbers ({', '.join(features)})") from None
        labels.append(rows["label"].iloc[0] if "label" in rows else None)
        if "split" in rows:
            splits.append(rows["split"].iloc[0])
    data = {"x": x, "y": np.array(labels), "feature_names": np.array(features)}
    if splits:
        data["split"] = np.array(splits)
    return data


def _objective(y, forced):
    if forced not in OBJECTIVES:
        raise SequenceDataError(f"task.objective must be one of {', '.join(OBJECTIVES)}, got {forced!r}")
    numeric = np.issubdtype(y.dtype, np.number) or y.dtype == bool
    if forced == "regression" and not numeric:
        raise SequenceDataError("task.objective=regression needs numbers in y, and y holds strings")
    if forced != "auto":
        return forced
    whole = (numeric and np.issubdtype(y.dtype, np.integer)) or y.dtype == bool
    return "classification" if not numeric or whole else "regression"


def _labels(y, objective):
    if objective == "regression":
        y = y.astype("float64")
        if not np.all(np.isfinite(y)):
            raise SequenceDataError("y holds NaN or infinite values: every sample needs a finite target")
        return y.astype("float32"), []
    names, codes = np.unique(y.astype(str) if not np.issubdtype(y.dtype, np.number) else y, return_inverse=True)
    if len(names) < 2:
        raise SequenceDataError(f"y has one class only ('{names[0]}'): classification needs at least two")
    return codes.astype("int32"), [str(n) for n in names]


def _mask(x, lengths):
    """(samples, steps) True on the real steps: from `lengths`, or from NaN after each sequence."""
    samples, steps = x.shape[:2]
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.shape != (samples,):
            raise SequenceDataError(f"lengths must be {samples} integers, one per sample, got shape {lengths.shape}")
        if not np.issubdtype(lengths.dtype, np.integer):  # 7.0 steps would be a guess: refused
            raise SequenceDataError(
                f"lengths must be integers (the real steps of each sample), got {lengths.dtype} values "
                f"({_listed(lengths.tolist(), 3)}): save them as int"
            )
        if lengths.min() < 1 or lengths.max() > steps:
            raise SequenceDataError(
                f"lengths must lie in 1..{steps} (the steps of x), got {lengths.min()}..{lengths.max()}"
            )
        return np.arange(steps)[None, :] < lengths[:, None]
    present = ~np.all(np.isnan(x), axis=2)  # a step of NaN in every feature is padding
    mask = np.cumsum(present[:, ::-1], axis=1)[:, ::-1] > 0  # real up to the last present step
    if not mask.any(axis=1).all():
        raise SequenceDataError(f"sample {int(np.argmin(mask.any(axis=1)))} of x is empty: every feature is NaN")
    return mask


def _read(path, what, labelled=True, vectors=False):
    """The arrays of a `.npz` or `.csv` (`what` names the setting in the messages); `vectors`: a
    .csv of a row per sample, not per step."""
    if not str(path).strip():  # Path("") would be the current directory
        raise SequenceDataError(f"{what}: the path is empty: give a .npz or a .csv")
    path = Path(path)
    try:
        if path.is_dir():
            raise SequenceDataError(f"{what}: {path} is a directory, not a file (accepted: a .npz or a .csv)")
        if not path.is_file():
            raise SequenceDataError(f"{what}: there is no file {path} (accepted: a .npz or a .csv)")
    except OSError as error:  # a name too long for the file system, say
        raise SequenceDataError(f"{what}: cannot read {shown(path)}: {error.strerror}") from None
    if path.suffix not in (".npz", ".csv"):
        raise SequenceDataError(f"{what}: {path.name} is neither a .npz nor a .csv")
    if path.suffix == ".npz":
        return _read_npz(path, ("x", "y") if labelled else ("x",))
    if vectors:
        return _read_rows(path)
    return _read_csv(path, ("id", "step", "label") if labelled else ("id", "step"))


def _checked_x(data, max_steps, what="task.data.max_steps"):
    """(x as float64, mask of the real steps), or a SequenceDataError."""
    x = np.asarray(data["x"])
    if x.ndim != 3:
        raise SequenceDataError(f"x must have 3 dimensions (samples, steps, features), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise SequenceDataError(f"x must hold numbers, got dtype {x.dtype}")
    if not x.size:
        raise SequenceDataError(f"x is empty, of shape {x.shape}: it needs at least one sample, step and feature")
    x = x.astype("float64")
    mask = _mask(x, data.get("lengths"))
    bad = ~np.isfinite(x) & mask[..., None]
    if bad.any():
        sample, step, _ = np.argwhere(bad)[0]
        raise SequenceDataError(
            f"x holds NaN or infinite values inside a sequence (sample {sample}, step {step}): "
            "NaN is accepted only after a sequence's end"
        )
    if np.abs(np.where(mask[..., None], x, 0.0)).max() > np.finfo("float32").max:
        raise SequenceDataError("x holds values beyond what float32 can hold (about ±3.4e38): rescale them")
    longest = int(mask.sum(axis=1).max())
    if max_steps is not None and longest > max_steps:
        raise SequenceDataError(f"a sequence has {longest} steps, more than {what}={max_steps}")
    return x, mask


def read_inputs(path, max_steps):
    """New, unlabelled sequences for a trained model (`explain`): (x with 0 after each end, mask)."""
    x, mask = _checked_x(_read(path, "the inputs", labelled=False), max_steps, "the model's steps")
    return np.where(mask[..., None], x, 0.0), mask


def read_vectors(path, features):
    """New inputs for a model that reads one vector per sample (`explain` of the dense task): a .npz
    whose x is (samples, features), or a .csv of a row per sample (an id column, if any, is not a
    feature)."""
    data = _read(path, "the inputs", labelled=False, vectors=True)
    x = np.asarray(data["x"])
    if x.ndim != 2 or x.shape[1] != features or not x.size:
        raise SequenceDataError(
            f"the inputs must be {features} numbers per sample, x of shape (samples, {features}); got {x.shape}"
        )
    if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
        raise SequenceDataError("the inputs must hold finite numbers only")
    return x.astype("float32")


def load_sequences(path=None, objective="auto", max_steps=None):
    """Reads and checks a `.npz` or `.csv` of labelled sequences (the shipped example if `path` is None)."""
    if path is not None and not str(path).strip():  # `task.data.path=` must not quietly mean the example
        raise SequenceDataError(
            "task.data.path is empty: give a .npz or a .csv, or leave task.data.path out (its default, null) "
            "to train on the shipped Japanese Vowels example"
        )
    data = _read(SHIPPED if path is None else path, "task.data.path")
    x, mask = _checked_x(data, max_steps)
    if mask.sum(axis=1).max() < 2:  # a model over one step has nothing to attend between (explain may read one)
        raise SequenceDataError(
            "every sequence of x has a single step: attention over time needs sequences of 2 steps or more"
        )
    y = np.asarray(data["y"])
    if y.ndim != 1 or len(y) != len(x):
        raise SequenceDataError(
            f"x and y must have one entry per sample: x has {len(x)} samples, y has shape {y.shape}"
        )
    objective = _objective(y, objective)
    labels, class_names = _labels(y, objective)
    split = np.asarray(data["split"]).astype(str) if "split" in data else None
    if split is not None and (split.shape != (len(x),) or not set(split) <= set(SPLITS) or "test" not in split):
        raise SequenceDataError(f"split must give each sample one of {', '.join(SPLITS)}, with some test samples")
    features = x.shape[2]
    names = [str(n) for n in data.get("feature_names", [f"feature {i}" for i in range(features)])]
    return Sequences(
        x=np.where(mask[..., None], x, 0.0).astype("float32"),
        mask=mask,
        y=labels,
        objective=objective,
        split=split,
        feature_names=names if len(names) == features else [f"feature {i}" for i in range(features)],
        class_names=class_names,
    )


def stratified_split(y, fraction, rng, classes):
    """(kept, held out) indices: `fraction` of each class held out (at least one sample each)."""
    held = []
    groups = [np.flatnonzero(y == c) for c in range(len(classes))] if classes else [np.arange(len(y))]
    for indices, name in zip(groups, classes or [None]):
        if len(indices) < 2:
            raise SequenceDataError(
                f"class {name!r} has {len(indices)} sample(s) to split: each class needs at least 2"
                if name is not None
                else f"{len(indices)} sample(s) cannot be split: at least 2 are needed"
            )
        count = min(len(indices) - 1, max(1, round(fraction * len(indices))))
        held.extend(rng.permutation(indices)[:count])
    held = np.sort(np.array(held, dtype=int))
    return np.setdiff1d(np.arange(len(y)), held), held


def split_indices(data, cfg, rng):
    """(train, validation, test) indices for the task config `cfg`: the file's own split where it has
    one, else stratified by `rng`."""
    classes = data.class_names
    if data.split is not None:
        test = np.flatnonzero(data.split == "test")
        validation = np.flatnonzero(data.split == "validation")
        train = np.flatnonzero(data.split == "train")
    else:
        train, test = stratified_split(data.y, cfg.data.test_fraction, rng, classes)
        validation = np.array([], dtype=int)
    if not len(validation):
        kept, held = stratified_split(data.y[train], cfg.data.validation_fraction, rng, classes)
        train, validation = train[kept], train[held]

    # `samples` and `test_samples` are caps (debug=smoke cuts a run short with them): a random
    # subset, in the file's order, so that a file sorted by class keeps every class.
    def capped(indices, cap):
        return np.sort(rng.permutation(indices)[:cap]) if len(indices) > cap else indices

    return capped(train, cfg.samples), validation, capped(test, cfg.test_samples)
