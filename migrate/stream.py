"""Streams between hosts through OpenSSH processes: `ssh SRC 'docker save'`
into `ssh DST 'docker load'`.

The bytes move from one ssh process to the other through kernel pipes
(os.splice, no copy through Python objects); the relay only counts them for
the progress line. Both ends' exit codes are checked (pipefail): a failing
save is never hidden by load's status, and a load that fails is reported with
its own stderr. An interrupt stops the sending side and lets the receiving
side end (a second one stops it too): the undo that follows sees what the
target made of the bytes it got. Under fleet/signals.py's `deferred()` the
interrupt is a hook that stops the sender, and is raised once the receiver
ended.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

from fleet import signals
from fleet.errors import StreamError

from .tarfilter import TarFormatError, filter_tar

CHUNK = 1 << 20


@dataclass(frozen=True)
class StreamResult:
    bytes: int              # sent to the target
    seconds: float
    read: int = 0           # read from the source
    answer: bytes = b""     # what the receiving side printed


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def progress_line(done: int, total: int | None, seconds: float) -> str:
    rate = done / seconds if seconds > 0 else 0
    text = f"{human(done)}"
    if total:
        text += f" of ~{human(total)} ({min(100, 100 * done // max(total, 1))}%)"
    text += f", {human(rate)}/s"
    if total and rate > 0 and total * 0.05 < done < total:
        text += f", ETA {int((total - done) / rate)}s"
    return text


def _discard(fd: int) -> None:
    while os.read(fd, CHUNK):
        pass


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _let_end(dst: subprocess.Popen) -> None:
    """Send nothing more; the receiving side ends by itself at the end of
    its input, and what it did by then (a load that got every byte
    completes) is what the undo must see, not race. An interrupt while it
    ends stops it."""
    try:
        dst.stdin.close()
        dst.wait()
    except BaseException:
        _stop(dst)
        raise


def splice_all(rfd: int, wfd: int, tick: Callable[[int, int], None]) -> tuple[int, int]:
    """The plain relay: everything, pipe to pipe. Returns (read, written)."""
    moved = 0
    while True:
        n = os.splice(rfd, wfd, CHUNK)
        if n == 0:
            return moved, moved
        moved += n
        tick(moved, moved)


def tar_relay(policy) -> Callable:
    """A relay that leaves out the tar members `policy` rejects."""
    def relay(rfd: int, wfd: int, tick: Callable[[int, int], None]) -> tuple[int, int]:
        c = filter_tar(rfd, wfd, policy, lambda c: tick(c.read, c.written))
        return c.read, c.written
    return relay


def pipe(source: list[str], target: list[str], *, expected: int | None = None,
         report: Callable[[str], None] | None = None, every: float = 2.0,
         what: str = "stream", relay: Callable = splice_all,
         live: Callable[[int], None] | None = None) -> StreamResult:
    """Run `source | target` as processes, the bytes passed on by `relay`;
    raise StreamError naming the side that failed, with its stderr. The
    bytes read so far go to `live` (a bar) at each chunk, else to `report`
    as a line every `every` seconds; the last line goes to `report`."""
    started = time.monotonic()
    # each side in its own process group: stopping a side stops all of it
    src = subprocess.Popen(source, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, start_new_session=True)
    dst = subprocess.Popen(target, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, start_new_session=True)
    errs: dict[str, bytes] = {}

    def drain(name, stream):
        errs[name] = stream.read()

    readers = [threading.Thread(target=drain, args=("src", src.stderr), daemon=True),
               threading.Thread(target=drain, args=("dst", dst.stderr), daemon=True),
               threading.Thread(target=drain, args=("dst-out", dst.stdout), daemon=True)]
    for t in readers:
        t.start()
    moved = read = 0
    last = started
    broken = False
    bad_format = ""

    def tick(r: int, w: int) -> None:
        nonlocal last, moved, read
        read, moved = r, w
        if live is not None:
            live(r)
            return
        now = time.monotonic()
        if report and now - last >= every:
            report(progress_line(r, expected, now - started)
                   + (f"; {human(w)} sent" if w != r else ""))
            last = now
    try:
        with signals.on_interrupt(lambda: _stop(src)), \
                signals.doing(f"the {what}'s receiving side"):
            try:
                read, moved = relay(src.stdout.fileno(), dst.stdin.fileno(), tick)
            except BrokenPipeError:
                broken = True
            except TarFormatError as e:
                bad_format = str(e)
                broken = True
            if signals.pending():       # its sender was stopped: what came is all
                _let_end(dst)
    except KeyboardInterrupt:
        if signals.pending():           # deferred, and a second one: stop waiting
            for p in (src, dst):
                _stop(p)
            raise
        # not deferred: as above, from here
        _stop(src)
        print(f"interrupted: waiting for the {what}'s receiving side to end (Ctrl-C again to "
              "stop waiting)", file=sys.stderr, flush=True)
        _let_end(dst)
        raise
    except BaseException:
        for p in (src, dst):
            _stop(p)
        raise
    finally:
        try:
            dst.stdin.close()
        except BrokenPipeError:
            broken = True
    if signals.pending():
        src.wait()
        dst.wait()
        for t in readers:
            t.join(timeout=5)
        signals.checkpoint()
    killed = False
    if broken:
        # The receiver stopped reading. When it succeeded (tar stops at its
        # end-of-archive blocks, before the sender's last padding), let the
        # sender finish into /dev/null; else stop it.
        if dst.wait() == 0 and not bad_format:
            _discard(src.stdout.fileno())
        else:
            _stop(src)
            killed = True
    src.stdout.close()          # a writer still running gets EPIPE, not a hang
    dst_code = dst.wait()
    src_code = src.wait()
    for t in readers:
        t.join(timeout=5)
    took = time.monotonic() - started
    src_err = errs.get("src", b"").decode(errors="replace").strip()
    dst_err = errs.get("dst", b"").decode(errors="replace").strip()
    if src_code != 0 and not killed:
        raise StreamError(f"{what}: the sending side failed (exit {src_code}) after "
                          f"{human(moved)}: {src_err[-800:] or 'no message'}")
    if bad_format:
        raise StreamError(f"{what}: the stream is not the tar expected ({bad_format})")
    if dst_code != 0:
        raise StreamError(f"{what}: the receiving side failed (exit {dst_code}) after "
                          f"{human(moved)}: {dst_err[-800:] or 'no message'}")
    if report:
        report(progress_line(read, None, took) + f" in {took:.1f}s"
               + (f"; {human(moved)} sent" if moved != read else ""))
    return StreamResult(moved, took, read, errs.get("dst-out", b""))
