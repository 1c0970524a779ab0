"""Asking before a run removes or overwrites what it did not make (the
target's container, volume or files under --replace, the source under
--remove-source, the lab under lab.down): in a terminal a question that
defaults to no; without one (CI, cron, a pipe) `--yes` must say it, or
nothing is done (exit 2). The question comes after preflight, so it names
what is really there, and before the first change.
"""
from __future__ import annotations

import sys
import termios
from typing import Callable, Sequence

from .errors import DockmoveError, UsageError

# (what the run is about to do, the things it removes or overwrites) -> whether
# a person was asked (and the answer took however long it took)
Confirm = Callable[[str, Sequence[str]], bool]


class Declined(DockmoveError):
    exit_code = 1


def terminal() -> bool:
    """Someone can see the question (stderr) and answer it (stdin)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def ask(question: str) -> bool:
    """A yes/no question in a terminal; without one, no. Keys typed before
    it was asked do not answer it."""
    if not terminal():
        return False
    try:
        termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)
    except (termios.error, OSError):
        pass
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def confirmer(yes: bool) -> Confirm:
    """What a task calls before it removes or overwrites `items`: nothing
    with --yes, a question in a terminal, a usage error without one."""
    def confirm(doing: str, items: Sequence[str]) -> bool:
        if yes or not items:
            return False
        listed = "".join(f"\n- {i}" for i in items)
        if not terminal():
            raise UsageError(f"{doing}, which removes or overwrites:{listed}\nthere is no "
                             "terminal to ask in: add --yes to go on; nothing was changed")
        print(f"{doing}, which removes or overwrites:{listed}", file=sys.stderr)
        if not ask("Go on?"):
            raise Declined("not confirmed: nothing was changed")
        return True
    return confirm
