"""Lines for the user, prefixed with the host they concern; safe to call from
the threads of a multi-host run."""
from __future__ import annotations

import threading
from typing import Callable

_lock = threading.Lock()


class Printer:
    def __init__(self, host: str, verbose: bool = False,
                 write: Callable[[str], None] = print):
        self.host = host
        self.verbose = verbose
        self._write = write

    def __call__(self, text: str) -> None:
        with _lock:
            for line in text.splitlines() or [""]:
                try:
                    self._write(f"{self.host}: {line}")
                except OSError:     # a closed terminal (EIO) must not stop the work
                    pass
