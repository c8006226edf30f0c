"""`python -m experiments.stats`, as the README and the Makefile call it: experiments.records.stats."""

import sys

from experiments.records.stats import main

if __name__ == "__main__":
    sys.exit(main())
