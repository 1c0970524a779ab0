"""Checks from the controller: TCP connect, then HTTP(S) with retries until a
deadline. Each outcome says what kind of failure it was: refused (nothing
listens), timeout (filtered, or the host is down), dns, tls, status, content."""
from __future__ import annotations

import hashlib
import http.client
import socket
import ssl
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None          # None: not applicable
    kind: str                # ok | refused | timeout | dns | unreachable | tls | status | content | n/a
    detail: str
    seconds: float
    data: dict = field(default_factory=dict)


def classify(e: BaseException) -> str:
    if isinstance(e, socket.gaierror):
        return "dns"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(e, ssl.SSLError):
        return "tls"
    if isinstance(e, OSError) and e.errno in (113, 101):   # EHOSTUNREACH, ENETUNREACH
        return "unreachable"
    return "error"


HINTS = {"refused": "nothing listens on that port (or the container is not running)",
         "timeout": "no answer: a firewall drops the traffic, or the host is down",
         "dns": "the name does not resolve",
         "unreachable": "no route to the host",
         "tls": "the TLS handshake failed"}


def tcp(address: str, port: int, deadline: float, attempt_timeout: float = 3) -> Check:
    t0 = time.monotonic()
    delay = 0.2
    while True:
        try:
            with socket.create_connection((address, port), timeout=attempt_timeout):
                return Check("tcp", True, "ok", f"connected to {address}:{port}",
                             time.monotonic() - t0)
        except OSError as e:
            kind = classify(e)
            if time.monotonic() + delay > deadline or kind == "dns":
                return Check("tcp", False, kind, f"{address}:{port}: {e}; {HINTS.get(kind, '')}",
                             time.monotonic() - t0)
        time.sleep(delay)
        delay = min(delay * 2, 2)


def fetch(address: str, port: int, path: str, tls: bool, timeout: float):
    conn_cls = http.client.HTTPSConnection if tls else http.client.HTTPConnection
    kwargs = {"context": ssl._create_unverified_context()} if tls else {}
    conn = conn_cls(address, port, timeout=timeout, **kwargs)
    try:
        conn.request("GET", path, headers={"User-Agent": "dockmove-verify"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def http_get(address: str, port: int, path: str, deadline: float, *, tls: bool = False,
         expect: str | None = None, expect_status: int | None = None) -> Check:
    t0 = time.monotonic()
    delay = 0.3
    while True:
        try:
            status, body = fetch(address, port, path, tls, timeout=5)
        except (http.client.BadStatusLine, http.client.RemoteDisconnected,
                http.client.IncompleteRead) as e:
            return Check("http", None, "n/a", f"the port answers, but not HTTP ({type(e).__name__})",
                         time.monotonic() - t0)
        except (OSError, http.client.HTTPException) as e:
            kind = classify(e)
            if time.monotonic() + delay > deadline:
                return Check("http", False, kind, f"GET {path}: {e}; {HINTS.get(kind, '')}",
                             time.monotonic() - t0)
            time.sleep(delay)
            delay = min(delay * 2, 3)
            continue
        digest = hashlib.sha256(body).hexdigest()
        data = {"status": status, "bytes": len(body), "sha256": digest,
                "body": body[:4096].decode(errors="replace")}
        took = time.monotonic() - t0
        want = expect_status
        if want is not None and status != want or want is None and status >= 500:
            if time.monotonic() + delay <= deadline and status >= 500:
                time.sleep(delay)          # a service that is still starting
                delay = min(delay * 2, 3)
                continue
            return Check("http", False, "status", f"GET {path}: status {status}, expected "
                         f"{want if want is not None else 'below 500'}", took, data)
        if expect is not None and expect not in data["body"]:
            return Check("http", False, "content", f"GET {path}: status {status}, but "
                         f"{expect!r} is not in the {len(body)} bytes", took, data)
        return Check("http", True, "ok", f"GET {path}: status {status}, {len(body)} bytes", took, data)


def compare(mine: Check, theirs: Check, other: str) -> Check:
    if not theirs.ok:
        return Check("compare", False, theirs.kind, f"{other}: {theirs.detail}", theirs.seconds)
    a, b = mine.data, theirs.data
    if a.get("status") == b.get("status") and a.get("sha256") == b.get("sha256"):
        return Check("compare", True, "ok", f"same status and body as {other} "
                     f"(sha256 {a['sha256'][:12]})", theirs.seconds)
    import difflib
    diff = list(difflib.unified_diff(b.get("body", "").splitlines(), a.get("body", "").splitlines(),
                                     other, "this host", lineterm="", n=1))[:12]
    return Check("compare", False, "content",
                 f"differs from {other}: status {a.get('status')} vs {b.get('status')}, "
                 f"{a.get('bytes')} vs {b.get('bytes')} bytes\n" + "\n".join(diff), theirs.seconds)
