"""Whether `docker compose up` on the target keeps the containers of a
compose project we moved, or recreates them (and throws away the container
layer we copied).

Compose recreates a service's container when its label
com.docker.compose.config-hash differs from the hash compose computes for
the service, or com.docker.compose.image differs from the id of the image
the service names. The hash depends on compose's version (1.29 and 2.x hash
differently) and on the files and .env as compose reads them. So, once the
project's files are on the target (migrate/project_files.py), compose is
asked on both hosts for each service's hash (`config --hash '*'`, in the
project's working directory, with its files and env files), once the
images are there too (compose 1 hashes the image's id):

- where the source's compose gives the container's own label (the container
  is what its files say, on the source), the files it read are on the
  target as they are on the source, and (with the same compose version on
  both) the target's compose gives the same hash, the container is created
  on the target with the hash the target's compose gives, and with its
  image's id there: compose there takes it as its own;
- where the source's compose gives another hash (the files or the creating
  shell's environment changed since), compose would recreate it on the
  source too: left as it is, and said;
- a service that shares another container's network or volumes
  (network_mode: service:X, volumes_from) hashes, in compose v2, with that
  container's id, which differs on the target: compose there recreates it
  at its first `up`; said, with what that loses;
- without compose on the target, nothing can be checked: said.

Compose 1 does not label a container with its depends_on (compose 2
does): `depends_on()` reads them from the project's config as the source's
compose prints it, so that a group starts db before web there too.

`command()`, `parse()`, `decide()`, `relabel()` and `parse_depends()` are pure; `read()` asks
one host (compose v2's `docker compose`, else compose 1's `docker-compose`);
migrate/group_run.py applies the labels before any container is created.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import yaml

from fleet.remote import Remote
from fleet.secrets import mask_text

from .compose_labels import (CONFIG_FILES, ENV_FILES, HASH, IMAGE, PROJECT, SERVICE, VERSION,
                             WORKING_DIR)
from .project_files import paths


def command(labels: Mapping[str, str], *what: str) -> tuple[str, list[str]] | None:
    """The working directory and the compose arguments (after `docker
    compose` or `docker-compose`) that print every service's hash (or
    `what`), as the project's labels describe it; None when they do not say
    enough."""
    project = labels.get(PROJECT, "")
    wd = (labels.get(WORKING_DIR) or "").strip()
    files = paths(labels, CONFIG_FILES)
    if not project or not wd.startswith("/") or not files:
        return None
    args = ["-p", project]
    for f in files:
        args += ["-f", f]
    for e in paths(labels, ENV_FILES):
        args += ["--env-file", e]
    return wd, args + list(what or ("config", "--hash", "*"))


def parse(stdout: str) -> dict[str, str]:
    """`config --hash '*'`: one "SERVICE HASH" per line."""
    out = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[0]] = parts[1]
    return out


@dataclass(frozen=True)
class Member:
    """What decide() needs of one moved container."""
    name: str
    labels: Mapping[str, str]
    image_id: str                   # the id of the image its service names, on the target
    shares: str                     # "" or what it shares with another container


@dataclass(frozen=True)
class Hashes:
    """One host's compose: its version and each service's hash, or why not."""
    version: str = ""               # "" when there is no compose there
    hashes: Mapping[str, str] | None = None
    error: str = ""                 # compose there could not read the project


@dataclass(frozen=True)
class Adoption:
    labels: Mapping[str, Mapping[str, str]]     # member -> labels set otherwise on the target
    said: tuple[str, ...]           # what is printed
    recreated: tuple[str, ...]      # members compose on the target would recreate


def decide(members: Sequence[Member], source: Hashes, target: Hashes, src: str,
           dst: str, missing: Sequence[str] = ()) -> Adoption:
    """`missing`: files compose reads that the target does not have as the
    source has them."""
    labels: dict[str, dict[str, str]] = {}
    said: list[str] = []
    recreated: list[str] = []
    if not target.version:
        return Adoption({}, (f"compose is not on {dst}: whether a later `docker compose up` "
                             "there keeps these containers is not checked",), ())
    if target.hashes is None:
        return Adoption({}, (f"compose on {dst} cannot read the project ({target.error}): a "
                             "later `docker compose up` there fails the same way",),
                        tuple(m.name for m in members))
    for m in members:
        service = m.labels.get(SERVICE, "")
        theirs = target.hashes.get(service)
        own = m.labels.get(HASH, "")
        if m.shares:
            recreated.append(m.name)
            said.append(f"{m.name}: compose on {dst} recreates it at its first `up` there (it "
                        f"shares {m.shares}, and compose 2 hashes that container's id, "
                        f"another there): the changes in its own layer would be lost then")
            continue
        if theirs is None:
            recreated.append(m.name)
            said.append(f"{m.name}: compose on {dst} finds no service {service!r} in the "
                        "project's files: a later `docker compose up` there does not manage it")
            continue
        current = source.hashes is not None and source.hashes.get(service) == own
        if not current:
            recreated.append(m.name)
            why = (f"compose on {src} gives another hash for it too: its files or the "
                   "environment of the shell that created it changed since"
                   if source.hashes is not None else
                   f"compose on {src} could not say whether it is what its files say"
                   + (f" ({source.error})" if source.error else " (no compose there)"))
            said.append(f"{m.name}: a later `docker compose up` on {dst} would recreate it "
                        f"({why}); kept as it is")
            continue
        ours = source.hashes.get(service) if source.hashes is not None else None
        if missing or (source.version == target.version and theirs != ours):
            recreated.append(m.name)
            said.append(f"{m.name}: a later `docker compose up` on {dst} would recreate it ("
                        + (f"{dst} lacks files compose reads: {', '.join(missing)}" if missing
                           else f"compose {target.version} on {dst} gives another hash than "
                                f"the same compose on {src}: something it reads differs "
                                "there (an env_file, an extends, a variable)")
                        + "); kept as it is")
            continue
        wanted = {HASH: theirs, IMAGE: m.image_id}
        changed = [k for k, v in wanted.items() if m.labels.get(k) != v]
        if changed:
            labels[m.name] = {k: wanted[k] for k in changed}
        said.append(f"{m.name}: compose on {dst} ({target.version}) takes it as its own"
                    + (f": its {', '.join(k.rsplit('.', 1)[1] for k in changed)} label"
                       f"{'s' if len(changed) > 1 else ''} set for {dst}'s compose (compose "
                       f"{source.version} on {src} made it; its hash there matches)"
                       if changed else ""))
    return Adoption(labels, tuple(said), tuple(recreated))


def relabel(given: Sequence[tuple[str, str]], changes: Mapping[str, str]
            ) -> tuple[tuple[str, str], ...]:
    """A run spec's labels with `changes` set (in place, else at the end)."""
    out = tuple((k, changes.get(k, v)) for k, v in given)
    return out + tuple((k, v) for k, v in changes.items() if k not in dict(given))


IN_DIR = 'cd "$1" && shift && exec "$@"'


def parse_depends(text: str) -> dict[str, tuple[str, ...]]:
    """Each service's depends_on, from `config` (YAML; a list or a mapping
    of service -> condition)."""
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return {}
    services = doc.get("services") if isinstance(doc, dict) else None
    out = {}
    for name, svc in (services or {}).items():
        deps = (svc or {}).get("depends_on") if isinstance(svc, dict) else None
        if isinstance(deps, (list, dict)):
            out[str(name)] = tuple(str(d) for d in deps)
    return out


def _compose(remote: Remote, made_by: str) -> tuple[list[str], str] | None:
    """The compose to ask on this host, and its version: with `made_by`
    (the version the containers' label names), that compose first (1.x:
    docker-compose), else compose v2 (`docker compose`)."""
    order = [["docker", "compose"], ["docker-compose"]]
    if made_by.startswith("1."):
        order.reverse()
    for compose in order:
        v = remote.run([*compose, "version", "--short"], sudo=True, check=False)
        if v.ok and v.stdout.strip():
            return compose, v.stdout.strip().splitlines()[0]
    return None


def depends_on(remote: Remote, labels: Mapping[str, str]
               ) -> tuple[dict[str, tuple[str, ...]], str]:
    """The project's depends_on as the source's compose reads its files,
    or ({}, why not)."""
    found = _compose(remote, labels.get(VERSION, ""))
    how = command(labels, "config")
    if found is None:
        return {}, f"no compose on {remote.name}"
    if how is None:
        return {}, "its labels name no working directory or compose file"
    (wd, args), compose = how, found[0]
    r = remote.run(["sh", "-c", IN_DIR, "sh", wd, *compose, *args], sudo=True, check=False)
    if not r.ok:
        lines = (r.stderr or r.stdout).strip().splitlines()
        return {}, mask_text(lines[-1]) if lines else f"exit code {r.exit_code}"
    return parse_depends(r.stdout), ""


def read(remote: Remote, labels: Mapping[str, str], made_by: str = "") -> Hashes:
    """This host's compose (`_compose()`) and its hash of every service of
    the project."""
    found = _compose(remote, made_by)
    if found is None:
        return Hashes()
    compose, version = found
    how = command(labels)
    if how is None:
        return Hashes(version, None, "its labels name no working directory or compose file")
    wd, args = how
    r = remote.run(["sh", "-c", IN_DIR, "sh", wd, *compose, *args], sudo=True, check=False)
    if not r.ok:
        lines = (r.stderr or r.stdout).strip().splitlines()
        return Hashes(version, None, mask_text(lines[-1]) if lines else f"exit code {r.exit_code}")
    return Hashes(version, parse(r.stdout))
