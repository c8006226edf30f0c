"""`python -m experiments.report`, as the README and the Makefile call it: experiments.records.report."""

import sys

from experiments.records.report import main

if __name__ == "__main__":
    sys.exit(main())
