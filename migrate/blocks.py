"""The block-level final pass, from this side: the commands that run
migrate/blocks_host.py on the hosts, the files it keeps in the run's private
snapshot folder, and the two moments it acts.

Why: the pass after the stop sends what changed since the first pass. GNU
tar sends a changed file whole, so a database's 1 GB data file that took a
few 4 KiB writes went again in full, while the container was down.

Before the stop (step "data (block sums)"), for each copied directory:
  1. the source lists its regular files of MIN_SIZE or more changed since
     the first pass began (a marker file made just before it);
  2. the target sums the blocks of its copies of them (sha256 per 64 KiB);
  3. those sums are kept on the source, in the run's 0700 folder.
After the stop, in the final pass:
  4. the source writes the exclude list: those files still regular with one
     link; tar's incremental pass leaves them out (and keeps them: tar
     records an excluded name as unchanged, it does not delete it);
  5. a second stream sends their differing blocks, size, owner, mode, times
     and xattrs (ACLs included); the target does not patch a file that
     changed there since it summed it (or that it cannot write): it names
     them, and a last tar stream sends those whole.

Files below MIN_SIZE, hard-linked files, names that are not UTF-8 text or
hold a line break, and everything that is not a regular file go whole by
tar as before. It needs Python 3.8+ on both hosts; without it the plan says
so and the final pass sends changed files whole.
"""
from __future__ import annotations

import base64
import functools
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from fleet.remote import Remote

from .remote_filter import BOOT
from .stream import StreamError

MIN_SIZE = 4 << 20
"""Below 4 MiB a changed file goes whole: it costs at most 4 MiB more after
the stop, and the two sums and the second stream are not worth it."""

HOST_PROGRAM = Path(__file__).with_name("blocks_host.py")


@functools.cache
def _code() -> str:
    """The host program as one base64 word, read once."""
    text = HOST_PROGRAM.read_text()
    body = text.split('\nif __name__ == "__main__":')[0]
    return base64.b64encode((body + "\nmain(sys.argv[2:])\n").encode()).decode()


def argv(mode: str, *args: str) -> list[str]:
    return ["python3", "-c", BOOT, _code(), mode, *args]


def shell(mode: str, *args: str) -> str:
    return shlex.join(argv(mode, *args))


def marker_path(snapshot: str) -> str:
    """Made just before the first pass: what changed after it is a candidate."""
    return snapshot + ".start"


def state_path(snapshot: str) -> str:
    return snapshot + ".sums"


def exclude_path(snapshot: str) -> str:
    return snapshot + ".exclude"


@dataclass(frozen=True)
class Summed:
    names: frozenset[str] = frozenset()     # large files whose blocks the target summed
    bytes: int = 0                          # their size there

    @property
    def files(self) -> int:
        return len(self.names)


def prepare(src: Remote, dst: Remote, source_root: str, target_root: str,
            snapshot: str) -> Summed:
    """Steps 1-3 (before the stop)."""
    found = json.loads(src.run(argv("scan", source_root, marker_path(snapshot), str(MIN_SIZE)),
                               sudo=True).stdout or "[]")
    if not found:
        return Summed()
    sums = dst.run(argv("sum", target_root), sudo=True, stdin=json.dumps(found).encode()).stdout
    summed = json.loads(sums or "{}")
    if summed:
        src.run(["sh", "-c", 'umask 077 && cat > "$1"', "sh", state_path(snapshot)],
                sudo=True, stdin=sums.encode())
    return Summed(frozenset(summed) & frozenset(found),
                  sum(int(v["size"]) for v in summed.values()))


def keep_command(source_root: str, snapshot: str) -> str:
    """Step 4, shell text run on the source before the final tar pass."""
    return shell("keep", source_root, state_path(snapshot), exclude_path(snapshot))


def send_command(source_root: str, snapshot: str) -> str:
    return shell("send", source_root, state_path(snapshot), exclude_path(snapshot))


def write_command(target_root: str) -> str:
    return shell("write", target_root)


def refused(answer: bytes, summed: frozenset[str]) -> list[str]:
    """The files the target's writer left as they were (its JSON answer):
    only ever names of `summed`, whatever the target says."""
    try:
        names = json.loads(answer or b"").get("refused")
    except (ValueError, AttributeError):
        names = None
    if not isinstance(names, list):
        raise StreamError("the target's block writer gave no answer on what it patched "
                          f"({answer[-200:]!r})")
    return [n for n in names if n in summed]
