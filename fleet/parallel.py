"""Runs over several hosts at once: every host's result or error is kept,
and the caller fails once, at the end (like Fabric's GroupResult).

Ctrl-C in the middle: no host that has not begun is started (its outcome is
NotStarted), `cancel` is set so the running ones stop at their next safe
point, and every host's outcome is still returned."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, TypeVar

from .errors import DockmoveError, HostsFailed, NotStarted, unexpected

T = TypeVar("T")
K = TypeVar("K")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_each(items: Iterable[K], fn: Callable[[K], T], *,
             key: Callable[[K], str] = str, workers: int = 8,
             cancel: threading.Event | None = None) -> dict[str, Outcome[T]]:
    """Call `fn(item)` for each item in parallel; a dict by key, in input order.
    Project errors are kept per host; anything else is a bug and is kept too,
    so one host cannot hide the others' outcomes. On Ctrl-C: `cancel` is set,
    hosts not begun are never started, the running ones are waited for."""
    items = list(items)
    if not items:
        return {}
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(items))))
    futures: dict[str, Future] = {}
    try:
        for i in items:
            futures[key(i)] = pool.submit(fn, i)
        for fut in futures.values():
            while True:                     # short waits: Ctrl-C lands here at once
                try:
                    fut.exception(timeout=0.2)
                    break
                except FuturesTimeout:
                    continue
    except KeyboardInterrupt:
        if cancel is not None:
            cancel.set()
        for fut in futures.values():
            fut.cancel()                    # only those not begun
    pool.shutdown(wait=True)
    out: dict[str, Outcome[T]] = {}
    for name in map(key, items):
        fut = futures.get(name)
        if fut is None or fut.cancelled():
            out[name] = Outcome(error=NotStarted(f"{name}: not started (interrupted "
                                                 "before its turn): unchanged"))
            continue
        err = fut.exception()
        out[name] = Outcome(value=fut.result()) if err is None else Outcome(error=err)
    return out


def failures(outcomes: dict[str, Outcome[Any]]) -> dict[str, BaseException]:
    return {k: o.error for k, o in outcomes.items() if o.error is not None}


def failed_hosts(outcomes: dict[str, Outcome[Any]], summary: str = "") -> HostsFailed | None:
    """The one error of a run where hosts failed (None: every one went)."""
    failed = failures(outcomes)
    if not failed:
        return None
    for name, err in failed.items():
        if not isinstance(err, DockmoveError):
            failed[name] = DockmoveError(f"{name}: {unexpected(err)}")
    return HostsFailed(failed, summary)


def raise_if_failed(outcomes: dict[str, Outcome[Any]], summary: str = "") -> None:
    error = failed_hosts(outcomes, summary)
    if error:
        raise error
