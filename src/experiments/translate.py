"""`python -m experiments.translate`, as the README and the Makefile call it: experiments.trained.translate."""

import sys

from experiments.trained.translate import main

if __name__ == "__main__":
    sys.exit(main())
