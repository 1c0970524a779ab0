"""Fetching a page from two hosts every few milliseconds, from here, to see
when the source stops answering and the target starts: (time, who, ok)."""
from __future__ import annotations

import threading
import time
import urllib.request


def answers(url: str, expect: bytes, timeout: float = 0.5) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200 and expect in r.read()
    except Exception:
        return False


class Poller:
    """Polls each named URL in its own thread until stopped."""

    def __init__(self, urls: dict[str, str], expect: bytes, interval: float = 0.05):
        self.urls, self.expect, self.interval = urls, expect, interval
        self.events: list[tuple[float, str, bool]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._poll, args=(who, url), daemon=True)
                         for who, url in urls.items()]

    def _poll(self, who: str, url: str) -> None:
        while not self._stop.is_set():
            ok = answers(url, self.expect)
            with self._lock:
                self.events.append((time.monotonic(), who, ok))
            self._stop.wait(self.interval)

    def seen(self, who: str) -> bool:
        with self._lock:
            return any(w == who and ok for _, w, ok in self.events)

    def __enter__(self) -> "Poller":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
