"""Copy a tar stream from one pipe to another, leaving out the members a
`keep` policy rejects, without holding the stream anywhere.

Headers are read and parsed here (ustar, GNU long names, pax records); member
bodies move from pipe to pipe with os.splice, or are spliced into /dev/null
when left out. Anything after the end-of-archive blocks passes unchanged.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Protocol

BLOCK = 512
SPLICE = 1 << 20


class TarFormatError(Exception):
    pass


class Policy(Protocol):
    def wants_body(self, name: str) -> bool: ...
    def note(self, name: str, body: bytes) -> None: ...
    def skip(self, name: str, is_file: bool) -> bool: ...


@dataclass
class Counts:
    read: int = 0
    written: int = 0
    skipped_members: int = 0
    skipped_bytes: int = 0


def _padded(size: int) -> int:
    return (size + BLOCK - 1) // BLOCK * BLOCK


def _number(field: bytes) -> int:
    if field and field[0] & 0x80:                 # base-256 (GNU) for big sizes
        n = int.from_bytes(field, "big")
        return n & ~(0x80 << (8 * (len(field) - 1)))
    text = field.rstrip(b"\0 ").strip()
    return int(text, 8) if text else 0


def _header_name(h: bytes) -> str:
    name = h[0:100].split(b"\0", 1)[0]
    if h[257:262] == b"ustar":
        prefix = h[345:500].split(b"\0", 1)[0]
        if prefix:
            name = prefix + b"/" + name
    return name.decode("utf-8", "surrogateescape")


def _pax(body: bytes) -> dict[str, str]:
    out, pos = {}, 0
    while pos < len(body):
        space = body.index(b" ", pos)
        length = int(body[pos:space])
        key, _, value = body[space + 1:pos + length - 1].partition(b"=")
        out[key.decode()] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


def _splice(rfd: int, wfd: int, n: int) -> int:
    """os.splice where there is one (Linux, Python 3.10+; not between
    regular files), else read and write: this module also runs on hosts'
    own, older Pythons (migrate/remote_filter.py)."""
    if _HAS_SPLICE:
        try:
            return os.splice(rfd, wfd, n)
        except OSError as e:
            if e.errno not in (22,):           # EINVAL: not a pipe
                raise
    data = os.read(rfd, n)
    _write_all(wfd, data)
    return len(data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


_HAS_SPLICE = hasattr(os, "splice")


class _Pipe:
    def __init__(self, rfd: int, wfd: int, counts: Counts, tick: Callable[[], None]):
        self.rfd, self.wfd, self.c, self.tick = rfd, wfd, counts, tick
        self.null = os.open(os.devnull, os.O_WRONLY)

    def read_exact(self, n: int) -> bytes:
        parts, left = [], n
        while left:
            chunk = os.read(self.rfd, left)
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
        data = b"".join(parts)
        self.c.read += len(data)
        return data

    def write(self, data: bytes) -> None:
        _write_all(self.wfd, data)
        self.c.written += len(data)

    def move(self, n: int, keep: bool) -> None:
        """n bytes of body straight from input to output (or to /dev/null)."""
        out = self.wfd if keep else self.null
        while n:
            moved = _splice(self.rfd, out, min(n, SPLICE))
            if moved == 0:
                raise TarFormatError("the stream ended inside a member")
            n -= moved
            self.c.read += moved
            if keep:
                self.c.written += moved
            self.tick()

    def rest(self) -> None:
        while True:
            moved = _splice(self.rfd, self.wfd, SPLICE)
            if moved == 0:
                return
            self.c.read += moved
            self.c.written += moved

    def close(self) -> None:
        os.close(self.null)


def filter_tar(rfd: int, wfd: int, policy: Policy,
               tick: Callable[[Counts], None] = lambda c: None) -> Counts:
    counts = Counts()
    p = _Pipe(rfd, wfd, counts, lambda: tick(counts))
    try:
        _run(p, policy, counts)
    finally:
        p.close()
    return counts


def _run(p: _Pipe, policy: Policy, counts: Counts) -> None:
    pending: list[bytes] = []         # pax / long-name records of the next member
    long_name: str | None = None
    pax: dict[str, str] = {}
    while True:
        h = p.read_exact(BLOCK)
        if not h:
            if pending:
                raise TarFormatError("the stream ended after an extended header")
            return
        if len(h) < BLOCK:
            raise TarFormatError("the stream ended inside a header")
        if h == bytes(BLOCK):                     # end of archive: pass the rest on
            p.write(h)
            p.rest()
            return
        kind = h[156:157]
        size = _number(h[124:136])
        if kind in (b"x", b"L", b"K", b"g"):
            body = p.read_exact(_padded(size))
            if len(body) < _padded(size):
                raise TarFormatError("the stream ended inside an extended header")
            if kind == b"g":                      # global: applies to all, keep it
                p.write(h + body)
                continue
            pending.append(h + body)
            if kind == b"x":
                pax.update(_pax(body[:size]))
            elif kind == b"L":
                long_name = body[:size].rstrip(b"\0").decode("utf-8", "surrogateescape")
            continue
        name = pax.get("path") or long_name or _header_name(h)
        if "size" in pax:
            size = int(pax["size"])
        is_file = kind in (b"0", b"\0", b"7")
        padded = _padded(size) if is_file or kind not in (b"1", b"2", b"3", b"4", b"5", b"6") else 0
        if policy.skip(name, is_file):
            counts.skipped_members += 1
            counts.skipped_bytes += BLOCK * (1 + len(pending)) + padded
            p.move(padded, keep=False)
        elif policy.wants_body(name) and size <= 1 << 20:
            body = p.read_exact(padded)
            policy.note(name, body[:size])
            p.write(b"".join(pending) + h + body)
        else:
            p.write(b"".join(pending) + h)
            p.move(padded, keep=True)
        pending, long_name, pax = [], None, {}
