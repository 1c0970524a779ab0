"""What the user changes for the target (--name, --publish, --env), as data
of the run spec (migrate/spec.py), and the `--change` lines for the images of
commit and export modes, which keep the container's own env and labels out of
those images: the container gets them from the record when it is created
(migrate/envfile.py). Pure.

- export: `docker import` gets the ORIGINAL image's config back (ENV, CMD,
  ENTRYPOINT, EXPOSE, WORKDIR, USER, LABEL, STOPSIGNAL, VOLUME), not the
  container's; an image ENV that looks secret (fleet/secrets.py) stays out of
  the --change lines (they are an argv) and goes with the container's env.
- commit: `docker commit` copies the container's config into the image and
  `--change` cannot remove a variable, so each env variable and label the
  container was given gets its original image's value back, or an empty one
  (the name stays, its value does not).
"""
from __future__ import annotations

import dataclasses
import json
import re
from typing import Mapping

from fleet.errors import UsageError
from fleet.secrets import looks_secret

from .spec import Port, RunSpec

PROTOS = ("tcp", "udp", "sctp")


def apply(spec: RunSpec, *, name: str | None = None, publish: tuple[str, ...] = (),
          env: tuple[str, ...] = (), environ: Mapping[str, str] | None = None) -> RunSpec:
    """--publish [IP:]HOST:CONTAINER[/proto] replaces the bindings of that
    container port (or adds one); --env KEY=VALUE sets or replaces KEY; --env
    KEY takes its value from `environ` (dockmove's own environment: no value
    on a command line)."""
    ports = list(spec.ports)
    for text in publish:
        new = parse_publish(text)
        same = [i for i, p in enumerate(ports)
                if (p.container, p.proto) == (new.container, new.proto)]
        if same:
            ports[same[0]] = new
            ports = [p for i, p in enumerate(ports) if i not in same[1:]]
        else:
            ports.append(new)
    pairs = list(spec.env)
    for item in env:
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError("--env: expected KEY=VALUE, or KEY to take its value from this "
                             "environment (a name before the =)")
        if not sep:
            if environ is None or key not in environ:
                raise UsageError(f"--env {key}: {key} is not set in this environment "
                                 f"(--env {key}=VALUE gives the value, or export {key})")
            value = environ[key]
        pairs = [(k, v) for k, v in pairs if k != key] + [(key, value)]
    return dataclasses.replace(spec, name=name or spec.name, ports=tuple(ports),
                               env=tuple(pairs))


_PORTS = re.compile(r"^([0-9]{1,5})(?:-([0-9]{1,5}))?$")


def _ports_ok(text: str) -> bool:
    m = _PORTS.match(text)
    return bool(m) and 0 < int(m[1]) <= int(m[2] or m[1]) <= 65535


def parse_publish(text: str) -> Port:
    """A user's --publish [IP:][HOST]:CONTAINER[/proto] (either port may be a
    range; no HOST: the engine picks one); bad input is a UsageError."""
    value, _, proto = text.partition("/")
    parts = value.rsplit(":", 2)
    host_port = parts[-2] if len(parts) >= 2 else ""
    if (len(parts) < 2 or not _ports_ok(parts[-1]) or (proto or "tcp") not in PROTOS
            or (host_port and not _ports_ok(host_port))):
        raise UsageError(f"--publish {text!r}: expected HOST:CONTAINER[/udp]")
    return Port(parts[-1], proto or "tcp", parts[0].strip("[]") if len(parts) == 3 else "",
                host_port)


def _dockerfile_string(value: str) -> str:
    """A double-quoted Dockerfile word: the parser expands $VAR and reads
    backslash escapes, so both are escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped.replace("\n", "\\n") + '"'


def _env(config: dict) -> list[tuple[str, str]]:
    """NAME=value pairs; a bare NAME (unset) is left out: no --change line
    can say "unset", and the container's own bare name shadows the image's."""
    return [(k, v) for k, sep, v in (item.partition("=") for item in config.get("Env") or [])
            if sep]


def import_changes(image: dict) -> list[str]:
    """`docker import --change` lines giving an exported filesystem its
    original image's config back, secret-looking ENV left out (see
    `held_back_env`)."""
    c = image.get("Config") or {}
    changes = []
    for k, v in _env(c):
        if not looks_secret(k, v):
            changes.append(f"ENV {k}={_dockerfile_string(v)}")
    for k, v in sorted((c.get("Labels") or {}).items()):
        if not looks_secret(k, v):
            changes.append(f"LABEL {_dockerfile_string(k)}={_dockerfile_string(v)}")
    for port in sorted(c.get("ExposedPorts") or {}):
        changes.append(f"EXPOSE {port}")
    for path in sorted(c.get("Volumes") or {}):
        changes.append(f"VOLUME {json.dumps([path])}")
    if c.get("WorkingDir"):
        changes.append(f"WORKDIR {c['WorkingDir']}")
    if c.get("User"):
        changes.append(f"USER {c['User']}")
    if c.get("Entrypoint"):
        changes.append(f"ENTRYPOINT {json.dumps(c['Entrypoint'])}")
    if c.get("Cmd"):
        changes.append(f"CMD {json.dumps(c['Cmd'])}")
    return changes


# what `docker import --change` (and commit) takes: moby's builder allows only these
IMPORT_INSTRUCTIONS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER",
                       "VOLUME", "WORKDIR")
# what the imported image lacks, so that the container is given it at create
NOT_IMPORTED = ("StopSignal", "Healthcheck")


def as_imported(image: dict) -> dict:
    """The original image as `docker import` remakes it from the --change
    lines: without what import cannot take (stop signal, healthcheck), which
    the run spec then gives the container itself (--stop-signal, --health-*)."""
    config = {k: v for k, v in (image.get("Config") or {}).items() if k not in NOT_IMPORTED}
    return {**image, "Config": config}


def change_problems(changes: list[str]) -> list[str]:
    """--change lines the target engine's import refuses."""
    return [f"docker import cannot take --change {ch.split()[0]} (it takes only "
            f"{', '.join(IMPORT_INSTRUCTIONS)}); use --mode commit or image"
            for ch in changes if ch.split()[0].upper() not in IMPORT_INSTRUCTIONS]


def held_back_env(spec: RunSpec, image: dict) -> RunSpec:
    """Export mode: the original image's secret-looking ENV and labels, which
    the imported image lacks (the --change lines are an argv), are given to
    the container with its own env and labels (in files)."""
    c = image.get("Config") or {}
    have = {k for k, _ in spec.env}
    extra = tuple((k, v) for k, v in _env(c) if looks_secret(k, v) and k not in have)
    have_labels = {k for k, _ in spec.labels}
    labels = tuple((k, v) for k, v in sorted((c.get("Labels") or {}).items())
                   if looks_secret(k, v) and k not in have_labels)
    if not extra and not labels:
        return spec
    return dataclasses.replace(spec, env=spec.env + extra, labels=spec.labels + labels)


def commit_changes(container: dict, image: dict) -> list[str]:
    """`docker commit --change` lines that take the values the container was
    given (env, labels) out of the committed image's config: each gets its
    original image's value back, or an empty one (a secret-looking image
    value too: the lines are an argv)."""
    c, i = container.get("Config") or {}, image.get("Config") or {}
    ienv = dict(_env(i))
    changes = []
    for k, v in _env(c):
        if ienv.get(k) == v:
            continue
        back = ienv.get(k, "")
        changes.append(f"ENV {k}={_dockerfile_string('' if looks_secret(k, back) else back)}")
    ilabels = i.get("Labels") or {}
    for k, v in sorted((c.get("Labels") or {}).items()):
        if ilabels.get(k) == v:
            continue
        back = ilabels.get(k, "")
        changes.append(f"LABEL {_dockerfile_string(k)}="
                       f"{_dockerfile_string('' if looks_secret(k, back) else back)}")
    return changes
