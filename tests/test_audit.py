"""The faithfulness audit: each measure on hand-made models whose deciding step is known, the
statistics against SciPy, masks, the uniform baseline, and `experiments audit`."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops
from scipy import stats
from scipy.spatial.distance import jensenshannon

from attention import Attention, SoftmaxAttention, attention_weights
from attention.audit import AdversarySearch, AttentionAudit, js_divergence, kendall_tau
from conftest import pooled_bilstm

STEPS = 8


class MarkerAttention(SoftmaxAttention):
    """Scores each step by its marker feature (feature 1) times `sharpness`; sums feature 0.

    With sharpness 20 the weight sits on the marked step; with 0 the weights are uniform."""

    def __init__(self, sharpness, **kwargs):
        super().__init__(**kwargs)
        self.sharpness = sharpness

    def score(self, inputs, query):
        return self.sharpness * inputs[..., 1]

    def combine(self, inputs, weights, query):
        return ops.sum(inputs[..., 0] * weights, axis=-1, keepdims=True)


def marker_model(sharpness):
    """y = sigmoid(10 · attended value): the class is the sign of the marked step's value."""
    inputs = keras.Input((STEPS, 2))
    context = MarkerAttention(sharpness, name="attention")(inputs)
    output = keras.layers.Dense(1, activation="sigmoid", kernel_initializer=keras.initializers.Constant(10.0))(context)
    return keras.Model(inputs, output)


def marker_data(samples=40, seed=0):
    """The marked step holds ±1 (the class); every other step holds half the opposite sign, so that
    without the marked step the decision flips."""
    rng = np.random.default_rng(seed)
    sign = rng.choice([-1.0, 1.0], size=samples)
    marked = rng.integers(0, STEPS, size=samples)
    x = np.zeros((samples, STEPS, 2), dtype="float32")
    x[..., 0] = -0.5 * sign[:, None]
    x[np.arange(samples), marked, 0] = sign
    x[np.arange(samples), marked, 1] = 1.0
    deciding = np.zeros((samples, STEPS))
    deciding[np.arange(samples), marked] = 1
    return x, deciding


def test_the_step_that_decides_gets_the_top_importance_and_erasing_it_flips_the_decision():
    x, deciding = marker_data()
    result = AttentionAudit(marker_model(20.0)).run(x, deciding=deciding, permutations=20)
    assert result["output"] == "binary" and result["samples"] == 40
    assert result["ground_truth"]["hit_rate"] == {"attention": 1.0, "gradient": 1.0, "leave_one_out": 1.0}
    erasure = result["erasure"]
    assert erasure["largest"]["flip_rate"] == 1.0 and erasure["random"]["flip_rate"] < 0.2
    assert erasure["largest_changes_more_than_random"] > 0.8
    # Serrano & Smith's divergence of the output distributions: near 1 bit for a confident flip.
    assert erasure["largest"]["js_divergence"]["mean"] > 0.8 > 0.2 > erasure["random"]["js_divergence"]["mean"]
    # One removal flips every decision in attention and gradient order; random order takes longer.
    removals = erasure["removals_to_flip"]
    assert removals["attention"]["median_fraction_removed"] == pytest.approx(1 / STEPS)
    assert removals["gradient"]["median_fraction_removed"] == pytest.approx(1 / STEPS)
    assert removals["random"]["median_fraction_removed"] > 1 / STEPS
    # A peaked attention moved elsewhere changes the output: most permutations flip it.
    assert result["permutation"]["median_output_change"]["mean"] > 0.5


def test_permuting_uniform_weights_changes_nothing_and_their_ranking_is_undefined():
    x, deciding = marker_data()
    result = AttentionAudit(marker_model(0.0)).run(x, deciding=deciding, permutations=20)
    assert result["permutation"]["median_output_change"]["mean"] < 1e-6
    assert result["agreement"]["gradient"]["mean"] is None
    assert result["agreement"]["gradient"]["undefined"] == 40
    # Uniform weights tie at the top: the hit rate is that of a random pick, 1/steps.
    assert result["ground_truth"]["hit_rate"]["attention"] == pytest.approx(1 / STEPS)


def test_kendall_tau_and_js_divergence_agree_with_scipy():
    a = np.array([0.1, 0.4, 0.2, 0.2, 0.05, 0.05])
    b = np.array([3.0, 1.0, 2.0, 2.0, 0.5, 9.0])
    valid = np.array([True, True, True, True, True, False])
    tau, p = kendall_tau(a, b, valid)
    expected = stats.kendalltau(a[:5], b[:5])
    assert (tau, p) == pytest.approx((expected.statistic, expected.pvalue))
    q = np.array([0.3, 0.1, 0.1, 0.1, 0.2, 0.2])
    assert js_divergence(a, q) == pytest.approx(jensenshannon(a, q, base=2) ** 2)
    assert js_divergence(a, a) == pytest.approx(0.0)


def _token_model(mask_zero):
    tokens = keras.Input((10,), dtype="int32")
    x = keras.layers.Embedding(30, 8, mask_zero=mask_zero)(tokens)
    x = keras.layers.LSTM(8, return_sequences=True)(x)
    x = Attention(units=4, name="attention")(x)
    return keras.Model(tokens, keras.layers.Dense(1, activation="sigmoid")(x))


@pytest.mark.parametrize("mask_zero", [True, False])
def test_padding_gets_no_importance_and_is_left_out_of_tau(mask_zero):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 30, size=(12, 10))
    tokens[:, :4] = 0  # padded at the front, as pad_sequences does
    audit = AttentionAudit(_token_model(mask_zero))
    result = audit.run(tokens, permutations=5)
    details = audit.details
    assert not details["valid"][:, :4].any() and details["valid"][:, 4:].all()
    for name in ("gradient", "leave_one_out"):
        assert np.all(details[name][..., :4] == 0) and np.all(details[name][..., 4:] > 0)
    tau = stats.kendalltau(details["weights"][0, 0, 4:], details["gradient"][0, 0, 4:]).statistic
    assert details["tau"]["gradient"][0, 0, 0] == pytest.approx(tau)
    # The unmasked model puts weight on the padding; the audit reports how much.
    assert ("attention_on_padding" in result) == (not mask_zero)


def test_uniform_scores_give_exactly_uniform_weights_over_unmasked_steps_and_reload(tmp_path):
    tokens = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(20, 8, mask_zero=True)(tokens)
    x = keras.layers.LSTM(8, return_sequences=True)(x)
    x = Attention(units=4, score="uniform", name="attention")(x)
    model = keras.Model(tokens, keras.layers.Dense(1)(x))
    batch = np.array([[0, 0, 3, 4, 5, 6], [1, 2, 3, 0, 0, 0], [1, 2, 3, 4, 5, 6]])
    weights = attention_weights(model, "attention", batch)
    np.testing.assert_array_equal(weights[0], [0, 0, 0.25, 0.25, 0.25, 0.25])
    np.testing.assert_allclose(weights[1], [1 / 3, 1 / 3, 1 / 3, 0, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(weights[2], np.full(6, 1 / 6), rtol=1e-6)
    model.save(tmp_path / "uniform.keras")
    reloaded = keras.models.load_model(tmp_path / "uniform.keras")
    np.testing.assert_array_equal(reloaded.predict(batch, verbose=0), model.predict(batch, verbose=0))
    assert reloaded.get_layer("attention").get_config()["score"] == "uniform"


def test_a_model_without_one_attention_layer_is_refused_in_one_line():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    with pytest.raises(ValueError, match="exactly one attention layer of this package, or its name; found: none"):
        AttentionAudit(model)


def _audit_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "experiments", "audit", *map(str, args)], capture_output=True, text=True
    )


# Under pytest-xdist the module runs on one worker, so that `find_max_run` (module scope) is made once.
pytestmark = pytest.mark.xdist_group("test_audit")


@pytest.fixture(scope="module")
def find_max_run(tmp_path_factory):
    """A smoke-sized find_max run, trained without its audit."""
    run_dir = tmp_path_factory.mktemp("find_max")
    done = subprocess.run(
        [sys.executable, "-m", "experiments", "task=find_max", "debug=smoke", f"hydra.run.dir={run_dir}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return run_dir


def test_the_audit_of_a_run_writes_audit_json_and_png(find_max_run):
    assert not (find_max_run / "audit.json").exists()
    done = _audit_cli(find_max_run, "--samples", 20, "--permutations", 5)
    assert done.returncode == 0, done.stderr
    assert "τ_g" in done.stdout
    result = json.loads((find_max_run / "audit.json").read_text())
    assert (result["task"], result["attention"], result["samples"]) == ("find_max", "luong", 20)
    assert result["permutation"]["permutations"] == 5
    assert set(result["ground_truth"]["hit_rate"]) == {"attention", "gradient", "leave_one_out"}
    assert result["output"] == "regression" and result["erasure"]["largest"]["js_divergence"] is None
    assert (find_max_run / "audit.png").stat().st_size > 0


def test_the_audit_runs_the_measures_it_is_given_and_makes_the_importances_only_for_those_that_read_them():
    from attention.audit import MEASURE_NAMES

    x, deciding = marker_data(8)
    audit = AttentionAudit(marker_model(20.0))
    whole = audit.run(x, deciding=deciding, permutations=2, adversary=AdversarySearch(steps=2))
    alone = audit.run(x, deciding=deciding, permutations=2, measures=("conicity", "erasure", "permutation"))
    assert set(whole) - set(alone) == (set(MEASURE_NAMES) & set(whole)) - {"conicity", "erasure", "permutation"}
    assert [alone[name] == whole[name] for name in ("conicity", "erasure", "permutation")] == [True] * 3
    audit.run(x, measures=("conicity",))
    assert "gradient" not in audit.details  # no measure chosen reads the importances
    # The permutations draw after erasure's random step: alone, they would be other permutations.
    with pytest.raises(
        ValueError, match=r"measure 'permutation' draws from the audit's random generator after erasure"
    ):
        audit.run(x, measures=("permutation",))
    audit.run(x, deciding=deciding, permutations=2, measures=("agreement",))
    assert "gradient" in audit.details
    with pytest.raises(ValueError, match=r"no audit measure 'conicty'; accepted: agreement, erasure"):
        audit.run(x, measures=("conicty",))


def test_one_measure_run_again_replaces_only_itself_in_the_audit_json(find_max_run, tmp_path):
    """`experiments audit RUN --measure conicity`: where a measure's definition changed, it runs
    again on the samples of the run's audit and takes its place; every other measure stays as it
    was (here an erasure number altered on purpose stays altered). Requests it cannot honour are
    refused in one line."""
    import shutil

    from conftest import experiments_in_process

    run_dir = tmp_path / "run"
    shutil.copytree(find_max_run, run_dir)
    (run_dir / "audit.json").unlink(missing_ok=True)  # another test may have audited the module's run
    refused = experiments_in_process("audit", str(run_dir), "--measure", "conicity")
    assert refused.returncode == 2 and refused.stderr.strip() == (
        f"error: {run_dir} has no audit.json to update: audit it whole first (experiments audit {run_dir})"
    )
    assert experiments_in_process("audit", str(run_dir), "--samples", "20", "--permutations", "5").returncode == 0
    whole = json.loads((run_dir / "audit.json").read_text())
    altered = {**whole, "conicity": {"mean": -1.0}, "erasure": {**whole["erasure"], "flip_rate_altered": 1}}
    (run_dir / "audit.json").write_text(json.dumps(altered))
    done = experiments_in_process("audit", str(run_dir), "--measure", "conicity")
    assert done.returncode == 0, done.stderr
    assert json.loads((run_dir / "audit.json").read_text()) == {**altered, "conicity": whole["conicity"]}
    for args, line in [
        (["--measure", "conicty"], "--measure: no audit measure 'conicty'; accepted: agreement, erasure, "),
        (
            ["--measure", "adversarial"],
            "--measure: measure 'adversarial' draws from the audit's random generator after",
        ),
        (["--measure", "conicity", "--samples", "5"], "--samples: --measure runs the measures again on the samples"),
        (["--measure", "conicity", "--permutations", "5"], "--permutations is a setting of the permutation measure"),
    ]:
        refused = experiments_in_process("audit", str(run_dir), *args)
        assert refused.returncode == 2 and refused.stderr.strip().startswith(f"error: {line}"), refused.stderr
        assert "\n" not in refused.stderr.strip()


def test_the_audit_of_a_transformer_run_is_the_audit_of_its_stack(tmp_path):
    """`experiments audit RUN` on an encoder=transformer run writes audit_stack.json and its figure,
    the same as the run's own audit at its end for the same samples; --permutations, a setting of the
    one-layer audit only, is refused in one line."""
    run_dir = tmp_path / "run"
    overrides = ["task=find_max", "encoder=transformer", "debug=smoke", f"hydra.run.dir={run_dir}"]
    settings = ["task.audit.at_end=true", "task.audit.integrated_gradients_steps=4", "task.audit.flow_samples=2"]
    done = subprocess.run(
        [sys.executable, "-m", "experiments", *overrides, *settings],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    at_end = json.loads((run_dir / "audit_stack.json").read_text())
    (run_dir / "audit_stack.json").unlink()
    (run_dir / "audit_stack.png").unlink()
    done = _audit_cli(run_dir, "--samples", at_end["samples"])
    assert done.returncode == 0, done.stderr
    assert "top step on a deciding step: last_layer " in done.stdout
    again = json.loads((run_dir / "audit_stack.json").read_text())
    assert {**again, "seconds": 0} == {**at_end, "seconds": 0}
    assert (run_dir / "audit_stack.png").stat().st_size > 0 and not (run_dir / "audit.json").exists()
    refused = _audit_cli(run_dir, "--permutations", 5)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().endswith(
        "--permutations is a setting of the one-layer audit; this run's attention is a stack "
        "(attention=transformer), audited without permutations"
    )


@pytest.mark.parametrize(
    "case, message",
    [
        ("no_model", "holds no trained model (model.keras) of a completed run to audit"),
        ("none", "is a run of attention=none: there is no attention to audit"),
        ("zero", "--samples must be a positive integer, got 0"),
        ("empty", "is not a run directory: it needs metrics.json and .hydra/config.yaml"),
    ],
)
def test_bad_input_fails_in_one_line(find_max_run, tmp_path, case, message):
    import shutil

    run_dir = tmp_path / "run"
    if case != "empty":
        shutil.copytree(find_max_run, run_dir)
    else:
        run_dir.mkdir()
    args = [run_dir]
    if case == "no_model":
        (run_dir / "model.keras").unlink()
    elif case == "none":
        metrics = json.loads((run_dir / "metrics.json").read_text())
        (run_dir / "metrics.json").write_text(json.dumps({**metrics, "attention": "none"}))
    elif case == "zero":
        args += ["--samples", 0]
    done = _audit_cli(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_eraser_removing_the_deciding_step_drops_the_most_and_keeping_it_alone_the_least():
    """ERASER's comprehensiveness and sufficiency (DeYoung et al. 2020) where one known step
    decides: removing it drops the decided class's probability most, keeping it alone least, and a
    random order does neither."""
    x, deciding = marker_data()
    eraser = AttentionAudit(marker_model(20.0)).run(x, deciding=deciding, permutations=5)["eraser"]
    assert eraser["fractions"] == [0.01, 0.05, 0.1, 0.2, 0.5]
    comprehensiveness = {name: v["aopc"] for name, v in eraser["comprehensiveness"].items()}
    sufficiency = {name: v["aopc"] for name, v in eraser["sufficiency"].items()}
    assert set(comprehensiveness) == set(sufficiency) == {"attention", "gradient", "leave_one_out", "random"}
    for name in ("attention", "gradient", "leave_one_out"):  # each puts the deciding step first
        assert comprehensiveness[name] > 0.9 and abs(sufficiency[name]) < 0.05, name
    assert comprehensiveness["random"] < 0.5 * comprehensiveness["attention"]
    assert sufficiency["random"] > 0.5  # random steps alone, mostly without the deciding one: it flips
    # At 1% of 8 steps: one step, the deciding one, in every sample.
    assert eraser["comprehensiveness"]["attention"]["by_fraction"][0] > 0.9
    aopc = eraser["comprehensiveness"]["random"]
    assert aopc["aopc"] == pytest.approx(np.mean(aopc["by_fraction"]))


def test_eraser_deletes_tokens_and_pads_the_rest_at_the_front():
    from attention.audit.inputs import keeping, leaving_out

    tokens = np.array([[0, 0, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6]])
    keep = np.array([[False, False, True, False, True, False], [True, False, False, False, False, True]])
    np.testing.assert_array_equal(keeping([tokens], keep, 0), [[0, 0, 0, 0, 5, 7], [0, 0, 0, 0, 1, 6]])
    numbers = np.ones((1, 3, 2), dtype="float32")
    np.testing.assert_array_equal(keeping([numbers], np.array([[True, False, True]]), 0)[0, :, 0], [1, 0, 1])
    # Leave-one-out deletes the same way, one step at a time.
    np.testing.assert_array_equal(
        leaving_out(tokens, np.array([1, 1]), np.array([0, 5])), [[0, 2, 3, 4, 5, 6], [0, 1, 2, 3, 4, 5]]
    )


def test_every_measure_declares_its_result_and_its_summary_columns():
    """The audit's result has one key per measure, and every summary column is a number there."""
    from attention.audit import MEASURES, summary_columns

    audit = AttentionAudit(marker_model(20.0))
    x, deciding = marker_data(64)
    result = audit.run(x, deciding=deciding, permutations=5)
    assert {m.name for m in MEASURES} - {"attention_on_padding"} <= set(result)
    columns = summary_columns()
    assert len(columns) == sum(len(m.columns) for m in MEASURES)
    for column, (path, label) in columns.items():
        assert column.startswith("audit_") and label, column
        if path[0] == "attention_on_padding":  # only where the model leaves padding unmasked
            continue
        node = result
        for key in path:
            node = node[key]
        assert isinstance(node, float), (column, node)


def test_the_forward_record_is_read_only_and_leaves_the_callers_arrays_alone():
    from attention.audit.forward import forward_pass
    from attention.audit.model import AuditedModel

    x, _ = marker_data(8)
    forward = forward_pass(AuditedModel(marker_model(20.0)), x)
    with pytest.raises(ValueError, match="read-only"):
        forward.weights[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        forward.inputs[0][0, 0] = 1.0
    x[0, 0] = 1.0  # the caller's own array stays writable


def _masked_bilstm(mask_zero=True, seed=3):
    keras.utils.set_random_seed(seed)
    return pooled_bilstm(vocabulary=30, embedding=6, units=4, mask_zero=mask_zero)


def test_leave_one_out_equals_the_whole_model_run_again_on_each_shortened_review():
    """An independent computation on a tiny masked BiLSTM (Jain & Wallace's kind of model): each
    review with one word deleted, padded at the end (the audit pads at the front; masked, the
    side must not matter), run through the whole model."""
    model = _masked_bilstm()
    rng = np.random.default_rng(0)
    x = np.zeros((5, 9), dtype="int32")
    for row, length in enumerate((9, 7, 5, 8, 3)):
        x[row, 9 - length :] = rng.integers(1, 30, length)  # padded at the front, as Keras pads
    audit = AttentionAudit(model)
    audit.run(x, permutations=2)
    loo = audit.details["leave_one_out"][:, 0]
    p = model.predict(x, verbose=0)[:, 0]
    shortened, where = [], []
    for row in range(len(x)):
        words = x[row][x[row] != 0]
        assert np.all(loo[row, : 9 - len(words)] == 0)  # padding: no importance
        for position in range(len(words)):
            rest = np.delete(words, position)
            shortened.append(np.pad(rest, (0, 9 - len(rest))))
            where.append((row, 9 - len(words) + position))
    again = model.predict(np.array(shortened), verbose=0)[:, 0]
    for (row, step), value in zip(where, again):
        assert loo[row, step] == pytest.approx(abs(value - p[row]), abs=1e-5), (row, step)


@pytest.mark.parametrize("mask_zero", [True, False])
def test_the_audit_cuts_padding_only_where_the_model_masks_it(mask_zero, monkeypatch):
    """Leave-one-out and ERASER run their changed reviews in batches cut to their words (reviews
    padded at the end, as Jain & Wallace pad): the same figures as at the full width, and no cut
    where the model does not mask the padding (there it would change the predictions)."""
    model = _masked_bilstm(mask_zero)
    rng = np.random.default_rng(2)
    x = np.zeros((20, 40), dtype="int32")
    for row, length in enumerate(rng.integers(3, 30, len(x))):
        x[row, :length] = rng.integers(1, 30, length)
    from attention.audit.model import AuditedModel

    cut = AttentionAudit(model)
    cut.run(x, permutations=2)
    assert cut.forward.cut_padding == mask_zero
    monkeypatch.setattr(AuditedModel, "cuts_padding", lambda self, *args, **kwargs: False)
    full = AttentionAudit(model)
    full.run(x, permutations=2)
    assert not full.forward.cut_padding
    np.testing.assert_allclose(cut.details["leave_one_out"], full.details["leave_one_out"], atol=1e-5)
    for name, measures in full.details["eraser"].items():
        for measure, drops in measures.items():
            np.testing.assert_allclose(cut.details["eraser"][name][measure], drops, atol=1e-5)


def test_gradient_times_input_agrees_with_a_finite_difference_on_the_embedding():
    """The audit's gradient importance, |Σ_d ∂ŷ/∂e_d · e_d| with the attention held constant, is the
    derivative of ŷ along each step's own embedding: estimated here by central differences,
    scaling the step's embedding by 1 ± ε with the attention weights fixed at the model's own."""
    from attention import AttentionPooling

    keras.utils.set_random_seed(4)
    tokens = keras.Input((None,), dtype="int32")
    embedding = keras.layers.Embedding(
        30, 6, mask_zero=True, embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0)
    )
    h = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))(embedding(tokens))
    layer = AttentionPooling(units=5, name="attention")
    model = keras.Model(tokens, keras.layers.Dense(1, activation="sigmoid")(layer(h)))
    layer.context.assign(layer.context * 8.0)  # a sharp attention: holding it constant matters
    rng = np.random.default_rng(1)
    x = np.zeros((4, 7), dtype="int32")
    for row, length in enumerate((7, 5, 6, 3)):
        x[row, 7 - length :] = rng.integers(1, 30, length)
    audit = AttentionAudit(model)
    audit.run(x, permutations=2)
    by_autodiff = audit.details["gradient"][:, 0]

    through = keras.Model([embedding.output, tokens], model.output)
    e = ops.convert_to_numpy(embedding(x))
    weights = attention_weights(model, "attention", x)
    rows, steps = np.nonzero(x)
    eps = 1e-3

    def output(scale):
        scaled = e[rows].copy()
        scaled[np.arange(len(rows)), steps] *= scale
        fixed = ops.convert_to_tensor(weights[rows])
        with layer.weights_changed(lambda w: ops.cast(fixed, w.dtype)):
            return ops.convert_to_numpy(through([scaled, x[rows]]))[:, 0]

    by_differences = np.zeros_like(by_autodiff)
    by_differences[rows, steps] = np.abs(output(1 + eps) - output(1 - eps)) / (2 * eps)
    by_differences /= by_differences.sum(axis=1, keepdims=True)  # the audit's are shares of each review
    # Within 2e-3 here (3.6e-4 seen); with the attention left free to move they part by 0.16.
    np.testing.assert_allclose(by_autodiff, by_differences, atol=2e-3)


def test_the_adversary_finds_no_far_attention_where_one_step_decides_and_one_where_none_does():
    """Jain & Wallace's adversarial search on the marker model: where the marked step decides, the
    output holds only while most weight stays on it (JSD well below ln 2); where every step holds
    the same value, the output ignores the attention and a distribution on the other steps keeps
    it (JSD near ln 2, the most there is)."""
    from attention.audit import AdversarySearch

    search = AdversarySearch(steps=300)
    x, _ = marker_data(24)
    deciding = AttentionAudit(marker_model(20.0)).run(x, permutations=2, adversary=search)["adversarial"]
    same = x.copy()
    same[..., 0] = np.sign(x[..., 0].sum(axis=1, keepdims=True))  # the class's sign on every step
    audit = AttentionAudit(marker_model(20.0))
    ignored = audit.run(same, permutations=2, adversary=search)["adversarial"]
    assert deciding["found_rate"] == 1.0 and ignored["found_rate"] == 1.0  # the learned attention itself is within
    assert deciding["max_jsd"]["mean"] < 0.2
    assert ignored["max_jsd"]["mean"] > 0.6
    # What it reports is what the head gives on the distributions it kept, run again from the states.
    forward, details = audit.forward, audit.details
    chosen = details["adversarial_chosen"][:, 0]
    kept = details["adversarial_candidates"][np.arange(len(chosen)), chosen]
    moved = np.abs(forward.head(kept) - forward.outputs)
    assert (moved <= search.tolerance).all()
    assert np.allclose(kept.sum(axis=-1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("setting", "value"), [("candidates", 0), ("steps", 2.5), ("learning_rate", -1.0), ("tolerance", "small")]
)
def test_a_bad_adversary_setting_is_refused(setting, value):
    from attention.audit import AdversarySearch

    with pytest.raises(ValueError, match=f"adversary.{setting} must be"):
        AdversarySearch(**{setting: value})


def test_the_adversary_on_a_trained_model_keeps_every_distribution_it_reports_within_tolerance():
    """A tiny masked BiLSTM trained to spot one word: each distribution the adversary reports,
    run through the model again from the same states, moves the output by at most the tolerance;
    it puts no weight on padding, and its JSD from the learned attention is the one reported."""
    model = _masked_bilstm(seed=5)
    rng = np.random.default_rng(1)
    tokens = np.zeros((256, 10), dtype="int32")
    for row, length in enumerate(rng.integers(3, 10, len(tokens))):
        tokens[row, -length:] = rng.integers(1, 30, length)
    model.compile("adam", "binary_crossentropy")
    model.fit(tokens, (tokens == 7).any(axis=1).astype("float32"), epochs=3, batch_size=32, verbose=0)
    audit = AttentionAudit(model)
    result = audit.run(tokens[:40], permutations=2)["adversarial"]
    forward, details = audit.forward, audit.details
    chosen = details["adversarial_chosen"][:, 0]
    found = chosen >= 0
    assert result["found_rate"] == found.mean() > 0.5
    kept = details["adversarial_candidates"][np.flatnonzero(found), chosen[found]]  # (found, rows, steps)
    assert (kept[~np.broadcast_to(forward.valid[found][:, None], kept.shape)] == 0).all()
    again = forward.model.head_with([s[found] for s in forward.states], kept, forward.layer_shape)
    assert (np.abs(again - forward.outputs[found, 0]) <= result["tolerance"]).all()
    divergence = js_divergence(kept[:, 0], forward.per_unit[found, 0], base=np.e)
    np.testing.assert_allclose(divergence, details["adversarial_jsd"][found, 0], rtol=1e-6)
    assert np.isclose(result["max_jsd"]["mean"], divergence.mean())


def test_conicity_is_the_mean_cosine_of_the_valid_states_with_their_mean_by_hand():
    """Mohankumar et al.'s alignment to mean: states that point alike give 1, two orthogonal ones
    1/√2 (each at 45° from their mean), padding is left out; a state against the mean counts as
    one along it (their code's absolute cosine: 1, where plain cosines would give 1/3); the audit
    reports it per sample."""
    from attention.diversity import conicity

    states = np.array(
        [
            [[1.0, 0.0], [2.0, 0.0], [9.0, 9.0]],
            [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]],
            [[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]],
        ]
    )
    valid = np.array([[True, True, False], [True, True, False], [True, True, True]])
    np.testing.assert_allclose(conicity(states, valid), [1.0, np.sqrt(0.5), 1.0], rtol=1e-6)
    x, deciding = marker_data(8)
    audit = AttentionAudit(marker_model(20.0))
    result = audit.run(x, deciding=deciding, permutations=2, adversary=AdversarySearch(steps=2))
    np.testing.assert_allclose(audit.details["conicity"], conicity(x, np.ones(x.shape[:2], dtype=bool)), rtol=1e-6)
    assert result["conicity"]["mean"] == pytest.approx(audit.details["conicity"].mean())
