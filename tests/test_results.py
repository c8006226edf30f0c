"""Published results: provenance in every run, the committed records, the README rendered from
them, `verify` reproducing a record, and `make results` resuming from a record."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import experiments_in_process
from experiments.records import publish, results, verify
from experiments.run import provenance
from experiments.run.files import RunDir

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "docs" / "results"
EXPERIMENTS = [sys.executable, "-m", "experiments"]


def _smoke_record(tmp_path, *overrides):
    """A small sweep run as users run one (by the command's main, in this process), and its record
    made as `make results` makes it."""
    sweep = tmp_path / "sweep"
    done = experiments_in_process("-m", "debug=smoke", *overrides, f"hydra.sweep.dir={sweep}")
    assert done.returncode == 0, done.stderr[-2000:]
    results.copy_record(sweep, tmp_path / "record", figures=("*/*/*/attention_bar.png",))
    return sweep, tmp_path / "record"


# --- provenance ----------------------------------------------------------------------------------


def test_a_fresh_run_records_its_provenance(compose_config, tmp_path):
    from experiments.run.runner import run

    metrics = run(compose_config("task=dense", "debug=smoke"), tmp_path / "run")
    recorded = json.loads((tmp_path / "run" / "metrics.json").read_text())["provenance"]
    assert recorded == metrics["provenance"]
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:  # a git checkout: the record names its commit
        assert recorded["commit"] == head.stdout.strip()
        assert isinstance(recorded["dirty"], bool)
    import keras
    import numpy as np

    assert recorded["packages"]["keras"] == keras.__version__ and recorded["packages"]["numpy"] == np.__version__
    assert recorded["packages"]["tensorflow"] and recorded["packages"]["hydra-core"]
    assert recorded["backend"] == keras.backend.backend() and recorded["cores"] >= 1 and recorded["cpu"]
    assert recorded["python"] and recorded["os"] and recorded["started"].endswith("+00:00")


def test_a_dirty_work_tree_is_flagged(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args):
        subprocess.run(
            ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    (repo / "runner.py").write_text("x = 1\n")
    git("add", ".")
    git("commit", "-qm", "first")
    monkeypatch.setattr(provenance, "SUITE_ROOT", repo)
    clean = provenance.code_version()
    assert clean["dirty"] is False and re.fullmatch(r"[0-9a-f]{40}", clean["commit"])
    (repo / "runner.py").write_text("x = 2\n")
    assert provenance.code_version() == {"commit": clean["commit"], "dirty": True}
    monkeypatch.setattr(provenance, "SUITE_ROOT", tmp_path / "not-a-checkout")
    assert provenance.code_version() == {"commit": None, "dirty": None}


def test_the_fingerprint_ignores_where_files_are_but_not_what_decides_numbers(compose_config):
    from experiments.run.config import config_fingerprint

    base = config_fingerprint(compose_config("task=imdb"))
    assert config_fingerprint(compose_config("task=imdb", "data_dir=/elsewhere", "paths.output_dir=/tmp/x")) == base
    assert config_fingerprint(compose_config("task=imdb", "task.data.num_words=4000")) != base
    # The audit acts after training; mask_zero=false is the model the records were made with.
    assert config_fingerprint(compose_config("task=imdb", "task.audit.samples=7", "task.audit.at_end=true")) == base
    assert config_fingerprint(compose_config("task=imdb", "task.model.mask_zero=true")) != base
    # Which variants a task accepts, and what it says of itself, decide no number.
    assert config_fingerprint(compose_config("task=imdb", "task.attentions=[luong]", "task.about.order=1")) == base
    # Nor which records a preset publishes.
    assert config_fingerprint(compose_config("task=imdb", "+publish.mine.order=1")) == base


def test_the_published_experiments_are_what_the_presets_declare(tmp_path):
    (tmp_path / "later.yaml").write_text("# @package _global_\npublish:\n  later: {order: 20}\n")
    (tmp_path / "first.yaml").write_text(
        "# @package _global_\npublish:\n  first:\n    order: 10\n    figures: ['*/x.png']\n"
        "  first_again:\n    order: 30\n    environments: {avx2: {ONEDNN_MAX_CPU_ISA: AVX2}}\n"
    )
    (tmp_path / "unpublished.yaml").write_text("# @package _global_\nseed: 3\n")
    published = results.published_experiments(tmp_path)
    assert list(published) == ["first", "later", "first_again"]
    assert published["first"].overrides == ("experiment=first",) and published["first"].figures == ("*/x.png",)
    assert published["first_again"].parts("first_again") == [("first_again/avx2", {"ONEDNN_MAX_CPU_ISA": "AVX2"})]
    # The suite's own: every record under docs/results/ (but the commands') comes from a preset.
    assert {"seed_000_readme", "cpu_drift", "imdb_table"} <= set(results.PUBLISHED)
    assert results.PUBLISHED["cpu_drift"].overrides == ("experiment=seed_000_readme",)


def test_a_run_fingerprinted_before_a_key_left_the_fingerprint_is_still_this_configs(compose_config):
    """A run recorded while `task.attentions` counted still counts as this config's (a sweep skips
    it, verify finds it); a change that decides numbers still does not."""
    from experiments.run.config import LEFT_OUT_LATER, config_fingerprint, same_config

    cfg = compose_config("task=dense")
    before = config_fingerprint(cfg, keep=LEFT_OUT_LATER)
    assert before != config_fingerprint(cfg)
    assert same_config(cfg, before) and same_config(cfg, config_fingerprint(cfg))
    assert not same_config(compose_config("task=dense", "task.epochs=3"), before)
    assert not same_config(cfg, None)


def test_every_recorded_job_still_composes_to_its_fingerprint():
    """Config changes must leave the committed runs this config's: else a sweep reruns them."""
    from experiments.run.config import same_config

    jobs = [p.parent for p in RECORDS.rglob("metrics.json") if (p.parent / ".hydra" / "overrides.yaml").is_file()]
    assert jobs
    # The seeds of a variant compose alike but for the seed (no config group reads it): one
    # composition per variant, its seed set per job (190 compositions would take a minute).
    composed = {}
    for job in jobs:
        overrides = [
            o for o in OmegaConf.load(job / ".hydra" / "overrides.yaml") if not o.startswith("trainer.verbose")
        ]
        variant = tuple(sorted(o for o in overrides if not o.startswith("seed=")))
        if variant not in composed:
            composed[variant] = verify._compose(overrides)
        cfg = composed[variant].copy()
        cfg.seed = next((int(o.split("=", 1)[1]) for o in overrides if o.startswith("seed=")), 0)
        recorded = json.loads((job / "metrics.json").read_text())["config"]
        assert same_config(cfg, recorded), job.relative_to(RECORDS)


# --- the committed records -----------------------------------------------------------------------


def test_every_record_is_complete_with_provenance_and_its_files():
    records = sorted(p.name for p in RECORDS.iterdir() if p.is_dir()) if RECORDS.is_dir() else []
    assert records, "docs/results/ holds no record"
    for name in records:
        if name in results.COMMANDS:
            files = results.COMMANDS[name].files
            made = json.loads((RECORDS / name / files[0]).read_text())
            assert made["status"] == "completed" and made["provenance"]["commit"], name
            assert all((RECORDS / name / file).is_file() for file in files), name
            continue
        if name == results.OTHER_CPUS:  # seed_000_readme as other CPUs ran it, one record each
            parts = [(f"{name}/{label}", {}) for label in results.other_cpu_records(RECORDS)]
            assert parts, f"{name}: no record"
        else:
            assert name in results.PUBLISHED, f"{name}: not a published experiment"
            parts = results.PUBLISHED[name].parts(name)
        for part, variables in parts:
            record = RECORDS / part
            jobs = list(record.rglob("metrics.json"))
            assert jobs, f"{part}: no job"
            for path in jobs:
                metrics = json.loads(path.read_text())
                where = path.parent.relative_to(RECORDS)
                assert metrics["status"] == "completed", where
                made = metrics["provenance"]
                assert {"commit", "dirty", "packages", "cpu", "cores", "backend", "started"} <= set(made), where
                assert made.get("environment", {}) == variables, where  # the kernel setting it claims
                assert (path.parent / ".hydra" / "overrides.yaml").is_file(), where
                assert (path.parent / ".hydra" / "config.yaml").is_file(), where
                assert not (path.parent / "model.keras").exists() and not (path.parent / "backup").exists(), where
            for file in results.SUMMARY_FILES:
                assert (record / file).is_file(), f"{part}: no {file}"


def test_docs_results_stays_small():
    """A few MB: figures the README shows and the runs' JSON, no models (6.4 MB with the Jain &
    Wallace record's two figures; 8.1 MB with the masked IMDB table, imdb_words and the
    Transformers' record; 10.1 MB with the three IMDB searches and imdb_best; 12.4 MB with the
    first three runs of jain_wallace_adversary). One saved IMDB model is about 2 MB. The debate's
    audited IMDB runs keep the attention they audited, which the seed variance is computed from
    (audit_attention.npz, 0.66 MB for a learned attention, 23 kB for a uniform one): five of
    jain_wallace_adversary's and five of diversity_lstm's bring the whole to about 18 MB."""
    size = sum(p.stat().st_size for p in RECORDS.rglob("*") if p.is_file()) if RECORDS.is_dir() else 0
    assert size < 20 * 2**20, f"docs/results/ holds {size / 2**20:.1f} MB"


def test_the_readme_and_the_docs_pages_are_what_the_records_render():
    pages = publish.pages()
    assert ROOT / "README.md" in pages and ROOT / "docs" / "faithfulness.md" in pages
    used = set()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert publish.render(text, page=page) == text, (
            f"{page.name}'s results differ from docs/results/: run `make publish`"
        )
        used |= {m.group("name") for m in publish.BLOCK.finditer(text)}
    assert used == {*publish.BLOCKS, "figure"}, f"blocks on no page: {sorted({*publish.BLOCKS} - used)}"


def test_every_image_and_record_the_pages_link_exists():
    for page in publish.pages():
        links = re.findall(r"\]\(([^)#\s:]+)[)#]", page.read_text(encoding="utf-8"))
        missing = [link for link in links if not (page.parent / link).exists()]
        assert not missing, f"{page.name}: {missing}"


def test_a_block_links_from_each_page_to_the_records(tmp_path):
    """A block writes its links from the suite's root; on a docs page they start from the page, and
    a record's directory becomes its summary.md (the site has no directory listings)."""
    text = "<!-- results:tasks -->\n<!-- /results:tasks -->\n"
    in_readme = publish.render(text, page=ROOT / "README.md")
    on_a_page = publish.render(text, page=ROOT / "docs" / "tasks.md")
    assert "](docs/results/seed_000_readme)" in in_readme
    assert "](results/seed_000_readme/summary.md)" in on_a_page and "](docs/" not in on_a_page
    figure = "<!-- results:figure dates_scores/dates/bahdanau/alignment.png | the maps -->\n<!-- /results:figure -->\n"
    assert "![the maps](results/dates_scores/dates/bahdanau/alignment.png)" in publish.render(
        figure, page=ROOT / "docs" / "dates.md"
    )


def test_a_block_without_its_record_says_how_to_make_it(tmp_path):
    text = "before\n<!-- results:dates_scores -->\nold\n<!-- /results:dates_scores -->\nafter\n"
    rendered = publish.render(text, root=tmp_path)
    assert "make results ONLY=dates_scores" in rendered and "old" not in rendered
    assert rendered.startswith("before\n") and rendered.endswith("<!-- /results:dates_scores -->\nafter\n")
    figure = "<!-- results:figure dates_scores/dates/bahdanau/alignment.png | the maps -->\n<!-- /results:figure -->\n"
    assert "_Figure not recorded yet: `make results ONLY=dates_scores` draws it._" in publish.render(
        figure, root=tmp_path
    )
    (tmp_path / "dates_scores/dates/bahdanau").mkdir(parents=True)
    (tmp_path / "dates_scores/dates/bahdanau/alignment.png").write_bytes(b"png")
    # The caption shows under the figure too: it says what to look for.
    assert "\n![the maps](docs/results/dates_scores/dates/bahdanau/alignment.png)\n\n*the maps*\n" in publish.render(
        figure, root=tmp_path
    )
    with pytest.raises(publish.PublishError, match=re.escape("a figure block needs 'RECORD/PATH | caption'")):
        publish.render("<!-- results:figure x.png -->\n<!-- /results:figure -->\n", root=tmp_path)
    with pytest.raises(publish.PublishError, match=re.escape("unknown results block 'nope' in README.md; known: ")):
        publish.render("<!-- results:nope -->\n<!-- /results:nope -->\n", root=tmp_path)


def test_publish_check_fails_on_a_stale_readme_and_writes_nothing(tmp_path, capsys):
    stale = tmp_path / "README.md"
    stale.write_text("<!-- results:tasks -->\n| typed by hand |\n<!-- /results:tasks -->\n")
    assert publish.main(["--check", "--readme", str(stale)]) == 1
    assert "out of date in: tasks" in capsys.readouterr().err
    assert "typed by hand" in stale.read_text()
    assert publish.main(["--readme", str(stale)]) == 0
    assert "typed by hand" not in stale.read_text() and publish.main(["--check", "--readme", str(stale)]) == 0


# --- verify --------------------------------------------------------------------------------------


def test_verify_reproduces_a_record_exactly_and_catches_an_altered_number(tmp_path):
    """The audit at the end is judged as the metrics are (the debate's numbers come from it); an
    audit made apart from the run (experiments audit) is named and left out."""
    _, record = _smoke_record(tmp_path, "task=dense,lstm_before", "seed=0", "task.audit.at_end=true")
    jobs = verify.select(verify.recorded_jobs(record), seeds=[0])
    lines = []
    assert verify.verify(record, jobs, tmp_path / "again", echo=lines.append)
    text = "\n".join(lines)
    assert "judged: exactly" in text and "FAIL" not in text and text.count("PASS") >= 10
    assert "audit.agreement.gradient.mean" in text and "audit.seconds" not in text

    (job,) = (path.parent for path in (record / "dense").rglob("metrics.json"))
    metrics = json.loads((job / "metrics.json").read_text())
    metrics["test"]["accuracy"] += 0.01
    (job / "metrics.json").write_text(json.dumps(metrics))
    audit = json.loads((job / "audit.json").read_text())
    audit["erasure"]["largest"]["flip_rate"] += 0.5
    (job / "audit.json").write_text(json.dumps(audit))

    def rerun_made(job_dir, out_dir):  # the run verify just made: the same numbers, not trained again
        return verify.read_job(tmp_path / "again" / Path(job_dir).relative_to(record))

    lines = []
    assert not verify.verify(
        record, verify.recorded_jobs(record)[:1], tmp_path / "again", rerun_job=rerun_made, echo=lines.append
    )
    failed = sorted(line.split()[0] for line in lines if line.rstrip().endswith("FAIL"))
    assert failed == ["audit.erasure.largest.flip_rate", "test.accuracy"], lines

    (tmp_path / "again" / job.relative_to(record) / "audit.json").unlink()  # as a run that audits apart
    audit["erasure"]["largest"]["flip_rate"] -= 0.5
    (job / "audit.json").write_text(json.dumps(audit))
    metrics["test"]["accuracy"] -= 0.01
    (job / "metrics.json").write_text(json.dumps(metrics))
    lines = []
    assert verify.verify(
        record, verify.recorded_jobs(record)[:1], tmp_path / "again", rerun_job=rerun_made, echo=lines.append
    )
    assert "  note: the record's audit was made apart from its run: not compared" in lines


def test_verify_names_what_differs_and_judges_published_numbers_within_their_tolerance():
    here = provenance.collect("tensorflow")
    other = {**here, "cpu": "Another CPU", "packages": {**here["packages"], "numpy": "1.0"}, "commit": "abc"}
    differences = verify.environment_differences(other, here)
    assert set(differences) == {"cpu", "numpy", "commit"} and not verify.same_environment(differences)
    assert verify.same_environment(verify.environment_differences({**here, "commit": "abc"}, here))
    # A locked test tool at another version is named, and numbers must still be equal.
    tool = {**here, "packages": {**here["packages"], "pytest": "0.1"}, "lock": {"sha256": "0" * 64}}
    differences = verify.environment_differences(tool, here)
    assert {"pytest", "lock"} <= set(differences) and verify.same_environment(differences)

    recorded = {"test": {"accuracy": 0.80, "loss": 5.5e-5}, "epochs": 27, "history": {"test_accuracy": [0.7, 0.81]}}
    new = {"test": {"accuracy": 0.804, "loss": 6.3e-5}, "epochs": 37, "history": {"test_accuracy": [0.7, 0.9]}}
    published = {"test.accuracy", "max_test_accuracy"}
    verdicts = {name: v for name, *_, v in verify.compare(recorded, new, exact=False, published=published)}
    assert verdicts == {"test.accuracy": "PASS", "test.loss": "shown", "epochs": "shown", "max_test_accuracy": "FAIL"}
    # --all judges the loss too: absolute and relative together pass a loss near zero.
    verdicts = {name: v for name, *_, v in verify.compare(recorded, new, exact=False, published=set(), judge_all=True)}
    assert verdicts["test.loss"] == "PASS" and verdicts["test.accuracy"] == "PASS"
    assert {name: v for name, *_, v in verify.compare(recorded, new, exact=True)}["epochs"] == "FAIL"
    # Not too wide: 5% of an IMDB accuracy is 4.4 points; its ten seeds spread by 0.16 points.
    assert not verify.tolerance("test.accuracy").accepts(0.8785, 0.8785 - 0.044)
    assert not verify.tolerance("test.accuracy").accepts(0.8785, 0.8785 + 0.006)


def _another_machine(source, target, change=None):
    """The record's jobs as another CPU would have written them: provenance and, where `change`
    says, numbers altered (change(metrics) edits them in place)."""
    for path in source.rglob("metrics.json"):
        metrics = json.loads(path.read_text())
        metrics["provenance"] = {**metrics["provenance"], "cpu": "Another CPU", "cpu_isa": ["avx2"]}
        if change:
            change(metrics)
        copy = target / path.parent.relative_to(source) / "metrics.json"
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(json.dumps(metrics))
    return target


def test_verify_passes_the_second_cpus_record_and_fails_a_number_beyond_its_tolerance(tmp_path, capsys):
    """The seed-000 record made on an AVX2-only CPU (committed as docs/results/cpus/epyc_avx2)
    passes against the record made on AVX-512, with the default tolerances; 0.02 more peak weight
    on one job, beyond ±(0.01 + 2%), fails it, and the last line counts what failed."""
    record, avx2 = RECORDS / "seed_000_readme", RECORDS / "cpus" / "epyc_avx2"
    assert verify.main([str(record), "--against", str(avx2)]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == f"PASS: 5 of 5 jobs of {record}"
    assert "test.loss" in out and "shown" in out  # unpublished: shown, not judged

    altered = tmp_path / "altered"
    shutil.copytree(avx2, altered)
    job = altered / "lstm_before" / "block_3d" / "metrics.json"
    metrics = json.loads(job.read_text())
    metrics["attention_quality"]["peak_weight"] += 0.02
    job.write_text(json.dumps(metrics))
    assert verify.main([str(record), "--against", str(altered)]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"FAIL: 1 of 5 jobs of {record} failed: attention_quality.peak_weight"
    # --all judges the unpublished loss too; the recorded losses near zero stay within ±(1e-3 + 5%).
    assert verify.main([str(record), "--against", str(avx2), "--all"]) == 0


def test_verify_judges_a_seeded_variant_by_its_mean_over_the_rerun_seeds(tmp_path, capsys):
    """On another machine the runs of a record of ten seeds are only shown; the mean of the re-run
    seeds is judged against where a mean of that many new runs falls (the seeds' spread)."""
    record = RECORDS / "imdb_table"
    same = _another_machine(record, tmp_path / "same")
    assert verify.main([str(record), "--against", str(same), "--attention", "luong", "--seed", "6"]) == 0
    out = capsys.readouterr().out
    assert "imdb · luong test.accuracy: mean of 1 re-run seed(s)" in out and "over 10 seeds" in out
    assert out.strip().splitlines()[-1] == f"PASS: 1 of 1 jobs of {record}; 1 seeded variant(s) within their interval"

    def two_points_up(metrics):
        metrics["test"]["accuracy"] += 0.02
        metrics["history"]["test_accuracy"] = [a + 0.02 for a in metrics["history"]["test_accuracy"]]

    higher = _another_machine(record, tmp_path / "higher", two_points_up)
    assert verify.main([str(record), "--against", str(higher), "--attention", "luong"]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == ("FAIL: 1 of 1 seeded variants out of their interval: imdb · luong test.accuracy, max_test_accuracy")
    # The interval for one new run is the seeds' spread, wider than the record's interval of its mean.
    accuracies = [
        json.loads(p.read_text())["test"]["accuracy"] for p in (record / "imdb" / "luong").rglob("metrics.json")
    ]
    low, high = verify.mean_interval(accuracies, 1)
    low_10, high_10 = verify.mean_interval(accuracies, 10)
    assert high - low > high_10 - low_10 > 0


def test_verify_refuses_bad_requests_in_one_line(tmp_path, capsys):
    assert verify.main([str(tmp_path / "nothing")]) == 2
    assert verify.main([str(tmp_path), "--jobs", "0"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors == [
        f"error: no record at {tmp_path / 'nothing'}: give a directory under docs/results/",
        "error: --jobs 0: give a positive number of jobs",
    ]


# --- make results ----------------------------------------------------------------------------------


def test_a_sweep_resumes_from_its_committed_record_without_rerunning(tmp_path):
    _, record = _smoke_record(tmp_path, "task=dense", "seed=0,1")
    assert sorted(p.name for p in (record / "dense" / "block_2d").iterdir()) == ["seed=0", "seed=1"]
    assert not list(record.rglob("model.keras")) and (record / "dense/block_2d/seed=0/attention_bar.png").is_file()
    assert (record / "summary.md").read_text().splitlines()[0] == f"# Sweep summary: `{record}`"
    shutil.rmtree(record / "dense/block_2d/seed=1")  # a table recorded while it was still running

    fresh = tmp_path / "elsewhere"  # another machine: only the record is there
    assert results.restore_jobs(record, fresh) == 1
    before = (fresh / "dense/block_2d/seed=0/metrics.json").read_text()
    done = subprocess.run(
        [*EXPERIMENTS, "-m", "debug=smoke", "task=dense", "seed=0,1", f"hydra.sweep.dir={fresh}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (fresh / "dense/block_2d/seed=0/metrics.json").read_text() == before  # skipped, not run again
    assert not (fresh / "dense/block_2d/seed=0/model.keras").exists()
    assert (fresh / "dense/block_2d/seed=1/model.keras").is_file()  # the missing job ran
    # Hydra rewrites the config of the job it skipped (here: as a newer checkout would); the record
    # keeps the config the run was made with.
    config = "dense/block_2d/seed=0/.hydra/config.yaml"
    made_with = (record / config).read_text()
    (fresh / config).write_text(made_with + "# written again by the sweep that resumed\n")
    assert results.copy_record(fresh, record, figures=("*/*/attention_bar.png",)) == 2
    assert (record / config).read_text() == made_with
    assert "2 jobs: 2 completed" in (record / "summary.md").read_text()
    # The job put back from the record has its JSON, not its figures: the record keeps its own.
    assert not (fresh / "dense/block_2d/seed=0/attention_bar.png").exists()
    for seed in (0, 1):
        assert (record / f"dense/block_2d/seed={seed}/attention_bar.png").is_file(), seed


def test_a_sweep_with_no_finished_job_writes_no_record(tmp_path):
    """A launch stopped before its first job ended leaves only its multirun.yaml: recorded, that
    would be a record of no job, which the next launch with other overrides would refuse to resume."""
    sweep, record = tmp_path / "sweep", tmp_path / "record"
    (sweep / "dense" / "block_2d" / "seed=0").mkdir(parents=True)  # a job that never wrote its metrics
    (sweep / "multirun.yaml").write_text("hydra:\n  overrides:\n    task: [task=dense]\n")
    assert results.copy_record(sweep, record) == 0
    assert not record.exists() and not list(tmp_path.glob(".record*"))


def test_a_job_whose_audit_has_not_been_written_waits_out_of_the_record(tmp_path, capsys):
    sweep, record = _smoke_record(tmp_path, "task=dense", "seed=0,1", "task.audit.at_end=true")
    assert not list(sweep.rglob(RunDir.AUDIT_RUNNING)), "a written audit leaves no marker"
    job = next(sweep.glob("dense/block_2d/seed=1*"))  # its folder names the override too
    kept = record / job.relative_to(sweep)
    recorded, audit = (kept / "metrics.json").read_text(), (kept / "audit.json").read_text()
    # The job run again, now in its audit at the end: its metrics.json already says completed.
    metrics = json.loads((job / "metrics.json").read_text())
    (job / "metrics.json").write_text(json.dumps({**metrics, "wall_time_s": metrics["wall_time_s"] + 1}))
    (job / "audit.json").unlink()
    (job / RunDir.AUDIT_RUNNING).touch()
    assert results.copy_record(sweep, record) == 2
    assert (kept / "metrics.json").read_text() == recorded and (kept / "audit.json").read_text() == audit
    assert f"{job}: its audit has not finished" in capsys.readouterr().err
    shutil.rmtree(kept)  # a job the record does not hold yet waits too
    assert results.copy_record(sweep, record) == 1 and not kept.exists()
    (job / "audit.json").write_text(audit)  # the audit written: the job is recorded, with it
    assert results.copy_record(sweep, record) == 2
    assert json.loads((kept / "metrics.json").read_text())["wall_time_s"] == metrics["wall_time_s"] + 1
    assert (kept / "audit.json").read_text() == audit


@pytest.mark.parametrize(
    ("error", "left", "stack"),
    [(RuntimeError, False, False), (KeyboardInterrupt, True, False), (KeyboardInterrupt, True, True)],
)
def test_an_audit_cut_short_leaves_its_marker_and_the_job_run_again_finishes_it(
    compose_config, tmp_path, monkeypatch, error, left, stack
):
    from experiments.run import runner
    from experiments.run.job import run_job

    run_dir, seen = tmp_path / "run", []

    def audit(*args, **kwargs):
        seen.append((run_dir / RunDir.AUDIT_RUNNING).is_file())
        raise error("the audit")

    # The one-layer audit (audit.json), or the audit of a Transformer's stack (audit_stack.json).
    monkeypatch.setattr(runner, "audit_stack" if stack else "audit_trained", audit)
    written = RunDir.STACK_AUDIT if stack else RunDir.AUDIT
    task = ("task=find_max", "encoder=transformer", "task.audit.samples=4") if stack else ("task=dense",)
    cfg = compose_config(*task, "debug=smoke", "task.audit.at_end=true")
    if left:
        with pytest.raises(KeyboardInterrupt):
            runner.run(cfg, run_dir)
    else:
        runner.run(cfg, run_dir)  # a failed audit is logged; the run is complete all the same
    assert seen == [True] and (run_dir / RunDir.AUDIT_RUNNING).is_file() == left
    metrics = (run_dir / "metrics.json").read_text()
    assert json.loads(metrics)["status"] == "completed" and not (run_dir / written).exists()
    assert RunDir(run_dir).audit_pending() == left
    monkeypatch.undo()
    # The job run again keeps its training; a cut audit runs again, a failed one is left to make audit.
    assert run_job(cfg, run_dir, None)[1] is True
    assert (run_dir / "metrics.json").read_text() == metrics
    assert (run_dir / written).is_file() == left and not (run_dir / RunDir.AUDIT_RUNNING).exists()


def test_results_refuses_an_unknown_experiment_in_one_line(capsys):
    assert results.main(["imdb_tabel"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: unknown published experiment 'imdb_tabel'; accepted: " + ", ".join(results.NAMES)
    )


def test_the_imdb_table_block_sets_ours_beside_the_originals_numbers(tmp_path):
    """Rendered from a record of made-up runs: the original's numbers, ours, both protocols, Welch's p."""
    from experiments.records.stats import write_summary

    record = tmp_path / "imdb_table"
    accuracies = {"luong": [0.880, 0.878, 0.884], "none": [0.870, 0.874, 0.869]}
    for attention, values in accuracies.items():
        for seed, accuracy in enumerate(values):
            job = record / "imdb" / attention / f"seed={seed}"
            (job / ".hydra").mkdir(parents=True)
            (job / ".hydra" / "overrides.yaml").write_text(f"- seed={seed}\n- attention={attention}\n")
            (job / "metrics.json").write_text(
                json.dumps(
                    {
                        "task": "imdb",
                        "attention": attention,
                        "seed": seed,
                        "status": "completed",
                        "params": 248929,
                        "epochs": 10,
                        "best_epoch": 4,
                        "test": {"accuracy": accuracy, "loss": 0.3},
                        "history": {"test_accuracy": [accuracy - 0.01, accuracy + 0.002], "val_accuracy": [0.8, 0.9]},
                        "wall_time_s": 600.0 + seed,
                        "threads": 1,
                        "provenance": {"started": f"2026-11-22T0{seed}:00:00+00:00", "cores": 2},
                    }
                )
            )
    write_summary(record)
    text = publish.BLOCKS["imdb_table"](tmp_path)
    lines = text.splitlines()
    assert lines[0] == "| accuracy in % | `luong`: the original | `luong`: here | `none`: the original | `none`: here |"
    assert "| n runs | 10 | 3 | 10 | 3 |" in lines
    assert "| MAX accuracy, original's protocol | 88.76 | 88.60 | 88.22 | 87.60 |" in lines
    assert "| AVG accuracy, honest protocol | – | 88.07 | – | 87.10 |" in lines
    assert any(line.startswith("- In the honest protocol: luong − none = +0.97 points, Welch p = ") for line in lines)
    assert "Wall time of the table, from the first run's start to the last run's end: 2 h 10 min" in text


@pytest.mark.parametrize(
    "seconds, shown",
    [(45, "45 s"), (600, "10.0 min"), (3 * 3600 + 5 * 60, "3 h 05 min"), (7 * 3600 + 59.7 * 60, "8 h 00 min")],
)
def test_durations_read_as_a_person_writes_them(seconds, shown):
    assert publish.format.minutes(seconds) == shown


def _audited_job(record, task, attention, seed, test, audit):
    job = record / task / attention / f"seed={seed}"
    job.mkdir(parents=True)
    metrics = {"task": task, "attention": attention, "seed": seed, "status": "completed", "test": test}
    (job / "metrics.json").write_text(json.dumps(metrics))
    if audit is not None:
        (job / "audit.json").write_text(json.dumps(audit))


def test_the_reference_block_sets_the_paper_beside_each_model_and_says_what_equal_weights_cannot_rank(tmp_path):
    """Made-up records: mean ± std over the audited runs, the paper's figures, `undefined` for what
    uniform weights cannot rank, 0 on padding where the model masks it, and what is not run yet."""

    def audit(tau, padding=None):
        result = {
            "agreement": {
                "gradient": {"mean": tau, "significant": 0.9},
                "leave_one_out": {"mean": tau - 0.1, "significant": 0.8},
                "gradient_vs_leave_one_out": {"mean": 0.5, "significant": 1.0},
            },
            "erasure": {"largest": {"flip_rate": 0.02}, "random": {"flip_rate": 0.01}},
            "eraser": {
                measure: {name: {"aopc": aopc} for name in ("attention", "gradient", "leave_one_out", "random")}
                for measure, aopc in (("comprehensiveness", 0.3), ("sufficiency", 0.1))
            },
        }
        if padding is not None:
            result["attention_on_padding"] = {"mean": padding}
        return result

    record = tmp_path / "imdb_jain_wallace"
    for seed, tau in enumerate((0.30, 0.40)):
        test = {"accuracy": 0.89 + seed / 100, "f1": 0.88}
        _audited_job(record, "imdb_jain_wallace", "tanh", seed, test, audit(tau))
        _audited_job(record, "imdb_jain_wallace", "uniform", seed, test, audit(float("nan")))
    _audited_job(tmp_path / "imdb_table", "imdb", "luong", 0, {"accuracy": 0.88}, audit(0.0, padding=0.45))
    _audited_job(tmp_path / "imdb_table", "imdb", "luong", 1, {"accuracy": 0.87}, None)

    text = publish.BLOCKS["faithfulness_reference"](tmp_path)
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("|")]
    rows = {row[0]: row[1:] for row in cells}
    tanh, uniform, masked, unmasked = 1, 2, 3, 4
    assert rows["τ attention vs gradient"][0] == "0.37"
    assert rows["τ attention vs gradient"][tanh] == "0.35 ± 0.07 (n=2)"
    assert rows["τ attention vs gradient"][uniform] == "undefined (equal weights)"
    assert rows["τ attention vs gradient"][masked] == "not run yet"
    assert rows["τ attention vs gradient"][unmasked] == "0.00 (n=1)"  # the unaudited run is left out
    assert rows["τ gradient vs leave-one-out"][uniform] == "0.50 ± 0.00 (n=2)"
    assert rows["accuracy"][unmasked] == "0.875 ± 0.007 (n=2)"
    assert rows["F1, positive class"][unmasked] == "not recorded"
    assert rows["comprehensiveness AOPC, attention order"][uniform] == "undefined (equal weights)"
    assert rows["sufficiency AOPC, random order"][uniform] == "0.100 ± 0.000 (n=2)"
    assert rows["attention on padding, per review"][tanh] == "0 (masked)"
    assert rows["attention on padding, per review"][unmasked] == "0.450 (n=1)"
