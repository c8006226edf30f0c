"""The docs site: it builds with --strict (no broken link, anchor or reference, no page left out of
the navigation), its API reference is read from the docstrings of `attention`, and the README stays
a short front page."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import headless_chromium

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The docs site, built once for this module's tests; (its directory, mkdocs' run)."""
    site = tmp_path_factory.mktemp("docs") / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    return site, done


def test_the_docs_site_builds_strictly_with_the_api_reference(site):
    site, done = site
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


# A browser test (Chromium picks free ports): in the report's group, so one browser runs at a time.
@pytest.mark.xdist_group("test_report")
def test_every_column_of_every_table_shows_at_1300_pixels_without_breaking_a_word(site):
    """On a 1,300-pixel-wide window no table of the site is wider than its column of the page: no
    column hides behind a scroll bar, and no name in code is broken mid-word to fit."""
    site, done = site
    assert done.returncode == 0, done.stderr[-3000:]
    browser = headless_chromium(width=1300)
    try:
        overflowing, tables = {}, 0
        for page in sorted(site.glob("*/index.html")):
            if page.parent.name == "results":
                continue
            browser.get(page.as_uri())
            widths = browser.execute_script(
                """return Array.from(document.querySelectorAll("article table")).map(t => {
                    const room = (t.closest(".md-typeset__scrollwrap") || t.parentElement).clientWidth;
                    return [t.scrollWidth, room, getComputedStyle(t.querySelector("code") || t).wordBreak];
                });"""
            )
            tables += len(widths)
            wide = [(width, room) for width, room, _ in widths if width > room + 1]
            if wide:
                overflowing[page.parent.name] = wide
            assert all(word_break != "break-word" for _, _, word_break in widths), page.parent.name
    finally:
        browser.quit()
    assert tables >= 20
    assert overflowing == {}
