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
    """A directory with entries, or a file with bytes; through a symlink
    (the copy goes where it points), and a symlink that points nowhere
    counts as holding something (the copy would replace it)."""
    p = shlex.quote(path)
    return sh(remote, f'if [ -L {p} ] && [ ! -e {p} ]; then true; elif [ -d {p} ]; then '
                       f'[ -n "$(find -H {p} -mindepth 1 -maxdepth 1 -print -quit)" ]; '
                       f'else [ -s {p} ]; fi', check=False).ok


def tools(remote: Remote, commands: list[str], python_probe: str) -> tuple[bool, frozenset[str], bool]:
    """In one command: whether the host's tar is GNU tar, which of
    `commands` it has, and whether `python_probe` succeeds there."""
    script = ["tar --version 2>/dev/null | grep -q 'GNU tar' && echo gnu-tar"]
    script += [f"command -v {shlex.quote(c)} >/dev/null 2>&1 && echo {shlex.quote('has ' + c)}"
               for c in dict.fromkeys(commands)]
    script += [f"{python_probe} && echo python"]
    lines = set(remote.run(["sh", "-c", "; ".join(script) + "; true"],
                           check=False).stdout.splitlines())
    return ("gnu-tar" in lines, frozenset(c for c in commands if f"has {c}" in lines),
            "python" in lines)
