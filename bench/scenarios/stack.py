"""Downtime of the lab's compose stack (issue 15): project shop on old (db,
PostgreSQL with its volume; web on 9090, which answers an error while db is
down), as its user sees it: from old:9090's last page listing "apples" to
new:9090's first, polled from here every 50 ms. One cut-over for the group
(`inv migrate shop --project`) against moving the containers one by one
(`inv migrate shop_db_1`, then `shop_web_1`: web's page fails as soon as db
stops, and answers again only once web runs on new).

new keeps the stack's image between runs, so both sides skip it and the
downtime compares cut-overs, not an image copy; it is put there once,
untimed, before the first run."""
from __future__ import annotations

import time
from typing import Callable

from .. import images
from ..measure import Context, alternate
from ..model import Case, Side, Target
from ..poller import answers
from ..stats import median
from .common import (address, ensure_engine, has_image, migrate_runner, raw_runner,
                     with_downtime)

PAGE = b"apples"
ONE_BY_ONE, GROUP = "one by one", "group"
TARGET = Target("max_ratio", 0.5, "group downtime <= 0.5x one by one")


def sequence(samples: list[dict]) -> dict:
    """Samples of `inv migrate` runs made one after the other, as one: their
    seconds and each step's seconds added up, each run's own downtime kept
    under its container (none for the whole: no run saw all of it). Pure."""
    steps: dict[str, float] = {}
    for s in samples:
        for name, seconds in (s.get("steps") or {}).items():
            steps[name] = steps.get(name, 0.0) + seconds
    own = {(s.get("report") or {}).get("container") or f"#{i + 1}": s.get("tool_downtime_s")
           for i, s in enumerate(samples)}
    return {"seconds": sum(s["seconds"] for s in samples), "steps": steps,
            "member_downtime_s": own, "reports": [s.get("report") for s in samples]}


def image_sent(sample: dict) -> int:
    """Image bytes a side's runs sent, from their reports (a group's has
    them per member). Pure."""
    reports = sample.get("reports") or [sample.get("report")]
    members = [m for r in reports if r for m in (r.get("members") or [r])]
    return sum(m.get("image_sent_bytes") or 0 for m in members)


def own_downtime_note(case: Case) -> str | None:
    """What dockmove's --json-report says of the downtime (medians): the
    group's, from its first stop to its last container answering, and each
    one-by-one run's own, which ends before the next run starts. Pure."""
    parts = []
    for side in case.sides:
        runs = side.ok_samples()
        group = median(s.get("tool_downtime_s") for s in runs)
        if group is not None:
            parts.append(f"{side.label} {group:.2f}s for the group")
        names = list(dict.fromkeys(n for s in runs for n in s.get("member_downtime_s") or {}))
        each = [(n, median((s.get("member_downtime_s") or {}).get(n) for s in runs))
                for n in names]
        each = [f"{n} {v:.2f}s" for n, v in each if v is not None]
        if each:
            parts.append(f"{side.label}: {', '.join(each)}, each run its own (the stack's page "
                         "is down from the first run's stop to the last one's answer)")
    if not parts:
        return None
    return "downtime as dockmove's --json-report has it (median): " + "; ".join(parts)


def run(ctx: Context) -> list[Case]:
    ensure_engine(ctx)
    ctx.lab.ensure_stack(ctx.log)
    urls = {"source": f"http://{address(ctx, 'old')}:{images.STACK_PORT}/",
            "target": f"http://{address(ctx, 'new')}:{images.STACK_PORT}/"}
    case = Case("stack", "shop: db + web (compose 1.29)",
                [Side(ONE_BY_ONE), Side(GROUP, TARGET)], baseline=ONE_BY_ONE,
                metric="downtime_s")
    case.notes.append(f"new keeps {images.STACK_IMAGE} between runs: both sides skip the "
                      "image, so the downtime compares cut-overs, not an image copy")
    if "project" not in ctx.migrate_options:
        case.notes.append("this dockmove has no --project: the group side fails")

    def prepare(_label: str) -> None:
        """new clear of the stack (its image kept), the stack on old as seeded."""
        ctx.lab.sh("new", images.stack_clear_script())
        for f in ctx.records.glob(f"*-{images.STACK_PROJECT}_*.json"):
            f.unlink()                  # this run's records are the only ones for the stack
        _ensure_image(ctx)
        ctx.lab.sh("old", images.stack_source_script(), timeout=300)
        _wait_for(urls["source"], "the stack's page on old")
        if answers(urls["target"], PAGE):
            raise RuntimeError(f"{urls['target']} answers before the run: new is not clear")

    def polled(migrate: Callable[[], dict]) -> Callable[[], dict]:
        def go() -> dict:
            return with_downtime(urls, PAGE, migrate, "old's page never stopped answering or "
                                 "new's never answered after it")
        return go

    db, web = (migrate_runner(ctx, name, label="alone") for name in images.STACK_CONTAINERS)
    group = migrate_runner(ctx, images.STACK_PROJECT, "--project", label="group")
    try:
        alternate(ctx, case, {ONE_BY_ONE: polled(lambda: sequence([db(), web()])),
                              GROUP: polled(group)}, prepare=prepare)
    finally:                            # the lab as seeded: the stack on old, none on new
        try:
            prepare("")
        except Exception as e:
            ctx.log(f"  stack: could not put the stack back on old: {e}")
    note = own_downtime_note(case)
    if note:
        case.notes.append(note)
    sent = {s.label: max((image_sent(x) for x in s.ok_samples()), default=0) for s in case.sides}
    if any(sent.values()):
        case.notes.append("image sent all the same (most in a run): " + ", ".join(
            f"{label} {n / 2**20:.1f} MiB" for label, n in sent.items()))
    return [case]


def _ensure_image(ctx: Context) -> None:
    """The stack's image on new, as on old (same id), copied untimed."""
    if not has_image(ctx, images.STACK_IMAGE):
        ctx.log(f"setup: copying {images.STACK_IMAGE} to new (docker save | docker load, "
                "not timed)")
        raw_runner(ctx, images.STACK_IMAGE)()
    ids = {h: ctx.lab.sh(h, f"docker image inspect -f '{{{{.Id}}}}' {images.STACK_IMAGE}"
                         ).output.strip() for h in ("old", "new")}
    if ids["old"] != ids["new"]:
        raise RuntimeError(f"{images.STACK_IMAGE} differs on new ({ids['new'][:19]}) from "
                           f"old ({ids['old'][:19]})")


def _wait_for(url: str, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not answers(url, PAGE):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} ({url}) has no {PAGE.decode()!r} after {timeout:.0f} s")
        time.sleep(0.2)
