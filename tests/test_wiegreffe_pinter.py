"""Wiegreffe & Pinter's answers to Jain & Wallace, on their model: the model-consistent adversary
(task=imdb_adversary, experiment=wp_adversary) and the diagnostic MLP with frozen weights
(task=imdb_diagnostic, experiment=wp_diagnostic)."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from conftest import IMDB_DIR, experiments_in_process, short_reviews, vocabulary_only
from experiments.tasks.imdb_data import EOS, PAD, SOS

needs_data = pytest.mark.skipif(IMDB_DIR is None, reason="no local IMDB copy (../shared/data)")
TINY_MODEL = ("task.model.embedding_dim=8", "task.model.lstm_units=8", "task.attention_layer.units=8")


def _marker_reviews(count=256, seed=0):
    """`short_reviews`, positive where word 7 is in them."""
    x = short_reviews(count, np.random.default_rng(seed))
    return x, (x == 7).any(axis=1).astype("float32")


def test_the_divergence_term_is_their_kl_of_the_attention_from_the_base():
    """AwayFromBase adds −λ·mean KL(α ‖ α_base) to the loss (their code's KLDivLoss(α_base.log(), α)),
    a step where α is 0 adding nothing, and passes the context through."""
    import keras

    from experiments.tasks.divergence import AwayFromBase

    alpha = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], dtype="float32")
    base = np.array([[0.25, 0.75, 0.0], [0.2, 0.3, 0.5]], dtype="float32")
    context = np.ones((2, 4), dtype="float32")
    layer = AwayFromBase(2.0)
    out = layer([keras.ops.convert_to_tensor(v) for v in (context, alpha, base)])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), context)
    by_hand = (0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75) + 0.0) / 2  # the second review adds 0
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(layer.losses[0])), -2.0 * by_hand, rtol=1e-5)
    assert AwayFromBase.from_config(layer.get_config()).weight == 2.0


def _trained_base(compose_config):
    """A tiny Jain & Wallace model (marks masked) trained on the marker reviews."""
    import keras

    from experiments.run.runner import _attention_layer
    from experiments.tasks.imdb_jain_wallace import ImdbJainWallace

    cfg = compose_config("task=imdb_jain_wallace", "task.model.attend_marks=false", *TINY_MODEL)
    keras.utils.set_random_seed(0)
    base = ImdbJainWallace().build_model(cfg.task, _attention_layer(cfg), vocabulary_only())
    base.compile(keras.optimizers.Adam(0.01), "binary_crossentropy")
    x, y = _marker_reviews()
    base.fit(x, y, epochs=8, batch_size=32, verbose=0)
    return base, x


def test_the_adversary_keeps_the_base_s_decisions_and_moves_its_attention_as_far_as_lambda_asks(
    compose_config, tmp_path
):
    """Trained against a base on the marker reviews: with λ = 0 it keeps the base's predictions
    (small TVD); with a large λ its attention goes far from the base's (large JSD); the weights it
    reads are the base's, 0 on the marks and the padding; its saved model reloads to the same
    predictions."""
    import keras

    from attention.audit import js_divergence
    from experiments.run.runner import _attention_layer
    from experiments.tasks.base_run import predictions_and_attention
    from experiments.tasks.imdb_adversary import ImdbAdversary

    base, x = _trained_base(compose_config)
    ((base_predictions, base_weights),) = predictions_and_attention(base, x)
    assert (base_weights[(x == PAD) | (x == SOS) | (x == EOS)] == 0).all()
    np.testing.assert_allclose(base_predictions, base.predict(x, verbose=0), atol=1e-6)  # cut batches read alike
    moved = {}
    for weight in (0.0, 10.0):
        cfg = compose_config("task=imdb_adversary", "task.model.attend_marks=false", *TINY_MODEL,
                             f"task.divergence_weight={weight}")  # fmt: skip
        keras.utils.set_random_seed(1)
        model = ImdbAdversary().build_model(cfg.task, _attention_layer(cfg), vocabulary_only())
        model.compile(keras.optimizers.Adam(0.01), "mean_absolute_error")
        model.fit([x, base_weights], base_predictions, epochs=30, batch_size=32, verbose=0)
        ((predictions, weights),) = predictions_and_attention(model, x)
        tvd = float(np.abs(predictions - base_predictions).mean())
        moved[weight] = (tvd, float(js_divergence(weights, base_weights, base=math.e).mean()))
    assert moved[0.0][0] < 0.1 and moved[10.0][1] > moved[0.0][1] + 0.2, moved
    model.save(tmp_path / "adversary.keras")
    again = keras.models.load_model(tmp_path / "adversary.keras")
    np.testing.assert_array_equal(
        again.predict([x, base_weights], verbose=0), model.predict([x, base_weights], verbose=0)
    )


def test_the_diagnostic_averages_the_mlp_s_states_with_exactly_the_weights_it_is_given(compose_config, tmp_path):
    """frozen_lstm: the weighted average takes the given weights as they are (never trained), so
    its output is the sigmoid unit on Σ α_i tanh(W e_i + b); the model reloads to the same output."""
    import keras

    from attention import attention_weights
    from experiments.run.runner import _attention_layer
    from experiments.tasks.imdb_diagnostic import FrozenAttention, ImdbDiagnostic

    cfg = compose_config("task=imdb_diagnostic", "attention=frozen_lstm", "task.model.embedding_dim=8",
                         "task.model.mlp_units=4", "task.model.attend_marks=false")  # fmt: skip
    layer = _attention_layer(cfg)
    assert isinstance(layer, FrozenAttention)
    model = ImdbDiagnostic().build_model(cfg.task, layer, vocabulary_only())
    x, _ = _marker_reviews(8)
    rng = np.random.default_rng(1)
    given = np.where(x > EOS, rng.uniform(0.1, 1.0, x.shape), 0.0).astype("float32")
    given /= given.sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(attention_weights(model, "attention", [x, given]), given)
    assert not layer.trainable_weights
    # By kind, not by Keras' default names, which count the layers the process made before.
    embedding = next(layer for layer in model.layers if isinstance(layer, keras.layers.Embedding)).get_weights()
    mlp, output = model.get_layer("mlp").get_weights(), model.layers[-1].get_weights()
    states = np.tanh(embedding[0][x] @ mlp[0] + mlp[1])
    by_hand = 1 / (1 + np.exp(-((given[..., None] * states).sum(axis=1) @ output[0] + output[1])))
    np.testing.assert_allclose(model.predict([x, given], verbose=0), by_hand, rtol=1e-5)
    model.save(tmp_path / "diagnostic.keras")
    again = keras.models.load_model(tmp_path / "diagnostic.keras")
    np.testing.assert_array_equal(again.predict([x, given], verbose=0), model.predict([x, given], verbose=0))


TINY_RUN = ("debug=smoke", "task.data.max_words=60", "task.model.embedding_dim=8", "task.model.attend_marks=false")


@needs_data
def test_the_two_presets_run_as_a_user_runs_them_against_a_trained_run(tmp_path):
    """A trained Jain & Wallace run, then experiment=wp_adversary (one λ) against it and
    experiment=wp_diagnostic with its frozen sources, at a tiny size: each run reports what
    the papers measure, and the frozen variant averages with the base's very attention."""
    base = tmp_path / "base"
    lstm = (*TINY_RUN, "task.model.lstm_units=4", "task.attention_layer.units=4")
    done = experiments_in_process("task=imdb_jain_wallace", *lstm, f"hydra.run.dir={base}")
    assert done.returncode == 0, done.stderr
    adversaries = tmp_path / "adversaries"
    done = experiments_in_process("experiment=wp_adversary", *lstm, f"task.base_run={base}",
                                  "task.divergence_weight=0.1", f"hydra.sweep.dir={adversaries}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    (adversary,) = (adversaries / "imdb_adversary" / "tanh").iterdir()  # named by λ, not by the base's path
    assert "task.divergence_weight=0.1" in adversary.name and "base_run" not in adversary.name
    test = json.loads((adversary / "metrics.json").read_text())["test"]
    assert 0 <= test["tvd_from_base"] <= 1 and 0 <= test["jsd_from_base"] <= math.log(2) and 0 <= test["f1"] <= 1
    assert "TVD of the predictions from the base's" in (adversaries / "summary.md").read_text()
    assert (adversaries / "runs.png").is_file()  # TVD against JSD, as their figure

    # The frozen variants (uniform and tanh run in every task's tests), in a process of their own:
    # one that has not imported the adversary's task must still load its model. A run directory
    # named by its overrides holds '=' and ',': quoted, as Hydra's grammar asks.
    diagnostics = tmp_path / "diagnostics"
    done = subprocess.run(
        [sys.executable, "-m", "experiments", "experiment=wp_diagnostic", *TINY_RUN, "task.model.mlp_units=4",
         "attention=frozen_lstm,frozen_adversary", f"task.frozen_runs.lstm={base}",
         f"task.frozen_runs.adversary='{adversary}'", f"hydra.sweep.dir={diagnostics}"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    f1 = {}
    for variant in ("frozen_lstm", "frozen_adversary"):
        (run,) = (diagnostics / "imdb_diagnostic" / variant).iterdir()
        f1[variant] = json.loads((run / "metrics.json").read_text())["test"]["f1"]
    assert all(f is None or 0 <= f <= 1 for f in f1.values())
    # Their records render on the debate page: the diagnostic's F1 by source, and its finding in the
    # README's headline.
    from experiments.records.publish.debate import block_debate_diagnostic, block_debate_headline
    from experiments.records.publish.record import Record
    from experiments.records.results import copy_record
    from experiments.records.stats import number

    records = tmp_path / "records"
    assert copy_record(diagnostics, records / "wp_diagnostic") == 2
    page = block_debate_diagnostic(Record("wp_diagnostic", records))
    assert f"| frozen from the LSTM | {number(f1['frozen_lstm'], 3)} |" in page and "| uniform | – |" in page
    assert "waits for `make results ONLY=jain_wallace_adversary`" in block_debate_headline(records)
    # The probe's weights of the frozen variant: the base's own attention on the same reviews.
    (frozen,) = (diagnostics / "imdb_diagnostic" / "frozen_lstm").iterdir()
    np.testing.assert_allclose(np.load(frozen / "attention.npy"), np.load(base / "attention.npy"), atol=1e-6)


@needs_data
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["task=imdb_diagnostic", "attention=frozen_lstm"],
         "task.frozen_runs.lstm is not set: give the directory of a completed run of imdb_jain_wallace"),
        (["task=imdb_adversary"],
         "task.base_run is not set: give the directory of a completed run of imdb_jain_wallace"),
        (["task=imdb_adversary", "task.base_run=/nonexistent"],
         "/nonexistent is not a run directory: it needs metrics.json and .hydra/config.yaml"),
    ],
)  # fmt: skip
def test_a_missing_base_run_is_refused_in_one_line(overrides, message):
    done = experiments_in_process(*overrides, *TINY_RUN)
    assert done.returncode == 2 and done.stderr.strip() == f"error: {message}", done.stderr


def test_a_base_run_made_from_other_reviews_is_refused_before_its_model_is_read(compose_config, tmp_path):
    """A base run is read on the very reviews it saw: one made with other task.data settings (where
    the data lives aside) is refused in one line that names them."""
    from omegaconf import OmegaConf

    from experiments.run.config import ConfigError
    from experiments.tasks.base_run import base_model

    ours = compose_config("task=imdb_jain_wallace").task.data
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"task": "imdb_jain_wallace", "status": "completed"}))
    (run / "model.keras").write_bytes(b"not read: the data is checked first")
    theirs = {**OmegaConf.to_container(ours, resolve=True), "max_words": 100, "split_seed": 7, "dir": "/elsewhere"}
    OmegaConf.save({"task": {"data": theirs}}, run / ".hydra" / "config.yaml")
    with pytest.raises(ConfigError, match=r"^task.base_run: .* was trained on other reviews \(task.data.max_words, "
                       r"task.data.split_seed differ\); give a run made with the same task.data$"):  # fmt: skip
        base_model(run, "task.base_run", ours)


def test_the_run_figure_reads_the_seed_pairs_of_the_base_s_own_variant(tmp_path):
    """runs.png's background is the pairs of seeds of the base run's variant: the uniform
    baseline's (attention identical across seeds, JSD 0) is no background for a learned attention."""
    from experiments.records.stats import _base_seed_pairs

    base = tmp_path / "sweep" / "imdb_jain_wallace" / "tanh" / "seed=0"
    base.mkdir(parents=True)
    (base / "metrics.json").write_text(json.dumps({"task": "imdb_jain_wallace", "attention": "tanh"}))
    (tmp_path / "sweep" / "seed_variance.csv").write_text(
        "task,attention,seed_a,seed_b,units,jsd_mean,jsd_median,tvd_mean\n"
        "imdb_jain_wallace,tanh,0,1,1000,0.148,0.147,0.076\n"
        "imdb_jain_wallace,uniform,0,1,1000,0.0,0.0,0.075\n"
    )
    pairs = _base_seed_pairs(base)
    assert list(pairs.attention) == ["tanh"] and list(pairs.jsd_mean) == [0.148]
    assert _base_seed_pairs(tmp_path / "elsewhere" / "a" / "b" / "c").empty
