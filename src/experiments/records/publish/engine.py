"""The publisher's engine: finds the results blocks of each page, renders each from the records
with the block of its name, and writes the page (or, with `--check`, only compares).

A block is a function of the records' root directory that returns Markdown, registered under its
name with `@block("name")` in the module of the page it renders into; a block that reads one record
is registered with `@block("name", record="RECORD")` and is given that record, or is not called
while the record is missing. Its links name files from the suite's root (`docs/results/...`), and
the engine rewrites them for the page they land in.
"""

import functools
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from experiments.records.publish import glossary
from experiments.records.publish.record import RECORDS, Record, missing, numbers_read
from experiments.run.errors import SuiteError, ToolParser, report
from experiments.run.files import SUITE_ROOT

README = SUITE_ROOT / "README.md"
DOCS = SUITE_ROOT / "docs"
BLOCK = re.compile(
    r"(<!-- results:(?P<name>[\w-]+)(?: (?P<argument>[^>]*?))? -->\n)(?P<body>.*?)(<!-- /results:(?P=name) -->)", re.S
)
# A Markdown link or image whose target is a path from the suite's root, as the blocks write them.
ROOT_LINK = re.compile(r"\]\((?P<target>docs/[^)\s#]*)(?P<anchor>#[\w-]+)?\)")
BLOCKS: dict[str, Callable[..., str]] = {}  # name -> function(root) -> Markdown
ARGUMENT_BLOCKS: set[str] = set()  # the blocks whose function takes the block's argument too


class PublishError(SuiteError, ValueError):
    """A page cannot be rendered; the message is one line."""


def block(name, record=None, argument=False):
    """Registers the decorated function as the block `<!-- results:NAME -->`. With `record`, the
    function takes that record (a `Record`) instead of the root, and while the record is missing
    the block says which command makes it. With `argument`, the block is written
    `<!-- results:NAME ARGUMENT -->` and the function takes the root and the argument."""

    def register(function):
        if name in BLOCKS:
            raise ValueError(f"two results blocks are named '{name}'")
        if argument:
            ARGUMENT_BLOCKS.add(name)
        if record is None:
            BLOCKS[name] = function
        else:

            @functools.wraps(function)
            def from_record(root):
                opened = Record(record, root)
                return function(opened) if opened else missing(record)

            BLOCKS[name] = from_record
        return function

    return register


def pages():
    """The pages the publisher renders: the README and every page of the docs site."""
    return [README, *sorted(DOCS.glob("*.md"))]


@block("figure", argument=True)
def figure(root, argument):
    """`<!-- results:figure RECORD/PATH | caption -->`: the record's figure, once it is recorded."""
    path, _, caption = (argument or "").partition("|")
    path, caption = path.strip(), caption.strip()
    if not path or not caption:
        raise PublishError(f"a figure block needs 'RECORD/PATH | caption', got '{argument}'")
    if not (Path(root) / path).is_file():
        return f"_Figure not recorded yet: `make results ONLY={path.split('/')[0]}` draws it._\n"
    return f"![{caption}](docs/results/{path})\n\n*{caption}*\n"  # the caption says what to look for


def _relocated(text, page):
    """`text` with its links from the suite's root made relative to `page`. On a page of the docs
    site a link to a record's directory goes to its summary.md (or README.md): the site has no
    directory listings; a directory with neither keeps only its words."""
    base = Path(page).resolve().parent
    if base == SUITE_ROOT:
        return text
    in_site = base == DOCS or DOCS in base.parents

    def relocate(match):
        target = SUITE_ROOT / match.group("target")
        if in_site and target.is_dir():
            index = next((target / name for name in ("summary.md", "README.md") if (target / name).is_file()), None)
            if index is None:
                return "](#)"  # replaced below by the link's words
            target = index
        return f"]({Path(os.path.relpath(target, base)).as_posix()}{match.group('anchor') or ''})"

    text = ROOT_LINK.sub(relocate, text)
    return re.sub(r"\[([^\]]*)\]\(#\)", r"\1", text)


def render(text, root=RECORDS, page=README):
    """`text` (the page `page`) with every results block rendered from the records under `root`."""
    unknown = sorted({m.group("name") for m in BLOCK.finditer(text)} - set(BLOCKS))
    if unknown:
        raise PublishError(f"unknown results block '{unknown[0]}' in {Path(page).name}; known: {', '.join(BLOCKS)}")

    # A glossary term first met in a block is linked there (the glossary does not link itself).
    linking = Path(page).resolve() != (SUITE_ROOT / glossary.GLOSSARY).resolve()
    pieces, done, linked = [], 0, set()
    for match in BLOCK.finditer(text):
        name = match.group("name")
        if name in ARGUMENT_BLOCKS:
            body = BLOCKS[name](root, match.group("argument"))
        else:
            body = BLOCKS[name](root)
        before = text[done : match.start()]
        linked |= glossary.linked_anchors(before)
        if linking:
            body, in_block = glossary.link_first_uses(body, linked)
            linked |= in_block
        pieces += [before, match.group(1), _relocated(body, page), match.group(5)]
        done = match.end()
    return "".join([*pieces, text[done:]])


def published_numbers(files=None, root=RECORDS):
    """{resolved job directory: names of its numbers that the pages show} for every record job."""
    with numbers_read() as reads:
        for page in files or pages():
            render(Path(page).read_text(encoding="utf-8"), root, page)
    return reads


def _display(path):
    path = Path(path).resolve()
    return path.relative_to(SUITE_ROOT).as_posix() if SUITE_ROOT in path.parents else str(path)


def main(argv=None):
    parser = ToolParser(
        "publish", description="Render the result tables of the README and of the docs pages from docs/results/."
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is out of date")
    parser.add_argument(
        "--page", "--readme", dest="pages", action="append", help="one page to render (default: README.md, docs/*.md)"
    )
    args = parser.parse_args(argv)
    stale, blocks = [], 0
    chosen = [Path(p) for p in args.pages or pages()]
    for page in chosen:
        try:
            before = page.read_text(encoding="utf-8")
            after = render(before, page=page)
        except OSError as error:  # a page that is not there, or not readable
            return report(
                f"cannot read the page {page}: {error.strerror}; give a Markdown page (default: README.md, docs/*.md)"
            )
        except PublishError as error:
            return report(error)
        blocks += len(list(BLOCK.finditer(after)))
        if before == after:
            continue
        if args.check:
            names = [
                m.group("name")
                for m, n in zip(BLOCK.finditer(before), BLOCK.finditer(after))
                if m.group(0) != n.group(0)
            ]
            stale.append(page)
            print(f"{_display(page)} is out of date in: {', '.join(names)}; run `make publish`", file=sys.stderr)
        else:
            page.write_text(after, encoding="utf-8")
    if stale:
        return 1
    verb = "match" if args.check else "rendered from"
    print(f"{len(chosen)} pages, {blocks} results blocks: all {verb} {_display(RECORDS)}/")
    return 0
