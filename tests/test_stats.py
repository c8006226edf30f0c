"""Sweep statistics against a small example computed by hand, with a failed and a missing job."""

import json

import pandas as pd
import pytest
from omegaconf import OmegaConf

from experiments.records.stats import collect, differences, group_statistics, write_summary


def _job(sweep, attention, seed, accuracy=None, test_curve=None, status="completed", reason=None):
    job = sweep / "imdb" / attention / f"seed{seed}"
    job.mkdir(parents=True)
    metrics = {
        "task": "imdb",
        "attention": attention,
        "seed": seed,
        "status": status,
        "params": 248929 if attention == "luong" else 248901,
        "epochs": 3,
        "wall_time_s": 30.0,
        "history": {"val_accuracy": [0.7, 0.75, 0.8], "test_accuracy": test_curve or []},
    }
    if status == "completed":
        metrics["test"] = {"accuracy": accuracy, "loss": 0.4}
    else:
        metrics["reason"] = reason
    (job / "metrics.json").write_text(json.dumps(metrics))


def _multirun(sweep, attentions, seeds):
    """The multirun.yaml Hydra writes for `task=imdb -m attention=ATTENTIONS seed=SEEDS`."""
    params = {"attention": attentions, "seed": seeds}
    hydra = {"sweeper": {"params": params}, "overrides": {"task": ["task=imdb"]}}
    OmegaConf.save({"hydra": hydra}, sweep / "multirun.yaml")


@pytest.fixture
def sweep(tmp_path):
    # luong: 80, 82, 84 (%); none: 78, 79, 80, 81; seed 4 of luong failed; seed 5 of none never ran.
    for seed, acc in enumerate([0.80, 0.82, 0.84]):
        _job(tmp_path, "luong", seed, acc, test_curve=[acc - 0.01, acc + 0.01, acc])
    for seed, acc in enumerate([0.78, 0.79, 0.80, 0.81]):
        _job(tmp_path, "none", seed, acc, test_curve=[acc, acc])
    _job(tmp_path, "luong", 4, status="failed", reason="the training loss became NaN in epoch 2")
    _multirun(tmp_path, "luong,none", "range(0,6)")
    return tmp_path


def test_every_job_is_a_row_and_failed_or_missing_ones_are_named(sweep):
    runs = collect(sweep)
    status = {(r.attention, r.seed): r.status for r in runs.itertuples()}
    assert status[("luong", 4)] == "failed"
    assert status[("luong", 3)] == status[("luong", 5)] == status[("none", 4)] == status[("none", 5)] == "missing"
    assert sum(s == "completed" for s in status.values()) == 7


def test_group_statistics_by_hand(sweep):
    table = group_statistics(collect(sweep), "test_accuracy").set_index("attention")
    luong, none = table.loc["luong"], table.loc["none"]
    assert luong.n == 3 and none.n == 4  # the failed job is left out
    assert luong["max"] == pytest.approx(84.0) and luong.avg == pytest.approx(82.0)
    assert luong.stddev == pytest.approx(2.0)  # sample std of 80, 82, 84
    # 95% CI: 82 ± t(0.975, df=2) · 2/√3 = 82 ± 4.3027 · 1.1547
    assert (luong.ci_low, luong.ci_high) == (pytest.approx(77.0317, abs=1e-3), pytest.approx(86.9683, abs=1e-3))
    assert none.avg == pytest.approx(79.5) and none.stddev == pytest.approx(1.2910, abs=1e-4)


def test_seed_protocol_takes_the_max_over_epochs(sweep):
    table = group_statistics(collect(sweep), "max_test_accuracy").set_index("attention")
    assert table.loc["luong"].avg == pytest.approx(83.0)  # each run's best epoch is +1 point


def test_welch_difference_by_hand(sweep):
    diff = differences(collect(sweep), "test_accuracy").iloc[0]
    assert (diff.a, diff.b) == ("luong", "none")
    assert diff.difference == pytest.approx(2.5)
    # t = 2.5 / √(4/3 + (5/3)/4) = 1.8898 with Welch–Satterthwaite df = 3.2347: two-sided p ≈ 0.148
    assert diff.p_value == pytest.approx(0.1485, abs=5e-4)


def test_summary_files(sweep):
    write_summary(sweep)
    table = pd.read_csv(sweep / "summary.csv")
    assert {"task", "attention", "seed", "status", "test_accuracy", "max_test_accuracy", "params"} <= set(table.columns)
    assert len(table) == 12
    md = (sweep / "summary.md").read_text()
    assert "| MAX accuracy | 84.00 | 81.00 |" in md
    assert "| AVG accuracy | 82.00 | 79.50 |" in md
    assert "| STDDEV accuracy | 2.00 | 1.29 |" in md
    assert "| 95% CI of the mean | [77.03, 86.97] |" in md
    assert "| luong | none | +2.50 | 0.1485 |" in md
    assert "| imdb | luong | 4 | failed | the training loss became NaN in epoch 2 |" in md
    assert "| imdb | none | 5 | missing | never started |" in md
    assert (sweep / "summary.png").stat().st_size > 0


def test_the_audits_of_the_runs_are_averaged_per_variant(sweep):
    # luong seeds 0 and 1 audited (τ_g 0.2 and 0.4); seed 2 not; none has no attention to audit.
    for seed, tau in ((0, 0.2), (1, 0.4)):
        audit = {
            "agreement": {"gradient": {"mean": tau}, "leave_one_out": {"mean": None}},
            "erasure": {"largest": {"flip_rate": 0.5}, "random": {"flip_rate": 0.1}},
            "ground_truth": None,
        }
        (sweep / "imdb" / "luong" / f"seed{seed}" / "audit.json").write_text(json.dumps(audit))
    write_summary(sweep)
    runs = pd.read_csv(sweep / "summary.csv")
    assert list(runs[runs.attention == "luong"].audit_tau_gradient.head(3).fillna(-1)) == [0.2, 0.4, -1]
    text = (sweep / "summary.md").read_text()
    assert "| mean over audited runs | luong |" in text and "| runs audited | 2 |" in text
    assert "| τ attention vs gradient | 0.300 |" in text and "| flips, largest weight erased | 0.500 |" in text
    assert "leave-one-out" not in text  # no run measured it: no row


def test_what_ranks_by_the_attention_is_undefined_for_uniform_weights_and_kept_for_the_rest(tmp_path):
    """Equal weights rank nothing: an ERASER "attention order" of `uniform` is only the order of
    its ties, so its summary leaves it out, and τ with it; its gradient order is its own."""
    for attention in ("luong", "uniform"):
        _job(tmp_path, attention, 0, 0.8)
        eraser = {
            measure: {"attention": {"aopc": 0.3}, "gradient": {"aopc": 0.2}}
            for measure in ("comprehensiveness", "sufficiency")
        }
        tau = 0.25 if attention == "luong" else None
        audit = {"agreement": {"gradient": {"mean": tau}}, "eraser": eraser}
        (tmp_path / "imdb" / attention / "seed0" / "audit.json").write_text(json.dumps(audit))
    _multirun(tmp_path, "luong,uniform", "range(0,1)")
    write_summary(tmp_path)
    text = (tmp_path / "summary.md").read_text()
    rows = (
        "| mean over audited runs | luong | uniform |",
        "| comprehensiveness AOPC, attention order | 0.300 | – |",
        "| sufficiency AOPC, attention order | 0.300 | – |",
        "| comprehensiveness AOPC, gradient order | 0.200 | 0.200 |",
        "| τ attention vs gradient | 0.250 | – |",
    )
    assert [row for row in rows if row not in text] == []
    # The run's own row keeps what its audit wrote.
    runs = pd.read_csv(tmp_path / "summary.csv").set_index("attention")
    assert runs.loc["uniform", "audit_comprehensiveness_attention"] == pytest.approx(0.3)


def test_the_positive_class_scores_equal_a_hand_computation():
    from experiments.run.classification import positive_class_scores, roc_auc

    y = [1, 1, 1, 0, 0, 0, 0, 1]
    p = [0.9, 0.6, 0.4, 0.7, 0.2, 0.1, 0.5, 0.8]
    # Predicted positive (p >= 0.5): samples 0, 1, 3, 6, 7; of them 0, 1 and 7 are positive.
    scores = positive_class_scores(y, p)
    assert scores["precision"] == pytest.approx(3 / 5) and scores["recall"] == pytest.approx(3 / 4)
    assert scores["f1"] == pytest.approx(2 * (3 / 5) * (3 / 4) / (3 / 5 + 3 / 4))
    # ROC AUC: of the 4 × 4 (positive, negative) pairs, those where the positive scores higher.
    pairs = [(a, b) for a, ya in zip(p, y) if ya for b, yb in zip(p, y) if not yb]
    assert scores["roc_auc"] == pytest.approx(sum(a > b for a, b in pairs) / len(pairs))
    assert roc_auc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]) == 0.5  # ties count one half
    assert roc_auc([1, 1], [0.3, 0.9]) is None  # one class only: undefined
    assert positive_class_scores([0, 1], [0.1, 0.2])["precision"] is None  # nothing predicted positive
    with pytest.raises(ValueError, match="3 labels but 2 predictions"):
        positive_class_scores([0, 1, 1], [0.1, 0.2])


def test_a_job_whose_metrics_are_cut_short_is_listed_missing_with_why(sweep):
    """A metrics.json cut short (a full disk, a kill mid-write) is one job to redo, not a traceback."""
    job = sweep / "imdb" / "luong" / "seed1"
    (job / ".hydra").mkdir()
    OmegaConf.save(
        {"task": {"name": "imdb"}, "attention": {"name": "luong"}, "seed": 1}, job / ".hydra" / "config.yaml"
    )
    (job / "metrics.json").write_text('{"task": "imdb", "stat')
    runs = collect(sweep).set_index(["attention", "seed"])
    assert runs.loc[("luong", 1), "status"] == "missing"
    assert runs.loc[("luong", 1), "reason"].startswith("its metrics.json cannot be read (cut short?)")
    assert (runs.status == "completed").sum() == 6


def test_seed_variance_compares_the_seeds_audited_on_the_same_samples_by_hand(tmp_path):
    """Three seeds of one variant on the same samples, a fourth on others: the pairs' JSD (nats)
    and output TVD as computed by hand; the adversary read against the farthest other seed."""
    import numpy as np

    weights = {
        0: [[[1.0, 0.0]], [[0.5, 0.5]]],  # (samples, units, steps)
        1: [[[1.0, 0.0]], [[0.5, 0.5]]],  # the same attention as seed 0
        2: [[[0.0, 1.0]], [[0.5, 0.5]]],  # on the first sample, the other step: JSD ln 2
        3: [[[0.0, 1.0]], [[0.0, 1.0]]],  # audited on other samples: left out
    }
    outputs = {0: 0.9, 1: 0.8, 2: 0.6, 3: 0.1}
    adversarial = {0: [[0.5], [0.01]], 1: [[np.nan], [0.2]], 2: [[0.1], [0.3]], 3: [[0.6], [0.6]]}
    for seed in weights:
        _job(tmp_path, "luong", seed, 0.8)
        np.savez(
            tmp_path / "imdb" / "luong" / f"seed{seed}" / "audit_attention.npz",
            weights=np.array(weights[seed]),
            outputs=np.full((2, 1, 1), outputs[seed]),
            adversarial_jsd=np.array(adversarial[seed]),
            inputs_sha256=np.array("other" if seed == 3 else "same"),
        )
    _multirun(tmp_path, "luong", "range(0,4)")
    write_summary(tmp_path)
    pairs = pd.read_csv(tmp_path / "seed_variance.csv")
    assert [(r.seed_a, r.seed_b) for r in pairs.itertuples()] == [(0, 1), (0, 2), (1, 2)]
    ln2 = np.log(2)
    np.testing.assert_allclose(pairs.jsd_mean, [0.0, ln2 / 2, ln2 / 2], atol=1e-12)
    np.testing.assert_allclose(pairs.tvd_mean, [0.1, 0.3, 0.2])
    # The farthest other seed per sample: ln 2 on the first, 0 on the second. Beyond it: seed 0's
    # 0.01, seed 1's 0.2 and seed 2's 0.3 on the second sample: 3 of the 5 found.
    assert (tmp_path / "seed_variance.png").stat().st_size > 0
    text = (tmp_path / "summary.md").read_text()
    assert "| imdb | luong | 3 | 0.231 (0.000) | 0.2000 | 0.222 | 0.60 |" in text, text
