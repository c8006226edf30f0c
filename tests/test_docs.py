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
from experiments.records.publish import glossary

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
    # The executed notebook tour is a page, with its notes, its figures and its outputs.
    tour = (site / "tour" / "index.html").read_text(encoding="utf-8")
    assert "What you should see, and why" in tour and "data:image/png;base64" in tour and "the same: True" in tour


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
        f": {preflight(['experiment=imdb_table'])} runs, over `seed`: 0 to 9; `attention`: `luong`, `none`, `uniform`."
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
                    const codes = Array.from(t.querySelectorAll("code")).map(c => getComputedStyle(c));
                    const breaks = codes.some(s => s.wordBreak !== "keep-all" || s.overflowWrap === "anywhere");
                    return [t.scrollWidth, room, breaks];
                });"""
            )
            tables += len(widths)
            wide = [(width, room) for width, room, _ in widths if width > room + 1]
            if wide:
                overflowing[page.parent.name] = wide
            if page.parent.name != "api":  # mkdocstrings styles its own tables' code (word-break: normal)
                assert not any(breaks for _, _, breaks in widths), page.parent.name  # code never broken mid-word
    finally:
        browser.quit()
    assert tables >= 20
    assert overflowing == {}


# --- The glossary: every page links a term of it where the page first uses it -------------------

# The terms as the pages write them, and what is prose: the publisher links the terms that a results
# block is first to use with the same table, so the test reads the rendered blocks too.
GLOSSARY_TERMS, GLOSSARY_LINK, prose = glossary.TERMS, glossary.LINK, glossary.prose


def unlinked_first_uses(text):
    """{anchor: the line of the page's first use of the term} where no link to the glossary's entry
    stands at or before that use."""
    linked = {}
    for link in GLOSSARY_LINK.finditer(text):
        linked.setdefault(link.group("anchor"), link.start())
    blank = prose(text)
    found = {}
    for anchor, pattern in GLOSSARY_TERMS.items():
        first = re.search(pattern, blank)
        if first and not linked.get(anchor, len(text)) <= first.start():
            found[anchor] = text.count("\n", 0, first.start()) + 1
    return found


def test_every_glossary_term_is_linked_where_a_page_first_uses_it():
    entries = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", entries, re.M)
    anchors = {re.sub(r"[\s-]+", "-", re.sub(r"[^a-z0-9\s-]", "", h.lower()).strip()) for h in headings}
    assert anchors == set(GLOSSARY_TERMS)  # a new entry comes with how the pages write it
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    unlinked = {
        page.name: found
        for page in pages
        if page.name not in ("glossary.md", "api.md")
        and (found := unlinked_first_uses(page.read_text(encoding="utf-8")))
    }
    assert unlinked == {}, "link each term's first use to glossary.md#<anchor>: {page: {anchor: line}}"
    assert unlinked_first_uses("AOPC, then [AOPC](glossary.md#aopc)") == {"aopc": 1}  # a link after the use is late


def test_the_publisher_links_a_term_that_a_block_is_first_to_use():
    from experiments.records.publish import render

    text, anchors = glossary.link_first_uses("| τ gradient | τ leave-one-out | original's protocol, the original |")
    assert text == (
        "| [τ](docs/glossary.md#kendalls-tau-b) gradient | τ [leave-one-out](docs/glossary.md#leave-one-out) | "
        "[original's protocol](docs/glossary.md#originals-protocol), the [original](docs/glossary.md#original) |"
    )
    assert anchors == {"kendalls-tau-b", "leave-one-out", "originals-protocol", "original"}
    assert glossary.link_first_uses("`τ` and τ", linked={"kendalls-tau-b"}) == ("`τ` and τ", set())
    # On a docs page the link is made relative to it, its anchor kept; prose that linked first wins.
    page = ROOT / "docs" / "imdb.md"
    block = "[τ](glossary.md#kendalls-tau-b) first.\n<!-- results:figure imdb_table/imdb/luong/seed=0/audit.png | a τ caption -->\n<!-- /results:figure -->\n"
    assert "[τ]" not in render(block, page=page).split("results:figure")[1].split("-->", 1)[1]
    rendered = render(block.split("\n", 1)[1], page=page)
    assert "a [τ](glossary.md#kendalls-tau-b) caption" in rendered
