"""Migration records on disk, and the one way to read them back.

A record is JSON, mode 0600 (it holds env values), written once when the
migration starts and updated in place atomically as it goes. `Record` is its
typed view and `finished` its one rule: a migration counts as finished only
when its outcome is "done" (a run that was killed before it wrote an outcome
did not finish). `inv verify-port` and `inv migrate --rollback` both find the
last finished migration through `last_finished`.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path


def write_record(directory: Path, data: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{data['created']}-{data['container']}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    return path


def update_record(path: Path, **fields) -> None:
    """Add fields to a record, replacing the file atomically (mode 0600)."""
    data = json.loads(path.read_text())
    data.update(fields)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Record:
    """What a migration record says, typed. `data` keeps the whole JSON for
    the fields only one reader needs (inspect outputs)."""
    path: Path
    container: str
    source: str
    target: str
    target_name: str
    outcome: str | None                  # done | failed | interrupted | None (killed)
    run_argv: tuple[str, ...] = ()
    baseline: dict = field(default_factory=dict)      # port -> the source's answer
    source_stopped: bool = False
    source_removed: bool = False
    source_autoremoved: bool = False     # a --rm source that its stop removed
    source_restart_policy: dict | None = None         # set to "no" after the cut-over
    rolled_back: str | None = None
    data: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.outcome == "done"


def read_record(path: Path) -> Record | None:
    """The record in `path`, or None when it is unreadable or not a record."""
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(d, dict) or not d.get("container") or not d.get("target"):
        return None
    return Record(path=path, container=d["container"], source=d.get("source", ""),
                  target=d["target"], target_name=d.get("target_name") or d["container"],
                  outcome=d.get("outcome"), run_argv=tuple(d.get("run_argv") or ()),
                  baseline=d.get("baseline") or {},
                  source_stopped=bool(d.get("source_stopped")),
                  source_removed=bool(d.get("source_removed")),
                  source_autoremoved=bool(d.get("source_autoremoved")),
                  source_restart_policy=d.get("source_restart_policy"),
                  rolled_back=d.get("rolled_back"), data=d)


def last_finished(records: Path, container: str | None = None, *,
                  rolled_back: bool = True) -> Record | None:
    """The newest finished migration (of `container`, if given); with
    rolled_back=False, one that was not rolled back."""
    pattern = f"*-{container}.json" if container else "*.json"
    files = sorted(records.glob(pattern)) if records.is_dir() else []
    for f in reversed(files):
        r = read_record(f)
        if r is None or not r.finished or (container and r.container != container):
            continue
        if not rolled_back and r.rolled_back:
            continue
        return r
    return None
