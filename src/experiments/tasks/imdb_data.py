"""IMDB reviews as keras-attention (original 004) uses them: Keras' download, or a local copy.

Without a data directory, Keras downloads `imdb.npz` (checking its hash) into its cache, as a
user with a network expects. With one (`data_dir` in the config, or ATTENTION_DATA_DIR), the
directory must hold `imdb.npz` and `imdb_word_index.json`; the local `imdb.npz` is read here,
applying the steps that `keras.datasets.imdb.load_data` documents.
"""

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from experiments.run.errors import SuiteError

START_CHAR, OOV_CHAR, INDEX_FROM, SHUFFLE_SEED = 1, 2, 3, 113
SPLITS = ("x_train", "y_train", "x_test", "y_test")
HOW_TO_POINT = (
    "point the suite at a directory holding imdb.npz and imdb_word_index.json with "
    "ATTENTION_DATA_DIR=DIR or data_dir=DIR"
)


class DataError(SuiteError, RuntimeError):
    """Missing or unreadable data; the message is one line that says where and what to do."""


def _existing(path, what="IMDB data"):
    if not path.is_file():
        raise DataError(f"{what} not found: no file {path}; {HOW_TO_POINT}")
    return path


def read_imdb_npz(path, num_words=None, seed=SHUFFLE_SEED):
    """`keras.datasets.imdb.load_data(num_words=num_words)` on a local `imdb.npz`.

    Returns ((x_train, y_train), (x_test, y_test)) with x as object arrays of int arrays.
    """
    path = _existing(Path(path))
    try:
        with np.load(path, allow_pickle=True) as archive:
            x_train, y_train, x_test, y_test = (archive[key] for key in SPLITS)
    except Exception as error:
        raise DataError(
            f"IMDB data at {path} is unreadable ({type(error).__name__}: {error}); {HOW_TO_POINT}"
        ) from None
    if not (len(x_train) == len(y_train) == len(x_test) == len(y_test) == 25000):
        raise DataError(f"IMDB data at {path} does not hold 25,000 train and test reviews; {HOW_TO_POINT}")

    # 1. Shuffle train, then test, with one generator (the permutation of indices of Keras).
    rng = np.random.RandomState(seed)
    shuffled = []
    for x, y in ((x_train, y_train), (x_test, y_test)):
        indices = np.arange(len(x))
        rng.shuffle(indices)
        shuffled.append((x[indices], y[indices]))

    def encode(reviews):
        # 2. Prepend the start character and shift the ranks; 4. rare words become OOV.
        out = np.empty(len(reviews), dtype=object)
        for i, review in enumerate(reviews):
            ids = np.concatenate(([START_CHAR], np.asarray(review, dtype=np.int64) + INDEX_FROM))
            out[i] = np.where(ids < num_words, ids, OOV_CHAR) if num_words else ids
        return out

    # 3. (maxlen filtering) is not used: the original pads and truncates instead.
    return tuple((encode(x), y) for x, y in shuffled)


def read_word_index(data_dir=None):
    """word → rank (1 = most frequent), from the local copy or Keras' download."""
    if not data_dir:
        # Keras only to fetch or read the files: the checks before stay fast.
        import keras  # noqa: PLC0415

        try:
            return keras.datasets.imdb.get_word_index()
        except Exception as error:  # offline: Keras raises a bare Exception for the failed fetch
            raise DataError(
                f"the IMDB word index is not here and Keras could not download it ({type(error).__name__}: "
                f"{error}); {HOW_TO_POINT}"
            ) from None
    path = _existing(Path(data_dir) / "imdb_word_index.json", "IMDB word index")
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise DataError(f"IMDB word index at {path} is not JSON ({error}); {HOW_TO_POINT}") from None


def _words(text):
    """The words of a text as the model reads them: lower case, letters, digits and apostrophes."""
    return re.findall(r"[a-z0-9']+", text.lower())


def encode_texts(texts, word_index, num_words, maxlen):
    """New reviews as the model reads them: lower-case words (letters, digits, apostrophes), each
    its rank + 3 (2 for a word outside the `num_words` most frequent), after the start mark, padded
    and cut at the front to `maxlen` as the original's `pad_sequences` does. (samples, maxlen) int32."""
    out = np.zeros((len(texts), maxlen), dtype="int32")
    for i, text in enumerate(texts):
        ids = [START_CHAR] + [_word_id(word_index.get(word), num_words) for word in _words(text)]
        ids = ids[-maxlen:]
        out[i, maxlen - len(ids) :] = ids
    return out


def _word_id(rank, num_words):
    return rank + INDEX_FROM if rank is not None and rank + INDEX_FROM < num_words else OOV_CHAR


def unknown_words(texts, word_index, num_words):
    """(words outside the model's vocabulary, words) of each text: those `encode_texts` reads as OOV."""
    counts = []
    for text in texts:
        ids = [_word_id(word_index.get(word), num_words) for word in _words(text)]
        counts.append((ids.count(OOV_CHAR), len(ids)))
    return counts


def decoder(word_index):
    """A function from token ids (as `load_data` gives them) to words."""
    words = {rank + INDEX_FROM: word for word, rank in word_index.items()}
    words.update({START_CHAR: "<start>", OOV_CHAR: "<oov>"})
    return lambda ids: [words.get(int(i), "<oov>") for i in ids]


def _source(data_dir):
    """Where the reviews come from, and a fingerprint that changes when the file does."""
    if data_dir is None:
        return "keras-download", "keras-download"
    path = _existing(Path(data_dir).resolve() / "imdb.npz")
    stat = path.stat()
    return path, f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def _load(source, num_words):
    if source != "keras-download":
        return read_imdb_npz(source, num_words)
    # Keras only to fetch or read the files: the checks before stay fast.
    import keras  # noqa: PLC0415

    try:
        return keras.datasets.imdb.load_data(num_words=num_words)
    except Exception as error:
        raise DataError(
            f"could not download IMDB with Keras ({type(error).__name__}: {error}); {HOW_TO_POINT}"
        ) from None


def prepared_imdb(data_dir, num_words, maxlen, train_reviews, test_reviews, cache_dir):
    """Padded (pre) and truncated (pre) arrays, as the original's `pad_sequences(x, maxlen)`.

    Returns x_train, y_train, x_test, y_test: the first `train_reviews` and `test_reviews` after
    Keras' shuffle. Prepared once per setting and cached in `cache_dir` (keyed by the settings and
    the source file), so the jobs of a sweep share one preparation.
    """
    source, fingerprint = _source(data_dir or None)
    settings = [fingerprint, num_words, maxlen, train_reviews, test_reviews]
    key = hashlib.sha1(json.dumps(settings).encode()).hexdigest()[:16]
    cache = Path(cache_dir) / f"imdb-{key}.npz"
    if cache.is_file():
        with np.load(cache) as arrays:
            return tuple(arrays[k] for k in SPLITS)

    # Keras only to fetch or read the files: the checks before stay fast.
    import keras  # noqa: PLC0415

    (x_train, y_train), (x_test, y_test) = _load(source, num_words)
    arrays = {
        "x_train": keras.utils.pad_sequences(x_train[:train_reviews], maxlen=maxlen),
        "y_train": np.asarray(y_train[:train_reviews], dtype="float32")[:, None],
        "x_test": keras.utils.pad_sequences(x_test[:test_reviews], maxlen=maxlen),
        "y_test": np.asarray(y_test[:test_reviews], dtype="float32")[:, None],
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, cache)  # parallel jobs may race here: each writes whole files, the last wins
    return tuple(arrays[k] for k in SPLITS)


# Jain & Wallace's IMDB (2019; their preprocess/IMDB notebook, which starts from these Keras files):
# reviews of fewer than 400 words; a seeded 20% of the test reviews of fewer than 400 words as the
# test set (the rest unused); a vocabulary of the words found in at least 10 training reviews, the
# others read as <UNK>; every review between <SOS> and <EOS>, padded with 0 at the end.
PAD, UNK, SOS, EOS = 0, 1, 2, 3
JAIN_WALLACE_SPLITS = ("x_train", "y_train", "x_validation", "y_validation", "x_test", "y_test", "vocabulary")
# Where each split's reviews come from: their places in Keras' (shuffled) train and test lists.
JAIN_WALLACE_INDICES = ("train_index", "validation_index", "test_index")


def jain_wallace_imdb(data_dir, cache_dir, max_words, min_reviews, test_share, validation_share, split_seed):
    """{'x_train', 'y_train', 'x_validation', 'y_validation', 'x_test', 'y_test', 'vocabulary'}:
    x as (reviews, max_words + 1) int32 ids (<SOS>, the words, <EOS>, then 0), y as (reviews, 1)
    float32, `vocabulary` the word rank of each id from 4 on (ids 0 to 3: padding, <UNK>,
    <SOS>, <EOS>), and `train_index`, ... each review's place in Keras' train or test list. The split seed, not the run's, draws the test reviews (as scikit-learn's
    `train_test_split(train_size=test_share, random_state=split_seed)` did for the paper) and the
    validation reviews (`validation_share` of the training ones): every run sees the same data.
    Cached in `cache_dir` like `prepared_imdb`."""
    source, fingerprint = _source(data_dir or None)
    settings = ["jain_wallace", fingerprint, max_words, min_reviews, test_share, validation_share, split_seed]
    key = hashlib.sha1(json.dumps(settings).encode()).hexdigest()[:16]
    cache = Path(cache_dir) / f"imdb-jain-wallace-{key}.npz"
    if cache.is_file():
        with np.load(cache) as arrays:
            return {k: arrays[k] for k in JAIN_WALLACE_SPLITS + JAIN_WALLACE_INDICES}
    (x_train, y_train), (x_test, y_test) = _load(source, None)
    # Back to the word ranks of the file: the start mark off, the index offset out.
    x_train, x_test = ([np.asarray(r[1:], dtype=np.int64) - INDEX_FROM for r in x] for x in (x_train, x_test))
    short_train = [i for i, review in enumerate(x_train) if len(review) < max_words]
    short_test = np.array([i for i, review in enumerate(x_test) if len(review) < max_words])
    # scikit-learn's ShuffleSplit: a permutation; the first n − ⌊share·n⌋ are left out, the next
    # ⌊share·n⌋ kept ("train_size" there is the share kept as the paper's test set).
    kept = int(np.floor(test_share * len(short_test)))
    permutation = np.random.RandomState(split_seed).permutation(len(short_test))
    test = short_test[permutation[len(short_test) - kept :]]
    vocabulary = _words_in_reviews(x_train[i] for i in short_train)
    vocabulary = vocabulary[vocabulary[:, 1] >= min_reviews, 0]  # ranks of words in enough reviews
    ids = _word_ids(vocabulary)
    held_out = np.random.RandomState(split_seed).permutation(len(short_train))
    validation_count = round(validation_share * len(short_train))
    validation = sorted(short_train[i] for i in held_out[:validation_count])
    train = sorted(short_train[i] for i in held_out[validation_count:])

    def encode(reviews, labels, indices):
        x = np.zeros((len(indices), max_words + 1), dtype="int32")
        for row, i in enumerate(indices):
            words = _between_marks(ids, (int(rank) for rank in reviews[i]))
            x[row, : len(words)] = words
        return x, np.asarray(labels, dtype="float32")[indices][:, None]

    arrays = dict(zip(JAIN_WALLACE_SPLITS[:6], (*encode(x_train, y_train, train), *encode(x_train, y_train, validation),
                                                  *encode(x_test, y_test, test))))  # fmt: skip
    arrays["vocabulary"] = vocabulary.astype("int64")
    arrays.update(zip(JAIN_WALLACE_INDICES, (np.asarray(i, dtype="int64") for i in (train, validation, test))))
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, cache)
    return arrays


def encode_jain_wallace_texts(texts, word_index, vocabulary):
    """New reviews as `jain_wallace_imdb` encodes the training ones: lower-case words (letters,
    digits, apostrophes), each its id in `vocabulary` (<UNK> for a word outside it), between
    <SOS> and <EOS>, padded with 0 at the end to the longest. (x as (reviews, steps) int32,
    (words read as <UNK>, words) of each review)."""
    ids = _word_ids(vocabulary)
    rows = [_between_marks(ids, (word_index.get(word) for word in _words(text))) for text in texts]
    x = np.zeros((len(rows), max(map(len, rows))), dtype="int32")
    for i, row in enumerate(rows):
        x[i, : len(row)] = row
    return x, [(row.count(UNK), len(row) - 2) for row in rows]


def _word_ids(vocabulary):
    """{word rank: its id}: the vocabulary's words from id 4 on, after PAD, UNK, SOS and EOS."""
    return {int(rank): index + 4 for index, rank in enumerate(vocabulary)}


def _between_marks(ids, ranks):
    """A review's ids between <SOS> and <EOS>: each word's, <UNK> for a rank outside `ids`."""
    return [SOS, *(ids.get(rank, UNK) for rank in ranks), EOS]


def _words_in_reviews(reviews):
    """(rank, number of reviews it occurs in) of every word, by rank."""
    counts = {}
    for review in reviews:
        for rank in np.unique(review):
            counts[int(rank)] = counts.get(int(rank), 0) + 1
    return np.array(sorted(counts.items()), dtype=np.int64).reshape(-1, 2)
