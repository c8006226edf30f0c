"""IMDB: the local reader against every check of shared/data/README.md, bad data, the cache, models."""

import numpy as np
import pytest

from conftest import IMDB_DIR
from experiments.tasks.imdb_data import DataError, decoder, prepared_imdb, read_imdb_npz, read_word_index

needs_data = pytest.mark.skipif(IMDB_DIR is None, reason="no local IMDB copy (../shared/data)")


# Under pytest-xdist the module runs on one worker, so that `imdb` (module scope) is made once.
pytestmark = pytest.mark.xdist_group("test_imdb")


@pytest.fixture(scope="module")
def imdb():
    return read_imdb_npz(IMDB_DIR / "imdb.npz")


@needs_data
def test_reader_reproduces_every_check_of_the_data_readme(imdb):
    (x_train, y_train), (x_test, y_test) = imdb
    assert len(x_train) == len(x_test) == 25000
    assert np.bincount(y_train).tolist() == np.bincount(y_test).tolist() == [12500, 12500]
    assert len(x_train[0]) == 218 and list(x_train[0][:5]) == [1, 14, 22, 16, 43]
    assert len(x_train[1]) == 189
    assert list(y_train[:10]) == [1, 0, 0, 1, 0, 0, 1, 0, 1, 0]
    assert len(x_test[0]) == 68 and list(x_test[0][:5]) == [1, 591, 202, 14, 31]
    assert round(np.mean([len(x) for x in x_train]), 2) == 238.71
    assert round(np.mean([len(x) for x in x_test]), 2) == 230.80
    assert max(len(x) for x in x_train) == 2494 and max(len(x) for x in x_test) == 2315
    words = decoder(read_word_index(IMDB_DIR))(x_train[0][1:])
    assert " ".join(words).startswith(
        "this film was just brilliant casting location scenery story direction everyone's really suited the part"
    )


@needs_data
def test_num_words_turns_rare_words_into_oov():
    (x_train, _), _ = read_imdb_npz(IMDB_DIR / "imdb.npz", num_words=5000)
    ids = np.concatenate(list(x_train[:200]))
    assert ids.max() < 5000 and (ids == 2).any()


def test_a_missing_copy_says_where_it_looked_and_how_to_point_at_one(tmp_path):
    with pytest.raises(DataError) as error:
        prepared_imdb(tmp_path, 5000, 500, 10, 10, tmp_path / "cache")
    message = str(error.value)
    assert "\n" not in message
    assert str(tmp_path / "imdb.npz") in message and "ATTENTION_DATA_DIR" in message
    assert not (tmp_path / "cache").exists()


def test_a_corrupt_copy_is_refused_before_anything_is_prepared(tmp_path):
    (tmp_path / "imdb.npz").write_bytes(b"PK\x03\x04 this is not a whole zip file")
    with pytest.raises(DataError, match=r"IMDB data at .*imdb\.npz is unreadable .*; point the suite at"):
        prepared_imdb(tmp_path, 5000, 500, 10, 10, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_prepared_arrays_are_cached_by_their_settings(tmp_path, monkeypatch):
    # A tiny stand-in copy in the layout of imdb.npz: 25,000 short reviews per split.
    rng = np.random.default_rng(0)
    reviews = np.empty(25000, dtype=object)
    reviews[:] = [list(rng.integers(1, 9000, size=rng.integers(1, 12))) for _ in range(25000)]
    labels = np.tile([0, 1], 12500)
    np.savez(tmp_path / "imdb.npz", x_train=reviews, y_train=labels, x_test=reviews, y_test=labels)
    first = prepared_imdb(tmp_path, 5000, 8, 100, 50, tmp_path / "cache")
    assert first[0].shape == (100, 8) and first[2].shape == (50, 8) and first[0].max() < 5000

    import experiments.tasks.imdb_data as imdb_data

    monkeypatch.setattr(imdb_data, "_load", lambda *a: pytest.fail("read the data again"))
    again = prepared_imdb(tmp_path, 5000, 8, 100, 50, tmp_path / "cache")
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(BaseException, match="read the data again"):  # other settings: other arrays
        prepared_imdb(tmp_path, 5000, 16, 100, 50, tmp_path / "cache")


def test_attention_and_baseline_models_have_the_same_parameter_count(compose_config):
    from hydra.utils import instantiate

    from experiments.run.runner import ATTENTION_LAYER
    from experiments.tasks.imdb import Imdb

    counts = {}
    for variant in ("luong", "none"):  # the seed's comparison
        cfg = compose_config("task=imdb", f"attention={variant}")
        layer = None if cfg.attention.layer is None else instantiate(cfg.attention.layer, name=ATTENTION_LAYER)
        counts[variant] = Imdb().build_model(cfg.task, layer, None).count_params()
    assert 240_000 < counts["none"] < 260_000
    assert abs(counts["luong"] - counts["none"]) / counts["none"] < 0.01
