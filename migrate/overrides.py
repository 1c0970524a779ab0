"""What the user changes for the target (--name, --publish, --env), and the
`--change` lines that give an imported (exported) filesystem its config back.
Pure."""
from __future__ import annotations

import dataclasses
import json

from fleet.errors import UsageError

from .record import RunSpec


def apply(spec: RunSpec, *, name: str | None = None, publish: tuple[str, ...] = (),
          env: tuple[str, ...] = ()) -> RunSpec:
    """--publish HOST:CONTAINER[/proto] replaces the binding of that container
    port; --env KEY=VALUE sets or replaces KEY."""
    opts = list(spec.options)
    for p in publish:
        if ":" not in p:
            raise UsageError(f"--publish {p!r}: expected HOST:CONTAINER[/udp]")
        cport = p.rsplit(":", 1)[1]
        found = False
        for i, word in enumerate(opts[:-1]):
            if word == "--publish" and opts[i + 1].rsplit(":", 1)[-1] == cport:
                opts[i + 1] = p
                found = True
        if not found:
            opts += ["--publish", p]
    for item in env:
        key, sep, _ = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--env {item!r}: expected KEY=VALUE")
        kept = []
        skip = False
        for i, word in enumerate(opts):
            if skip:
                skip = False
                continue
            if word == "--env" and i + 1 < len(opts) and opts[i + 1].partition("=")[0] == key:
                skip = True
                continue
            kept.append(word)
        opts = kept + ["--env", item]
    return dataclasses.replace(spec, name=name or spec.name, options=tuple(opts))


def _dockerfile_string(value: str) -> str:
    """A double-quoted Dockerfile word: the parser expands $VAR and reads
    backslash escapes, so both are escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped.replace("\n", "\\n") + '"'


def import_changes(container: dict) -> list[str]:
    """`docker import --change` lines restoring what `docker export` drops:
    the container's effective config (its image's, plus what it was given)."""
    c = container.get("Config") or {}
    changes = []
    for item in c.get("Env") or []:
        k, _, v = item.partition("=")
        changes.append(f"ENV {k}={_dockerfile_string(v)}")
    for k, v in sorted((c.get("Labels") or {}).items()):
        changes.append(f"LABEL {_dockerfile_string(k)}={_dockerfile_string(v)}")
    for port in sorted(c.get("ExposedPorts") or {}):
        changes.append(f"EXPOSE {port}")
    for path in sorted(c.get("Volumes") or {}):
        changes.append(f"VOLUME {json.dumps([path])}")
    if c.get("WorkingDir"):
        changes.append(f"WORKDIR {c['WorkingDir']}")
    if c.get("User"):
        changes.append(f"USER {c['User']}")
    if c.get("StopSignal"):
        changes.append(f"STOPSIGNAL {c['StopSignal']}")
    if c.get("Entrypoint"):
        changes.append(f"ENTRYPOINT {json.dumps(c['Entrypoint'])}")
    if c.get("Cmd"):
        changes.append(f"CMD {json.dumps(c['Cmd'])}")
    return changes
