# Every target creates .venv and installs the suite first if needed (quick once installed).
# Pass extra Hydra overrides with ARGS, e.g. make dense ARGS="seed=3 task.epochs=5".

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
EXPERIMENTS := $(PY) -m experiments
TASK ?= dense
SWEEP_SEEDS ?= 0..9

# Machines without internet use the local IMDB copy beside the checkout, when there is one;
# elsewhere Keras downloads the data (or set ATTENTION_DATA_DIR yourself).
ifneq ($(wildcard ../shared/data/imdb.npz),)
export ATTENTION_DATA_DIR ?= $(abspath ../shared/data)
endif

.DEFAULT_GOAL := help
.PHONY: help install lock run lint lint-lock format test test-durations test-fast test-backend readme sweep stats clean \
        dense lstm_before lstm_after multidim_per_dim multidim_shared \
        add_two_numbers find_max imdb imdb_quick imdb_table dates sequences neighbours translate explain bench profile report tensorboard mlflow \
        results verify publish audit docs docs-serve wheel notebook tour

help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "}; {printf "  make %-18s %s\n", $$1, $$2}'

# The exact versions of the dependencies of both distributions (the suite and its layer library,
# packages/attention) and of the test extra, with their hashes. A run records the lock's hash;
# `make install UNLOCKED=1` takes the newest versions instead. Both install editable: an edit of
# src/experiments or packages/attention/src/attention takes effect at once.
LOCK := requirements.lock
LIBRARY := packages/attention
$(INSTALLED): pyproject.toml $(LIBRARY)/pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
ifeq ($(UNLOCKED),1)
	$(PY) -m pip install --quiet -e $(LIBRARY) -e '.[test]'
else
	@# A package index that lacks a locked version (an offline mirror) falls back to the newest, loudly;
	@# each run's provenance then lists every package that departs from the lock.
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK) || { \
		echo "warning: could not install the versions locked in $(LOCK) (see above); installing the newest instead: numbers may differ from the records" >&2; \
		$(PY) -m pip install --quiet -e $(LIBRARY) -e '.[test]'; }
	$(PY) -m pip install --quiet --no-deps -e $(LIBRARY) -e .
endif
	@touch $@

install: $(INSTALLED) ## create .venv and install the suite with its test tools, at the locked versions (UNLOCKED=1: the newest)

# uv resolves for every platform and Python the suite supports (--universal), keeping the locked
# versions where they still fit; UPGRADE=1 takes the newest of everything.
lock: ## refresh requirements.lock from pyproject.toml with uv (UPGRADE=1: newest versions); then make install
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install --quiet uv
	@# The library comes from the workspace (pyproject.toml's tool.uv.sources), not from an index:
	@# the lock holds the dependencies of both, and make install installs the library from here.
	$(PY) -m uv pip compile pyproject.toml --extra test --universal --generate-hashes --quiet \
		--no-emit-package keras-attention-layers --custom-compile-command "make lock" $(if $(filter 1,$(UPGRADE)),--upgrade) -o $(LOCK)

run: $(INSTALLED) ## the default experiment: dense hello-world, attention on input index 1
	$(EXPERIMENTS) $(ARGS)

lint: $(INSTALLED) ## ruff (lint and format check), mypy (strict on the layer library), notebooks without outputs, the lock in step
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	cd $(LIBRARY) && $(abspath $(VENV))/bin/mypy
	$(PY) tools/check_notebooks.py notebooks/*.ipynb
	$(MAKE) --no-print-directory lint-lock

# The lock compiled again with its own pins kept: it differs only where a pyproject asks for what the
# lock does not hold. Offline, uv cannot resolve: the check then says so and passes.
lint-lock: $(INSTALLED) ## check that requirements.lock is in step with the pyproject files (make lock mends it)
	@cp $(LOCK) $(VENV)/lock.check
	@if $(PY) -m uv pip compile pyproject.toml --extra test --universal --generate-hashes --quiet \
		--custom-compile-command "make lock" --no-emit-package keras-attention-layers -o $(VENV)/lock.check; then \
		cmp -s $(LOCK) $(VENV)/lock.check || \
		{ echo "error: $(LOCK) is not in step with pyproject.toml: run make lock" >&2; exit 1; }; \
	else echo "warning: could not check $(LOCK) against pyproject.toml (uv could not reach the package index)" >&2; fi

format: $(INSTALLED) ## ruff: format the code and apply the linter's safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# One pytest-xdist worker per core (TEST_WORKERS=1: one process, as before); tests that need a
# resource of the machine's own (the Slurm cluster, Ray, the browser) share one group, and a group
# runs on one worker, one test at a time.
TEST_WORKERS ?= auto
PYTEST := $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup
TMP_REPORT := outputs/test-durations.xml

test: lint ## the lint, then the test suite on every core (TEST_WORKERS=N)
	$(PYTEST) $(ARGS)

test-durations: $(INSTALLED) ## measure each test once and write tests/durations.json, which starts the slowest first
	$(PYTEST) --junitxml=$(TMP_REPORT) $(ARGS); status=$$?; $(PY) tests/durations.py $(TMP_REPORT) && rm -f $(TMP_REPORT); exit $$status

test-fast: $(INSTALLED) ## the tests without the slow learning ones
	$(PYTEST) -m "not slow" $(ARGS)

test-backend: $(INSTALLED) ## the layer tests on another Keras backend: make test-backend BACKEND=torch (pip install torch into .venv first; make test installs jax)
	@test -n "$(BACKEND)" || { echo "usage: make test-backend BACKEND=jax|torch|tensorflow"; exit 2; }
	KERAS_BACKEND=$(BACKEND) $(PY) -m pytest tests/test_attention_layer.py tests/test_blocks.py tests/test_cross_attention.py tests/test_self_attention.py tests/test_transformer.py tests/test_stack_explanations.py $(ARGS)

dense: $(INSTALLED) ## dense hello-world (keras-attention-mechanism, original 000): attention peaks at input index 1
	$(EXPERIMENTS) task=dense $(ARGS)

lstm_before: $(INSTALLED) ## LSTM with attention on its inputs: peak at step 10
	$(EXPERIMENTS) task=lstm_before $(ARGS)

lstm_after: $(INSTALLED) ## LSTM with attention on its outputs: peak at or just after step 10
	$(EXPERIMENTS) task=lstm_after $(ARGS)

multidim_per_dim: $(INSTALLED) ## one attention vector per input dimension, shape (20, 2)
	$(EXPERIMENTS) task=multidim_per_dim $(ARGS)

multidim_shared: $(INSTALLED) ## one attention vector shared by the dimensions, shape (20,)
	$(EXPERIMENTS) task=multidim_shared $(ARGS)

add_two_numbers: $(INSTALLED) ## add two numbers after delimiters (bahdanau): attention on both, GIF of epochs
	$(EXPERIMENTS) task=add_two_numbers $(ARGS)

find_max: $(INSTALLED) ## find the maximum of a sequence (luong): attention argmax on the maximum
	$(EXPERIMENTS) task=find_max $(ARGS)

imdb: $(INSTALLED) ## one IMDB run, LSTM + luong attention (20-30 min on 2 CPU cores)
	$(EXPERIMENTS) task=imdb $(ARGS)

imdb_quick: $(INSTALLED) ## IMDB attention vs none, reduced: 6 short runs, a few minutes, with statistics
	$(EXPERIMENTS) experiment=imdb_quick $(ARGS)

imdb_table: $(INSTALLED) ## the full IMDB table of keras-attention (original 004), experiment=imdb_table (its runs: docs/sweeps.md; hours on CPU); resumable
	$(EXPERIMENTS) experiment=imdb_table $(ARGS)

sequences: $(INSTALLED) ## your own sequences (task.data.path=FILE.npz|.csv); default: Japanese Vowels, 9 speakers (under a minute)
	$(EXPERIMENTS) task=sequences $(ARGS)

neighbours: $(INSTALLED) ## 1-NN DTW and Euclidean baselines on the test samples of task=sequences (same ARGS; seconds)
	$(EXPERIMENTS) neighbours $(ARGS)

dates: $(INSTALLED) ## date translation (datalogue, original 003): seq2seq with attention, alignment heatmaps (about 2 min)
	$(EXPERIMENTS) task=dates $(ARGS)

translate: $(INSTALLED) ## translate TEXT="Saturday 9 May 2018" with the newest dates model (RUN=dir picks one)
	@test -n "$(TEXT)" || { echo 'usage: make translate TEXT="Saturday 9 May 2018" [RUN=outputs/runs/dates/...]'; exit 2; }
	$(EXPERIMENTS) translate "$(TEXT)" $(if $(RUN),--run "$(RUN)")

explain: $(INSTALLED) ## a trained run on new inputs: make explain RUN=<run dir or task> INPUT=<.npz|.csv|text>
	@test -n "$(RUN)" -a -n "$(INPUT)" || { echo 'usage: make explain RUN=<run directory, or a task for its newest run> INPUT=<file.npz|file.csv|"a review">'; exit 2; }
	$(EXPERIMENTS) explain "$(RUN)" "$(INPUT)" $(ARGS)

# The published attention 5.0.0 needs the legacy tf-keras, and its import name is `attention` as
# ours is: it gets a venv of its own, with the TensorFlow version of .venv.
PEER_VENV := .venv-peer
$(PEER_VENV)/.installed: $(INSTALLED)
	@test -x $(PEER_VENV)/bin/python || $(PYTHON) -m venv $(PEER_VENV)
	tf=$$($(PY) -c 'import tensorflow as tf; print(".".join(tf.__version__.split(".")[:2]))'); \
	$(PEER_VENV)/bin/python -m pip install --quiet "tensorflow==$$tf.*" "tf-keras==$$tf.*" "attention==5.0.0"
	@touch $@

bench: $(INSTALLED) $(PEER_VENV)/.installed ## speed: ours vs the floor, Keras' layers, attention 5.0.0, each backend; joblib sweep (about 10 min)
	$(PY) benchmarks/bench.py --peer-python $(PEER_VENV)/bin/python $(ARGS)

profile: $(INSTALLED) ## where a training step's time goes, kernel by kernel (TensorFlow's profiler; a few minutes)
	$(PY) benchmarks/profile_step.py $(ARGS)

TENSORBOARD_PORT ?= 6006
tensorboard: $(INSTALLED) ## TensorBoard over every run under outputs/, served on 127.0.0.1 only (TENSORBOARD_PORT=6006)
	$(VENV)/bin/tensorboard --logdir outputs --host 127.0.0.1 --port $(TENSORBOARD_PORT)

MLFLOW_PORT ?= 5000
MLFLOW_DB ?= outputs/mlflow.db
mlflow: $(INSTALLED) ## the MLflow UI over the runs logged with logger=mlflow (outputs/mlflow.db), served on 127.0.0.1 only (MLFLOW_PORT=5000)
	@test -f $(MLFLOW_DB) || { echo "error: no $(MLFLOW_DB): log runs first, e.g. python -m experiments task=find_max logger=mlflow -m seed=0..2" >&2; exit 2; }
	$(VENV)/bin/mlflow server --backend-store-uri sqlite:///$(abspath $(MLFLOW_DB)) --host 127.0.0.1 --port $(MLFLOW_PORT) --workers 1

report: $(INSTALLED) ## one HTML page of every run and sweep under outputs/: outputs/report/index.html
	$(EXPERIMENTS) report $(ARGS)

audit: $(INSTALLED) ## is the attention faithful? audit trained runs: make audit RUN="outputs/runs/..." [ARGS="--samples 100"]
	@test -n "$(RUN)" || { echo "usage: make audit RUN=<run directory> [ARGS=\"--samples N --permutations N | --measure NAME\"]"; exit 2; }
	$(EXPERIMENTS) audit $(RUN) $(ARGS)

stats: $(INSTALLED) ## the statistics of a sweep again: make stats SWEEP=outputs/sweeps/<dir>
	@test -n "$(SWEEP)" || { echo "usage: make stats SWEEP=outputs/sweeps/<dir>"; exit 2; }
	$(EXPERIMENTS) stats $(SWEEP)

readme: $(INSTALLED) ## all five experiments of the keras-attention-mechanism README, as one sweep
	$(EXPERIMENTS) experiment=seed_000_readme $(ARGS)

sweep: $(INSTALLED) ## TASK over seeds SWEEP_SEEDS (default dense, 0..9): make sweep TASK=lstm_before
	$(EXPERIMENTS) task=$(TASK) -m seed=$(SWEEP_SEEDS) $(ARGS)

# --- Published results: docs/results/ and the README's tables -------------------------------------
RESULTS_RUNS ?= outputs/results
# The benchmark compares with the published package, which needs its own venv.
RESULTS_NEED_PEER := $(if $(ONLY),$(filter bench,$(ONLY)),all)

results: $(INSTALLED) $(if $(RESULTS_NEED_PEER),$(PEER_VENV)/.installed) ## run every published experiment (resumable) into docs/results/, then the README's tables: make results ONLY=imdb_table
	$(EXPERIMENTS) results $(ONLY) --runs $(RESULTS_RUNS) $(ARGS)
	$(EXPERIMENTS) publish

verify: $(INSTALLED) ## run recorded jobs again and compare: make verify RECORD=docs/results/seed_000_readme [ARGS="--seed 0 --attention luong"]
	@test -n "$(RECORD)" || { echo "usage: make verify RECORD=docs/results/<name> [ARGS=\"--jobs N | --seed S --attention A | --all | --against DIR | --record-as cpus/LABEL\"]"; exit 2; }
	$(EXPERIMENTS) verify $(RECORD) $(ARGS)

publish: $(INSTALLED) ## write the result tables of the README and the docs pages from docs/results/ (ARGS=--check: only compare)
	$(EXPERIMENTS) publish $(ARGS)

# The docs site (mkdocs.yml): the pages under docs/ and the API reference of `attention`. MkDocs
# is quiet about its own 2.0 here: the suite pins MkDocs below 2 (pyproject.toml).
MKDOCS := NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs
DOCS_PORT ?= 8000
docs: $(INSTALLED) ## build the docs site into site/ (strict: a broken link or reference fails it)
	$(MKDOCS) build --strict
	@echo "open site/index.html, or serve it: make docs-serve"

# JupyterLab is not in the lock (the tests run the tour with nbclient): installed on first use.
notebook: $(INSTALLED) ## open the notebook tour (notebooks/tour.ipynb) in JupyterLab on 127.0.0.1 (installs JupyterLab on first use)
	@$(PY) -c "import jupyterlab" 2>/dev/null || $(PY) -m pip install --quiet jupyterlab
	@# As root (a container, say) JupyterLab refuses to start unless told.
	cd notebooks && $(abspath $(VENV))/bin/jupyter lab --ip 127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root) tour.ipynb

tour: $(INSTALLED) ## execute the notebook tour at its laptop size into docs/tour.ipynb, the copy the docs site shows (TOUR_SIZE=tiny|laptop|full; about 15 min)
	$(PY) tools/execute_tour.py --size $(or $(TOUR_SIZE),laptop)

wheel: $(INSTALLED) ## the two wheels: the layer library alone (Keras and NumPy) and the suite, which depends on it: dist/*.whl
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation $(LIBRARY) . -w dist
	@ls dist/keras_attention_layers-*.whl dist/keras_attention_suite-*.whl

docs-serve: $(INSTALLED) ## serve the docs site on http://127.0.0.1:8000, rebuilt on each change (DOCS_PORT=N)
	$(MKDOCS) serve --strict --dev-addr 127.0.0.1:$(DOCS_PORT)

clean: ## remove outputs/ (run results)
	rm -rf outputs
