"""Jain & Wallace's IMDB classifier: their data (lengths, vocabulary by document count, seeded and
disjoint splits) and their model (parameter count by hand, padding masked to exactly 0)."""

import numpy as np
import pandas as pd
import pytest

from conftest import IMDB_DIR, short_reviews, vocabulary_only
from experiments.tasks.imdb_data import EOS, PAD, SOS, jain_wallace_imdb, read_imdb_npz

needs_data = pytest.mark.skipif(IMDB_DIR is None, reason="no local IMDB copy (../shared/data)")
SETTINGS = {"max_words": 400, "min_reviews": 10, "test_share": 0.2, "validation_share": 0.1, "split_seed": 1378}

# Under pytest-xdist the module runs on one worker, so that `paper` (module scope) is made once.
pytestmark = pytest.mark.xdist_group("test_jain_wallace")


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    return jain_wallace_imdb(IMDB_DIR, tmp_path_factory.mktemp("cache"), **SETTINGS)


def _words(x):
    """Each review's words: its ids between <sos> and <eos>, without the padding."""
    return [row[1 : int((row != PAD).sum()) - 1] for row in x]


@needs_data
def test_the_papers_data_holds_short_reviews_between_their_marks(paper):
    for split in ("train", "validation", "test"):
        x = paper[f"x_{split}"]
        lengths = (x != PAD).sum(axis=1)
        assert (lengths - 2).max() < 400 and x.shape[1] == 401, split  # fewer than 400 words
        assert (x[:, 0] == SOS).all() and (x[np.arange(len(x)), lengths - 1] == EOS).all(), split
        assert all((row[length:] == PAD).all() for row, length in zip(x, lengths)), split
        assert set(np.unique(paper[f"y_{split}"])) == {0.0, 1.0}, split


@needs_data
def test_the_vocabulary_is_every_word_of_at_least_ten_training_reviews(paper):
    (x_train, _), _ = read_imdb_npz(IMDB_DIR / "imdb.npz")
    training = np.concatenate([paper["train_index"], paper["validation_index"]])
    reviews_holding = {}
    for review in x_train[training]:
        for rank in set((np.asarray(review[1:]) - 3).tolist()):
            reviews_holding[rank] = reviews_holding.get(rank, 0) + 1
    expected = sorted(rank for rank, count in reviews_holding.items() if count >= 10)
    assert paper["vocabulary"].tolist() == expected
    assert len(expected) + 4 == 14355  # the vocabulary size the paper reports, to the word
    # Every id in the data is a vocabulary word or a mark; a word of fewer reviews reads <unk>.
    assert max(int(x.max()) for x in (paper["x_train"], paper["x_test"])) == len(expected) + 3


@needs_data
def test_the_splits_are_seeded_disjoint_and_sized_as_asked(paper, tmp_path):
    train, validation, test = (paper[f"{s}_index"] for s in ("train", "validation", "test"))
    assert not set(train) & set(validation)  # both from Keras' training reviews
    assert len(validation) == round(0.1 * (len(train) + len(validation)))
    (x_train, _), (x_test, _) = read_imdb_npz(IMDB_DIR / "imdb.npz")
    short_test = [i for i, review in enumerate(x_test) if len(review) - 1 < 400]
    assert len(test) == int(0.2 * len(short_test)) and set(test) <= set(short_test)
    assert len(train) + len(validation) == sum(len(review) - 1 < 400 for review in x_train)
    np.testing.assert_array_equal(
        paper["x_test"][0][1:-1][: len(_words(paper["x_test"])[0])], _words(paper["x_test"])[0]
    )
    again = jain_wallace_imdb(IMDB_DIR, tmp_path, **SETTINGS)  # a fresh preparation: the same data
    for key, array in paper.items():
        np.testing.assert_array_equal(again[key], array, err_msg=key)
    other = jain_wallace_imdb(IMDB_DIR, tmp_path, **{**SETTINGS, "split_seed": 7})
    assert set(other["test_index"]) != set(test)


def test_the_papers_model_has_the_parameters_counted_by_hand_and_masks_the_padding(compose_config):
    import keras

    from attention import attention_weights
    from experiments.run.runner import _attention_layer
    from experiments.run.task import Splits
    from experiments.tasks.imdb_jain_wallace import ImdbJainWallace

    cfg = compose_config("task=imdb_jain_wallace")
    vocabulary = np.arange(100, 1100)  # 1,000 words: V = 1,004 with the four marks
    data = Splits(train=(None, None), test=(None, None), extras={"vocabulary": vocabulary})
    model = ImdbJainWallace().build_model(cfg.task, _attention_layer(cfg), data)
    v, e, h = 1004, 300, 128
    lstm = 4 * (h * (e + h) + h)  # four gates: input and recurrent kernels and a bias each
    by_hand = v * e + 2 * lstm + (2 * h * 128 + 128 + 128) + (2 * h + 1)  # embedding, BiLSTM, W, b, v, Dense
    assert model.count_params() == by_hand
    x = np.zeros((2, 401), dtype="int32")
    x[0, :5] = [SOS, 10, 11, 12, EOS]
    x[1, :9] = [SOS, *range(20, 27), EOS]
    weights = attention_weights(model, "attention", x)
    assert (weights[0, 5:] == 0).all() and (weights[1, 9:] == 0).all()  # exactly 0 on the padding
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    uniform = ImdbJainWallace().build_model(
        cfg.task, _attention_layer(compose_config("task=imdb_jain_wallace", "attention=uniform")), data
    )
    np.testing.assert_allclose(attention_weights(uniform, "attention", x)[1, :9], 1 / 9, rtol=1e-5)
    assert isinstance(model.get_layer("attention"), keras.layers.Layer)


@needs_data
def test_a_word_vectors_file_sets_the_embedding_of_the_words_it_holds(compose_config, tmp_path):
    from experiments.run.runner import _attention_layer
    from experiments.run.task import Splits
    from experiments.tasks.imdb_data import read_word_index
    from experiments.tasks.imdb_jain_wallace import ImdbJainWallace

    ranks = read_word_index(IMDB_DIR)
    vocabulary = np.array(sorted(ranks[w] for w in ("the", "film", "brilliant")))
    vectors = tmp_path / "wiki.simple.vec"
    vectors.write_text("2 4\nfilm 1 2 3 4\nbrilliant 0.5 0.5 0.5 0.5\nzebra 9 9 9 9\n")  # fastText's header, then words
    cfg = compose_config("task=imdb_jain_wallace", "task.model.embedding_dim=4", f"task.model.vectors={vectors}")
    data = Splits(train=(None, None), test=(None, None), extras={"vocabulary": vocabulary})
    model = ImdbJainWallace().build_model(cfg.task, _attention_layer(cfg), data)
    matrix = model.layers[1].get_weights()[0]
    ids = {rank: i + 4 for i, rank in enumerate(vocabulary)}
    np.testing.assert_array_equal(matrix[ids[ranks["film"]]], [1, 2, 3, 4])
    np.testing.assert_array_equal(matrix[ids[ranks["brilliant"]]], [0.5] * 4)
    assert not np.allclose(matrix[ids[ranks["the"]]], 0) and (matrix[PAD] == 0).all()  # random start; padding 0
    with pytest.raises(FileNotFoundError, match=r"task\.model\.vectors: no file"):
        missing = compose_config("task=imdb_jain_wallace", "task.model.vectors=/nonexistent.vec")
        ImdbJainWallace().build_model(missing.task, _attention_layer(missing), data)


def test_with_the_marks_masked_the_attention_and_the_audit_read_the_words_only(compose_config, tmp_path):
    """task.model.attend_marks=false is their model: <sos> and <eos> get weight exactly 0, the
    audit's steps (leave-one-out, τ, erasure) are the words alone, and the saved model reloads."""
    import keras

    from attention import attention_weights
    from attention.audit import AttentionAudit
    from experiments.run.runner import _attention_layer
    from experiments.tasks.imdb_jain_wallace import ImdbJainWallace

    cfg = compose_config("task=imdb_jain_wallace", "task.model.attend_marks=false", "task.model.embedding_dim=8",
                         "task.model.lstm_units=4", "task.attention_layer.units=4")  # fmt: skip
    data = vocabulary_only()
    keras.utils.set_random_seed(0)
    model = ImdbJainWallace().build_model(cfg.task, _attention_layer(cfg), data)
    model.compile(loss="binary_crossentropy")
    x = np.zeros((4, 12), dtype="int32")
    for row, words in enumerate(([10, 11, 12], [20, 21, 22, 23, 24, 25], [5, 6], [7, 8, 9, 10, 11, 12, 13, 14])):
        x[row, : len(words) + 2] = [SOS, *words, EOS]
    words = (x != PAD) & (x != SOS) & (x != EOS)
    weights = attention_weights(model, "attention", x)
    assert (weights[~words] == 0).all() and (weights[words] > 0).all()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    model.save(tmp_path / "model.keras")
    again = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_array_equal(attention_weights(again, "attention", x), weights)
    audit = AttentionAudit(again)
    audit.run(x, permutations=2, seed=0)
    assert audit.details["valid"].tolist() == words.tolist()  # leave-one-out, τ and erasure: the words
    left_out = audit.details["leave_one_out"]  # (samples, units, steps)
    assert (left_out[np.broadcast_to(~words[:, None], left_out.shape)] == 0).all()
    # The default (attend_marks: true) is the model the records so far were made with: marks attended.
    marked = ImdbJainWallace().build_model(
        compose_config("task=imdb_jain_wallace").task, _attention_layer(compose_config("task=imdb_jain_wallace")), data
    )
    assert (attention_weights(marked, "attention", x)[:, 0] > 0).all()


@needs_data
def test_the_adversary_preset_runs_their_model_audits_it_with_the_adversary_and_compares_the_seeds(tmp_path):
    """experiment=jain_wallace_adversary at a tiny size, as a user runs it: their model with the
    marks masked, each run audited with the adversary, and the seeds compared at the end."""
    import json
    import subprocess
    import sys

    import pandas as pd

    sweep = tmp_path / "sweep"
    tiny = ["task.data.max_words=60", "task.model.embedding_dim=8", "task.model.lstm_units=4"]
    subprocess.run(
        [sys.executable, "-m", "experiments", "experiment=jain_wallace_adversary", "debug=smoke", "seed=0,1",
         "attention=tanh", *tiny, "task.attention_layer.units=4", "task.audit.at_end=true", "task.audit.samples=8",
         f"hydra.sweep.dir={sweep}"],
        check=True, timeout=600, capture_output=True,
    )  # fmt: skip
    for seed in (0, 1):
        (run,) = (sweep / "imdb_jain_wallace" / "tanh").glob(f"seed={seed},*")  # named by its overrides
        adversarial = json.loads((run / "audit.json").read_text())["adversarial"]
        assert adversarial["candidates"] == 5 and 0 <= adversarial["found_rate"] <= 1
        kept = np.load(run / "audit_attention.npz")
        # The marks: <sos> first, <eos> last of each review's tokens, never attended.
        assert (kept["weights"][:, 0, 0] == 0).all()
    pairs = pd.read_csv(sweep / "seed_variance.csv")
    assert [(p.seed_a, p.seed_b, p.units) for p in pairs.itertuples()] == [(0, 1, 8)]


def test_the_diversity_lstm_trains_states_of_lower_conicity_and_reloads(compose_config, tmp_path):
    """encoder=diversity_lstm: their model with the conicity of its BiLSTM's states in the loss.
    Trained alike from the same seed, its states point apart far more than the plain model's (the
    audit's conicity), and the saved model reloads to the same predictions."""
    import keras

    from attention.audit import AttentionAudit
    from experiments.run.runner import _attention_layer
    from experiments.tasks.imdb_jain_wallace import ImdbJainWallace

    x = short_reviews(256, np.random.default_rng(0))
    y = (x == 7).any(axis=1).astype("float32")
    data = vocabulary_only()
    conicities = {}
    for encoder in ("lstm", "diversity_lstm"):
        cfg = compose_config(*TINY_MODEL, f"encoder={encoder}")
        keras.utils.set_random_seed(0)
        model = ImdbJainWallace().build_model(cfg.task, _attention_layer(cfg), data)
        model.compile("adam", "binary_crossentropy")
        model.fit(x, y, epochs=4, batch_size=32, verbose=0)
        model.save(tmp_path / f"{encoder}.keras")  # before the audit: a model it has cut no longer saves
        result = AttentionAudit(model).run(x[:32], permutations=2, adversary=_few_steps())
        conicities[encoder] = result["conicity"]["mean"]
    assert conicities["diversity_lstm"] < conicities["lstm"] - 0.2, conicities
    assert [layer.name for layer in model.layers if type(layer).__name__ == "Diversity"] == ["diversity"]
    again = keras.models.load_model(tmp_path / "diversity_lstm.keras")
    np.testing.assert_array_equal(again.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0))


def test_the_diversity_lstm_s_penalty_is_the_conicity_of_the_words_alone_as_theirs(compose_config):
    """Their Diversity LSTM takes the conicity over the words, the marks left out (as their batches
    mask them): with the marks masked out of the attention, the penalty in the loss is 0.5 × the
    mean conicity of the BiLSTM's states at the words, not at the marks too."""
    import keras

    from attention.diversity import conicity
    from experiments.run.runner import _attention_layer
    from experiments.tasks.imdb_jain_wallace import ImdbJainWallace

    x = short_reviews(8, np.random.default_rng(0))
    cfg = compose_config(*TINY_MODEL, "encoder=diversity_lstm", "task.model.attend_marks=false")
    keras.utils.set_random_seed(0)
    model = ImdbJainWallace().build_model(cfg.task, _attention_layer(cfg), vocabulary_only())
    (bidirectional,) = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    states = keras.Model(model.inputs, bidirectional.output).predict(x, verbose=0)
    model(x)
    (penalty,) = [float(keras.ops.convert_to_numpy(loss)) for loss in model.get_layer("diversity").losses]
    words, with_marks = (x != PAD) & (x != SOS) & (x != EOS), x != PAD
    expected = 0.5 * float(keras.ops.convert_to_numpy(conicity(states, words)).mean())
    assert penalty == pytest.approx(expected, rel=1e-5)
    assert abs(expected - 0.5 * float(keras.ops.convert_to_numpy(conicity(states, with_marks)).mean())) > 1e-4


TINY_MODEL = (
    "task=imdb_jain_wallace",
    "task.model.embedding_dim=8",
    "task.model.lstm_units=8",
    "task.attention_layer.units=4",
)


def _few_steps():
    from attention.audit import AdversarySearch

    return AdversarySearch(steps=2)


@needs_data
def test_the_diversity_preset_trains_the_diversity_lstm_and_audits_its_conicity(tmp_path):
    """experiment=diversity_lstm at a tiny size, one seed, as a user runs it."""
    import json
    import subprocess
    import sys

    sweep = tmp_path / "sweep"
    tiny = ["task.data.max_words=60", "task.model.embedding_dim=8", "task.model.lstm_units=4"]
    subprocess.run(
        [sys.executable, "-m", "experiments", "experiment=diversity_lstm", "debug=smoke", "seed=0", *tiny,
         "task.attention_layer.units=4", "task.audit.at_end=true", "task.audit.samples=8", f"hydra.sweep.dir={sweep}"],
        check=True, timeout=600, capture_output=True,
    )  # fmt: skip
    (run,) = (sweep / "imdb_jain_wallace" / "tanh").glob("seed=0,*")
    config = (run / ".hydra" / "config.yaml").read_text()
    assert "name: diversity_lstm" in config and "conicity_weight: 0.5" in config
    assert 0 < json.loads((run / "audit.json").read_text())["conicity"]["mean"] <= 1


def test_the_orthogonal_lstm_s_states_are_orthogonal_to_the_mean_before_them_and_reload(compose_config, tmp_path):
    """encoder=orthogonal_lstm: each state of OrthogonalLSTMCell is orthogonal to the mean of the
    states before it (their ortholstm.py), where a plain LSTM's follow their mean; in their model
    the states point apart (lower conicity than the plain model's from the same seed), and the
    saved model reloads to the same predictions."""
    import keras

    from attention import OrthogonalLSTMCell
    from attention.diversity import conicity
    from experiments.run.runner import _attention_layer
    from experiments.tasks.imdb_jain_wallace import ImdbJainWallace

    rng = np.random.default_rng(0)
    steps = rng.normal(size=(8, 12, 5)).astype("float32")
    cosines = {}
    for name, cell in (("lstm", keras.layers.LSTMCell(6)), ("orthogonal", OrthogonalLSTMCell(6))):
        keras.utils.set_random_seed(0)
        h = keras.ops.convert_to_numpy(keras.layers.RNN(cell, return_sequences=True)(steps))
        before = np.cumsum(h, axis=1)[:, :-1]  # the sum of the states before each step from the second
        cosines[name] = (
            np.sum(h[:, 1:] * before, -1) / np.linalg.norm(h[:, 1:], axis=-1) / np.linalg.norm(before, axis=-1)
        )
    assert np.abs(cosines["orthogonal"]).max() < 1e-2 and np.median(cosines["lstm"]) > 0.3, cosines

    x = short_reviews(16, rng)
    data = vocabulary_only()
    conicities = {}
    for encoder in ("lstm", "orthogonal_lstm"):
        cfg = compose_config(*TINY_MODEL, f"encoder={encoder}")
        keras.utils.set_random_seed(0)
        model = ImdbJainWallace().build_model(cfg.task, _attention_layer(cfg), data)
        (bidirectional,) = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
        states = keras.Model(model.inputs, bidirectional.output).predict(x, verbose=0)
        conicities[encoder] = float(keras.ops.convert_to_numpy(conicity(states, x != PAD)).mean())
    assert conicities["orthogonal_lstm"] < conicities["lstm"] - 0.2, conicities
    model.save(tmp_path / "orthogonal.keras")
    again = keras.models.load_model(tmp_path / "orthogonal.keras")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_masking_s_verdict_counts_a_change_of_tau_only_beyond_twice_its_standard_error():
    from experiments.records.publish.debate import masking_verdict, mean_shift

    before = pd.Series([0.27, 0.29, 0.31, 0.28, 0.30])
    shift, error = mean_shift(before, before + 0.10)
    assert shift == pytest.approx(0.10) and error == pytest.approx(np.sqrt(2 * before.var() / 5))
    assert mean_shift(before, pd.Series([0.40]))[1] is None  # one seed: no spread to judge by
    noise = mean_shift(before, pd.Series([0.30, 0.26, 0.33, 0.27, 0.31]))
    assert masking_verdict([noise, noise]) == "masking moved τ less than the seeds' spread"
    assert masking_verdict([(shift, error), noise]) == "masking moved τ toward theirs"
    assert masking_verdict([(-shift, error), noise]) == "masking moved τ away from theirs"
    assert masking_verdict([(shift, error), (-shift, error)]) == "masking moved one τ up and the other down"
    assert masking_verdict([(shift, None), noise]) == "too few seeds to tell a change from the seeds' spread"
