"""`python -m experiments.verify`, as the README and the Makefile call it: experiments.records.verify."""

import sys

from experiments.records.verify import main

if __name__ == "__main__":
    sys.exit(main())
