"""Runs over several hosts at once: every host's result or error is kept,
and the caller fails once, at the end (like Fabric's GroupResult)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, TypeVar

from .errors import DockmoveError, HostsFailed

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
             key: Callable[[K], str] = str, workers: int = 8) -> dict[str, Outcome[T]]:
    """Call `fn(item)` for each item in parallel; a dict by key, in input order.
    Project errors are kept per host; anything else is a bug and is kept too,
    so one host cannot hide the others' outcomes."""
    items = list(items)
    if not items:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        futures = [(key(i), pool.submit(fn, i)) for i in items]
        out: dict[str, Outcome[T]] = {}
        for name, fut in futures:
            try:
                out[name] = Outcome(value=fut.result())
            except Exception as e:  # kept, reported per host below
                out[name] = Outcome(error=e)
    return out


def failures(outcomes: dict[str, Outcome[Any]]) -> dict[str, BaseException]:
    return {k: o.error for k, o in outcomes.items() if o.error is not None}


def raise_if_failed(outcomes: dict[str, Outcome[Any]], summary: str = "") -> None:
    failed = failures(outcomes)
    if failed:
        for name, err in failed.items():
            if not isinstance(err, DockmoveError):
                failed[name] = DockmoveError(f"{name}: unexpected {type(err).__name__}: {err}")
        raise HostsFailed(failed, summary)
