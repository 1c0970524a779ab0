"""Checks of a port: TCP connect, then HTTP(S), each retried until a deadline.
Each outcome says what kind of failure it was: refused (nothing listens),
timeout (filtered, or the host is down), dns, unreachable, tls, closed (the
port accepted the connection and closed it without a byte: a proxy such as
docker-proxy with nothing behind it), no-answer (an HTTP request got the
connection closed without an answer), not-http, status, content.

Where a check runs from is a prober: `HERE` (this machine, below) or a host
itself over its SSH connection (verify/onhost.py). Both give one attempt's
`Reply`; the loops and the judging of answers here are the same for both.
"""
from __future__ import annotations

import hashlib
import http.client
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Protocol

from fleet.signals import checkpoint

# how long a new connection is watched for being closed at once without a byte
CLOSE_WINDOW = 0.25
# the part of an HTTP body kept for --expect and shown (its size and sha256 are of all of it)
BODY_LIMIT = 1 << 20


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None          # None: not applicable
    kind: str                # ok | refused | timeout | dns | unreachable | tls | closed
                             # | no-answer | not-http | status | content | error | n/a
    detail: str
    seconds: float
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """One attempt: its kind and, for HTTP, what came back."""
    kind: str
    detail: str = ""
    status: int | None = None
    size: int = 0
    sha256: str = ""
    text: str = ""           # the body's first BODY_LIMIT bytes, decoded


class Prober(Protocol):
    def say(self, text: str) -> str: ...
    def connect(self, address: str, port: int, timeout: float) -> Reply: ...
    def get(self, address: str, port: int, path: str, tls: bool, timeout: float) -> Reply: ...


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
         "tls": "the TLS handshake failed",
         "closed": "nothing serves behind it: a proxy (docker-proxy) whose container does "
                   "not listen on the port, or a service that turns us away"}
CLOSED = "accepted the connection and closed it without a byte"


def body_reply(status: int, body: bytes) -> Reply:
    return Reply("ok", "", status, len(body), hashlib.sha256(body).hexdigest(),
                 body[:BODY_LIMIT].decode(errors="replace"))


class Here:
    """Probes from this machine."""

    def say(self, text: str) -> str:
        return text

    def connect(self, address: str, port: int, timeout: float) -> Reply:
        try:
            with socket.create_connection((address, port), timeout=timeout) as s:
                s.settimeout(CLOSE_WINDOW)
                try:
                    first = s.recv(1)
                except (socket.timeout, TimeoutError):
                    return Reply("ok")             # open, waiting for us to speak
                except OSError:
                    return Reply("closed", CLOSED + " (reset)")
                return Reply("ok") if first else Reply("closed", CLOSED)
        except OSError as e:
            return Reply(classify(e), str(e))

    def get(self, address: str, port: int, path: str, tls: bool, timeout: float) -> Reply:
        try:
            status, body = fetch(address, port, path, tls, timeout)
        except (http.client.RemoteDisconnected, ConnectionResetError) as e:
            return Reply("no-answer", type(e).__name__)
        except (http.client.BadStatusLine, http.client.LineTooLong,
                http.client.IncompleteRead) as e:
            return Reply("not-http", type(e).__name__)
        except (OSError, http.client.HTTPException) as e:
            return Reply(classify(e), str(e))
        return body_reply(status, body)


HERE = Here()


def tcp(address: str, port: int, deadline: float, attempt_timeout: float = 3,
        via: Prober = HERE) -> Check:
    """Connect until it works or the deadline passes (at least one attempt)."""
    t0 = time.monotonic()
    delay = 0.2
    host = f"[{address}]" if ":" in address else address
    while True:
        r = via.connect(address, port, attempt_timeout)
        if r.kind == "ok":
            return Check("tcp", True, "ok", via.say(f"connected to {host}:{port}"),
                         time.monotonic() - t0)
        if time.monotonic() + delay > deadline or r.kind in ("dns", "error"):
            hint = HINTS.get(r.kind, "")
            return Check("tcp", False, r.kind,
                         via.say(f"{host}:{port}: {r.detail}" + (f"; {hint}" if hint else "")),
                         time.monotonic() - t0)
        checkpoint()
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


def _silent(r: Reply, path: str, tls: bool) -> str:
    if r.kind == "no-answer":
        return (f"GET {path}: the port accepted, then closed the connection without an answer"
                + ("" if tls else " (an HTTPS port? try --tls)"))
    return f"GET {path}: the port answers, but not in HTTP ({r.detail})"


def http_get(address: str, port: int, path: str, deadline: float, *, tls: bool = False,
             expect: str | None = None, expect_status: int | None = None,
             via: Prober = HERE) -> Check:
    """GET until an answer passes or the deadline passes. An answer that is
    not HTTP (or none at all) is "n/a" unless content or a status was asked
    for: then it is a failure of its own kind, retried like the rest."""
    t0 = time.monotonic()
    delay = 0.3
    asked = expect is not None or expect_status is not None
    while True:
        r = via.get(address, port, path, tls, 5)
        late = time.monotonic() + delay > deadline
        if r.kind in ("no-answer", "not-http"):
            if not asked:
                return Check("http", None, "n/a", via.say(_silent(r, path, tls)),
                             time.monotonic() - t0)
            if late:
                return Check("http", False, r.kind, via.say(_silent(r, path, tls)),
                             time.monotonic() - t0)
        elif r.kind != "ok":
            if late or r.kind in ("dns", "error"):
                hint = HINTS.get(r.kind, "")
                return Check("http", False, r.kind, via.say(f"GET {path}: {r.detail}"
                                                            + (f"; {hint}" if hint else "")),
                             time.monotonic() - t0)
        else:
            check = judge(r, path, expect, expect_status, time.monotonic() - t0)
            if check.ok or late or check.kind != "status" or r.status < 500:
                return Check(check.name, check.ok, check.kind, via.say(check.detail),
                             check.seconds, check.data)
            # a 5xx: a service that is still starting
        checkpoint()
        time.sleep(delay)
        delay = min(delay * 2, 3)


def judge(r: Reply, path: str, expect: str | None, expect_status: int | None,
          took: float) -> Check:
    """An HTTP answer against what was asked (default: any status below 500)."""
    data = {"status": r.status, "bytes": r.size, "sha256": r.sha256, "body": r.text[:4096]}
    want = expect_status
    if want is not None and r.status != want or want is None and r.status >= 500:
        return Check("http", False, "status", f"GET {path}: status {r.status}, expected "
                     f"{want if want is not None else 'below 500'}", took, data)
    if expect is not None and expect not in r.text:
        return Check("http", False, "content", f"GET {path}: status {r.status}, but "
                     f"{expect!r} is not in the {r.size} bytes", took, data)
    return Check("http", True, "ok", f"GET {path}: status {r.status}, {r.size} bytes", took, data)


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
