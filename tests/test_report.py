"""The HTML report: built from a real outputs/ tree (runs, a sweep with a failed job), every image
and link resolves, failures show their reason, and a headless browser loads every image."""

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import headless_chromium
from experiments.records.report import build

EXPERIMENTS = [sys.executable, "-m", "experiments"]


# Under pytest-xdist the module runs on one worker, so that `outputs` (module scope) is made once.
pytestmark = pytest.mark.xdist_group("test_report")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """An outputs/ tree as the README's commands leave it: two single runs (one with a GIF) and a
    sweep over two learning rates, one of which makes the loss NaN (a failed job)."""
    root = tmp_path_factory.mktemp("report") / "outputs"
    for command in (
        ["task=dense", "debug=smoke", "task.audit.at_end=true"],
        ["task=add_two_numbers", "debug=smoke", "task.epochs=2", "task.audit.at_end=true"],
        [
            "-m",
            "task=dense",
            "debug=smoke",
            "trainer.optimizer.learning_rate=1e30,0.001",
            f"hydra.sweep.dir={root}/sweeps/smoke",
        ],
    ):
        done = subprocess.run([*EXPERIMENTS, *command, f"paths.output_dir={root}"], capture_output=True, timeout=300)
        assert done.returncode == (1 if "-m" in command else 0), done.stderr[-2000:]  # the sweep has a failed job
    return root


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        elif tag == "a" and not attrs.get("href", "#").startswith("#"):
            self.links.append(attrs["href"])


def _parsed(index):
    parser = _Links()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser


def test_every_image_and_link_of_the_report_resolves(outputs):
    index = build(outputs)
    assert index == outputs / "report" / "index.html"
    page = _parsed(index)
    names = {Path(src).name for src in page.images}
    assert {
        "attention_bar.png",
        "attention_map.png",
        "attention_map.gif",
        "training_curves.png",
        "summary.png",
        "audit.png",
    } <= names
    for target in page.images + page.links:
        assert "://" not in target, f"not self-contained: {target}"
        assert (index.parent / target).exists(), f"broken: {target}"


def test_the_failed_job_shows_as_failed_with_its_reason_and_config(outputs):
    html = build(outputs).read_text(encoding="utf-8")
    assert (
        '<td class="failed text">failed</td><td class="text">nan loss: the training loss became NaN in epoch 1</td>'
        in html
    )
    # Its config is one click away: the overrides inline, the composed config linked.
    assert "trainer.optimizer.learning_rate=1e+30" in html and ".hydra/config.yaml" in html


def test_each_task_shows_its_latest_completed_run_and_what_it_should_show(outputs):
    html = build(outputs).read_text(encoding="utf-8")
    for task in ("dense", "add_two_numbers"):
        assert f'<section id="task-{task}">' in html
    assert "the label copied into feature 1" in html  # the task's own description, from its config
    assert "hit_rate" in html  # add_two_numbers' attention quality from metrics.json
    # Which code, packages and machine made it, from metrics.json's provenance.
    made = json.loads(next(outputs.glob("runs/dense/*/*/metrics.json")).read_text())["provenance"]
    assert f"TensorFlow {made['packages']['tensorflow']}, Keras {made['packages']['keras']}" in html
    assert f"{made['cpu']} × {made['cores']}" in html


def test_a_full_size_run_is_headlined_over_a_newer_smoke_run(outputs, tmp_path):
    """A smoke run of seed 1 newer than a full run of seed 0: the full run is the headline, and the
    smoke run is listed below it, marked as smoke. (The full run is the smoke run's files with the
    task's default size and epochs written into its config: what the report reads.)"""
    from omegaconf import OmegaConf

    from experiments.records.report import task_defaults

    root = tmp_path / "outputs"
    shutil.copytree(outputs, root)
    smoke = next(root.glob("runs/dense/*/*/metrics.json")).parent
    full = smoke.with_name("seed0_full")
    shutil.copytree(smoke, full)
    attention, samples, epochs = task_defaults("dense")
    config = OmegaConf.load(full / ".hydra" / "config.yaml")
    config.task.samples, config.task.epochs = samples, epochs
    OmegaConf.save(config, full / ".hydra" / "config.yaml")
    (full / ".hydra" / "overrides.yaml").write_text("- task=dense\n")
    metrics = json.loads((full / "metrics.json").read_text())
    (full / "metrics.json").write_text(json.dumps({**metrics, "epochs": epochs, "attention": attention}))
    smoke_metrics = json.loads((smoke / "metrics.json").read_text())
    (smoke / "metrics.json").write_text(json.dumps({**smoke_metrics, "seed": 1}))  # written last: the newest

    html = build(root).read_text(encoding="utf-8")
    dense = html[
        html.index('<section id="task-dense">') : html.index("</section>", html.index('<section id="task-dense">'))
    ]
    assert f'<a href="../runs/dense/{full.parent.name}/seed0_full/">run directory</a>' in dense
    assert "A smoke run" not in dense  # the headline is the full run
    listed = dense[dense.index('<table class="others">') :]
    assert (
        f"../runs/dense/{full.parent.name}/{smoke.name}/" in listed and '<td class="text failed">smoke</td>' in listed
    )
    # With the full run gone, the smoke run is the headline, and says so.
    shutil.rmtree(full)
    html = build(root).read_text(encoding="utf-8")
    assert "A smoke run (debug=smoke" in html


def test_the_faithfulness_section_shows_each_tasks_audit(outputs):
    html = build(outputs).read_text(encoding="utf-8")
    assert '<section id="faithful">' in html
    audit = json.loads(next(outputs.glob("runs/add_two_numbers/*/*/audit.json")).read_text())
    assert f'<h3 id="faithful-add_two_numbers">add_two_numbers · attention={audit["attention"]} · seed 0</h3>' in html
    tau = audit["agreement"]["gradient"]
    assert f"{tau['mean']:.3f} ± {tau['std']:.3f}" in html
    assert "ground truth: top step decides the answer" in html
    # A classifier's audit has ERASER's AOPC by explanation.
    eraser = json.loads(next(outputs.glob("runs/dense/*/*/audit.json")).read_text())["eraser"]
    aopc = f"{eraser['comprehensiveness']['gradient']['aopc']:.4g}"
    assert f"<tr><td>gradient order</td><td>{aopc}</td>" in html


def test_rebuilding_reads_the_runs_and_redraws_no_figure(outputs):
    index = build(outputs)
    figures = {p: p.stat().st_mtime_ns for p in outputs.rglob("*.png")}
    # One more run: only its own files are new; the page picks it up.
    extra = outputs / "runs" / "find_max" / "manual"
    subprocess.run(
        [*EXPERIMENTS, "task=find_max", "debug=smoke", f"hydra.run.dir={extra}"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    html = build(outputs).read_text(encoding="utf-8")
    assert '<section id="task-find_max">' in html
    assert all(p.stat().st_mtime_ns == t for p, t in figures.items())
    assert sorted(p.name for p in index.parent.iterdir()) == ["index.html"]  # nothing copied
    shutil.rmtree(extra)


def test_a_missing_directory_is_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "experiments", "report", "/nonexistent/outputs"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: no directory /nonexistent/outputs: run an experiment first (make run), or name one"
    ]


# A browser test (Chromium picks free ports): in this module's group, as the docs' one is.
def test_a_real_browser_loads_every_image(outputs, tmp_path):
    index = build(outputs)
    browser = headless_chromium()
    try:
        browser.get(index.as_uri())
        # Lazy images load when scrolled to: scroll through the page, then wait for all of them.
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        loaded = browser.execute_async_script(
            """const done = arguments[arguments.length - 1];
            const images = Array.from(document.images);
            images.forEach(i => { i.loading = "eager"; });
            Promise.all(images.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })))
              .then(() => done(images.map(i => [i.getAttribute("src"), i.naturalWidth])));"""
        )
        assert len(loaded) >= 5
        assert [src for src, width in loaded if width == 0] == []
        browser.save_screenshot(str(tmp_path / "report.png"))
        title = browser.title
    finally:
        browser.quit()
    assert title == "Attention experiments · report"
    assert (tmp_path / "report.png").stat().st_size > 10_000
    print(json.dumps({"screenshot": str(tmp_path / "report.png")}))
