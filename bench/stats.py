"""Numbers from samples: medians, ratios, the alternating order, downtime
from a poller's log, step timings from `inv migrate` output. Pure.
"""
from __future__ import annotations

import re
import statistics
from typing import Iterable, Sequence


def median(values: Iterable[float | None]) -> float | None:
    """Median of the values that are not None; None when there are none."""
    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing or b is zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def schedule(labels: Sequence[str], reps: int) -> list[tuple[int, str]]:
    """(rep, label) in the order to run them: every side once per repetition,
    the order rotated each repetition (A B C, B C A, C A B, ...) so that no
    side always runs first, on a cold cache, or after the same neighbour."""
    out = []
    n = len(labels)
    for rep in range(reps):
        shift = rep % n if n else 0
        out += [(rep, label) for label in list(labels[shift:]) + list(labels[:shift])]
    return out


def downtime(events: Iterable[tuple[float, str, bool]], source: str = "source",
             target: str = "target") -> float | None:
    """Seconds from the source's last good answer to the target's first good
    answer after it, from a poller's (time, who, ok) log. None if the source
    never answered, or the target never answered after it. The source's last
    answer is at most one poll interval before it stopped, so this errs long
    by at most that interval."""
    events = sorted(events)
    last_source = None
    for t, who, ok in events:
        if who == source and ok:
            last_source = t
    if last_source is None:
        return None
    for t, who, ok in events:
        if who == target and ok and t > last_source:
            return t - last_source
    return None


_STEP = re.compile(r"^(?:\w+: )?\[(\d+)(?:/\d+)?\] ([^:]+?): (.*)\((\d+(?:\.\d+)?)s\)\s*$")
_ORDER = re.compile(r"^(?:\w+: )?order: (.+?) \(")
_MEMBER_STEP = re.compile(r"\s*([^:]+?): ")


def step_times(output: str) -> dict[str, float]:
    """`[3] image: ... (12.3s)` lines of `inv migrate` (`[3/7]` in older
    versions, after a `migrate: ` prefix or not) -> {"image": 12.3}: where a
    migration's time goes. A step that occurs twice is summed; so is a
    group's step of each member (`[7] shop_db_1: data ...`, the members
    named by its `order: a -> b` line): its steps run one after another."""
    members: set[str] = set()
    steps: dict[str, float] = {}
    for line in output.splitlines():
        order = _ORDER.match(line.strip())
        if order:
            members |= {n.strip() for n in order.group(1).split("->")}
        m = _STEP.match(line.strip())
        if not m:
            continue
        name = m.group(2)
        if name in members:
            member_step = _MEMBER_STEP.match(m.group(3))
            name = member_step.group(1) if member_step else name
        steps[name] = steps.get(name, 0.0) + float(m.group(4))
    return steps
