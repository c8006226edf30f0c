"""`python -m experiments.explain`, as the README and the Makefile call it: experiments.trained.explain."""

import sys

from experiments.trained.explain import main

if __name__ == "__main__":
    sys.exit(main())
