"""Run the benchmarks: `.venv/bin/python -m bench.run --all` (every scenario,
full sizes, 3 repetitions), `--smoke` (tiny, once each), or scenario names.
See `python -m bench.run --help` and the README's Benchmarks section.

Starts the bench lab (dockmove-bench, state in .lab-bench/) if it is not up,
runs the scenarios, prints the table, writes bench/results/latest.{json,csv,md}
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
from .lab import PROJECT, Lab
from .machine import facts
from .measure import Context
from .model import Case
from .scenarios import dbfile, downtime, provisioning, stack, transfer
from .settings import Settings, from_args

RUNS = {"provision": provisioning.provision, "fanout": provisioning.fanout,
        "full": transfer.full, "incremental": transfer.incremental,
        "slowlink": transfer.slowlink, "downtime": downtime.run, "stack": stack.run,
        "dbfile": dbfile.run}


def log(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


def lab_for(settings: Settings) -> Lab:
    return Lab(name=os.environ.get("DOCKMOVE_BENCH_LAB", "dockmove-bench"),
               dir=Path(os.environ.get("DOCKMOVE_BENCH_LAB_DIR", Lab.dir)),
               nodes=settings.nodes)


def main(argv: list[str] | None = None) -> int:
    settings = from_args(argv)
    if settings.update_readme:           # fail now, not after an hour of measuring
        readme.splice((PROJECT / "README.md").read_text(), "")
    lab = lab_for(settings)
    if not lab.running(["old", "new", *lab.node_names()]):
        log(f"lab: starting {lab.name} with {lab.nodes} extra hosts")
        lab.up(log)
    logs = settings.results / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    records = Path(tempfile.mkdtemp(prefix="dockmove-bench-records-"))
    ctx = Context(lab=lab, settings=settings, migrate_options=tool.options(lab, "migrate"),
                  logs=logs, records=records, log=log)
    machine = facts(lab)
    log(f"machine: {machine['cpu']}, {machine['cores']} cores, kernel {machine['kernel']}, "
        f"docker old {machine['docker_old']} / new {machine['docker_new']}, "
        f"dockmove {machine['dockmove_commit'][:12]}")
    cases: list[Case] = []
    started = time.monotonic()
    try:
        for name in settings.scenarios:
            log(f"scenario {name}")
            try:
                cases += RUNS[name](ctx)
            except Exception as e:
                log(f"scenario {name} failed in setup: {e}")
                traceback.print_exc()
                cases.append(Case(name, "(setup)", [], notes=[f"setup failed: {e}"]))
    finally:
        machine.update(ctx.facts, docker_new=lab.engine_version("new"),
                       migrate_options=sorted(ctx.migrate_options),
                       minutes=round((time.monotonic() - started) / 60, 1))
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
            lab.down()
    return 0 if all(c.sides and not any(s.errors() for s in c.sides) for c in cases) else 1


if __name__ == "__main__":
    sys.exit(main())
