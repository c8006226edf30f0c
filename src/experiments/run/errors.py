"""What every tool of the suite does with bad input: one line on stderr, exit status 2.

Every error the suite raises for its user derives from `SuiteError`; the front door
(`experiments [tool] ...`) prints it as `error: <message>` and exits 2, and each tool's argument
parser (`ToolParser`) reports a bad argument the same way.
"""

import argparse
import sys

BAD_INPUT = 2  # the exit status of every refusal, as argparse's own


class SuiteError(Exception):
    """Input the suite cannot use; the message is one line for the user: what was wrong, what is accepted."""


class ConfigError(SuiteError, ValueError):
    """A composed config that cannot run; the message is one line for the user."""


class NoTrialCompleted(BaseException):
    """Every trial of a search failed, so it has no best trial. A BaseException, so that it passes
    Hydra's report of a task's exceptions (a traceback) on to the command, which says it in one line."""


class StopRequest:
    """A stop asked by a signal (Ctrl-C, kill, a cluster's time limit): its reason, once asked. The
    signal handler raises KeyboardInterrupt; Keras' first training step can swallow it (a bare
    `except:` while it traces the loss), so a callback raises it again at the next batch."""

    reason: str | None = None


def report(message):
    """Prints `error: message` on stderr; returns BAD_INPUT, a tool's exit status for it."""
    print(f"error: {message}", file=sys.stderr)
    return BAD_INPUT


def refuse(message):
    """Prints `error: message` on stderr and exits with BAD_INPUT."""
    sys.exit(report(message))


class ToolParser(argparse.ArgumentParser):
    """An argument parser whose refusal is one line, naming the tool's help (`experiments TOOL --help`)."""

    def __init__(self, tool, **kwargs):
        super().__init__(prog=f"experiments {tool}", **kwargs)

    def error(self, message):
        refuse(f"{message} (see {self.prog} --help)")
