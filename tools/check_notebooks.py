"""Notebooks are kept in git without outputs (a clean diff, nothing stale to mislead): exits 1 with
one line naming each notebook that holds outputs or execution counts.

    python tools/check_notebooks.py notebooks/*.ipynb      (make lint; the pre-commit hook)
"""

import json
import sys


def executed_cells(path):
    """The numbers of the code cells of `path` that hold outputs or an execution count."""
    cells = json.loads(open(path, encoding="utf-8").read())["cells"]
    return [
        i for i, c in enumerate(cells) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]


if __name__ == "__main__":
    dirty = {path: cells for path in sys.argv[1:] if (cells := executed_cells(path))}
    for path, cells in dirty.items():
        print(f"{path}: cells {', '.join(map(str, cells))} hold outputs; clear them before committing", file=sys.stderr)
    sys.exit(1 if dirty else 0)
