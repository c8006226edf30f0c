"""Every task runs end to end, and the models learn to look where the data put the signal."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from attention import SCORES
from conftest import ALL_TASKS, IMDB_SHORT, IMDB_TASKS, RUN_TASKS, TASKS, run_numbers
from experiments.run.catalog import quality_text, task_catalog
from experiments.run.config import CONFIG_DIR, validate
from experiments.run.runner import run
from experiments.run.task import load_task

EXPECTED_WEIGHTS_SHAPE = {
    "dense": (16, 32),
    "lstm_before": (16, 20, 2),
    "lstm_after": (16, 20, 32),
    "multidim_per_dim": (16, 20, 2),
    "multidim_shared": (16, 20),
    "add_two_numbers": (16, 20),
    "find_max": (16, 10),
    "imdb": (16, 120),  # reviews cut to their last 120 words (SMOKE_SIZES)
    "imdb_jain_wallace": (16, 101),  # fewer than 100 words (SMOKE_SIZES), between <sos> and <eos>
    "imdb_diagnostic": (16, 101),
    "dates": (16, 11, 40),  # output steps × input characters
    "sequences": (None, 29),  # a few test samples of each class (as many as the smoke run's test set holds)
}
# Smaller still than debug=smoke, where the task's own sizes would take a minute a run.
SMOKE_SIZES = {
    "imdb": [IMDB_SHORT],
    "imdb_jain_wallace": ["task.data.max_words=100", "task.model.embedding_dim=16", "task.model.lstm_units=8"],
    "imdb_diagnostic": ["task.data.max_words=100", "task.model.embedding_dim=16", "task.model.mlp_units=8"],
    # debug=smoke leaves a task's own validation set whole (4000 sums, 2000 dates): each epoch's
    # validation then costs more than its training
    "add_two_numbers": ["task.data.validation_samples=64"],
    "dates": ["task.data.validation_samples=64"],
}
PEAK_KEYS = {"target_index", "peak_index", "peak_weight", "runner_up_weight"}
QUALITY_KEYS = {
    "add_two_numbers": {"hit_rate", "probe_hit_rate", "test_hit_rate", "samples"},
    "find_max": {"argmax_accuracy", "samples"},
    "imdb": {
        "mean_peak_weight",
        "mean_entropy_nats",
        "padding_share",
        "attention_on_padding",
        "mean_uniform_peak_on_words",
        "samples",
    },
    "imdb_jain_wallace": {
        "mean_peak_weight",
        "mean_entropy_nats",
        "attention_on_padding",
        "mean_uniform_peak_on_words",
        "samples",
    },
    "dates": {
        "field_hit_rate",
        "field_hit_rate_chance",
        "mass_on_field",
        "year_hit_rate",
        "month_hit_rate",
        "day_hit_rate",
        "samples",
    },
    "sequences": {"mean_peak_step", "mean_relative_peak", "mean_entropy_nats", "attention_on_padding", "samples"},
}
QUALITY_KEYS["imdb_diagnostic"] = QUALITY_KEYS["imdb_jain_wallace"]  # the same text measures


@pytest.mark.parametrize("task", ALL_TASKS)
def test_every_task_runs_under_smoke_writes_every_file_and_repeats_exactly(compose_config, task, tmp_path):
    cfg = compose_config(
        f"task={task}",
        "debug=smoke",
        "task.audit.at_end=true",
        f"paths.output_dir={tmp_path}",
        *SMOKE_SIZES.get(task, []),
    )
    validate(cfg)
    metrics = run(cfg, tmp_path)

    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk == metrics
    assert on_disk["status"] == "completed"
    assert (on_disk["task"], on_disk["seed"]) == (task, 0)
    assert on_disk["params"] > 0 and on_disk["epochs"] == 1 and on_disk["wall_time_s"] > 0
    assert set(on_disk["history"]) >= {"loss", "val_loss"}
    assert "loss" in on_disk["test"]
    # Where the epoch's time went: training, validation and (IMDB's protocol) the test set each epoch.
    seconds = on_disk["epoch_seconds"]
    assert (
        len(seconds["train"]) == len(seconds["validation"]) == 1 and min(seconds["train"] + seconds["validation"]) > 0
    )
    assert len(seconds["test"]) == (1 if cfg.task.get("test_each_epoch") else 0)
    assert seconds["train"][0] + seconds["validation"][0] + sum(seconds["test"]) < on_disk["wall_time_s"]
    assert set(on_disk["attention_quality"]) == QUALITY_KEYS.get(task, PEAK_KEYS)
    assert quality_text(task, on_disk["attention_quality"]) != "–"  # the words its YAML declares read it
    samples, *shape = EXPECTED_WEIGHTS_SHAPE[task]
    weights = np.load(tmp_path / "attention.npy")
    assert list(weights.shape[1:]) == shape and (samples is None or len(weights) == samples)
    assert list(pd.read_csv(tmp_path / "history.csv")["epoch"]) == [0]
    for name in on_disk["figures"] + ["model.keras"]:
        assert (tmp_path / name).stat().st_size > 0

    assert (tmp_path / "audit.json").is_file() and (tmp_path / "audit.png").is_file()  # audited at its end

    # Same seed, same numbers: a second run gives the same metrics, attention and audit, bit for bit.
    again = run(cfg, tmp_path / "again")
    assert run_numbers(again) == run_numbers(metrics)
    assert (tmp_path / "again" / "attention.npy").read_bytes() == (tmp_path / "attention.npy").read_bytes()
    first, second = (json.loads((d / "audit.json").read_text()) for d in (tmp_path, tmp_path / "again"))
    assert {**first, "seconds": 0} == {**second, "seconds": 0}


@pytest.mark.parametrize("task", ["add_two_numbers", "find_max"])
@pytest.mark.parametrize("score", SCORES)
def test_every_score_function_trains_in_both_tasks(compose_config, task, score, tmp_path):
    cfg = compose_config(
        f"task={task}", f"attention={score}", "debug=smoke", "task.epochs=2", *SMOKE_SIZES.get(task, [])
    )
    metrics = run(cfg, tmp_path)
    assert metrics["status"] == "completed" and metrics["history"]["loss"][1] < metrics["history"]["loss"][0]
    weights = np.load(tmp_path / "attention.npy")
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)


def test_add_two_numbers_saves_a_frame_per_epoch_and_a_gif_of_them(compose_config, tmp_path):
    from PIL import Image

    cfg = compose_config("task=add_two_numbers", "debug=smoke", "task.epochs=3")
    metrics = run(cfg, tmp_path)
    assert metrics["figures"] == ["training_curves.png", "attention_map.png", "attention_map.gif"]
    frames = sorted(p.name for p in (tmp_path / "epochs").iterdir())
    assert frames == [f"attention_map_epoch{e:03d}.png" for e in (1, 2, 3)]
    assert Image.open(tmp_path / "attention_map.gif").n_frames == 3
    assert metrics["stopped_epoch"] is None and 1 <= metrics["best_epoch"] <= 3
    # TensorBoard: the scalars per epoch, and the same attention map as an image per epoch.
    assert _tensorboard_steps(tmp_path, "train")["epoch_loss"] == [0, 1, 2]
    assert _tensorboard_steps(tmp_path, "validation")["epoch_loss"] == [0, 1, 2]
    assert _tensorboard_steps(tmp_path, "attention") == {"attention_map": [0, 1, 2]}


def _tensorboard_steps(run_dir, run):
    """{tag: [steps]} of one TensorBoard run of a run directory, read back from its event files."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard" / run), size_guidance={"tensors": 0})
    events.Reload()
    return {tag: [event.step for event in events.Tensors(tag)] for tag in events.Tags()["tensors"]}


def test_tensorboard_logs_hold_the_scalars_and_change_no_number(compose_config, tmp_path):
    logged = run(compose_config("task=dense", "debug=smoke", "task.epochs=2"), tmp_path / "on")
    steps = _tensorboard_steps(tmp_path / "on", "train")
    assert steps["epoch_loss"] == steps["epoch_accuracy"] == [0, 1]
    plain = run(compose_config("task=dense", "debug=smoke", "task.epochs=2", "logger=csv"), tmp_path / "off")
    assert not (tmp_path / "off" / "tensorboard").exists() and (tmp_path / "off" / "history.csv").is_file()
    assert run_numbers(plain) == run_numbers(logged) and plain["config"] == logged["config"]


def test_a_callback_of_the_users_own_is_built_from_the_config_and_counts_in_the_fingerprint(compose_config, tmp_path):
    """callbacks/ is Hydra's: a callback added with +callbacks.NAME is built and called, changes the
    fingerprint (it may change the numbers), and one dropped with ~callbacks.NAME is not called."""
    default = compose_config("task=dense", "debug=smoke", "task.epochs=2")
    lowered = compose_config(
        "task=dense",
        "debug=smoke",
        "task.epochs=2",
        "+callbacks.halve={_target_: keras.callbacks.LearningRateScheduler, schedule: {_target_: schedules.halve, _partial_: true}}",
    )
    baseline, halved = run(default, tmp_path / "default"), run(lowered, tmp_path / "halved")
    assert halved["config"] != baseline["config"] and run_numbers(halved) != run_numbers(baseline)
    assert pd.read_csv(tmp_path / "halved" / "history.csv")["learning_rate"].tolist() == pytest.approx([5e-4, 2.5e-4])
    unstopped = run(
        compose_config("task=dense", "debug=smoke", "task.epochs=2", "~callbacks.early_stopping"), tmp_path / "u"
    )
    assert "best_epoch" not in unstopped and unstopped["config"] != baseline["config"]


def test_the_saved_run_model_reloads_to_the_same_predictions(compose_config, tmp_path):
    import keras

    cfg = compose_config("task=lstm_after", "attention=pooling", "debug=smoke")
    metrics = run(cfg, tmp_path)
    model = keras.models.load_model(tmp_path / "model.keras")
    x = np.random.default_rng(1).standard_normal((8, 20, 2)).astype("float32")
    again = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(model.predict(x, verbose=0), again.predict(x, verbose=0))
    from attention import attention_weights

    np.testing.assert_allclose(attention_weights(model, "attention", x).sum(axis=1), 1.0, rtol=1e-5)
    # A binary task: metrics.json has the positive class's scores of the test predictions.
    from experiments.run.classification import positive_class_scores

    x_test, y_test = load_task(cfg.task.module).make_data(cfg.task, np.random.default_rng(cfg.seed)).test
    expected = positive_class_scores(y_test, model.predict(x_test, verbose=0))
    assert set(expected) <= set(metrics["test"])
    for name, value in expected.items():
        assert metrics["test"][name] == pytest.approx(value, abs=1e-6), name


@pytest.mark.slow
def test_dense_hello_world_looks_at_index_1(compose_config, tmp_path):
    # The seed's full size trains in seconds on 2 cores.
    quality = run(compose_config("task=dense", "trainer.verbose=0"), tmp_path)["attention_quality"]
    assert quality["peak_index"] == 1
    assert quality["peak_weight"] > 4 * quality["runner_up_weight"]
    # The audit at the end: the attention's top is the label's feature in most samples, and
    # erasing it flips decisions where erasing a random feature does not (only those of label 1:
    # where the label is 0, the feature holds 0 and erasing it changes nothing).
    audit = json.loads((tmp_path / "audit.json").read_text())
    assert audit["ground_truth"]["hit_rate"]["attention"] > 0.9
    assert audit["erasure"]["largest"]["flip_rate"] > 0.3 > 0.1 > audit["erasure"]["random"]["flip_rate"]


@pytest.mark.slow
def test_find_max_attention_finds_the_maximum(compose_config, tmp_path):
    cfg = compose_config(
        "task=find_max",
        "task.samples=40000",
        "task.test_samples=1000",
        "task.epochs=10",
        "trainer.verbose=0",
        "task.audit.adversary.steps=20",  # the audit's other measures are what it checks
    )
    quality = run(cfg, tmp_path)["attention_quality"]
    assert quality["argmax_accuracy"] > 0.8
    # The audit at the end agrees: attention, gradient and leave-one-out all point at the maximum,
    # and erasing the largest weight moves the output more than erasing a random one.
    audit = json.loads((tmp_path / "audit.json").read_text())
    assert min(audit["ground_truth"]["hit_rate"].values()) > 0.8
    assert audit["erasure"]["largest_changes_more_than_random"] > 0.8


@pytest.mark.slow
def test_lstm_before_looks_at_step_10(compose_config, tmp_path):
    cfg = compose_config(
        "task=lstm_before",
        "task.samples=60000",
        "task.test_samples=1000",
        "trainer.verbose=0",
        "task.audit.at_end=false",
    )  # what it learned, not its audit (the smoke test audits lstm_before)
    metrics = run(cfg, tmp_path)
    assert metrics["attention_quality"]["peak_index"] == 10
    assert metrics["test"]["accuracy"] > 0.95


def test_every_task_declares_its_place_and_its_words_and_the_lists_follow_them():
    """`about:` in each task's YAML: the order and the quality words are the task's; the smoke tests'
    list of tasks and the report's order come from it, so a new task is in both by being there."""
    catalog = task_catalog()
    assert set(catalog) == {p.stem for p in CONFIG_DIR.glob("task/*.yaml")}
    for task, about in catalog.items():
        assert isinstance(about.get("order"), int) and isinstance(about.get("quality"), str), task
    orders = [about["order"] for about in catalog.values()]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    assert set(TASKS) | set(IMDB_TASKS) | set(RUN_TASKS) == set(catalog) and "dense" in TASKS and "imdb" in IMDB_TASKS
    assert quality_text("find_max", {"argmax_accuracy": 0.91234}) == "argmax on the maximum: 0.912"
    assert quality_text("find_max", {"hit_rate": 0.5}) == "–"  # a record without the keys its words read


@pytest.mark.parametrize("task", ALL_TASKS)
def test_every_bound_a_task_declares_names_its_own_settings_and_its_defaults_keep_them(compose_config, task):
    """`about.limits` is checked before anything trains: a key there that the task does not have
    would check nothing, so each one (and each setting a bound names) must be in the task's config."""
    from omegaconf import OmegaConf

    cfg = compose_config(f"task={task}")
    limits = cfg.task.about.get("limits") or {}
    for key, limit in limits.items():
        assert OmegaConf.select(cfg.task, key, default="absent") != "absent", (task, key)
        for bound in limit.values():
            if isinstance(bound, str):
                assert isinstance(OmegaConf.select(cfg.task, bound), int), (task, key, bound)
    validate(cfg)  # the task's own defaults lie within its bounds


def test_each_task_s_chance_level_reads_its_own_size(compose_config):
    """The table of tasks shows each attention quality beside its chance level, computed from the
    run's own config: a run with other sizes gets its own chance."""
    from experiments.run.catalog import chance_text

    assert chance_text("dense", compose_config("task=dense")) == "uniform 1/32 = 0.031"
    assert chance_text("dense", compose_config("task=dense", "task.data.features=8")) == "uniform 1/8 = 0.125"
    assert chance_text("find_max", compose_config("task=find_max")) == "1/10 = 0.100"
    assert chance_text("add_two_numbers", compose_config("task=add_two_numbers")) == "1/C(20, 2) = 0.005"
    assert chance_text("imdb", compose_config("task=imdb")) == "uniform 0.0020, entropy ln 500 = 6.21 nats"
    assert chance_text("lstm_after", compose_config("task=lstm_after")) == "uniform 1/20 = 0.050"
    # dates measures its own: the field's share of each text's characters, over the test dates.
    dates = compose_config("task=dates")
    assert chance_text("dates", dates, {"field_hit_rate_chance": 0.3}) == "a random character 0.300"
    assert chance_text("dates", dates, {"field_hit_rate": 0.9}) == "–"  # a record made before it did


def test_dates_measures_the_chance_that_a_random_character_is_on_the_field():
    """The text "9 May 2018" (10 characters: the day 1, the month 3, the year 4): a random character hits the
    year with 0.4, the month 0.3, the day 0.1; over the 8 digits, (4·0.4 + 2·0.3 + 2·0.1) / 8 = 0.3.
    Attention on the field's first character hits every time."""
    from types import SimpleNamespace

    from experiments.tasks.dates import ISO_LENGTH, OUTPUT_STEPS, Dates
    from experiments.tasks.dates_data import DAY, ISO_FIELDS, MONTH, OTHER, YEAR

    length = 14  # 4 characters of padding
    tags = [DAY, OTHER, MONTH, MONTH, MONTH, OTHER, YEAR, YEAR, YEAR, YEAR]
    fields = np.zeros((1, length), "int8")
    fields[0, : len(tags)] = tags
    text_ids = np.zeros((1, length), "int32")
    text_ids[0, : len(tags)] = 5
    weights = np.full((1, OUTPUT_STEPS, length), 0.01, "float32")
    for step, field in enumerate(ISO_FIELDS):
        weights[0, step, tags.index(field)] = 0.5
    data = SimpleNamespace(test=([text_ids, None], None), extras={"test_fields": fields})
    quality = Dates().attention_quality(None, None, data, lambda x: weights)
    assert quality["field_hit_rate"] == 1.0 and len(ISO_FIELDS) == ISO_LENGTH
    assert quality["field_hit_rate_chance"] == pytest.approx(0.3)


# --- encoder=transformer: a Transformer in place of the LSTM and its attention --------------------

TRANSFORMER_TASKS = tuple(
    task for task in ("find_max", "add_two_numbers", "sequences", "imdb", "imdb_jain_wallace") if task in ALL_TASKS
)


@pytest.mark.parametrize("task", TRANSFORMER_TASKS)
def test_a_transformer_encoder_runs_on_the_tasks_that_take_it(compose_config, task, tmp_path):
    """Its attention is read out as every layer's and head's weights (attention_stack.npy, drawn in
    attention_heads.png) and as their rollout over the input steps, which the task's quality and
    figures read as they read an LSTM's attention."""
    cfg = compose_config(
        f"task={task}",
        "encoder=transformer",
        "debug=smoke",
        "task.audit.at_end=true",
        "task.audit.integrated_gradients_steps=4",
        "task.audit.flow_samples=4",  # one max-flow per step and sample: seconds each
        f"paths.output_dir={tmp_path}",
        *SMOKE_SIZES.get(task, []),
    )
    validate(cfg)
    metrics = run(cfg, tmp_path)
    assert (metrics["status"], metrics["attention"]) == ("completed", "transformer")
    assert set(metrics["attention_quality"]) == QUALITY_KEYS.get(task, PEAK_KEYS)
    rolled, stack = np.load(tmp_path / "attention.npy"), np.load(tmp_path / "attention_stack.npy")
    layers, heads = cfg.attention.layer.layers, cfg.attention.layer.heads
    steps = rolled.shape[1]
    assert stack.shape == (len(rolled), layers, heads, steps, steps)
    np.testing.assert_allclose(rolled.sum(axis=1), 1.0, rtol=1e-4)
    np.testing.assert_allclose(stack.sum(axis=-1), 1.0, rtol=1e-4)
    assert "attention_heads.png" in metrics["figures"] and (tmp_path / "attention_heads.png").stat().st_size > 0
    import keras

    saved = keras.models.load_model(tmp_path / "model.keras")  # the Transformer in place of the recurrent layer
    assert not [layer for layer in saved.layers if isinstance(layer, (keras.layers.LSTM, keras.layers.Bidirectional))]
    # Audited at its end: each explanation of the stack against the input importances.
    audit = json.loads((tmp_path / "audit_stack.json").read_text())
    assert audit["samples"] == 16 and (tmp_path / "audit_stack.png").stat().st_size > 0
    known = task in ("find_max", "add_two_numbers")  # the tasks whose deciding steps are known
    assert (audit["explanations"]["rollout"]["hit_rate"] is not None) == known
    assert (audit["explanations"]["flow"] is None) == (steps > 100)  # flow only where it ends in time
    assert (audit["eraser"] is None) == known  # ERASER for the classifiers; the two known are regressions
    if task == "find_max":
        # Same seed, same numbers: the encoder's own determinism, checked once. Each task's data
        # and batches repeat exactly in the smoke test of every task, so a second training run
        # here on every task would check nothing more.
        assert run_numbers(run(cfg, tmp_path / "again")) == run_numbers(metrics)
        again = json.loads((tmp_path / "again" / "audit_stack.json").read_text())
        assert {**again, "seconds": 0} == {**audit, "seconds": 0}


def test_the_lstm_encoder_leaves_every_recorded_config_as_it_was(compose_config):
    """encoder=lstm is the default and changes no fingerprint: the committed records still count."""
    from experiments.run.config import config_fingerprint

    default = compose_config("task=find_max")
    chosen = compose_config("task=find_max", "encoder=lstm")
    assert config_fingerprint(default) == config_fingerprint(chosen)
    assert config_fingerprint(compose_config("task=find_max", "encoder=transformer")) != config_fingerprint(default)


def _rendered_smoke_record(compose_config, tmp_path, record, task, blocks):
    """(the audit of the stack, the rendered `blocks`) of a record of `record` made of one audited
    smoke run of `task` with encoder=transformer, laid out as make results lays it out."""
    from omegaconf import OmegaConf

    from experiments.records.publish import render

    job = tmp_path / record / task / "transformer" / "seed=0"
    cfg = compose_config(
        f"task={task}",
        "encoder=transformer",
        "debug=smoke",
        "task.audit.at_end=true",
        "task.audit.integrated_gradients_steps=4",
        f"paths.output_dir={tmp_path}",
    )
    run(cfg, job)
    (job / ".hydra").mkdir()
    OmegaConf.save(cfg, job / ".hydra" / "config.yaml")
    page = "\n".join(f"<!-- results:{name} -->\n<!-- /results:{name} -->" for name in blocks)
    return json.loads((job / "audit_stack.json").read_text()), render(page, root=tmp_path)


def test_the_transformer_pages_blocks_render_from_its_record(compose_config, tmp_path):
    """The record of experiment=transformer_attention, as one audited smoke run, renders into the
    page's tables: the run's test result, and each explanation's hit rate beside the importances'."""
    audit, text = _rendered_smoke_record(
        compose_config, tmp_path, "transformer_attention", "find_max",
        ("transformer_models", "transformer_explanations", "transformer_verdict"),
    )  # fmt: skip
    assert "| `find_max` | 1 ([seeds](docs/glossary.md#seed) 0) | MAE " in text
    assert f"| rollout (attention) | {audit['explanations']['rollout']['hit_rate']:.2f} ± 0.00 (n=1) |" in text
    assert "Best at finding the deciding steps on `find_max`:" in text
    assert "- `find_max` (1 run), top step on a deciding step: " in text


def test_the_transformer_pages_imdb_blocks_render_erasers_order_where_no_step_is_known(compose_config, tmp_path):
    """The blocks of experiment=transformer_imdb, from one audited smoke run of a classifier whose
    deciding steps are unknown (sequences stands in for IMDB, whose data the smoke tests leave out):
    τ and ERASER's AOPC per explanation, the random order's floor, and the most comprehensive order."""
    audit, text = _rendered_smoke_record(
        compose_config, tmp_path, "transformer_imdb", "sequences",
        ("transformer_imdb_models", "transformer_imdb_explanations", "transformer_imdb_verdict"),
    )  # fmt: skip
    eraser = audit["eraser"]
    header = next(line for line in text.splitlines() if line.startswith("| explanation |"))
    assert re.sub(r"\[([^]]+)\]\([^)]+\)", r"\1", header) == (  # without the glossary's links
        "| explanation | τ with leave-one-out | ERASER comprehensiveness (AOPC, high: faithful) "
        "| sufficiency (AOPC, low: faithful) |"
    )
    rollout = eraser["comprehensiveness"]["rollout"]["aopc"], eraser["sufficiency"]["rollout"]["aopc"]
    row = next(line for line in text.splitlines() if line.startswith("| rollout (attention) |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2:] == [f"{rollout[0]:.3f} ± 0.000 (n=1)", f"{rollout[1]:.3f} ± 0.000 (n=1)"]
    random = eraser["comprehensiveness"]["random"]["aopc"]
    assert f"| random order | – | {random:.3f} ± 0.000 (n=1) |" in text
    assert f"(a random order: {random:.3f})" in text and "Most comprehensive on `sequences`: " in text
    assert "- `sequences` (1 run), the decided class's probability dropped by removing the top of each order" in text
