"""Files on a host, looked at as root (sizes, emptiness, tools)."""
from __future__ import annotations

import shlex

from fleet.remote import Remote


def sh(remote: Remote, script: str, check: bool = True):
    return remote.run(["sh", "-c", script], sudo=True, check=check)


def du(remote: Remote, paths: list[str]) -> dict[str, int]:
    """Bytes on disk under each path (du)."""
    if not paths:
        return {}
    r = remote.run(["du", "-skx", "--", *paths], sudo=True, check=False)
    out = {}
    for line in r.stdout.splitlines():
        kb, _, path = line.partition("\t")
        if kb.isdigit():
            out[path] = int(kb) * 1024
    return out


def nonempty(remote: Remote, path: str) -> bool:
    """A directory with entries, or a file with bytes."""
    p = shlex.quote(path)
    return sh(remote, f'if [ -d {p} ]; then [ -n "$(find {p} -mindepth 1 -maxdepth 1 '
                       f'-print -quit)" ]; else [ -s {p} ]; fi', check=False).ok


def gnu_tar(remote: Remote) -> bool:
    r = remote.run(["tar", "--version"], check=False)
    return r.ok and "GNU tar" in r.stdout
