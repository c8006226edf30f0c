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

# Each entry of docs/glossary.md (its anchor) and how the pages write the term.
GLOSSARY_TERMS = {
    "aopc": r"\bAOPC\b",
    "chance-level": r"\bchance levels?\b",
    "comprehensiveness": r"\b[Cc]omprehensiveness\b",
    "entropy-in-nats": r"\bnats\b",
    "eraser": r"\bERASER\b",
    "faithful": r"\b[Ff]aithful(?:ness)?\b",
    "ferret": r"\bferret\b",
    "gradient-importance": r"\b[Gg]radient (?:importance|× input)\b",
    "honest-protocol": r"\b[Hh]onest protocol\b",
    "kendalls-tau-b": r"τ",
    "leave-one-out": r"\b[Ll]eave-one-out\b",
    "mask": r"\b[Mm]ask(?:s|ed|ing)?\b",
    "original": r"\b[Oo]riginals?\b(?!'s protocol)",
    "originals-protocol": r"\boriginal's protocol\b",
    "peak-weight": r"\bpeak weights?\b",
    "probe-samples": r"\bprobe (?:samples?|inputs?)\b",
    "query": r"\bquer(?:y|ies)\b",
    "scaled-dot-product": r"√n",
    "seed": r"\bseeds?\b",
    "sufficiency": r"\b[Ss]ufficiency\b",
    "teacher-forcing": r"\b[Tt]eacher[ -]forc(?:ing|ed)\b",
    "uniform": r"\b[Uu]niform\b(?! values| random| draws)",  # the weights, not the distribution
    "welch-p": r"\bWelch\b",
}
GLOSSARY_LINK = re.compile(r"\[(?P<text>[^\]]*)\]\((?:docs/)?glossary\.md#(?P<anchor>[\w-]+)\)")
# Where a term is not prose a reader meets: code, comments, the rendered results blocks (their words
# come from code), link targets, headings, and the words of links to other pages.
NOT_PROSE = re.compile(
    r"<!-- results:(?P<name>[\w-]+)[^>]*-->.*?<!-- /results:(?P=name) -->|```.*?```|`[^`\n]*`|<!--.*?-->"
    r"|^#[^\n]*$|\[[^\]]*\]\([^)]*\)|\A---\n.*?\n---\n",
    re.S | re.M,
)


def prose(text):
    """`text` with what is not prose blanked (same length, so positions hold)."""
    return NOT_PROSE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


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
    glossary = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", glossary, re.M)
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
