"""The measured seconds of each test, which tests/conftest.py reads to start the slowest first.

make test-durations runs the suite once with a JUnit report and writes tests/durations.json from it:
    python tests/durations.py REPORT.xml
"""

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

DURATIONS = Path(__file__).with_name("durations.json")
SHORTEST = 1.0  # seconds: shorter tests keep their place in the collection order


def node_id(nodeid):
    """A test's id without pytest-xdist's group suffix ("...::test_x@machine")."""
    return re.sub(r"@[\w-]+$", "", nodeid)


def from_junit(report):
    """{test id: seconds} of the tests in a JUnit XML report that took at least SHORTEST."""
    seconds = {}
    for case in ET.parse(report).iter("testcase"):
        test = node_id(f"{case.get('classname').replace('.', '/')}.py::{case.get('name')}")
        if float(case.get("time")) >= SHORTEST:
            seconds[test] = round(float(case.get("time")), 1)
    return dict(sorted(seconds.items()))


if __name__ == "__main__":
    DURATIONS.write_text(json.dumps(from_junit(sys.argv[1]), indent=0) + "\n")
    print(f"wrote {DURATIONS}")
