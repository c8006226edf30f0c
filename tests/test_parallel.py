"""`make test` runs on every core with pytest-xdist (`-n auto --dist loadgroup`): the tests marked
with one `xdist_group` must run on one worker, one after another. A pytest or xdist release that
silently stops grouping (pytest 9.2 did, pytest-dev/pytest-xdist#1386) fails here, before the
Slurm and Ray tests meet on two workers."""

import json
import subprocess
import sys

GROUPED = """
import json, os, time
import pytest

def _note(name):
    with open(os.environ["WHERE"], "a") as f:
        f.write(json.dumps([name, os.environ["PYTEST_XDIST_WORKER"], time.time()]) + "\\n")

@pytest.mark.xdist_group("machine")
@pytest.mark.parametrize("i", range(4))
def test_grouped(i):
    _note(f"grouped{i}")
    time.sleep(0.2)

@pytest.mark.parametrize("i", range(4))
def test_free(i):
    _note(f"free{i}")
    time.sleep(0.2)
"""


def test_a_group_runs_on_one_worker_under_the_suites_parallel_run(tmp_path):
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the suite's own settings
    where = tmp_path / "where.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-p",
            "no:cacheprovider",
            "-q",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env={"WHERE": str(where), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    runs = [json.loads(line) for line in where.read_text().splitlines()]
    workers = {name: worker for name, worker, _ in runs}
    assert len(runs) == 8 and len(set(workers.values())) == 2  # both workers took tests
    assert len({workers[f"grouped{i}"] for i in range(4)}) == 1, runs  # the group on one worker
