"""dockmove's own tasks as the benchmarks run them: `inv migrate`,
`inv provision`, `inv hosts`, each timed from the outside (the whole
command, as an operator waits for it), its output kept in a log file."""
from __future__ import annotations

import json
import re
from pathlib import Path

from .lab import Lab
from .stats import step_times


def options(lab: Lab, task: str) -> set[str]:
    """The --options `inv --help TASK` lists (what this dockmove supports)."""
    return set(re.findall(r"--(?:\[no-\])?([a-z][a-z0-9-]*)", lab.inv("--help", task).output))


def _keep(log: Path | None, argv: tuple[str, ...], output: str) -> None:
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("$ inv " + " ".join(argv) + "\n" + output)


def migrate(lab: Lab, container: str, *args: str, supported: set[str], records: Path,
            log: Path | None = None, source: str = "old", target: str = "new") -> dict:
    """One `inv migrate`; a sample: seconds, the tool's JSON report (when this
    dockmove has --json-report) and the seconds of each of its steps."""
    report = (log or records / "report").with_suffix(".report.json")
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    argv = ("migrate", container, "--from", source, "--to", target,
            "--records", str(records), *args)
    if "json-report" in supported:
        argv += ("--json-report", str(report))
    done = lab.inv(*argv, check=False)
    _keep(log, argv, done.output)
    if done.code != 0:
        tail = "\n".join(done.output.strip().splitlines()[-6:])
        raise RuntimeError(f"inv migrate exited {done.code}: {tail}")
    sample = {"seconds": done.seconds, "steps": step_times(done.output)}
    if report.exists():
        sample["report"] = json.loads(report.read_text())
        if sample["report"].get("downtime_s") is not None:
            sample["tool_downtime_s"] = sample["report"]["downtime_s"]
    return sample


def _timed(lab: Lab, argv: tuple[str, ...], log: Path | None) -> dict:
    done = lab.inv(*argv, check=False)
    _keep(log, argv, done.output)
    if done.code != 0:
        raise RuntimeError(f"inv {argv[0]} exited {done.code}: "
                           + " / ".join(done.output.strip().splitlines()[-4:]))
    return {"seconds": done.seconds}


def provision(lab: Lab, hosts: list[str], log: Path | None = None) -> dict:
    return _timed(lab, ("provision", "--host", ",".join(hosts)), log)


def hosts(lab: Lab, names: list[str], log: Path | None = None) -> dict:
    return _timed(lab, ("hosts", "--host", ",".join(names)), log)


def serial(fn, names: list[str], log: Path | None = None) -> dict:
    """One call per host, one after the other: the serial side of fan-out."""
    total = 0.0
    for name in names:
        total += fn([name], log=log and log.with_name(f"{log.stem}-{name}.log"))["seconds"]
    return {"seconds": total}
