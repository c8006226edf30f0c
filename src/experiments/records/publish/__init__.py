"""`experiments publish [--check]`: the result tables of the README and of the docs
pages, rendered from the records under docs/results/.

Every measured number on those pages stands between a pair of markers,

    <!-- results:NAME -->
    ...
    <!-- /results:NAME -->

and the block NAME writes what is between them from the committed records. A figure of a record is
`<!-- results:figure RECORD/PATH | caption -->`, drawn once the record holds it. `--check` writes
nothing and exits 1 when a page differs from what the records render (a test runs it). A block
whose record is not there yet says so, with the command that makes it.

The engine (`engine.py`) knows no block; each block lives in the module of the page it renders
into (`start`, `tasks`, `attention`, `dates`, `imdb`, `your_data`, `speed`, `results`, `faithfulness`,
`debate`, `transformer`), and
a new block is one function there with `@block("name")` (or `@block("name", record="RECORD")`
for a block that reads one record: it is given that record, and is not called while it is missing).
"""

# Each page's module registers its blocks when it is imported.
from experiments.records.publish import (  # noqa: F401
    attention,
    dates,
    debate,
    faithfulness,
    imdb,
    presets,
    results,
    speed,
    start,
    tasks,
    transformer,
    your_data,
)
from experiments.records.publish.engine import (
    BLOCK,
    BLOCKS,
    PublishError,
    figure,
    main,
    pages,
    published_numbers,
    render,
)

__all__ = ["BLOCK", "BLOCKS", "PublishError", "figure", "main", "pages", "published_numbers", "render"]
