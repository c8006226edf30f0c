"""`python -m experiments.publish`, as the README and the Makefile call it: experiments.records.publish."""

import sys

from experiments.records.publish import main

if __name__ == "__main__":
    sys.exit(main())
