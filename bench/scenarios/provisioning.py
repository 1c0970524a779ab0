"""Provisioning and fan-out.

- provision: `inv provision --host new` on a fresh host (the first run), then
  again (no-op runs: every step already done).
- fanout: `inv hosts` and no-op provisioning over N lab hosts: one host, the
  N hosts one call after the other (serial), and one call for all N (the
  tool runs hosts in parallel); first runs on N fresh hosts in one call
  against one fresh host (fresh hosts cost a lab recreation each time, so
  `--first-run-reps` defaults to 1; `--first-run-serial` adds the serial side).
"""
from __future__ import annotations

from .. import tool
from ..measure import Context, alternate
from ..model import Case, Side, Target

NOOP = Target("max_value", 10.0, "< 10 s per host")
FANOUT = Target("max_ratio", 2.0, "< 2x one host")


def _fresh(ctx: Context, hosts: list[str]) -> None:
    used = [h for h in hosts if ctx.lab.has_engine(h)]
    if used:
        ctx.log(f"setup: recreating {', '.join(used)} (they have Docker already)")
        ctx.lab.recreate(used)


def provision(ctx: Context) -> list[Case]:
    case = Case("provision", "new", [Side("first run"), Side("no-op", NOOP)])
    logs = ctx.logs

    def once(label: str):
        n = {"i": 0}

        def go() -> dict:
            n["i"] += 1
            return tool.provision(ctx.lab, ["new"], log=logs / f"provision-{label}-{n['i']}.log")
        return go

    _fresh(ctx, ["new"])
    alternate(ctx, case, {"first run": once("first")}, source="new", target="new", reps=1)
    alternate(ctx, case, {"no-op": once("noop")}, source="new", target="new")
    return [case]


def fanout(ctx: Context) -> list[Case]:
    nodes = ctx.lab.node_names(ctx.settings.nodes)
    one, n = nodes[:1], len(nodes)
    serial, parallel = f"serial x{n}", f"parallel x{n}"
    logs = ctx.logs

    def runners(task, what: str) -> dict:
        def fn(names, log):
            return task(ctx.lab, names, log=log)
        return {"one": lambda: fn(one, log=logs / f"{what}-one.log"),
                serial: lambda: tool.serial(fn, nodes, log=logs / f"{what}-serial.log"),
                parallel: lambda: fn(nodes, log=logs / f"{what}-parallel.log")}

    cases = []
    hosts_case = Case("fanout", "inv hosts", [Side("one"), Side(serial), Side(parallel, FANOUT)],
                      baseline="one")
    alternate(ctx, hosts_case, runners(tool.hosts, "hosts"), source=None, target=None)
    cases.append(hosts_case)

    first = Case("fanout", "provision, first run",
                 [Side("one")] + ([Side(serial)] if ctx.settings.first_run_serial else [])
                 + [Side(parallel, FANOUT)], baseline="one")
    first_runners = runners(tool.provision, "provision-first")
    if not ctx.settings.first_run_serial:
        del first_runners[serial]
    alternate(ctx, first, first_runners, source=None, target=None,
              reps=ctx.settings.first_run_reps,
              prepare=lambda label: _fresh(ctx, one if label == "one" else nodes))
    cases.append(first)

    missing = [h for h in nodes if not ctx.lab.has_engine(h)]
    if missing:
        tool.provision(ctx.lab, missing)
    noop = Case("fanout", "provision, no-op", [Side("one"), Side(serial), Side(parallel, FANOUT)],
                baseline="one")
    alternate(ctx, noop, runners(tool.provision, "provision-noop"), source=None, target=None)
    cases.append(noop)
    return cases
