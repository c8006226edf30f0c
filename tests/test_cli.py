"""The command line: ranges, group names, and bad input that fails before any training."""

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from attention import SCORES
from conftest import experiments_in_process, run_numbers
from experiments.run.cli import UsageError, group_options, normalize_args, preflight
from experiments.run.config import ConfigError, validate


def _experiments_process(*args, cwd=None):
    """`experiments ARGS` in a process of its own, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run(
        [sys.executable, "-m", "experiments", *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=env
    )


# The rest run in this process, by the command's own main: a new Python for each would start
# TensorFlow again, seconds each (test_a_run_ends_with_one_line... and the seed sweep run processes).
_experiments = experiments_in_process


def _refused(result, line):
    errors = [entry for entry in result.stderr.splitlines() if entry.startswith("error:")]
    assert (result.returncode, errors) == (2, [f"error: {line}"]), result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_inclusive_range_becomes_hydra_range():
    assert normalize_args(["-m", "seed=0..9"]) == ["-m", "seed=range(0,10)"]
    assert normalize_args(["-m", "seed=3..3"]) == ["-m", "seed=range(3,4)"]


def test_multirun_flag_may_stand_anywhere_as_users_write_it():
    assert normalize_args(["task=dense", "-m", "seed=0..1"]) == ["-m", "task=dense", "seed=range(0,2)"]


def test_hydra_sweep_syntax_and_paths_pass_through():
    args = ["-m", "seed=range(0,10)", "task=dense,lstm_before", "paths.output_dir=../elsewhere"]
    assert normalize_args(args) == args


def test_every_task_of_the_suite_is_an_option():
    assert {"dense", "lstm_before", "lstm_after", "multidim_per_dim", "multidim_shared"} <= set(group_options("task"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["-m", "seed=5..2"], "seed=5..2 is an empty range: A..B needs A <= B"),
        (["-m", "seed=a..b"], "seed=a..b is not a range: A..B needs integers"),
        (["seed=0..9"], "seed=0..9 is a range of runs; add -m to sweep it"),
        (["task=nope"], "unknown task 'nope'; accepted: " + ", ".join(group_options("task"))),
        (["-m", "task=dense,nope"], "unknown task 'nope'"),
        (["attention=nope"], "unknown attention 'nope'; accepted: " + ", ".join(group_options("attention"))),
    ],
)
def test_bad_command_lines_are_refused_with_what_is_accepted(args, message):
    with pytest.raises(UsageError, match="^" + re.escape(message)):
        normalize_args(args)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            ["task=dense", "attention=block_3d"],
            "attention 'block_3d' does not apply to task 'dense'; accepted: block_2d",
        ),
        (
            ["task=lstm_before", "attention=pooling"],
            "attention 'pooling' does not apply to task 'lstm_before'; accepted: block_3d, block_3d_shared",
        ),
        (["seed=abc"], "seed must be an integer from 0 to 2**32 - 1"),
        (["seed=1.5"], "seed must be an integer from 0 to 2**32 - 1"),
        (["seed=-1"], "seed must be an integer from 0 to 2**32 - 1"),
        (["task.epochs=0"], "task.epochs must be a positive integer"),
        (["task.plots=[attention_pie]"], "unknown figure 'attention_pie' in task.plots; accepted: attention_bar, "),
    ],
)
def test_bad_configs_are_refused(compose_config, overrides, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        validate(compose_config(*overrides))


def test_each_task_alone_composes_with_its_own_default_attention(compose_config):
    defaults = {
        "dense": "block_2d",
        "lstm_before": "block_3d",
        "lstm_after": "block_3d",
        "multidim_per_dim": "block_3d",
        "multidim_shared": "block_3d_shared",
        "add_two_numbers": "bahdanau",
        "find_max": "luong",
    }
    for task, attention in defaults.items():
        cfg = compose_config(f"task={task}")
        validate(cfg)
        assert (cfg.task.name, cfg.attention.name) == (task, attention)


@pytest.mark.parametrize("task", ["lstm_after", "add_two_numbers", "find_max"])
def test_every_score_function_selects_in_every_many_to_one_task(compose_config, task):
    for score in SCORES:
        cfg = compose_config(f"task={task}", f"attention={score}")
        validate(cfg)
        assert (cfg.attention.layer.score, cfg.attention.name) == (score, score)


@pytest.mark.parametrize("task", ["lstm_after", "add_two_numbers", "find_max", "dates", "imdb"])
def test_the_uniform_baseline_applies_wherever_the_learned_scores_do(compose_config, task):
    cfg = compose_config(f"task={task}", "attention=uniform")
    validate(cfg)
    assert cfg.attention.layer.score == "uniform"


def test_the_uniform_baseline_is_refused_where_no_learned_score_applies(compose_config):
    with pytest.raises(ConfigError, match=r"^attention 'uniform' does not apply to task 'dense'; accepted: block_2d$"):
        validate(compose_config("task=dense", "attention=uniform"))
    with pytest.raises(ConfigError, match=r"accepted: bahdanau, cosine, dot, location, luong, scaled_dot, uniform$"):
        validate(compose_config("task=find_max", "attention=block_2d"))


# The entry point's one-line refusals are tried in tests/test_reliability.py (33 bad inputs).


@pytest.mark.slow
def test_seed_range_sweep_runs_integer_seeds_and_repeats_exactly(tmp_path):
    sweep = tmp_path / "sweep"
    common = [sys.executable, "-m", "experiments", "task=dense", "debug=smoke"]
    subprocess.run([*common, "-m", "seed=0..2", f"hydra.sweep.dir={sweep}"], check=True, timeout=300)
    jobs = sorted(sweep.rglob("metrics.json"))
    runs = [json.loads(p.read_text()) for p in jobs]
    assert sorted(r["seed"] for r in runs) == [0, 1, 2]
    assert all(type(r["seed"]) is int and r["status"] == "completed" for r in runs)
    assert runs[0]["history"] != runs[1]["history"]  # different seeds, different runs

    # The last job ran after two others in the same process; alone it must give the same numbers.
    again = tmp_path / "again"
    subprocess.run([*common, "seed=2", f"hydra.run.dir={again}"], check=True, timeout=300)
    seed2 = next(r for r in runs if r["seed"] == 2)
    assert run_numbers(json.loads((again / "metrics.json").read_text())) == run_numbers(seed2)


def test_a_run_ends_with_one_line_of_what_it_found_and_where(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "experiments", "task=dense", "debug=smoke", f"hydra.run.dir={tmp_path}"],
        capture_output=True,
        text=True,
        check=True,
    )
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    last = done.stdout.strip().splitlines()[-1]
    quality = metrics["attention_quality"]
    assert last.startswith("dense · attention=block_2d · seed 0 · completed · accuracy ")
    assert f"{metrics['test']['accuracy']:.4f}" in last and f"peak at {quality['peak_index']} (expected 1)" in last
    assert last.endswith(f" s · {tmp_path}")
    # TensorFlow's C++ start-up lines are not printed (TF_CPP_MIN_LOG_LEVEL=0 brings them back).
    assert not any(noise in done.stderr for noise in ("absl::InitializeLog", "oneDNN", "cuda")), done.stderr


def test_keras_prints_a_progress_bar_only_on_a_terminal():
    from experiments.run.runner import keras_verbosity

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert keras_verbosity("auto", Terminal()) == 1
    assert keras_verbosity("auto", io.StringIO()) == 2  # under make, in logs, in CI: a line per epoch
    assert [keras_verbosity(v, io.StringIO()) for v in (0, 1, 2)] == [0, 1, 2]


def test_the_line_of_a_failed_run_says_why():
    from experiments.records.describe import run_line

    metrics = {
        "task": "dense",
        "attention": "block_2d",
        "seed": 3,
        "status": "failed",
        "reason": "nan loss: the training loss became NaN in epoch 1",
    }
    assert run_line(metrics, None, "outputs/runs/x") == (
        "dense · attention=block_2d · seed 3 · failed: nan loss: the training loss became NaN in epoch 1 · outputs/runs/x"
    )


def test_a_family_of_variants_is_every_variant_whose_yaml_joins_it(tmp_path):
    """A new score is its class and one YAML with `family: scores`: every task that names the
    family accepts it, the uniform baseline still applies, and the `*_scores` sweeps run it."""
    from experiments.run.cli import preflight
    from experiments.run.config import CONFIG_DIR, accepted_attentions, attention_family

    scores = attention_family("scores")
    assert {"luong", "bahdanau", "dot", "scaled_dot", "cosine", "location"} == set(scores)
    assert set(SCORES) == {*scores, "uniform"}  # every score of the library has its YAML
    conf = tmp_path / "conf"
    shutil.copytree(CONFIG_DIR / "attention", conf / "attention")
    (conf / "attention" / "fresh.yaml").write_text(
        "name: fresh\nfamily: scores\nlayer:\n  _target_: attention.Attention\n  score: fresh\n"
    )
    accepted = accepted_attentions(["scores", "none"], conf)
    assert accepted == [*sorted([*scores, "fresh"]), "none", "uniform"]
    assert accepted_attentions(["block_2d"], conf) == ["block_2d"]  # no family, no baseline
    # The sweep over a family expands to one job per variant (and fails, as a bad override does, in one line).
    assert preflight(["experiment=find_max_scores", f"paths.output_dir={tmp_path}"]) == len(scores)


def test_every_error_of_the_suite_is_a_suite_error():
    import importlib
    import inspect
    import pkgutil

    import experiments
    from experiments.run.errors import SuiteError

    errors = {}
    for module in pkgutil.walk_packages(experiments.__path__, "experiments."):
        for name, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if issubclass(cls, Exception) and cls.__module__.startswith("experiments."):
                errors[name] = cls
    assert {"UsageError", "ConfigError", "DataError", "ExplainError", "VerifyError", "PublishError"} <= set(errors)
    assert [name for name, cls in errors.items() if not issubclass(cls, SuiteError)] == []


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["stats", "/nonexistent"],
            "error: /nonexistent is not a directory: give a sweep directory under outputs/sweeps/ (see experiments stats --help)",
        ),
        (["audit", "--samplez", "3", "x"], "error: unrecognized arguments: --samplez (see experiments audit --help)"),
        (["report", "a", "b"], "error: unrecognized arguments: b (see experiments report --help)"),
        (["explain"], "error: the following arguments are required: run, input (see experiments explain --help)"),
        (
            ["stats", "conf"],
            "error: conf holds no sweep (no multirun.yaml, no run's metrics.json): give a sweep directory "
            "(see experiments stats --help)",
        ),
        (
            ["publish", "--page", "nope.md"],
            "error: cannot read the page nope.md: No such file or directory; give a Markdown page "
            "(default: README.md, docs/*.md)",
        ),
        (
            ["explain", "r" * 300, "x.npz"],
            f"error: {'r' * 300} is neither a run directory nor a task (add_two_numbers, dates, dense, find_max, imdb, "
            "imdb_adversary, imdb_diagnostic, imdb_jain_wallace, lstm_after, lstm_before, multidim_per_dim, multidim_shared, sequences)",
        ),
        (
            ["report", "conf"],
            f"error: {Path('conf').resolve()} holds no runs (no metrics.json): run an experiment first (make run), or name one",
        ),
        (
            ["results", "--copy-only", "--runs", "/nonexistent", "seed_000_readme"],
            "error: --runs /nonexistent: no such directory; give where the sweeps ran",
        ),
        (
            ["verify", "docs/results/seed_000_readme", "--against", "conf"],
            "error: --against conf holds no runs (no metrics.json): give the runs to compare",
        ),
        (  # the record it names is replaced whole: nothing outside docs/results/
            ["verify", "docs/results/seed_000_readme", "--record-as", "../../src"],
            "error: --record-as '../../src': give a record name (letters, digits, _ . -; not cpus itself) or "
            "cpus/LABEL; it names a directory under docs/results/ that the record replaces",
        ),
        (
            ["audit", "r" * 300],
            f"error: cannot read the run directory {'r' * 80}...: File name too long",
        ),
    ],
)
def test_each_tool_refuses_bad_arguments_in_one_line(args, line):
    done = _experiments(*args)
    assert (done.returncode, done.stderr.strip().splitlines()) == (2, [line])


def test_help_lists_the_tools_then_hydra_s_groups():
    done = subprocess.run([sys.executable, "-m", "experiments", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    from experiments.__main__ import TOOLS

    listed = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("         ")]
    assert listed == list(TOOLS)
    assert "== Configuration groups ==" in done.stdout and "task: add_two_numbers" in done.stdout


# --- Settings that would be saved and not used, or misread: refused in one line before TensorFlow ---

REFUSED = [
    # (arguments, the one line on stderr)
    (
        ["task=imdb_diagnostic", "attention=frozen_lstm", "task.frozen_runs.lstm=runs/seed=0,task.x=1"],
        "cannot read task.frozen_runs.lstm=runs/seed=0,task.x=1: a value that holds '=' goes in quotes, as "
        "\"task.frozen_runs.lstm='runs/seed=0,task.x=1'\"",
    ),
    (
        ["task=dense", "encoder=transformer"],
        "encoder 'transformer' does not apply to task 'dense' (it keeps its own model); tasks that take it: "
        "add_two_numbers, find_max, imdb, imdb_jain_wallace, sequences",
    ),
    (
        ["task=find_max", "encoder=transformer", "attention=luong"],
        "encoder=transformer brings its own attention (self-attention, attention=transformer); leave out attention=luong",
    ),
    (
        ["task=find_max", "attention=transformer"],
        "attention=transformer is the Transformer encoder's: choose it with encoder=transformer",
    ),
    (
        ["task=find_max", "encoder=transformer", "attention.layer.pooling=max"],
        "attention.layer.pooling must be one of mean, class_token, got 'max'",
    ),
    (
        ["task=imdb", "encoder=transformer", "attention.layer.heads=0"],
        "attention.layer.heads must be a positive integer, got 0",
    ),
    (
        ["task=imdb_jain_wallace", "trainer.optimizer.learning_rate=0.5"],
        "trainer.optimizer.learning_rate is not used by task 'imdb_jain_wallace', whose task.optimizer sets the "
        "optimizer; override task.optimizer.learning_rate instead",
    ),
    (
        ["task=imdb_jain_wallace", "attention.layer.units=64"],
        "attention.layer.units is not used by task 'imdb_jain_wallace', whose task.attention_layer builds the "
        "attention layer; override task.attention_layer.units instead",
    ),
    (
        ["task=dates", "attention.layer.units=3"],
        "attention.layer.units is not used by task 'dates', whose task.attention_layer builds the attention layer; "
        "override task.attention_layer instead",
    ),
    (
        ["task=dates", "task.validation_split=0.3"],
        "task.validation_split is not used by task 'dates', whose data holds its own validation set; "
        "set its size in task.data instead",
    ),
    (
        ["task=imdb_jain_wallace", "task.optimizer.learning_rate=-1.0"],
        "task.optimizer.learning_rate must be a positive finite number, got -1.0",
    ),
    (
        ["trainer.optimizer.learning_rate=inf"],
        "trainer.optimizer.learning_rate must be a positive finite number, got inf",
    ),
    (["trainer.optimizer.learning_rate=0"], "trainer.optimizer.learning_rate must be a positive finite number, got 0"),
    (
        ["+task.optimizer.learning_rate=0.1"],
        "task.optimizer must name its optimizer class in _target_, such as keras.optimizers.Adam",
    ),
    (["paths.output_dir="], "paths.output_dir is empty; give it a value, or leave it out for its default"),
    (["paths.output_dir=null"], "paths.output_dir must be a directory, got None"),
    (["paths.cache_dir="], "paths.cache_dir is empty; give it a value, or leave it out for its default"),
    (
        ["data_dir="],
        "data_dir is empty (set by the command line or by ATTENTION_DATA_DIR): give a directory holding imdb.npz "
        "and imdb_word_index.json, or unset ATTENTION_DATA_DIR for Keras' download",
    ),
    (["hydra.run.dir="], "hydra.run.dir is empty; give it a directory, or leave it out for its default"),
    (
        ["trainer.verbose=3"],
        "trainer.verbose must be auto, 0 (silent), 1 (a progress bar) or 2 (a line per epoch), got 3",
    ),
    (
        ["trainer.tensorboard=false"],
        "trainer.tensorboard is gone: choose the loggers with logger=tensorboard (the default: history.csv and "
        "TensorBoard) or logger=csv (history.csv only)",
    ),
    (
        ["+trainer.tensorboard=false"],
        "trainer.tensorboard is gone: choose the loggers with logger=tensorboard (the default: history.csv and "
        "TensorBoard) or logger=csv (history.csv only)",
    ),
    (["logger=wandb"], "unknown logger 'wandb'; accepted: csv, many, mlflow, tensorboard"),
    (
        ["+callbacks.lr={_target_: keras.callbacks.ReduceLROnPlateau, _partial_: true}"],
        "callbacks.lr is _partial_, but the runner completes only its own entries (callbacks.evaluate_each_epoch, "
        "callbacks.early_stopping, callbacks.resume, callbacks.attention_frames, logger.csv, logger.tensorboard, "
        "logger.mlflow); "
        "give a callback of your own all its arguments",
    ),
    (["+callbacks.lr=3"], "callbacks.lr must be a callback: a mapping with a _target_ (a class), got 3"),
    (["seed=1", "seed=2"], "seed is given twice (seed=1 and seed=2); give it once (-m seed=a,b sweeps both)"),
    (
        ["task=find_max", "task.model.hidden_units=3"],
        "unknown setting 'task.model.hidden_units': the config has no such key; did you mean task.model.lstm_units? "
        "(to add a new key on purpose, write +task.model.hidden_units=...)",
    ),
    (
        ["task=find_max", "task.validation_split=0"],
        "task.validation_split must be in (0, 1) for task 'find_max', whose early stopping watches val_loss, got 0",
    ),
    (["task.validation_split=abc"], "task.validation_split must be in [0, 1), got 'abc'"),
    (
        ["task=find_max", "+task.early_stopping.mode=maxx"],
        "task.early_stopping.mode must be auto, min or max, got 'maxx'",
    ),
    (
        ["task=find_max", "task.early_stopping.monitor=val_acc"],
        "task.early_stopping.monitor 'val_acc' is not logged by task 'find_max'; accepted: loss, val_loss",
    ),
    (
        ["task=find_max", "+task.early_stopping.restore_best_weights=false"],
        "task.early_stopping.restore_best_weights is not an option of early stopping (the best epoch is always "
        "restored); accepted: monitor, mode, patience, min_delta, baseline, start_from_epoch, verbose",
    ),
    (["task=find_max", "task.model.lstm_units=0"], "task.model.lstm_units must be a positive integer, got 0"),
    (["task=find_max", "attention.layer.units=0"], "attention.layer.units must be a positive integer, got 0"),
    (["task=imdb", "task.model.dropout=1.5"], "task.model.dropout must be in [0, 1), got 1.5"),
    (
        ["task.probe_samples=5000"],
        "task.probe_samples must be at most task.test_samples (1000), got 5000",
    ),
    (
        ["task=find_max", "attention.layer.score=bogus"],
        "unknown attention.layer.score 'bogus' for attention.Attention; accepted: bahdanau, cosine, dot, location, "
        "luong, scaled_dot, uniform",
    ),
    (  # a score of another layer class: AttentionPooling's tanh is not one of Attention's
        ["task=find_max", "attention.layer.score=tanh"],
        "unknown attention.layer.score 'tanh' for attention.Attention; accepted: bahdanau, cosine, dot, location, "
        "luong, scaled_dot, uniform",
    ),
    (  # a probe of its own: add_two_numbers is not bound by test_samples, find_max is
        ["task=find_max", "task.test_samples=5"],
        "task.probe_samples must be at most task.test_samples (5), got 20",
    ),
    (["task=imdb_jain_wallace", "attention.layer.units=0"], "attention.layer.units must be a positive integer, got 0"),
    (
        ["task=find_max", "attention.name=bahdanau"],
        "attention.name is the name of the attention chosen, not a choice of it; choose with attention=NAME "
        "(attention=bahdanau); accepted: bahdanau, block_2d, block_3d, block_3d_shared, cosine, dot, frozen_adversary, "
        "frozen_lstm, location, luong, none, pooling, scaled_dot, tanh, transformer, uniform",
    ),
    (
        ["tsk=dense"],
        "unknown setting 'tsk': the config has no such key; did you mean task=<add_two_numbers|dates|dense|find_max|"
        "imdb|imdb_adversary|imdb_diagnostic|imdb_jain_wallace|lstm_after|lstm_before|multidim_per_dim|multidim_shared|sequences>? "
        "(to add a new key on purpose, write +tsk=...)",
    ),
    (
        ["~seed"],
        "~seed leaves the config without seed, which every run reads; give it another value instead of removing it",
    ),
    (
        ["-m", "seed=0,1", "hydra/launcher=joblib", "hydra.launcher.n_jobs=abc"],
        "hydra.launcher.n_jobs must be a positive integer (jobs at once) or negative (-1: one per core, -2: all "
        "cores but one, ...), got 'abc'",
    ),
    (
        ["seed=99999999999999"],
        "seed must be an integer from 0 to 2**32 - 1 (or a range such as seed=0..9 with -m), got 99999999999999",
    ),
    (["+task.early_stopping.min_delta=-5"], "task.early_stopping.min_delta must be a number >= 0, got -5"),
    (["+task.early_stopping.min_delta=abc"], "task.early_stopping.min_delta must be a number >= 0, got 'abc'"),
    (
        ["task=find_max", "+task.early_stopping.start_from_epoch=xyz"],
        "task.early_stopping.start_from_epoch must be a non-negative integer, got 'xyz'",
    ),
    (
        ["task=find_max", "+task.early_stopping.baseline=high"],
        "task.early_stopping.baseline must be a number (or null), got 'high'",
    ),
    (
        ["task.samples=1"],
        "task.samples=1 with task.validation_split=0.5 leaves no training sample: give more samples",
    ),
    (  # Keras keeps floor(n·(1 - split)) for training: 9 of 10, and 1 to validate
        ["task.samples=2", "task.validation_split=0.6"],
        "task.samples=2 with task.validation_split=0.6 leaves no training sample: give more samples",
    ),
    (
        ["paths.output_dir=/tmp/ünï"],
        "cannot read paths.output_dir=/tmp/ünï: quote a value with characters other than letters, digits and "
        "_-./:, as \"paths.output_dir='/tmp/ünï'\"",
    ),
    # A task's own bounds (its about.limits), against another of its settings where it has one
    (["task=find_max", "task.data.steps=0"], "task.data.steps must be an integer >= 1, got 0"),
    (
        ["task=dense", "task.data.signal_index=50"],
        "task.data.signal_index must be an integer >= 0 and < task.data.features (32), got 50",
    ),
    (["task=dense", "task.data.features=abc"], "task.data.features must be an integer >= 2, got 'abc'"),
    (
        ["task=add_two_numbers", "task.data.probe_positions=[1,40]"],
        "each of task.data.probe_positions must be an integer >= 1 and < task.data.steps (20), got [1, 40]",
    ),
    (["task=sequences", "task.data.max_steps=0"], "task.data.max_steps must be an integer >= 1 (or null), got 0"),
    (
        ["task=sequences", "task.data.test_fraction=1.5"],
        "task.data.test_fraction must be a number > 0 and < 1, got 1.5",
    ),
    (["task=imdb_jain_wallace", "task.data.test_share=0"], "task.data.test_share must be a number > 0 and < 1, got 0"),
    (
        ["task=sequences", "task.objective=foo"],
        "task.objective must be one of auto, classification, regression, got 'foo'",
    ),
    (["task=dense", "task.audit.samples=0"], "task.audit.samples must be a positive integer, got 0"),
    (["task=dense", "+task.audit.permutations=-1"], "task.audit.permutations must be a positive integer, got -1"),
    (
        ["task=dense", "+task.audit.regression_tolerance=inf"],
        "task.audit.regression_tolerance must be a positive finite number, got inf",
    ),
    (
        ["task=dense", "+task.audit.sample=5"],
        "task.audit.sample is not a setting of the audit; accepted: at_end, samples, permutations, "
        "regression_tolerance, integrated_gradients_steps, flow_samples, flow_max_steps, adversary",
    ),
    (["task=dense", "task.audit.adversary.steps=0"], "task.audit.adversary.steps must be a positive integer, got 0"),
    (
        ["task=dense", "task.audit.adversary.tolerance=-0.1"],
        "task.audit.adversary.tolerance must be a finite number of at least 0, got -0.1",
    ),
    (
        ["task=dense", "encoder=diversity_lstm"],
        "encoder 'diversity_lstm' does not apply to task 'dense' (it keeps its own model); tasks that take it: "
        "imdb_adversary, imdb_jain_wallace",
    ),
    (
        ["task=imdb_jain_wallace", "encoder=diversity_lstm", "task.model.conicity_weight=-1"],
        "task.model.conicity_weight must be a finite number of at least 0, got -1",
    ),
    (
        ["task=dense", "+task.audit.adversary.step=5"],
        "task.audit.adversary.step is not a setting of the search; accepted: candidates, steps, learning_rate, "
        "tolerance, penalty, noise",
    ),
]


def test_settings_a_task_would_not_use_or_would_misread_are_refused_in_one_line(tmp_path):
    def attempt(case):
        args, line = case
        where = (
            []
            if any(a.startswith(("paths.output_dir=", "hydra.run.dir=")) for a in args)
            else [f"paths.output_dir={tmp_path}"]
        )
        return _experiments(*args, *where, cwd=tmp_path), line

    # The first also as a command of its own, the way a user meets it.
    _refused(_experiments_process(*REFUSED[0][0], f"paths.output_dir={tmp_path}", cwd=tmp_path), REFUSED[0][1])
    for result, line in map(attempt, REFUSED):
        _refused(result, line)
    assert not list(tmp_path.iterdir())  # nothing written: not /runs, not the launch directory


def test_a_bad_launcher_setting_leaves_the_finished_sweep_it_would_resume_unchanged(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "task=dense", "debug=smoke", "seed=0,1", "hydra/launcher=joblib", f"hydra.sweep.dir={sweep}"]
    assert _experiments(*args, "hydra.launcher.n_jobs=1").returncode == 0
    before = {p: p.read_bytes() for p in sweep.rglob("*") if p.is_file()}
    result = _experiments(*args, "hydra.launcher.n_jobs=0")
    _refused(
        result,
        "hydra.launcher.n_jobs must be a positive integer (jobs at once) or negative (-1: one per core, -2: all "
        "cores but one, ...), got 0",
    )
    assert {p: p.read_bytes() for p in sweep.rglob("*") if p.is_file()} == before  # multirun.yaml's bytes too


def test_a_run_whose_loss_turns_nan_exits_non_zero(tmp_path):
    result = _experiments(
        "task=dense", "debug=smoke", "trainer.optimizer.learning_rate=1e30", f"hydra.run.dir={tmp_path}"
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert " · failed: nan loss: the training loss became NaN in epoch 1 · " in result.stdout.splitlines()[-1]
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "failed"


def test_an_optimizer_class_that_is_not_there_is_refused_in_one_line(tmp_path):
    result = _experiments(
        "task=dense", "debug=smoke", "trainer.optimizer._target_=keras.optimizers.Adamm", f"hydra.run.dir={tmp_path}"
    )
    _refused(result, "trainer.optimizer cannot be built: Error locating target 'keras.optimizers.Adamm'")


@pytest.mark.parametrize(
    "args",
    [
        ["task=add_two_numbers", "task.test_samples=5"],  # its probe is its own, not drawn from the test set
        ["task=imdb_jain_wallace", "task.attention_layer.units=null"],  # Raffel & Ellis' score, no hidden layer
        ["-m", "experiment=imdb_jain_wallace"],  # a preset's sweep params pass as its jobs check them
    ],
)
def test_settings_the_checks_must_let_through(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    preflight(normalize_args(args))


def test_an_empty_attention_data_dir_is_named_in_the_refusal(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATTENTION_DATA_DIR", "")
    with pytest.raises(ConfigError, match=r"^data_dir is empty \(set by the command line or by ATTENTION_DATA_DIR\)"):
        preflight(["task=dense"])


def test_make_results_lets_the_user_s_setting_win_over_its_own():
    from experiments.records.results import PUBLISHED, sweep_command

    command = sweep_command(PUBLISHED["imdb_table"], "out", ["hydra.launcher.n_jobs=4", "trainer.verbose=0"])
    settings = [arg for arg in command if "=" in arg]
    assert "hydra.launcher.n_jobs=4" in settings and "hydra.launcher.n_jobs=2" not in settings
    assert "trainer.verbose=0" in settings and "trainer.verbose=2" not in settings
    assert "hydra.sweep.dir=out" in settings


def test_a_sweep_resumes_whichever_way_its_jobs_are_written_and_may_grow(tmp_path):
    """seed=0..1, seed=0,1 and seed=1,0 launch the same jobs into the same directories (the job's
    directory is its override, not its number): a resume under either is the same sweep. A sweep
    that holds every job of it and more (seed=0..3) goes on from it; one that leaves a job out, or
    adds another setting to every job, is another sweep."""
    from experiments.run.cli import _same_sweep

    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n  overrides:\n    task: [task=dense, 'seed=range(0,2)', hydra.launcher.n_jobs=1]\n"
    )
    for same in (["task=dense", "seed=0,1"], ["seed=1,0", "task=dense", "trainer.verbose=0"]):
        _same_sweep(tmp_path, same)
    _same_sweep(tmp_path, ["task=dense", "seed=range(0,4)"])
    for other in (["task=dense", "seed=0,2"], ["task=dense", "seed=0"], ["task=dense", "seed=0,1", "task.epochs=3"]):
        with pytest.raises(UsageError, match=r"already holds another sweep \(seed=range\(0,2\) task=dense\)"):
            _same_sweep(tmp_path, other)


def test_a_single_run_does_not_replace_a_completed_run_of_another_config(tmp_path):
    run_dir = tmp_path / "run"
    assert _experiments("debug=smoke", "seed=1", f"hydra.run.dir={run_dir}").returncode == 0
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    _refused(
        _experiments("debug=smoke", "seed=5", f"hydra.run.dir={run_dir}"),
        f"{run_dir} already holds a completed run of another config (task dense attention block_2d seed 1); "
        "choose another hydra.run.dir (or run_dir), or remove that run to replace it",
    )
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before
    from experiments import run_task

    with pytest.raises(UsageError, match="already holds a completed run of another config"):
        run_task("dense", seed=5, overrides=["debug=smoke"], run_dir=run_dir)
    with pytest.raises(UsageError, match=r"overrides must be a list of strings such as \['debug=smoke'\]"):
        run_task("dense", overrides="debug=smoke")
    with pytest.raises(UsageError, match=f"cannot write the outputs to {run_dir}/metrics.json: .* is a file"):
        run_task("dense", overrides=["debug=smoke"], run_dir=run_dir / "metrics.json")
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    "setting, line",
    [
        ("task.loss=nope", "task.loss: 'nope' is not a name Keras knows (see keras.losses)"),
        ("task.metrics=[nope]", "task.metrics: 'nope' is not a name Keras knows (see keras.metrics)"),
    ],
)
def test_a_loss_or_metric_keras_does_not_know_stops_the_run_in_one_line(setting, line, tmp_path):
    result = _experiments("debug=smoke", setting, f"hydra.run.dir={tmp_path}")
    _refused(result, line)
    assert not (tmp_path / "model.keras").exists()


def _figure_formats():
    from matplotlib.figure import Figure

    return Figure().canvas.get_supported_filetypes()


def test_a_cut_model_and_an_out_that_is_a_file_are_refused_in_one_line(tmp_path):
    run_dir = tmp_path / "run"
    assert _experiments("debug=smoke", f"hydra.run.dir={run_dir}").returncode == 0
    np = pytest.importorskip("numpy")
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 32)))
    (tmp_path / "a_file").write_text("")
    _refused(
        _experiments("explain", str(run_dir), str(tmp_path / "x.npz"), "--out", str(tmp_path / "a_file")),
        f"--out {tmp_path / 'a_file'}: {tmp_path / 'a_file'} is a file: give a directory for the outputs",
    )
    _refused(
        _experiments("neighbours", "attention=luong"),
        "attention=luong is not used by the nearest-neighbour baselines; accepted: seed=, task.data.*=, task.objective=, "
        "task.samples=, task.test_samples=, debug=",
    )
    _refused(
        _experiments("translate", "9 May 2018", "--out", str(tmp_path / "heat.txt")),
        f"--out {tmp_path / 'heat.txt'}: the heatmap is written as {', '.join(sorted(_figure_formats()))}; give one of them",
    )
    model = run_dir / "model.keras"
    model.write_bytes(model.read_bytes()[:2000])  # cut short, as a full disk leaves it
    for tool in (["explain", str(run_dir), str(tmp_path / "x.npz")], ["audit", str(run_dir)]):
        _refused(
            _experiments(*tool),
            f"{model} is not a whole .keras archive (cut short, or another file): train the run again",
        )


def test_a_setting_a_callback_does_not_take_is_refused_in_one_line_when_the_run_builds_it(tmp_path):
    """Which keywords a callback takes is known only when it is called, once the run has its data:
    the refusal comes then, still in one line."""
    refused = _experiments(
        "task=find_max",
        "debug=smoke",
        "+callbacks.early_stopping.bogus=1",
        f"paths.output_dir={tmp_path}",
        cwd=tmp_path,
    )
    _refused(
        refused,
        "callbacks.early_stopping cannot be built: EarlyStopping.__init__() got an unexpected keyword argument 'bogus'",
    )


def test_a_setting_on_a_callback_the_task_leaves_out_is_refused_in_one_line(tmp_path):
    """task=dense has no early stopping: a patience given to it would be ignored, so it is refused;
    the default entry's own settings (restore_best_weights) are not the user's and pass."""
    refused = _experiments(
        "task=dense", "debug=smoke", "+callbacks.early_stopping.patience=3", f"paths.output_dir={tmp_path}", cwd=tmp_path
    )  # fmt: skip
    _refused(
        refused,
        "callbacks.early_stopping.patience is set, but this run leaves callbacks.early_stopping out "
        "(it needs task.early_stopping); drop the setting, or turn the callback on",
    )
