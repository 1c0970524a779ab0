"""Run the benchmarks: `.venv/bin/python -m bench.run --all` (every scenario,
full sizes, 3 repetitions), `--smoke` (tiny, once each), or scenario names.
See `python -m bench.run --help` and the README's Benchmarks section.

Starts the bench lab (dockmove-bench, state in .lab-bench/) and the fast pair
(bench/fastpair.py, state in .lab-fast/) if they are not up (`--pair` picks
one), runs the scenarios on each, prints the table, writes bench/results/latest.{json,csv,md}
and the run's logs under bench/results/logs/. Exit code 0 when every run
succeeded (whether targets were met is in the table), else 1.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import readme, report, tool
from .fastpair import FastPair
from .lab import PROJECT, Lab
from .machine import facts
from .measure import Context
from .model import Case
from .scenarios import dbfile, downtime, filtercost, provisioning, stack, transfer
from .settings import Settings, from_args

RUNS = {"provision": provisioning.provision, "fanout": provisioning.fanout,
        "full": transfer.full, "incremental": transfer.incremental, "filter": filtercost.run,
        "slowlink": transfer.slowlink, "downtime": downtime.run, "stack": stack.run,
        "dbfile": dbfile.run}


def log(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


def lab_for(settings: Settings) -> Lab:
    return Lab(name=os.environ.get("DOCKMOVE_BENCH_LAB", "dockmove-bench"),
               dir=Path(os.environ.get("DOCKMOVE_BENCH_LAB_DIR", Lab.dir)),
               nodes=settings.nodes)


def _key(hosts, name: str) -> str:
    """The lab's facts keep their names (docker_old); the fast pair's are fast_*."""
    return name if hosts.label == "lab" else f"{hosts.label}_{name}"


def providers(settings: Settings) -> list:
    """The pairs of hosts to run on, in order: the lab, then the fast pair."""
    out = []
    if "lab" in settings.pairs and settings.scenarios_for("lab"):
        out.append(lab_for(settings))
    if "fast" in settings.pairs and settings.scenarios_for("fast"):
        out.append(FastPair())
    return out


def main(argv: list[str] | None = None) -> int:
    settings = from_args(argv)
    if settings.update_readme:           # fail now, not after an hour of measuring
        readme.splice((PROJECT / "README.md").read_text(), "")
    pairs = providers(settings)
    if not pairs:
        log(f"nothing to run: {', '.join(settings.scenarios)} do not run on "
            f"{', '.join(settings.pairs)}")
        return 2
    logs = settings.results / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    records = Path(tempfile.mkdtemp(prefix="dockmove-bench-records-"))
    machine: dict = {}
    cases: list[Case] = []
    started = time.monotonic()
    contexts: list[Context] = []
    try:
        for hosts in pairs:
            try:
                if not hosts.running(["old", "new", *hosts.node_names()]):
                    log(f"{hosts.label}: starting {hosts.name}")
                    hosts.up(log)
            except Exception as e:
                log(f"{hosts.label}: could not start: {e}")
                traceback.print_exc()
                cases.append(Case("(setup)", hosts.name, [], notes=[f"could not start: {e}"],
                                  pair=hosts.label))
                continue
            ctx = Context(lab=hosts, settings=settings,
                          migrate_options=tool.options(hosts, "migrate"),
                          logs=logs / hosts.label, records=records, log=log)
            contexts.append(ctx)
            if not machine:
                machine = facts(hosts)
                del machine["docker_old"], machine["docker_new"]    # set below, by pair
            machine[_key(hosts, "docker_old")] = hosts.engine_version("old")
            machine["load_avg_" + hosts.label] = os.getloadavg()[0]
            log(f"{hosts.label}: {machine['cpu']}, {machine['cores']} cores, kernel "
                f"{machine['kernel']}, docker old {hosts.engine_version('old')} / new "
                f"{hosts.engine_version('new')}, dockmove {machine['dockmove_commit'][:12]}")
            for name in settings.scenarios_for(hosts.label):
                log(f"scenario {name} on {hosts.label}")
                try:
                    found = RUNS[name](ctx)
                except Exception as e:
                    log(f"scenario {name} failed in setup: {e}")
                    traceback.print_exc()
                    found = [Case(name, "(setup)", [], notes=[f"setup failed: {e}"])]
                for case in found:
                    case.pair = hosts.label
                cases += found
    finally:
        for ctx in contexts:
            machine.update(ctx.facts)
            machine[_key(ctx.lab, "docker_new")] = ctx.lab.engine_version("new")
        if contexts:
            machine["migrate_options"] = sorted(contexts[0].migrate_options)
        machine["minutes"] = round((time.monotonic() - started) / 60, 1)
        paths = report.write(settings.results, cases, machine, settings.as_dict())
        shutil.rmtree(records, ignore_errors=True)
        print()
        print(report.table(cases))
        for line in report.notes(cases):
            print(f"note: {line}")
        for line in report.profiles(cases):
            print(f"profile: {line}")
        print("\nwritten: " + ", ".join(str(p) for p in paths))
        if settings.update_readme:
            readme.update(PROJECT / "README.md", paths[-1].read_text())
            print("README.md: the Benchmarks table is the one above")
        if settings.down:
            for hosts in pairs:
                hosts.down()
    return 0 if all(c.sides and not any(s.errors() for s in c.sides) for c in cases) else 1

if __name__ == "__main__":
    sys.exit(main())
