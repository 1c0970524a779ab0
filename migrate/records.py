"""Migration records on disk: one typed `Record`, its one writer and its one
reader.

A record is versioned JSON (`version`), mode 0600 in a 0700 folder (it holds
env values), created when the migration starts and replaced whole, atomically,
each time the run learns something (`save`). Every reader (migrate, rollback,
verify-port) goes through `read_record` / `last_finished`, and `finished` is
the one rule: a migration counts as finished only when its outcome is "done"
(a run killed before it wrote an outcome did not finish). Records written
before the version field (version 1) have the same keys and read the same.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from fleet.errors import MigrateError

from .compose_labels import PROJECT

VERSION = 2


@dataclass(frozen=True)
class Record:
    path: Path
    created: str                         # the run's id, a UTC timestamp
    container: str                       # on the source
    source: str
    target: str
    target_name: str                     # on the target (--name)
    mode: str = "commit"
    cutover: str = "live"
    run_argv: tuple[str, ...] = ()       # the docker run that recreates it
    image_id: str = ""
    container_inspect: dict = field(default_factory=dict, repr=False)
    image_inspect: dict = field(default_factory=dict, repr=False)
    networks: dict = field(default_factory=dict, repr=False)
    data: tuple[dict, ...] = ()          # {kind, name, destination} of each copy
    baseline: dict = field(default_factory=dict)       # host port -> the source's answer
    answered_before: tuple[str, ...] | None = None     # container ports that answered
    outcome: str | None = None           # done | failed | interrupted | None (killed)
    error: str | None = None
    source_stopped: bool = False
    left_stopped: bool = False           # it was not running: created on the target, not started
    source_removed: bool = False
    source_autoremoved: bool = False     # a --rm source removed after verification
    source_restart_policy: dict | None = None          # set to "no" after the cut-over
    target_restart_policy: dict | None = None          # set to "no" by a rollback
    rolled_back: str | None = None
    result: dict | None = None           # the run's numbers (as --json-report)
    group: tuple[str, ...] = ()          # moved together with these (start order), itself too
    version: int = VERSION

    @property
    def finished(self) -> bool:
        return self.outcome == "done"

    def to_json(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "path"}
        return json.loads(json.dumps(d))            # tuples become lists

    def create(self) -> "Record":
        """Write it as a new file (mode 0600), never over another run's."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise MigrateError(f"{self.path} exists: a migration of {self.container} started "
                               "in the same second has it; nothing was changed, run again"
                               ) from None
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(self.to_json(), indent=2))
        return self

    def save(self) -> "Record":
        """Replace it atomically with what it says now (mode 0600)."""
        text = json.dumps(self.to_json(), indent=2)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, self.path)
        return self

    def update(self, **changes) -> "Record":
        """This record with `changes`, saved."""
        return dataclasses.replace(self, **changes).save()


def new_record(directory: Path, created: str, container: str, **fields) -> Record:
    """A record for a run starting now, written (refused if its file exists)."""
    return Record(path=directory / f"{created}-{container}.json", created=created,
                  container=container, **fields).create()


_TUPLES = {"run_argv", "data", "group"}


def read_record(path: Path) -> Record | None:
    """The record in `path`, or None when it is unreadable or not a record."""
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(d, dict) or not d.get("container") or not d.get("target"):
        return None
    known = {f.name for f in dataclasses.fields(Record)} - {"path"}
    values = {k: v for k, v in d.items() if k in known}
    for k in ("baseline", "container_inspect", "image_inspect", "networks"):
        if not isinstance(values.get(k, {}), dict):
            values.pop(k)
    for k in _TUPLES & values.keys():
        values[k] = tuple(values[k] or ())
    if values.get("answered_before") is not None:
        values["answered_before"] = tuple(values["answered_before"])
    values.setdefault("created", path.name.partition("-")[0])
    values["target_name"] = values.get("target_name") or d["container"]
    values["version"] = d.get("version", 1)
    try:
        return Record(path=path, **values)
    except TypeError:
        return None


def project_moved(records: Path, project: str, source: str | None = None
                  ) -> tuple[str, ...] | str:
    """The containers of a compose project whose last finished migration
    on record (from `source`, if given) is in force (not rolled back), by
    name; or, when they came from several hosts, the problem."""
    last: dict[tuple[str, str], Record] = {}
    for f in sorted(records.glob("*.json")) if records.is_dir() else []:
        r = read_record(f)
        labels = ((r.container_inspect.get("Config") or {}).get("Labels") or {}) if r else {}
        if (r is not None and r.finished and labels.get(PROJECT) == project
                and source in (None, r.source)):
            last[(r.source, r.container)] = r
    live = {k: r for k, r in last.items() if not r.rolled_back}
    sources = sorted({s for s, _ in live})
    if len(sources) > 1:
        return (f"the compose project {project!r} was moved from several hosts "
                f"({', '.join(sources)}): say which with --from")
    return tuple(sorted(name for _, name in live))


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
