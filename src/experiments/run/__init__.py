"""One run, the same for every task: the command line's checks, the composed config, the runner and what it uses."""
