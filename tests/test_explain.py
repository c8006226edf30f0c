"""`experiments.trained.explain`: a trained run's predictions and attention on new inputs equal the model's
own and the run's probe; every task's inputs are read as in training; bad requests fail in one line."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from conftest import IMDB_DIR, IMDB_SHORT, experiments_in_process
from experiments.run.runner import run
from experiments.trained import explain


@pytest.fixture
def trained(compose_config, tmp_path):
    def train(*overrides):
        """A smoke run, with the composed config in .hydra/ as the command line leaves it."""
        cfg = compose_config(*overrides, "debug=smoke")
        metrics = run(cfg, tmp_path / "run")
        (tmp_path / "run" / ".hydra").mkdir()
        OmegaConf.save(cfg, tmp_path / "run" / ".hydra" / "config.yaml")
        return cfg, metrics, tmp_path / "run"

    return train


def _model(run_dir):
    import keras

    return keras.models.load_model(run_dir / "model.keras")


def test_find_max_explained_on_its_probe_gives_the_probe_and_the_model_s_predictions(trained, tmp_path):
    from experiments.tasks.find_max import FindMax

    cfg, _, run_dir = trained("task=find_max")
    probe = FindMax().make_data(cfg.task, np.random.default_rng(cfg.seed)).test[0][: cfg.task.probe_samples]
    np.savez(tmp_path / "inputs.npz", x=probe)
    assert explain.main([str(run_dir), str(tmp_path / "inputs.npz")]) == 0
    written = run_dir / "explain"
    np.testing.assert_allclose(np.load(written / "attention.npy"), np.load(run_dir / "attention.npy"), rtol=1e-6)
    table = pd.read_csv(written / "predictions.csv")
    np.testing.assert_allclose(table.prediction, _model(run_dir).predict(probe, verbose=0)[:, 0], rtol=1e-5)
    assert {p.name for p in written.glob("input_*.png")} == {f"input_{i}.png" for i in range(len(probe))}


def test_dense_reads_a_vector_per_sample_from_a_npz_or_a_csv_row(trained, tmp_path):
    _, _, run_dir = trained("task=dense")
    x = np.random.default_rng(0).random((3, 32)).astype("float32")
    np.savez(tmp_path / "inputs.npz", x=x)
    pd.DataFrame(x, columns=[f"f{i}" for i in range(32)]).rename_axis("id").reset_index().to_csv(
        tmp_path / "inputs.csv", index=False
    )
    expected = _model(run_dir).predict(x, verbose=0)[:, 0]
    for name in ("inputs.npz", "inputs.csv"):
        assert explain.main([str(run_dir), str(tmp_path / name), "--out", str(tmp_path / name[-3:])]) == 0
        table = pd.read_csv(tmp_path / name[-3:] / "predictions.csv")
        np.testing.assert_allclose(table.prediction, expected, rtol=1e-5)
        assert np.load(tmp_path / name[-3:] / "attention.npy").shape == (3, 32)
    np.savez(tmp_path / "steps.npz", x=x[..., None])  # a sequence's shape is not a vector's
    with pytest.raises(explain.ExplainError, match=r"must be 32 numbers per sample, .* got \(3, 32, 1\)"):
        explain.explain_run(run_dir, tmp_path / "steps.npz")


def test_sequences_are_scaled_as_in_training_before_they_are_explained(trained, tmp_path):
    from attention import attention_weights

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 8, 2)).astype("float32") * 3 + 5
    y = np.array(["up", "down"] * 30)
    x[:, 2, 0] += np.where(y == "up", 4.0, -4.0)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    _, _, run_dir = trained("task=sequences", f"task.data.path={tmp_path}/data.npz")
    new = x[:5, :6]  # shorter than the model's 8 steps: padded and masked
    np.savez(tmp_path / "new.npz", x=new)
    result = explain.explain_run(run_dir, tmp_path / "new.npz")

    saved = json.loads((run_dir / "sequences.json").read_text())
    scaled = np.zeros((5, 8, 2), dtype="float32")
    scaled[:, :6] = (new - np.array(saved["mean"])) / np.array(saved["std"])
    model = _model(run_dir)
    np.testing.assert_allclose(result.outputs, model.predict(scaled, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(result.weights, attention_weights(model, "attention", scaled), rtol=1e-5)
    assert np.all(result.weights[:, 6:] == 0.0)  # the padding gets no attention
    assert set(result.predictions) <= {"up", "down"} and list(result.table().columns[-2:]) == ["p_down", "p_up"]


@pytest.mark.skipif(IMDB_DIR is None, reason="the IMDB data is not here (../shared/data or ATTENTION_DATA_DIR)")
def test_a_typed_review_is_read_as_the_training_reviews_were(imdb_run, tmp_path):
    from experiments.tasks.imdb_data import encode_texts, read_word_index

    run_dir, cfg = imdb_run, OmegaConf.load(imdb_run / ".hydra" / "config.yaml")
    review = "A wonderful film, the best acting I have seen this year."
    result = explain.explain_run(run_dir, review)
    x = encode_texts([review], read_word_index(cfg.task.data.dir), cfg.task.data.num_words, cfg.task.data.maxlen)
    np.testing.assert_array_equal(result.inputs, x)
    np.testing.assert_allclose(result.outputs, _model(run_dir).predict(x, verbose=0), rtol=1e-5)
    words = [w for w in result.tokens[0] if w is not None]
    assert words[0] == "<start>" and words[1:4] == ["a", "wonderful", "film"]
    explain.write(result, tmp_path / "out")
    assert (tmp_path / "out" / "input_0.png").stat().st_size > 0
    # The prediction named, with the probability of the class it names.
    p = float(result.outputs[0, 0])
    named = ("positive", p) if p > 0.5 else ("negative", 1 - p)
    assert result.describe(0) == f"{named[0]}, p = {named[1]:.3f}"
    assert result.predictions == [named[0]] and list(result.table().columns) == ["input", "prediction", "p_positive"]


def test_a_prediction_is_described_by_its_class_and_probability():
    weights = np.full((3, 4), 0.25)
    binary = explain.Explanation(
        np.zeros((3, 4)), np.array([[0.9198], [0.25], [0.5]]), weights, ["negative", "positive"]
    )
    assert [binary.describe(i) for i in range(3)] == [
        "positive, p = 0.920",
        "negative, p = 0.750",
        "negative, p = 0.500",
    ]
    classes = explain.Explanation(np.zeros((1, 4)), np.array([[0.1, 0.7, 0.2]]), weights[:1], ["a", "b", "c"])
    assert classes.describe(0) == "b, p = 0.700" and classes.predictions == ["b"]
    value = explain.Explanation(np.zeros((1, 4)), np.array([[0.41234]]), weights[:1])
    assert value.describe(0) == "predicted 0.4123" and value.predictions == [pytest.approx(0.41234)]


def test_bad_requests_fail_in_one_line(trained, tmp_path, capsys):
    _, _, run_dir = trained("task=find_max")
    np.savez(tmp_path / "wrong.npz", x=np.zeros((2, 7, 1)))
    cases = [
        (
            [str(run_dir), str(tmp_path / "wrong.npz")],
            "the inputs have shape (7, 1) per sample; the model reads (10, 1)",
        ),
        ([str(tmp_path / "nowhere"), "x.npz"], "is neither a run directory nor a task"),
        (["find_max", "x.npz", "--outputs", str(tmp_path / "empty")], "no completed find_max run with a saved model"),
        ([str(run_dir), str(tmp_path / "missing.npz")], "there is no file"),
        ([str(run_dir), ""], "the inputs: the path is empty: give a .npz or a .csv"),  # not the current directory
    ]
    for args, message in cases:
        assert explain.main(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err


@pytest.fixture(scope="module")
def imdb_run(tmp_path_factory):
    """One smoke run of imdb for the tests of what `explain` reads as a review."""
    if IMDB_DIR is None:
        pytest.skip("the IMDB data is not here (../shared/data or ATTENTION_DATA_DIR)")
    from hydra import compose, initialize_config_dir

    from experiments.run.config import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["task=imdb", "debug=smoke", IMDB_SHORT])
    run_dir = tmp_path_factory.mktemp("imdb") / "run"
    run(cfg, run_dir)
    (run_dir / ".hydra").mkdir()
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    return run_dir


def _explain_command(run_dir, text, tmp_path, **env):
    """`experiments explain RUN TEXT`: (exit code, stdout, stderr), with no traceback. With `env`
    (variables Keras reads once, at import), in a process of its own; else in this one."""
    args = ["explain", str(run_dir), text, "--out", str(tmp_path / "out")]
    if not env:
        done = experiments_in_process(*args)
        assert "Traceback" not in done.stderr
        return done.returncode, done.stdout, done.stderr.strip()
    environment = {**os.environ, **env}
    for name in [name for name, value in env.items() if value is None]:
        del environment[name]
    done = subprocess.run(
        [sys.executable, "-m", "experiments", *args], capture_output=True, text=True, timeout=120, env=environment
    )
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout, done.stderr.strip()


def test_a_missing_file_is_not_explained_as_a_review_and_unknown_words_are_warned_of(imdb_run, tmp_path):
    code, out, err = _explain_command(imdb_run, "my_reviews.txt", tmp_path)
    assert (code, err, out) == (
        2,
        "error: there is no file my_reviews.txt: give a file with one review per line, or the review's text itself",
        "",
    )
    code, out, err = _explain_command(imdb_run, "zxq blorfle wibblyx frobnicate quuxz the", tmp_path)
    assert (code, err) == (
        0,
        "warning: 5 of 6 words of the review are not in the model's vocabulary: it reads them all as one unknown "
        "word (<oov>), and its prediction says little about this text",
    )
    assert out.startswith("input 0: ")
    code, out, err = _explain_command(imdb_run, "A wonderful film, 10/10", tmp_path)  # known words: no warning
    assert (code, err) == (0, "") and out.startswith("input 0: ")


def test_without_the_data_directory_an_offline_explain_names_attention_data_dir(imdb_run, tmp_path):
    # Offline as a machine without a network is: every download goes to a proxy that refuses it.
    refused = "http://127.0.0.1:9"
    code, _, err = _explain_command(
        imdb_run, "a fine film", tmp_path, ATTENTION_DATA_DIR=None, KERAS_HOME=str(tmp_path / "keras"),
        https_proxy=refused, HTTPS_PROXY=refused, no_proxy=None, NO_PROXY=None,
    )  # fmt: skip
    assert code == 2 and "\n" not in err
    assert err.startswith("error: the IMDB word index is not here and Keras could not download it (")
    assert err.endswith(
        "point the suite at a directory holding imdb.npz and imdb_word_index.json with ATTENTION_DATA_DIR=DIR or "
        "data_dir=DIR"
    )


def test_a_review_longer_than_a_file_name_is_text_and_a_directory_or_binary_file_is_refused(imdb_run, tmp_path):
    long_review = "a wonderful film with the best acting " * 20  # longer than a file name may be
    assert explain.explain_run(imdb_run, long_review).tokens[0][-1] == "acting"
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\x00\xff")
    for source, message in [
        (tmp_path, f"{tmp_path} is a directory: give a file with one review per line, or the review's text"),
        (tmp_path / "image.txt", f"{tmp_path}/image.txt is not a text file (UTF-8): give a file with one review per line"),
        ("", "the review to explain is empty: give a text, or a file with one review per line"),
    ]:  # fmt: skip
        with pytest.raises(explain.ExplainError) as error:
            explain.explain_run(imdb_run, str(source))
        assert str(error.value) == message


def test_what_reads_as_a_path_and_what_as_a_review(tmp_path):
    from experiments.tasks.reviews import looks_like_a_path

    assert looks_like_a_path("my_reviews.txt") and looks_like_a_path(f"{tmp_path}/reviews")
    assert not any(looks_like_a_path(text) for text in ("and/or", "7/10", "a/b testing", "nowhere/reviews"))


@pytest.mark.skipif(IMDB_DIR is None, reason="no local IMDB copy (../shared/data)")
def test_a_review_for_jain_wallace_s_model_is_read_between_its_marks_and_a_task_without_a_reader_is_refused(
    trained, tmp_path, monkeypatch
):
    """Their model reads token ids of any length: a typed review is read as their training reviews
    were (the run's vocabulary, <unk> outside it, between <sos> and <eos>), and its attention
    leaves the marks at exactly 0 where the run masks them. A task with no reader of its own, whose
    model reads ids of any length, is refused in one line."""
    _, _, run_dir = trained("task=imdb_jain_wallace", "task.data.max_words=60", "task.model.embedding_dim=8",
                            "task.model.lstm_units=4", "task.attention_layer.units=4",
                            "task.model.attend_marks=false")  # fmt: skip
    code, out, err = _explain_command(run_dir, "A wonderful film zxqvblorf", tmp_path)
    assert (code, err) == (0, "") and out.startswith("input 0: ")
    result = explain.explain_run(run_dir, "A wonderful film zxqvblorf")
    assert result.tokens[0] == ["<sos>", "a", "wonderful", "film", "<unk>", "<eos>"]
    assert result.inputs[0, 0] == 2 and result.inputs[0, -1] == 3 and result.inputs[0, 4] == 1  # SOS, EOS, UNK
    np.testing.assert_allclose(result.outputs, _model(run_dir).predict(result.inputs, verbose=0), rtol=1e-5)
    weights = result.weights[0]
    assert weights[0] == 0.0 and weights[-1] == 0.0 and weights[1:-1].sum() == pytest.approx(1.0, abs=1e-5)
    # Two reviews of other lengths: padded with 0 at the end, each read as it would be alone.
    (tmp_path / "two.txt").write_text("a film\nthe best film of the year\n")
    both = explain.explain_run(run_dir, str(tmp_path / "two.txt"))
    assert both.inputs.shape == (2, 8) and list(both.inputs[0, 4:]) == [0, 0, 0, 0]
    np.testing.assert_allclose(both.outputs[0], explain.explain_run(run_dir, "a film").outputs[0], rtol=1e-5)
    code, _, err = _explain_command(run_dir, "zxq blorfle wibblyx frobnicate quuxz the", tmp_path)
    assert (code, err) == (
        0,
        "warning: 5 of 6 words of the review are not in the model's vocabulary: it reads them all as one unknown "
        "word (<unk>), and its prediction says little about this text",
    )

    from experiments.run.task import Task
    from experiments.tasks.imdb_jain_wallace import ImdbJainWallace

    monkeypatch.setattr(ImdbJainWallace, "explain_inputs", Task.explain_inputs)
    np.savez(tmp_path / "ids.npz", x=np.array([[2, 10, 11, 3]], dtype="int32"))
    code, _, err = _explain_command(run_dir, str(tmp_path / "ids.npz"), tmp_path)
    assert code == 2 and err == (
        "error: explain has no reader of new inputs for task imdb_jain_wallace, whose model reads token ids of "
        "any length; it reads new reviews for the IMDB tasks, and .npz or .csv inputs for models of a fixed size"
    )
