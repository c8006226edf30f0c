"""Date translation: the data, the vocabularies, masking, the run's files, learning, translate."""

import datetime
import re
import subprocess
import sys

import numpy as np
import pytest
from hydra.utils import instantiate

from experiments.run.runner import run
from experiments.tasks.dates_data import (
    DAY,
    MONTH,
    YEAR,
    CharVocabulary,
    day_pools,
    read_vocabularies,
    render,
    sample_dates,
    vocabularies_json,
)

LOCALES = ["en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "pt_BR", "nl_NL"]


def _field_text(text, fields, field):
    return "".join(c for c, f in zip(text, fields) if f == field)


def test_each_character_is_tagged_with_its_date_field():
    text, fields = render(datetime.date(2018, 5, 9), "long", "es_ES")
    assert text == "9 de mayo de 2018"
    assert (_field_text(text, fields, DAY), _field_text(text, fields, MONTH), _field_text(text, fields, YEAR)) == (
        "9",
        "mayo",
        "2018",
    )


@pytest.mark.parametrize("day", ["2018-12-31", "2021-01-01"])  # where the week-based year differs
@pytest.mark.parametrize("style", ["medium", "long", "full", "d MMM yyyy", "MMMM d yy", "dd.MM.yy"])
def test_the_year_written_is_the_calendar_year_in_every_locale(day, style):
    date = datetime.date.fromisoformat(day)
    for locale in LOCALES:
        text, fields = render(date, style, locale)
        assert str(date.year).endswith(_field_text(text, fields, YEAR)), (locale, style, text)


def test_the_held_out_days_are_never_trained_on():
    rng = np.random.default_rng(0)
    train, validation, test = day_pools("1950-01-01", "2049-12-31", 0.1, rng)
    assert len(train) + len(validation) + len(test) == 36525
    assert len(test) == len(validation) == 3652
    assert not set(train) & set(test) and not set(train) & set(validation) and not set(test) & set(validation)
    samples = sample_dates(rng, train, 500, ["medium", "dd/MM/yyyy"], LOCALES, {"as_is": 1, "upper": 1, "lower": 1})
    assert {datetime.date.fromisoformat(t).toordinal() for t in samples.targets} <= set(train)
    assert any(t.isupper() for t in samples.texts) and any(t.islower() for t in samples.texts)


def test_vocabulary_round_trip_with_its_special_tokens():
    vocabulary = CharVocabulary.from_texts(["9 de mayo de 2018", "31 déc. 1999"])
    assert CharVocabulary.SPECIALS == ("<pad>", "<start>", "<end>", "<unk>")
    ids = vocabulary.encode(["31 mayo 2018", "é9"], 16, start=True, end=True)
    assert ids.shape == (2, 16) and ids.dtype == np.int32
    assert ids[0, 0] == CharVocabulary.START and ids[0, 13] == CharVocabulary.END
    assert np.all(ids[0, 14:] == CharVocabulary.PAD) and np.all(ids[1, 4:] == CharVocabulary.PAD)
    assert [vocabulary.decode(row) for row in ids] == ["31 mayo 2018", "é9"]
    # A character never seen in training reads as unknown.
    assert vocabulary.encode(["Z9"], 3)[0].tolist() == [CharVocabulary.UNKNOWN, vocabulary.ids["9"], 0]
    with pytest.raises(ValueError, match="'31 mayo 2018' is 12 characters; at most 10 fit"):
        vocabulary.encode(["31 mayo 2018"], 12, start=True, end=True)


def test_vocabularies_survive_their_json_file(tmp_path):
    source, target = CharVocabulary.from_texts(["mié. 5 ago"]), CharVocabulary.from_texts(["2018-05-09"])
    (tmp_path / "vocabulary.json").write_text(vocabularies_json(source, target), encoding="utf-8")
    source_back, target_back = read_vocabularies(tmp_path / "vocabulary.json")
    assert (source_back.chars, target_back.chars) == (source.chars, target.chars)


def test_padding_gets_no_loss(compose_config):
    cfg = compose_config("task=dates")
    loss = instantiate(cfg.task.loss)
    rng = np.random.default_rng(0)
    y_pred = rng.dirichlet(np.ones(6), size=(2, 5)).astype("float32")
    y_true = np.array([[4, 5, 2, 0, 0], [5, 4, 4, 5, 2]])  # the first target is padded
    per_step = -np.log(np.take_along_axis(y_pred, y_true[..., None], axis=-1)[..., 0])
    expected = per_step[y_true != 0].mean()
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)
    y_pred[0, 3:] = rng.dirichlet(np.ones(6), size=2)  # whatever is predicted on padding
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)


# Under pytest-xdist the module runs on one worker, so that `smoke_run` (module scope) is made once.
pytestmark = pytest.mark.xdist_group("test_dates")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One dates run under debug=smoke, shared by the tests that read its files."""
    from hydra import compose, initialize_config_dir

    from experiments.run.config import CONFIG_DIR

    run_dir = tmp_path_factory.mktemp("dates_smoke")
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["task=dates", "debug=smoke", f"paths.output_dir={run_dir}"])
    return run_dir, cfg, run(cfg, run_dir)


def test_the_smoke_run_writes_greedy_accuracy_the_vocabularies_and_the_alignment(smoke_run):
    run_dir, _, metrics = smoke_run
    assert metrics["status"] == "completed"
    assert 0 <= metrics["test"]["exact_match"] <= metrics["test"]["char_accuracy"] <= 1
    assert "alignment.png" in metrics["figures"]
    source, target = read_vocabularies(run_dir / "vocabulary.json")
    assert set("0123456789-") == set(target.chars)
    assert {"J", "a", "é", "/", "."} <= set(source.chars)


def test_padding_gets_no_attention_in_the_trained_model(smoke_run):
    import keras

    from attention import attention_weights
    from experiments.tasks.dates import Dates

    run_dir, cfg, _ = smoke_run
    model = keras.models.load_model(run_dir / "model.keras")
    data = Dates().make_data(cfg.task, np.random.default_rng(0))
    (text_ids, previous), _ = data.probe
    weights = attention_weights(model, "attention", [text_ids, previous])
    padding = (text_ids == CharVocabulary.PAD)[:, None, :].repeat(weights.shape[1], axis=1)
    assert padding.any() and np.all(weights[padding] == 0.0) and np.all(weights[~padding] > 0.0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
    # The probe saved by the run is the same attention.
    np.testing.assert_allclose(np.load(run_dir / "attention.npy"), weights, rtol=1e-5, atol=1e-7)


def _translate(*args):
    return subprocess.run(
        [sys.executable, "-m", "experiments", "translate", *args], capture_output=True, text=True, timeout=300
    )


def test_translate_writes_the_heatmap_of_any_text(smoke_run, tmp_path):
    run_dir, _, _ = smoke_run
    out = tmp_path / "saturday.png"
    result = _translate("Saturday 9 May 2018", "--run", str(run_dir), "--out", str(out))
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("Saturday 9 May 2018 → ")
    assert set(first.split(" → ")[1]) <= set("0123456789-")  # an untrained model's digits, still ISO characters
    assert out.stat().st_size > 0


def test_translate_refuses_bad_input_in_one_line(smoke_run, tmp_path):
    run_dir, _, _ = smoke_run
    cases = [
        (("9 May 2018", "--outputs", str(tmp_path)), "no trained dates model under"),
        (("x" * 41, "--run", str(run_dir)), "is 41 characters; at most 40 fit in this model"),
        (("  ", "--run", str(run_dir)), "the text to translate is empty"),
        (("9 May 2018", "--run", str(tmp_path)), "is not a trained dates run: it has no model.keras"),
    ]
    for args, message in cases:
        result = _translate(*args)
        lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert result.returncode == 2 and len(lines) == 1 and message in lines[0], (args, result.stderr)
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_minute_of_training_translates_most_held_out_dates(compose_config, tmp_path):
    cfg = compose_config(
        "task=dates",
        "task.samples=6000",
        "task.epochs=5",
        "task.test_samples=500",
        "task.data.validation_samples=500",
        "trainer.verbose=0",
        "task.audit.at_end=false",  # what it learned, not its audit (the smoke test audits dates)
    )
    metrics = run(cfg, tmp_path)
    # Chance is about 0 for a whole date; 6,000 texts and 5 epochs give about 0.8 here.
    assert metrics["test"]["exact_match"] >= 0.5
    # The right field (of about 20 characters, 2 to 4 of them the field's) holds the argmax.
    assert metrics["attention_quality"]["field_hit_rate"] >= 0.5


@pytest.mark.parametrize(
    "override, message",
    [
        ("task.data.locales=[en_US,xx_YY]", "task.data.locales: unknown locale 'xx_YY'; Babel names them like en_US"),
        ("task.data.formats=[MMMM yyyy]", "task.data.formats: 'MMMM yyyy' does not write the day; a format must write"),
        (
            "task.data.max_length=20",
            "writes '28 de septiembre de 2018' (24 characters), longer than task.data.max_length=20",
        ),
        (
            "task.data.first_day=1950-13-01",
            "task.data.first_day and last_day must be dates like 1950-01-01, got '1950-13-01'",
        ),
        ("+task.data.cases.title=1", "task.data.cases: unknown ['title']; accepted: as_is, upper, lower"),
    ],
)
def test_bad_data_options_are_refused_with_what_is_accepted(compose_config, override, message):
    from experiments.run.config import ConfigError
    from experiments.tasks.dates import Dates

    cfg = compose_config("task=dates", "debug=smoke", override)
    with pytest.raises(ConfigError, match=re.escape(message)):
        Dates().make_data(cfg.task, np.random.default_rng(0))


def test_a_bad_data_option_stops_the_command_in_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments",
            "task=dates",
            "debug=smoke",
            "task.data.locales=[xx_YY]",
            f"hydra.run.dir={tmp_path}/run",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and errors == [
        "error: task.data.locales: unknown locale 'xx_YY'; Babel names them like en_US, fr_FR, de"
    ]
    assert "Traceback" not in result.stderr
