"""Execute the notebook tour at one size and write the executed copy that the docs site shows.

    python tools/execute_tour.py [--size laptop] [--out docs/tour.ipynb]      (make tour)

notebooks/tour.ipynb stays in git without outputs; its executed copy, docs/tour.ipynb, is a record
like docs/results/: its numbers come from this run, and its metadata says on what (the size, the
commit, the CPU, the versions, how long it took). The copy's links point into the site: the tour's
`../docs/PAGE.md` becomes `PAGE.md`. A test checks that the copy's cells are the tour's.
"""

import argparse
import copy
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "notebooks" / "tour.ipynb"
SIZES = ("tiny", "laptop", "full")


def site_links(text):
    """The tour's links into the docs, as the site's pages see them (docs/tour.ipynb sits beside them)."""
    return re.sub(r"\]\(\.\./docs/", "](", text)


def for_the_site(notebook):
    """A copy of `notebook` whose markdown cells link within the site."""
    linked = copy.deepcopy(notebook)
    for cell in linked.cells:
        if cell.cell_type == "markdown":
            cell.source = site_links(cell.source)
    return linked


def cpu_name():
    """The CPU's model name, as /proc/cpuinfo gives it (the platform's processor elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def execute(size, timeout_s):
    """The tour, executed at `size` in a scratch output directory; returns (notebook, seconds)."""
    notebook = for_the_site(nbformat.read(TOUR, as_version=4))
    with tempfile.TemporaryDirectory(prefix="tour-") as scratch:
        # The kernel inherits this process's environment (the tool's own, gone when it ends).
        os.environ.update(
            {"TOUR_SIZE": size, "TOUR_OUTPUT_DIR": str(Path(scratch, "outputs")), "TF_CPP_MIN_LOG_LEVEL": "3"}
        )
        start = time.perf_counter()
        NotebookClient(
            notebook, timeout=timeout_s, kernel_name="python3", resources={"metadata": {"path": str(TOUR.parent)}}
        ).execute()
        seconds = time.perf_counter() - start
    for cell in (cell for cell in notebook.cells if cell.cell_type == "code"):
        # The kernel's stderr is TensorFlow's start-up logging (printed before its log level is
        # read), not the tour's; the scratch directory's path says nothing to a reader.
        cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
        for output in cell.outputs:
            if "text" in output:
                output.text = output.text.replace(str(Path(scratch)), "outputs")
    return notebook, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="laptop", help="the tour's size (default: laptop)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "tour.ipynb", help="where the copy goes")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds one cell may take (default: 3600)")
    args = parser.parse_args(argv)
    notebook, seconds = execute(args.size, args.timeout)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    notebook.metadata["tour"] = {
        "size": args.size,
        "commit": commit.stdout.strip() or "unknown",
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "seconds": round(seconds),
        "python": platform.python_version(),
        "keras": version("keras"),
        "tensorflow": version("tensorflow"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, args.out)
    print(f"{args.out}: the tour at its {args.size} size, executed in {seconds / 60:.1f} min", file=sys.stderr)


if __name__ == "__main__":
    main()
