"""Docker commands on a host, over the project's Remote (root via sudo as the
inventory says), with their outputs parsed."""
from __future__ import annotations

import json

from fleet.errors import CommandError, EngineError, UsageError
from fleet.remote import Remote
from fleet.facts import parse_ss



def docker(remote: Remote, *args: str, check: bool = True):
    return remote.run(["docker", *args], sudo=True, check=check)


def inspect(remote: Remote, kind: str, ref: str) -> dict | None:
    r = docker(remote, kind, "inspect", "--", ref, check=False)
    if not r.ok:
        # 20.10: "No such network: X"; 26 (API 1.45): "network X not found"
        if "No such" in r.stderr or "no such" in r.stderr or f"{kind} {ref} not found" in r.stderr:
            return None
        raise CommandError(remote.name, r.command, r.exit_code, r.stderr)
    return json.loads(r.stdout)[0]


def container_and_image(remote: Remote, name: str) -> tuple[dict, dict]:
    """`docker inspect` of a container and of its image; a name that is not
    there is bad input (exit 2), answered with the names that are."""
    c = inspect(remote, "container", name)
    if c is None:
        names = docker(remote, "ps", "-a", "--format", "{{.Names}}").stdout.split()
        raise UsageError(f"{remote.name}: no container named {name!r}; "
                         f"there: {', '.join(sorted(names)) or 'none'}")
    return c, inspect(remote, "image", c["Image"])


def engine_info(remote: Remote) -> dict:
    r = docker(remote, "info", "--format", "{{json .}}", check=False)
    if not r.ok or not r.stdout.strip().startswith("{"):
        raise EngineError(f"{remote.name}: no Docker engine answers "
                          f"({(r.stderr.strip() or 'docker not found').splitlines()[-1]}); "
                          f"provision it first: inv provision --host {remote.name}")
    info = json.loads(r.stdout)
    if info.get("ServerErrors"):
        raise EngineError(f"{remote.name}: the Docker engine does not answer: "
                          f"{'; '.join(info['ServerErrors'])}; start it, or provision the "
                          f"host: inv provision --host {remote.name}")
    return info


def free_kb(remote: Remote, path: str) -> int:
    out = remote.run(["df", "-Pk", path], sudo=True).stdout.splitlines()[-1].split()
    return int(out[3])


def listening_ports(remote: Remote) -> set[tuple[str, int]]:
    """(proto, port) of every listening TCP and bound UDP socket."""
    r = remote.run(["ss", "-H", "-l", "-n", "-t", "-u"], check=False)
    return {(l.proto, l.port) for l in parse_ss(r.stdout)} if r.ok else set()

