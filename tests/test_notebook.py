"""The notebook tour runs top to bottom at its tiny size, and every figure cell draws; its executed
copy on the docs site (make tour) is today's tour, and shows what the tour's notes say."""

import ast
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "notebooks" / "tour.ipynb"


@pytest.mark.slow
def test_the_tour_runs_and_every_figure_cell_draws(tmp_path, monkeypatch):
    notebook = nbformat.read(TOUR, as_version=4)
    # Kept in git without outputs: a clean diff, and nothing stale to mislead.
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    monkeypatch.setenv("TOUR_SIZE", "tiny")
    monkeypatch.setenv("TOUR_OUTPUT_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(TOUR.parent)}}
    ).execute()
    figures = [cell for cell in notebook.cells if "figure" in cell.metadata.get("tags", [])]
    assert len(figures) == 6
    text = "".join(o.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs)
    for cell in figures:
        printed = "".join(o.get("text", "") for o in cell.outputs)
        if "no IMDB files in" in printed:  # part 5 needs the IMDB files (../shared/data in CI)
            continue
        images = [o for o in cell.outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
        assert images, cell.source.splitlines()[0]
    assert "the attention's argmax is the maximum in" in text and "τ(attention, gradient)" in text
    assert "the same: True" in text  # the weights worked out by hand are the layer's
    # It teaches: a note on what to see after every code cell but the set-up, and exercises.
    kinds = [cell.cell_type for cell in notebook.cells]
    after_code = [kinds[i + 1] for i, kind in enumerate(kinds[:-1]) if kind == "code"][2:]
    assert after_code == ["markdown"] * len(after_code)
    notes = [cell.source for cell in notebook.cells if cell.source.startswith("**What you should see, and why")]
    assert len(notes) == len(after_code)
    assert (
        sum(cell.source.count("*Expect*") for cell in notebook.cells if cell.source.startswith("## 7. Exercises")) == 3
    )
    assert "no IMDB files in" in text or "input 0: positive, p = " in text or "input 0: negative, p = " in text
    assert (tmp_path / "outputs" / "runs" / "dense").is_dir()  # the runs went where the parameters said


# --- The executed copy that the docs site shows (docs/tour.ipynb, written by make tour) ----------

SITE_TOUR = ROOT / "docs" / "tour.ipynb"


def _tool(name):
    """A module of tools/ (a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sites_executed_tour_is_the_tour_of_today_with_every_output():
    """docs/tour.ipynb holds the cells of notebooks/tour.ipynb (links made the site's), each code
    cell with its outputs, and says how it was made: a change to the tour needs `make tour`."""
    executed = nbformat.read(SITE_TOUR, as_version=4)
    expected = _tool("execute_tour").for_the_site(nbformat.read(TOUR, as_version=4))
    assert [c.source for c in executed.cells] == [c.source for c in expected.cells], "the tour changed: run make tour"
    assert "../docs/" not in "".join(c.source for c in executed.cells)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.outputs for c in code[2:])  # the set-up cells print nothing
    assert not any(o.get("output_type") == "error" or o.get("name") == "stderr" for c in code for o in c.outputs)
    made = executed.metadata["tour"]
    assert made["size"] == "laptop" and made["seconds"] > 0 and made["cpu"] and made["commit"]


def test_what_the_tour_says_of_its_laptop_size_is_what_its_executed_copy_shows():
    """Each note's claim about the laptop size, read off the outputs of the executed copy."""
    executed = nbformat.read(SITE_TOUR, as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "the same: True" in text
    dense = ast.literal_eval(re.search(r"\{'target_index'.*\}", text).group(0))
    assert dense["peak_index"] == dense["target_index"] == 1
    assert dense["peak_weight"] > 3 * dense["runner_up_weight"]  # "far above the rest"
    assert "lstm_before: the mean attention peaks at step 10" in text
    after = int(re.search(r"lstm_after: the mean attention peaks at step (\d+)", text).group(1))
    assert after >= 10  # "at step 10 or later"
    hits = int(re.search(r"the attention's argmax is the maximum in (\d+)% of 200", text).group(1))
    assert hits > 50  # "most of the 200", against 10% at random
    taus = [float(t) for t in re.findall(r"τ\(attention, [\w-]+\) (-?[\d.]+)", text)]
    largest, random = map(float, re.search(r"erased: ([\d.]+), a random one: ([\d.]+)", text).groups())
    assert len(taus) == 2 and min(taus) > 0 and largest > 3 * random  # faithful on find_max
    assert re.search(r"input 0: (positive|negative), p = ", text)  # part 5 ran on the IMDB files
    assert float(re.search(r"test accuracy ([\d.]+)", text).group(1)) > 0.6  # "well above 1/3"
    peaks = [int(re.search(rf"class {c}: the mean attention peaks at step (\d+)", text).group(1)) for c in range(3)]
    assert peaks != [4, 10, 16]  # "do not all peak at their class's bump"
