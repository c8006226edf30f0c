"""`python -m experiments.results`, as the README and the Makefile call it: experiments.records.results."""

import sys

from experiments.records.results import main

if __name__ == "__main__":
    sys.exit(main())
