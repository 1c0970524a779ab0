"""Signals that end a run (Ctrl-C, SIGTERM, SIGHUP) and the one place that
holds them off: an undo in progress must not be cut short by a second one.

`held()` ignores SIGINT, SIGTERM and SIGHUP in the main thread while its body
runs (other threads never get them in Python); what arrived is dropped: the
run is already being undone because of the first. A SIGHUP (the terminal is
gone) also points stdout and stderr at /dev/null, so that what the undo
prints cannot fail on a dead terminal (EIO) and stop it.
"""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager

ENDING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def detach_output() -> None:
    """stdout and stderr to /dev/null: the terminal they went to is gone."""
    null = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        try:
            os.dup2(null, fd)
        except OSError:
            pass
    os.close(null)


def _ignore(signum, frame):
    if signum == signal.SIGHUP:
        detach_output()


@contextmanager
def held():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.signal(s, _ignore) for s in ENDING}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
