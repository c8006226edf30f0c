"""`python -m experiments.audit`, as the README and the Makefile call it: experiments.trained.audit."""

import sys

from experiments.trained.audit import main

if __name__ == "__main__":
    sys.exit(main())
