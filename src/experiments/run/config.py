"""Checks of a composed config that must pass before any data is made or any model trained."""

import hashlib
import json
import math
import operator
import os
import re
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from omegaconf import OmegaConf

from experiments.run.errors import ConfigError
from experiments.run.files import CONFIG_DIR
from experiments.run.plots import FIGURES  # matplotlib only: still no TensorFlow
from experiments.run.run_callbacks import check_entries
from experiments.run.threads import threads_per_job

# Settings that moved, and where to: refused with the way to say it now.
MOVED_KEYS = {
    "trainer.tensorboard": "choose the loggers with logger=tensorboard (the default: history.csv and TensorBoard) "
    "or logger=csv (history.csv only)",
}


# More config directories, laid out as conf/ is (task/, attention/, experiment/): a user's own
# tasks and variants, beside the suite's. Separated as PATH is; their modules on PYTHONPATH.
CONFIG_PATH = "EXPERIMENTS_CONFIG_PATH"


def config_dirs():
    """The suite's conf/, then every directory that EXPERIMENTS_CONFIG_PATH names."""
    extra = [Path(p).resolve() for p in os.environ.get(CONFIG_PATH, "").split(os.pathsep) if p.strip()]
    return [CONFIG_DIR, *(d for d in extra if d != CONFIG_DIR)]


def searchpath_overrides():
    """The Hydra override that adds EXPERIMENTS_CONFIG_PATH's directories to its search path, if any."""
    extra = config_dirs()[1:]
    return [f"hydra.searchpath=[{','.join(d.as_uri() for d in extra)}]"] if extra else []


def group_files(group, config_dir=None):
    """{option: its YAML} of a config group: in `config_dir` alone where given, else in every
    config directory (the suite's own first, as Hydra finds them)."""
    found = {}
    for directory in [config_dir] if config_dir is not None else config_dirs():
        for path in sorted((Path(directory) / group).glob("*.yaml")):
            found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def _whole_number(value, at_least):
    return isinstance(value, int) and not isinstance(value, bool) and value >= at_least


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _variants(config_dir=None):
    """{attention variant: its YAML}, by name."""
    return {name: OmegaConf.load(path) for name, path in group_files("attention", config_dir).items()}


def _family(variants, family):
    return [name for name, variant in variants.items() if variant.get("family") == family]


def attention_family(family, config_dir=None):
    """The variants of `family` (`family: <name>` in their own YAML; `scores`: every learned score
    function of `attention.Attention`), by name. A new score's YAML joins its family, and every
    task and sweep that names the family has it."""
    return _family(_variants(config_dir), family)


def accepted_attentions(task_attentions, config_dir=None):
    """The variants a task accepts: those it lists (`task.attentions`: variants, or families of
    them such as `scores`), and every baseline variant (`applies_like: <variant or family>` in its
    own YAML, such as `uniform`) that applies like one of them."""
    variants = _variants(config_dir)  # read once: validate runs for every job of a sweep
    accepted = []
    for entry in task_attentions:
        accepted += [entry] if entry in variants else _family(variants, entry)
    for name, variant in variants.items():
        applies_like = variant.get("applies_like")
        applies = applies_like is not None and (applies_like in accepted or applies_like in task_attentions)
        if applies and name not in accepted:
            accepted.append(name)
    return accepted


# `attention: ${attention_family:scores}` in a sweep's params: every variant of the family, as
# Hydra's comma-separated choices.
OmegaConf.register_new_resolver("attention_family", lambda family: ",".join(attention_family(family)), replace=True)
# `${plus:${task.data.max_words},2}`: a size that another setting decides (the longest review and its two marks).
OmegaConf.register_new_resolver("plus", lambda a, b: a + b, replace=True)


def compose(overrides, hydra=False):
    """The suite's config composed from `overrides`, as the command line would (not validated);
    `hydra`: with Hydra's own part (`hydra.run.dir`, ...)."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return hydra_compose(
            config_name="config", overrides=[*searchpath_overrides(), *overrides], return_hydra_config=hydra
        )


def validate(cfg, overrides=()):
    """Raises ConfigError naming what is wrong and what is accepted; `overrides`: the command line's,
    refused where the chosen task replaces the setting they change."""
    if not (_whole_number(cfg.seed, 0) and cfg.seed < 2**32):  # NumPy's and TensorFlow's seeds are 32-bit
        raise ConfigError(
            f"seed must be an integer from 0 to 2**32 - 1 (or a range such as seed=0..9 with -m), got {cfg.seed!r}"
        )
    accepted = accepted_attentions(cfg.task.attentions)
    if not _check_encoder(cfg) and cfg.attention.name not in accepted:
        raise ConfigError(
            f"attention '{cfg.attention.name}' does not apply to task '{cfg.task.name}'; "
            f"accepted: {', '.join(accepted)}"
        )
    for key in ("samples", "test_samples", "probe_samples", "epochs", "batch_size"):
        if not _whole_number(cfg.task[key], 1):
            raise ConfigError(f"task.{key} must be a positive integer, got {cfg.task[key]!r}")
    split = cfg.task.get("validation_split", 0.0)  # a task whose data holds its validation set has none
    if not (_number(split) and 0.0 <= split < 1.0):
        raise ConfigError(f"task.validation_split must be in [0, 1), got {split!r}")
    # Keras keeps the first floor(n·(1 - split)) samples for training: both parts need one at least.
    kept = math.floor(cfg.task.samples * (1 - split))
    if split > 0 and not (cfg.task.get("about") or {}).get("own_validation") and not 0 < kept < cfg.task.samples:
        raise ConfigError(
            f"task.samples={cfg.task.samples} with task.validation_split={split} leaves "
            f"{'no validation' if kept == cfg.task.samples else 'no training'} sample: give more samples"
        )
    try:
        threads_per_job(cfg.trainer.get("threads", "auto"), launcher=None)
    except ValueError as error:
        raise ConfigError(error) from None
    _check_trainer(cfg)
    check_entries(cfg)
    for key, value in (cfg.get("paths") or {}).items():
        if not isinstance(value, str):  # null would be the directory None/
            raise ConfigError(f"paths.{key} must be a directory, got {value!r}")
    _check_empty(OmegaConf.to_container(cfg, resolve=True))
    _check_early_stopping(cfg.task)
    _check_validation(cfg.task)
    _check_score(cfg.attention)
    buckets = cfg.task.get("length_buckets")
    if buckets not in (None, "pre", "post"):
        raise ConfigError(f"task.length_buckets must be null, pre or post (the side of the padding), got {buckets!r}")
    for name in [*cfg.task.plots, *([cfg.task.epoch_figure] if cfg.task.get("epoch_figure") else [])]:
        if name not in FIGURES:
            raise ConfigError(f"unknown figure '{name}' in task.plots; accepted: {', '.join(FIGURES)}")
    # The probe is drawn from the test set, unless the task makes its own (about.own_probe).
    own_probe = (cfg.task.get("about") or {}).get("own_probe")
    if not own_probe and cfg.task.probe_samples > cfg.task.test_samples:
        raise ConfigError(
            f"task.probe_samples must be at most task.test_samples ({cfg.task.test_samples}), "
            f"got {cfg.task.probe_samples}"
        )
    _check_sizes(cfg)
    _check_limits(cfg.task)
    _check_audit(cfg.task)
    for key in overrides:
        _check_not_shadowed(cfg, key.split("=", 1)[0].lstrip("+~"))


def _check_score(attention):
    """The score names of the variants' YAMLs that build the same layer class (every score of the
    library has its variant): Attention's scores are not AttentionPooling's."""
    layer = attention.get("layer") or {}
    score = layer.get("score")
    scores = sorted(
        {
            v.layer.score
            for v in _variants().values()
            if "score" in (v.get("layer") or {}) and v.layer.get("_target_") == layer.get("_target_")
        }
    )
    if score is not None and score not in scores:
        raise ConfigError(
            f"unknown attention.layer.score '{score}' for {layer.get('_target_')}; accepted: {', '.join(scores) or 'none'}"
        )


OPTIMIZERS = ("trainer.optimizer", "task.optimizer")  # where a task has one, it replaces the trainer's
VERBOSE = ("auto", 0, 1, 2)


def _check_trainer(cfg):
    for key in OPTIMIZERS:
        optimizer = OmegaConf.select(cfg, key)
        if optimizer is None:
            continue
        if not OmegaConf.is_dict(optimizer) or not optimizer.get("_target_"):
            raise ConfigError(f"{key} must name its optimizer class in _target_, such as keras.optimizers.Adam")
        rate = optimizer.get("learning_rate")
        if rate is not None and not (_number(rate) and 0 < rate < math.inf):
            raise ConfigError(f"{key}.learning_rate must be a positive finite number, got {rate!r}")
    if cfg.trainer.get("verbose", "auto") not in VERBOSE or isinstance(cfg.trainer.get("verbose"), bool):
        raise ConfigError(
            f"trainer.verbose must be auto, 0 (silent), 1 (a progress bar) or 2 (a line per epoch), "
            f"got {cfg.trainer.verbose!r}"
        )
    for key, instead in MOVED_KEYS.items():
        if OmegaConf.select(cfg, key) is not None:
            raise ConfigError(f"{key} is gone: {instead}")


def _check_empty(node, prefix=""):
    """An empty string is read as a place or a name that is not there (paths.output_dir= writes
    to /runs): refused wherever it stands."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        where = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, str) and not value.strip():
            if where == "data_dir":  # where the command line leaves it out, it is ATTENTION_DATA_DIR's
                raise ConfigError(
                    "data_dir is empty (set by the command line or by ATTENTION_DATA_DIR): give a directory "
                    "holding imdb.npz and imdb_word_index.json, or unset ATTENTION_DATA_DIR for Keras' download"
                )
            raise ConfigError(f"{where} is empty; give it a value, or leave it out for its default")
        _check_empty(value, where)


# EarlyStopping's own options; the runner sets restore_best_weights (a run keeps its best epoch).
EARLY_STOPPING = ("monitor", "mode", "patience", "min_delta", "baseline", "start_from_epoch", "verbose")


def _check_early_stopping(task):
    options = task.get("early_stopping")
    if not options:
        return
    for key in options:
        if key not in EARLY_STOPPING:
            raise ConfigError(
                f"task.early_stopping.{key} is not an option of early stopping (the best epoch is always "
                f"restored); accepted: {', '.join(EARLY_STOPPING)}"
            )
    if options.get("mode", "auto") not in ("auto", "min", "max"):
        raise ConfigError(f"task.early_stopping.mode must be auto, min or max, got {options.mode!r}")
    if not _whole_number(options.get("patience", 0), 0):
        raise ConfigError(f"task.early_stopping.patience must be a non-negative integer, got {options.patience!r}")
    if not _whole_number(options.get("start_from_epoch", 0), 0):
        raise ConfigError(
            f"task.early_stopping.start_from_epoch must be a non-negative integer, got {options.start_from_epoch!r}"
        )
    min_delta = options.get("min_delta", 0)
    if not (_number(min_delta) and 0 <= min_delta < math.inf):  # Keras would take |min_delta|
        raise ConfigError(f"task.early_stopping.min_delta must be a number >= 0, got {min_delta!r}")
    baseline = options.get("baseline")
    if baseline is not None and not (_number(baseline) and math.isfinite(baseline)):
        raise ConfigError(f"task.early_stopping.baseline must be a number (or null), got {baseline!r}")
    monitor = options.get("monitor", "val_loss")
    metrics = list(task.get("metrics") or [])
    if task.get("loss") is None or not all(isinstance(m, str) for m in metrics):
        return  # the task decides its metrics from its data: Keras names them
    names = ["loss", *metrics]
    accepted = [*names, *(f"val_{name}" for name in names)]
    if monitor not in accepted:
        raise ConfigError(
            f"task.early_stopping.monitor '{monitor}' is not logged by task '{task.name}'; accepted: "
            f"{', '.join(accepted)}"
        )


def _check_validation(task):
    """Early stopping on a validation metric needs validation rows: the task's own, or
    task.validation_split of the training rows."""
    monitor = str((task.get("early_stopping") or {}).get("monitor", ""))
    own = (task.get("about") or {}).get("own_validation")
    split = task.get("validation_split", 0.0)
    if monitor.startswith("val_") and not own and not split > 0:
        raise ConfigError(
            f"task.validation_split must be in (0, 1) for task '{task.name}', whose early stopping watches "
            f"{monitor}, got {split!r}"
        )


def _check_sizes(cfg):
    """Sizes (units, dimensions) and dropout rates of the model and its attention layer, which Keras
    would refuse deep in the model's building, abort on (units=0), or not refuse at all."""
    for where in ("task.model", "attention.layer", "task.attention_layer"):
        for key, value in (OmegaConf.select(cfg, where) or {}).items():
            # units=None is a layer's own choice (AttentionPooling: Raffel & Ellis' score without a hidden layer).
            if (
                key.endswith(("units", "_dim"))
                and not (value is None and key == "units")
                and not _whole_number(value, 1)
            ):
                raise ConfigError(f"{where}.{key} must be a positive integer, got {value!r}")
            if "dropout" in key and not (_number(value) and 0 <= value < 1):
                raise ConfigError(f"{where}.{key} must be in [0, 1), got {value!r}")


# A task's own bounds on its settings, in its YAML's `about.limits` (`data.steps: {min: 1}`): each
# bound a number or another key of the task; `real: true` for any finite number, else an integer;
# `optional: true` lets it be null; a list's every item is checked (`count: 2`: and there are two);
# `one_of: [a, b]` for a word.
BOUNDS = {
    "min": (">=", operator.ge),
    "above": (">", operator.gt),
    "max": ("<=", operator.le),
    "below": ("<", operator.lt),
}
LIMIT_KEYS = (*BOUNDS, "real", "optional", "one_of", "count")


def _check_limits(task):
    for key, limit in ((task.get("about") or {}).get("limits") or {}).items():
        unknown = sorted(set(limit) - set(LIMIT_KEYS))
        if unknown:  # a task author's slip, not a user's
            raise ConfigError(
                f"task.about.limits.{key}: unknown {', '.join(unknown)}; accepted: {', '.join(LIMIT_KEYS)}"
            )
        value = OmegaConf.select(task, key)
        if value is None and limit.get("optional"):
            continue
        if "one_of" in limit:  # a word of a few
            if value not in limit.one_of:
                raise ConfigError(f"task.{key} must be one of {', '.join(map(str, limit.one_of))}, got {value!r}")
            continue
        bounds = {name: _bound(task, limit[name]) for name in BOUNDS if name in limit}

        def fits(item, limit=limit, bounds=bounds):
            kind_fits = _number(item) and math.isfinite(item) if limit.get("real") else _whole_number(item, -math.inf)
            return kind_fits and all(BOUNDS[name][1](item, bound) for name, (bound, _) in bounds.items())

        items = list(value) if OmegaConf.is_list(value) else [value]
        if "count" in limit and len(items) != limit["count"]:
            raise ConfigError(f"task.{key} must be a list of {limit['count']}, got {value!r}")
        if not all(fits(item) for item in items):
            wanted = " and ".join(f"{BOUNDS[name][0]} {shown}" for name, (_, shown) in bounds.items())
            wanted = f"{'a number' if limit.get('real') else 'an integer'} {wanted}".rstrip()
            wanted += " (or null)" if limit.get("optional") else ""
            got = items if OmegaConf.is_list(value) else value
            raise ConfigError(
                f"{'each of ' if OmegaConf.is_list(value) else ''}task.{key} must be {wanted}, got {got!r}"
            )


def _bound(task, bound):
    """(value, as shown): a number, or another setting of the task named by its key."""
    if isinstance(bound, str):
        value = OmegaConf.select(task, bound)
        return (value if _number(value) else math.nan), f"task.{bound} ({value})"
    return bound, str(bound)


# The faithfulness audit's settings: how many test samples, permutations per sample, and (for a
# regression) the change in the output that counts as a changed decision; for the audit of a stack
# (encoder=transformer), the steps of integrated gradients, how many samples attention flow explains
# (one max-flow per input step and sample) and up to how many steps it tries at all; and the search
# for adversarial attention (conf/audit/default.yaml).
AUDIT_KEYS = (
    "at_end",
    "samples",
    "permutations",
    "regression_tolerance",
    "integrated_gradients_steps",
    "flow_samples",
    "flow_max_steps",
    "adversary",
)
# The search's settings (`attention.audit.AdversarySearch`): counts, then numbers of at least 0.
ADVERSARY_COUNTS = ("candidates", "steps")
ADVERSARY_NUMBERS = ("learning_rate", "tolerance", "penalty", "noise")


def _check_audit(task):
    audit = task.get("audit") or {}
    for key in audit:
        if key not in AUDIT_KEYS:
            raise ConfigError(f"task.audit.{key} is not a setting of the audit; accepted: {', '.join(AUDIT_KEYS)}")
    for key in ("samples", "permutations", "integrated_gradients_steps", "flow_samples", "flow_max_steps"):
        if key in audit and not _whole_number(audit[key], 1):
            raise ConfigError(f"task.audit.{key} must be a positive integer, got {audit[key]!r}")
    tolerance = audit.get("regression_tolerance", 0.1)
    if not (_number(tolerance) and 0 < tolerance < math.inf):
        raise ConfigError(f"task.audit.regression_tolerance must be a positive finite number, got {tolerance!r}")
    if not isinstance(audit.get("at_end", False), bool):
        raise ConfigError(f"task.audit.at_end must be true or false, got {audit.at_end!r}")
    check_adversary(audit.get("adversary"))


def check_adversary(adversary):
    """Raises ConfigError where `task.audit.adversary` (None: the defaults) holds an unknown key or a
    bad value."""
    if adversary is None:
        return
    if not OmegaConf.is_dict(adversary):
        raise ConfigError(f"task.audit.adversary must hold the search's settings, got {adversary!r}")
    accepted = (*ADVERSARY_COUNTS, *ADVERSARY_NUMBERS)
    for key, value in adversary.items():
        if key not in accepted:
            raise ConfigError(
                f"task.audit.adversary.{key} is not a setting of the search; accepted: {', '.join(accepted)}"
            )
        if key in ADVERSARY_COUNTS and not _whole_number(value, 1):
            raise ConfigError(f"task.audit.adversary.{key} must be a positive integer, got {value!r}")
        if key in ADVERSARY_NUMBERS and not (_number(value) and 0 <= value < math.inf):
            raise ConfigError(f"task.audit.adversary.{key} must be a finite number of at least 0, got {value!r}")


def _attention_layer_reads(cfg):
    """The keys of attention.layer that task.attention_layer takes over (${attention.layer.score})."""
    raw = OmegaConf.to_yaml(cfg.task.attention_layer, resolve=False)
    return set(re.findall(r"\$\{attention\.layer\.([\w.]+)\}", raw))


def _instead(node, where, rest):
    """The setting of the task's own node that counts in place of `rest` (the node, where it has none)."""
    return f"{where}.{rest}" if rest and OmegaConf.select(node, rest) is not None else where


def _check_not_shadowed(cfg, key):
    """A setting given on the command line that the chosen task replaces with one of its own would
    be saved in the run's config and not used: refused, naming the one that counts."""
    task = cfg.task.name

    def under(prefix):
        return key == prefix or key.startswith(prefix + ".")

    rest = key.partition(".")[2].partition(".")[2]  # trainer.optimizer.learning_rate -> learning_rate
    if under("trainer.optimizer") and cfg.task.get("optimizer") is not None:
        instead = _instead(cfg.task.optimizer, "task.optimizer", rest)
        raise ConfigError(
            f"{key} is not used by task '{task}', whose task.optimizer sets the optimizer; override {instead} instead"
        )
    if under("attention.layer") and cfg.task.get("attention_layer") is not None:
        if rest not in _attention_layer_reads(cfg):
            instead = _instead(cfg.task.attention_layer, "task.attention_layer", rest)
            raise ConfigError(
                f"{key} is not used by task '{task}', whose task.attention_layer builds the attention layer; "
                f"override {instead} instead"
            )
    if under("task.validation_split") and (cfg.task.get("about") or {}).get("own_validation"):
        raise ConfigError(
            f"{key} is not used by task '{task}', whose data holds its own validation set; "
            f"set its size in task.data instead"
        )


def attends_by_stack(cfg):
    """Whether the run's attention is a stack of self-attention layers (encoder=transformer)."""
    return cfg.attention.get("family") == "stack"


def _check_encoder(cfg):
    """encoder=transformer takes the place of the LSTM and its attention: the task must take it
    (`about.encoders`), and its attention is the encoder's own (attention=transformer, chosen with
    it); encoder=diversity_lstm keeps the task's LSTM and penalises the conicity of its states.
    Returns whether the run is a stack's, whose variant the task's `attentions` do not list."""
    encoder = (cfg.get("encoder") or {}).get("name", "lstm")
    stack = attends_by_stack(cfg)
    if encoder == "lstm" and not stack:
        return False
    wanted = "transformer" if stack else encoder
    if wanted not in (cfg.task.get("about") or {}).get("encoders", ["lstm"]):
        takes = ", ".join(
            name
            for name, path in group_files("task").items()
            if wanted in (OmegaConf.load(path).get("about") or {}).get("encoders", [])
        )
        raise ConfigError(
            f"encoder '{wanted}' does not apply to task '{cfg.task.name}' (it keeps its own model); "
            f"tasks that take it: {takes}"
        )
    if encoder == "diversity_lstm" and not stack:  # the task's own LSTM, with the conicity penalty
        weight = cfg.task.model.get("conicity_weight")
        if not (_number(weight) and 0 <= weight < math.inf):
            raise ConfigError(f"task.model.conicity_weight must be a finite number of at least 0, got {weight!r}")
        return False
    if encoder != "transformer":
        raise ConfigError(
            f"attention={cfg.attention.name} is the Transformer encoder's: choose it with encoder=transformer"
        )
    if not stack:
        raise ConfigError(
            f"encoder=transformer brings its own attention (self-attention, attention=transformer); "
            f"leave out attention={cfg.attention.name}"
        )
    # Its sizes, checked before TensorFlow starts (the layer checks them again when it is made).
    layer = cfg.attention.layer
    for key in ("model_dim", "heads", "key_dim", "feed_forward", "layers"):
        if not _whole_number(layer.get(key), 1):
            raise ConfigError(f"attention.layer.{key} must be a positive integer, got {layer.get(key)!r}")
    if not (_number(layer.get("dropout")) and 0 <= layer.dropout < 1):
        raise ConfigError(f"attention.layer.dropout must be in [0, 1), got {layer.get('dropout')!r}")
    if layer.get("pooling") not in ("mean", "class_token"):
        raise ConfigError(f"attention.layer.pooling must be one of mean, class_token, got {layer.get('pooling')!r}")
    return True


# Left out of the fingerprint: where files are, not what they hold (the same run from another
# checkout or data copy is the same run); the audit's settings, which act after training; what
# the task says of itself; which variants it accepts, and which family a variant is of; and the
# records a preset publishes (`publish:`, read by `make results`).
IGNORED_KEYS = (
    "data_dir",
    "paths",
    "task.data.dir",
    "task.data.cache_dir",
    "task.audit",
    "task.about",
    "task.attentions",
    "attention.family",
    "publish",
)
# Options added after runs were recorded, left out while they hold the value that reproduces those
# runs, so that the runs still count as this config's (a sweep resumes, `verify` finds them).
ADDED_LATER = {
    "task.model.mask_zero": False,
    "task.length_buckets": None,
    "encoder": {"name": "lstm"},
    "attention.layer.max_steps": None,  # the Transformer's, for inputs of any length
    "task.model.attend_marks": True,  # imdb_jain_wallace: false masks <sos> and <eos> out of the attention
}
# callbacks=default, as a run's config holds it.
DEFAULT_CALLBACKS = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "callbacks" / "default.yaml"), resolve=True)
# Keys that counted once and were left out later: a run recorded while they counted is still this
# config's when the fingerprint that keeps them matches (`same_config`).
LEFT_OUT_LATER = ("task.attentions",)


def config_fingerprint(cfg, keep=()):
    """A hash of everything that decides a run's numbers (the config without Hydra's own part);
    `keep`: ignored keys to hash all the same (a fingerprint as it was made before they left it)."""
    settings = OmegaConf.to_container(cfg, resolve=True)
    settings.pop("hydra", None)
    for key in (*(k for k in IGNORED_KEYS if k not in keep), *ADDED_LATER):
        *parents, leaf = key.split(".")
        node = settings
        for parent in parents:
            node = node.get(parent) or {}
        if key in IGNORED_KEYS or node.get(leaf, object()) == ADDED_LATER[key]:
            node.pop(leaf, None)
    trainer = settings.get("trainer", {})
    trainer.pop("verbose", None)  # how much it prints changes no number
    trainer.pop("threads", None)  # nor, with deterministic ops, how many threads compute it (tested)
    settings.pop("logger", None)  # nor where its epochs are logged (tested)
    # The callbacks every run has always had change no fingerprint: the records made before the
    # callbacks/ group still count. One added, dropped or changed does.
    if settings.get("callbacks") == DEFAULT_CALLBACKS:
        settings.pop("callbacks")
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def same_config(cfg, recorded):
    """Whether `recorded` (a run's `config` in metrics.json) is the fingerprint of `cfg`: today's,
    or as it was made before LEFT_OUT_LATER left it."""
    return recorded is not None and recorded in (config_fingerprint(cfg), config_fingerprint(cfg, keep=LEFT_OUT_LATER))
