"""The checks of `inv verify-port`, in order, each with its timing."""
from __future__ import annotations

import json
import time

from fleet.inventory import Host, Inventory
from fleet.remote import Remote
from fleet.jsonout import document
from fleet.terminal import table as render

from . import probe
from .listeners import Listener, listeners
from .onhost import WILDCARDS, OnHost, route, unbracket
from .probe import HERE, Check, Prober


def bound_address(found: list[Listener]) -> str:
    """The address a TCP port is bound to: "" when it listens on every
    address (or nothing was found), else the host's own (loopback first)."""
    tcp = [unbracket(l.address) for l in found if l.proto == "tcp"]
    if not tcp or any(a in WILDCARDS for a in tcp):
        return ""
    return sorted(tcp, key=lambda a: (not a.startswith(("127.", "::1")), a))[0]


def _reach(remote: Remote, host: Host, port: int) -> tuple[list[Listener], Prober, str]:
    found = [l for l in listeners(remote) if l.port == port]
    via, address = route(remote, host.address, bound_address(found))
    return found, via, address


def verify(inventory: Inventory, host: Host, port: int, *, path: str = "/", tls: bool = False,
           expect: str | None = None, expect_status: int | None = None,
           compare_host: Host | None = None, timeout: float = 30,
           before: dict | None = None) -> list[Check]:
    """`before`: the source's answer recorded before the migration (status,
    sha256, body), compared with the answer now when no host is given. A port
    bound to one of the host's own addresses only (127.0.0.1) is checked from
    the host itself, over its SSH connection; any other from here."""
    checks: list[Check] = []
    deadline = time.monotonic() + timeout
    with Remote(inventory, host) as remote:
        t0 = time.monotonic()
        found, via, address = _reach(remote, host, port)
        took = time.monotonic() - t0
        if found:
            detail = "; ".join(f"{l.proto} {l.address}:{l.port} {l.process or '?'}"
                               + (f" (container {l.container})" if l.container else "")
                               for l in found)
            checks.append(Check("listener", True, "ok", detail, took,
                                {"containers": sorted({l.container for l in found if l.container})}))
        else:
            checks.append(Check("listener", False, "refused",
                                f"nothing listens on port {port} on {host.name}", took))
        if found and all(l.proto == "udp" for l in found):
            checks.append(Check("tcp", None, "n/a", "UDP only: the listener is all that is checked", 0))
            return checks
        tcp = probe.tcp(address, port, deadline, via=via)
        checks.append(tcp)
        if not tcp.ok:
            t0 = time.monotonic()
            if via is HERE and OnHost(remote).connect("127.0.0.1", port, 5).kind == "ok":
                checks.append(Check("on-host", True, "ok",
                                    f"port {port} answers on {host.name} itself, not from here: "
                                    "a firewall, or it is published on 127.0.0.1 only",
                                    time.monotonic() - t0))
            return checks
        web = probe.http_get(address, port, path, deadline, tls=tls, expect=expect,
                             expect_status=expect_status, via=via)
        checks.append(web)
    if compare_host is not None and web.ok:
        with Remote(inventory, compare_host) as other_remote:
            _, other_via, other_address = _reach(other_remote, compare_host, port)
            other = probe.http_get(other_address, port, path, time.monotonic() + timeout,
                                   tls=tls, via=other_via)
        checks.append(probe.compare(web, other, compare_host.name))
    elif before and web.ok:
        recorded = Check("http", True, "ok", "", 0, before)
        checks.append(probe.compare(web, recorded, "the source before the migration"))
    return checks


def passed(checks: list[Check]) -> bool:
    return all(c.ok is not False for c in checks)


def table(checks: list[Check]) -> str:
    words = {True: "ok", False: "FAILED", None: "n/a"}
    rows = []
    for c in checks:
        first, *rest = c.detail.splitlines() or [""]
        rows.append([c.name, words[c.ok] + ("" if c.ok is not False else f" ({c.kind})"),
                     f"{c.seconds:.2f}s", first])
        rows.extend(["", "", "", line] for line in rest)
    return render(["CHECK", "RESULT", "TIME", "DETAIL"], rows)


def as_json(host: str, port: int, checks: list[Check], failed: str | None = None) -> str:
    """The --json document; `failed`: the error it ends with (exit 1)."""
    end = {"error": failed, "exit_code": 1} if failed else {}
    return document("verify-port", passed(checks), **end, **{"host": host, "port": port,
                                                      "passed": passed(checks),
                       "checks": [{"name": c.name, "ok": c.ok, "kind": c.kind, "detail": c.detail,
                                   "seconds": round(c.seconds, 3),
                                   **{k: v for k, v in c.data.items() if k != "body"}}
                                  for c in checks]})
