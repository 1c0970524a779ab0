"""Signals that end a run (Ctrl-C, SIGTERM, SIGHUP): when they are taken,
and the one place that holds them off.

Python raises KeyboardInterrupt wherever the main thread is when the signal
comes, inside paramiko and invoke too; one that lands between a lock's
acquire and its release leaves that SSH connection stuck for good, and an
undo over it hangs. So a migration takes them at safe points:

- `deferred()`: the first signal is noted (and said on stderr, with what is
  running: `doing()`); the hooks of `on_interrupt()` run at once (a stream
  stops its sender); it is raised at the next `checkpoint()` (the caller's:
  between steps, in polling loops). The command or stream that runs ends
  first, so the undo that follows sees what it did and never races it. A
  second signal while a command or stream runs is raised at once: it stops
  waiting (for a command that hangs: fleet/runner.py closes its channel);
  elsewhere (the run is on its way to its undo) it changes nothing. Nothing
  is raised when the block ends: a signal that came after the last
  checkpoint (the run verified) does not undo it.
- `held()` ignores them while its body runs (an undo in progress must not be
  cut short); what arrives is dropped: the run is already being undone.

SIGTERM and SIGHUP come as `Signalled` (a KeyboardInterrupt with its signal
number, for the exit code); `received` lists what came. A SIGHUP (the
terminal is gone) also points stdout and stderr at /dev/null, so that what
the undo prints cannot fail on a dead terminal (EIO) and stop it. Only the
main thread gets signals in Python; elsewhere these do nothing.
"""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

ENDING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a killed job, a closed terminal): undone like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


received: list[int] = []        # the signals that ended this run, for its exit code


def interrupt_for(signum: int) -> KeyboardInterrupt:
    received.append(signum)
    if signum == signal.SIGHUP:
        detach_output()                 # the terminal is gone: printing there fails
    return KeyboardInterrupt() if signum == signal.SIGINT else Signalled(signum)


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
    with _handled_by(_ignore):
        yield


@contextmanager
def _handled_by(handler) -> Iterator[None]:
    """The signals that end a run go to `handler` while the block runs."""
    saved = {s: signal.signal(s, handler) for s in ENDING}
    try:
        yield
    finally:
        for s, before in saved.items():
            signal.signal(s, before)


class _Deferral:
    def __init__(self) -> None:
        self.active = False
        self.pending: KeyboardInterrupt | None = None
        self.hooks: list[Callable[[], None]] = []
        self.doing: list[str] = []


_state = _Deferral()


def _main() -> bool:
    return threading.current_thread() is threading.main_thread()


def _say(line: str) -> None:
    try:                    # not print(): the handler may come while print() writes
        os.write(2, (line + "\n").encode(errors="replace"))
    except OSError:
        pass


def _defer(signum, frame):
    interrupt = interrupt_for(signum)
    if _state.pending is not None:
        if _state.doing:                    # the second, while waiting: stop waiting
            raise interrupt
        return                              # the run is on its way to its undo already
    _state.pending = interrupt
    what = _state.doing[-1] if _state.doing else None
    _say("interrupted: " + (f"waiting for {what} to end, then undoing" if what
                            else "undoing after this step")
         + " (Ctrl-C again to stop waiting)")
    for hook in list(_state.hooks):
        hook()


@contextmanager
def deferred() -> Iterator[None]:
    """Take the signals that end a run at safe points (see above)."""
    if not _main() or _state.active:
        yield
        return
    _state.active, _state.pending = True, None
    try:
        with _handled_by(_defer):
            yield
    finally:
        _state.active, _state.pending = False, None
        _state.hooks.clear()
        _state.doing.clear()


def pending() -> bool:
    """A signal came and waits for its safe point."""
    return _state.pending is not None


def checkpoint() -> None:
    """A safe point: raise the signal that came, if one did."""
    if _state.pending is not None and _main():
        raise _state.pending


@contextmanager
def doing(what: str) -> Iterator[None]:
    """Name what runs now ("the command running on old"), for the message
    a signal gets."""
    if not (_state.active and _main()):
        yield
        return
    _state.doing.append(what)
    try:
        yield
    finally:
        _state.doing.pop()


@contextmanager
def on_interrupt(hook: Callable[[], None]) -> Iterator[None]:
    """Run `hook` when a signal comes while the block runs (at once if one
    came already): e.g. stop a stream's sender, so that it ends."""
    if not (_state.active and _main()):
        yield
        return
    _state.hooks.append(hook)
    try:
        if _state.pending is not None:
            hook()
        yield
    finally:
        _state.hooks.remove(hook)
