"""`python -m experiments.neighbours`, as the README and the Makefile call it: experiments.trained.neighbours."""

import sys

from experiments.trained.neighbours import main

if __name__ == "__main__":
    sys.exit(main())
