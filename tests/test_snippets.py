"""Every Python snippet of the README and the docs runs, as a reader would paste it: the snippets of
one page in order, in a fresh interpreter, in an empty directory. A snippet that cannot run here
says so on the line before its fence, `<!-- not run: REASON -->`, and the reason must be given.

A page may leave a name to the reader ("x_test", "model_input": the reader's own data and model);
`GIVEN` supplies it, with the smallest object that fits, and nothing else."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(?:<!-- not run:(?P<reason>[^>]*?)-->\n)?```python\n(?P<code>.*?)```", re.S)
MARKER = re.compile(r"<!-- not run:.*?-->\n(?!```python\n)", re.S)  # a marker that stands before no snippet

# The names each page leaves to the reader.
GIVEN = {
    "attention.md": """
import numpy as np
import keras
x_test = np.random.default_rng(0).random((4, 20, 2), dtype="float32")
model_input = keras.Input((20, 1))
""",
    "faithfulness.md": """
import numpy as np
import keras
from attention import Attention
rng = np.random.default_rng(0)
x_test = x = rng.random((8, 10, 1), dtype="float32")
deciding = x[..., 0] == x[..., 0].max(axis=1, keepdims=True)
inputs = keras.Input((10, 1))
states = keras.layers.LSTM(8, return_sequences=True)(inputs)
model = keras.Model(inputs, keras.layers.Dense(1)(Attention(8, name="attention")(states)))
""",
}


def _snippets(page):
    """(code, reason it is not run or None) of each Python fence of `page`."""
    return [(m.group("code"), m.group("reason")) for m in FENCE.finditer(page.read_text(encoding="utf-8"))]


SNIPPETS = {page.name: _snippets(page) for page in PAGES if _snippets(page)}


def test_every_snippet_runs_or_says_why_not():
    assert SNIPPETS  # the pages have snippets to run
    for name, snippets in SNIPPETS.items():
        for _, reason in snippets:
            assert reason is None or reason.strip(), f"{name}: a snippet marked not run gives no reason"
    for page in PAGES:
        assert not MARKER.search(page.read_text(encoding="utf-8")), f"{page.name}: a not-run marker before no snippet"


@pytest.mark.parametrize("name", [n for n, s in SNIPPETS.items() if any(reason is None for _, reason in s)])
def test_the_snippets_of_a_page_run(name, tmp_path):
    code = GIVEN.get(name, "") + "\n".join(code for code, reason in SNIPPETS[name] if reason is None)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{name}:\n{done.stderr[-3000:]}"
