"""Is the new container up: running (healthy), its ports answering; and the
source's answer before the cut-over, for `inv verify-port` to compare."""
from __future__ import annotations

import time
from typing import Callable

from fleet.errors import DockmoveError
from fleet.remote import Remote
from verify import probe

from . import engine as eng


class MigrateError(DockmoveError):
    pass


def wait_running(dst: Remote, name: str, deadline: float) -> str:
    while True:
        state = (eng.inspect(dst, "container", name) or {}).get("State") or {}
        health = (state.get("Health") or {}).get("Status")
        if state.get("Running") and health in (None, "healthy"):
            return "running" + (", healthy" if health else "")
        if not state.get("Running") and state.get("Status") in ("exited", "dead"):
            logs = eng.docker(dst, "logs", "--tail", "15", name, check=False)
            raise MigrateError(f"{dst.name}: {name} exited (code {state.get('ExitCode')}) "
                               f"right after start; its log:\n{logs.stdout}{logs.stderr}")
        if time.monotonic() > deadline:
            raise MigrateError(f"{dst.name}: {name} is {state.get('Status')}"
                               f"{', ' + health if health else ''} after waiting; see "
                               f"`docker logs {name}` there")
        time.sleep(0.2)


def _not_answering(port: int, detail: str) -> Exception:
    return MigrateError(f"the container runs, but its port does not answer from here: {detail}")


def wait_ports(address: str, ports: list[tuple[str, int]], deadline: float,
               fail: Callable[[int, str], Exception] = _not_answering) -> str:
    """The same TCP check as `inv verify-port`, on each published TCP port;
    `fail(port, detail)` is the error raised for one that does not answer."""
    tcp = sorted({p for proto, p in ports if proto == "tcp"})
    for port in tcp:
        check = probe.tcp(address, port, deadline)
        if not check.ok:
            raise fail(port, check.detail)
    return f"port(s) {', '.join(map(str, tcp))} answer" if tcp else "no published TCP port"


def baseline(address: str, ports: list[tuple[str, int]]) -> dict:
    """The source's HTTP answers before the cut-over, for `inv verify-port`."""
    out = {}
    for proto, port in ports:
        if proto != "tcp":
            continue
        web = probe.http_get(address, port, "/", time.monotonic() + 3)
        if web.ok:
            out[str(port)] = {k: web.data[k] for k in ("status", "bytes", "sha256", "body")}
    return out
