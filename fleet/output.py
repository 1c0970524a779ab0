"""Lines for the user, prefixed with the host they concern; safe to call from
the threads of a multi-host run. They go to `write`: print, or a task's
fleet/terminal.Screen, which also draws a stream's bar (`bar`) and keeps
results (`result`) under --quiet."""
from __future__ import annotations

import threading
from contextlib import nullcontext
from typing import Callable

_lock = threading.Lock()


class Printer:
    def __init__(self, host: str, verbose: bool = False,
                 write: Callable[[str], None] = print):
        self.host = host
        self.verbose = verbose
        self._write = write

    def __call__(self, text: str, *, result: bool = False) -> None:
        line_of = getattr(self._write, "line", None)
        lines = text.splitlines() or [""]
        if line_of is not None and not result and len(lines) > 1:
            from .terminal import kept          # a warning's next lines go with it
            result = kept(f"{self.host}: {lines[0]}")
        with _lock:
            for line in lines:
                try:
                    if line_of is not None:
                        line_of(f"{self.host}: {line}", result=result)
                    else:
                        self._write(f"{self.host}: {line}")
                except OSError:     # a closed terminal (EIO) must not stop the work
                    pass

    def result(self, text: str) -> None:
        """A line that says how the run ended: kept under --quiet."""
        self(text, result=True)

    def bar(self, what: str, total: int | None):
        """A context giving a function fed the bytes a stream moved (a live
        bar), or None where progress is printed as lines."""
        make = getattr(self._write, "bar", None)
        return make(f"{self.host}: {what}", total) if make else nullcontext(None)
