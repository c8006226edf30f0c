"""The docs site: it builds with --strict (no broken link, anchor or reference, no page left out of
the navigation), its API reference is read from the docstrings of `attention`, and the README stays
a short front page."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_docs_site_builds_strictly_with_the_api_reference(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    # mkdocstrings rendered the layers and their docstrings, not only the page's own words.
    for name in ("AttentionPooling", "CrossAttention", "return_attention_scores", "AttentionAudit"):
        assert name in api, name
    faithfulness = (site / "faithfulness" / "index.html").read_text(encoding="utf-8")
    assert "Jain &amp; Wallace, published" in faithfulness  # a rendered results block
    assert (site / "results" / "find_max_scores" / "find_max" / "luong" / "audit.png").is_file()


def test_the_readme_is_a_short_front_page_that_links_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name != "index.md")
    unlinked = [name for name in pages if f"(docs/{name})" not in readme]
    assert not unlinked, f"the README links no {unlinked}"


def test_the_pages_count_a_presets_runs_as_the_command_line_launches_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # preflight reads the outputs/ of the current directory
    from experiments.records.publish import render
    from experiments.records.publish.engine import PublishError
    from experiments.run.cli import preflight

    line = render("<!-- results:preset imdb_table -->\n<!-- /results:preset -->\n")
    assert (
        f": {preflight(['experiment=imdb_table'])} runs, over `seed`: 0 to 9; `attention`: luong, none, uniform."
        in line
    )
    with pytest.raises(
        PublishError, match=re.escape("unknown preset 'nope' in a preset block; accepted: add_two_numbers_scores")
    ):
        render("<!-- results:preset nope -->\n<!-- /results:preset -->\n")
