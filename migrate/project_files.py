"""A compose project's own files, moved with its containers: the compose
files and env files its labels name (com.docker.compose.project.config_files,
.environment_file) and the `.env` of its working directory, to the same
paths on the target, so that `docker compose` finds the project there as it
did on the source.

`named()` and `decide()` are pure; `read()` asks both hosts (one command
each); `copy()` streams the files (tar, owners and modes kept) and notes their
removal for the undo.
"""
from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass
from typing import Iterable, Mapping

from fleet.remote import Remote

from .ends import Ends
from .journal import Journal
from .stream import human

from .compose_labels import CONFIG_FILES, ENV_FILES, WORKING_DIR


@dataclass(frozen=True)
class Named:
    files: tuple[str, ...]          # named by the labels: compose needs them
    optional: tuple[str, ...]       # the working directory's .env, if it is there


def named(labels: Iterable[Mapping[str, str]]) -> Named:
    """The files the projects' labels name (`paths()`)."""
    files: dict[str, None] = {}
    optional: dict[str, None] = {}
    for lab in labels:
        for key in (CONFIG_FILES, ENV_FILES):
            files.update(dict.fromkeys(paths(lab, key)))
        wd = (lab.get(WORKING_DIR) or "").strip()
        if wd.startswith("/"):
            optional[posixpath.join(posixpath.normpath(wd), ".env")] = None
    return Named(tuple(sorted(files)), tuple(sorted(p for p in optional if p not in files)))


def paths(labels: Mapping[str, str], key: str) -> tuple[str, ...]:
    """The files a label names, absolute: docker-compose 1.x writes them as
    given (`docker-compose.yml`), relative to the working directory; one
    that cannot be made absolute is left out."""
    wd = (labels.get(WORKING_DIR) or "").strip()
    out = []
    for path in (labels.get(key) or "").split(","):
        path = path.strip()
        if path and not path.startswith("/") and wd.startswith("/"):
            path = posixpath.join(wd, path)
        if path.startswith("/"):
            out.append(posixpath.normpath(path))
    return tuple(out)


@dataclass(frozen=True)
class Seen:
    """What each host has at each path: a sha256, or None (no such file)."""
    source: Mapping[str, str | None]
    target: Mapping[str, str | None]
    missing_dirs: tuple[str, ...]       # parent folders the target lacks, deepest last


@dataclass(frozen=True)
class FilesPlan:
    copy: tuple[str, ...]
    same: tuple[str, ...]               # there already, the same
    missing_dirs: tuple[str, ...]
    problems: tuple[str, ...]
    warnings: tuple[str, ...]


def decide(n: Named, seen: Seen, source: str, target: str) -> FilesPlan:
    copy, same, problems, warnings = [], [], [], []
    for path in n.files + n.optional:
        here, there = seen.source.get(path), seen.target.get(path)
        if here is None:
            if path in n.files:
                warnings.append(f"{path}: the project's labels name it, but {source} has no "
                                f"such file: not copied, and `docker compose` will not find "
                                f"it on {target} either")
            continue
        if there == here:
            same.append(path)
        elif there is not None:
            problems.append(f"{target}: {path} exists with other content; move it aside "
                            "there (the project's file goes to the same path), then run again")
        else:
            copy.append(path)
    dirs = tuple(d for d in seen.missing_dirs if any(p.startswith(d + "/") for p in copy))
    return FilesPlan(tuple(sorted(copy)), tuple(sorted(same)), dirs, tuple(problems),
                     tuple(warnings))


# a regular file's sha256; "-" for nothing there; on the target, "occupied"
# for anything else there (a symlink, even dangling, a folder): tar would
# replace it, so it is never taken for absent
_SUMS = ('for p in "$@"; do if [ -f "$p" ] && [ ! -L "$p" ]; then '
         'printf "%s %s\\n" "$(sha256sum < "$p" | cut -d" " -f1)" "$p"; '
         'elif [ -n "$OCCUPIED" ] && { [ -e "$p" ] || [ -L "$p" ]; }; then '
         'printf "%s %s\\n" occupied "$p"; '
         'else printf "%s %s\\n" - "$p"; fi; done')
_DIRS = 'for d in "$@"; do [ -d "$d" ] || printf "%s\\n" "$d"; done'


def _sums(remote: Remote, paths: tuple[str, ...],
          occupied: bool = False) -> dict[str, str | None]:
    if not paths:
        return {}
    r = remote.run(["sh", "-c", f"OCCUPIED={'1' if occupied else ''}; {_SUMS}", "sh", *paths],
                   sudo=True)
    out: dict[str, str | None] = {}
    for line in r.stdout.splitlines():
        digest, _, path = line.partition(" ")
        out[path] = None if digest == "-" else digest
    return out


def _parents(paths: Iterable[str]) -> list[str]:
    dirs: dict[str, None] = {}
    for p in paths:
        d = posixpath.dirname(p)
        while d not in ("/", ""):
            dirs[d] = None
            d = posixpath.dirname(d)
    return sorted(dirs, key=lambda d: (d.count("/"), d))


def read(ends: Ends, n: Named) -> Seen:
    paths = n.files + n.optional
    dirs = _parents(paths)
    missing = ends.dst.run(["sh", "-c", _DIRS, "sh", *dirs], sudo=True).stdout.split("\n") \
        if dirs else []
    return Seen(_sums(ends.src, paths), _sums(ends.dst, paths, occupied=True),
                tuple(d for d in missing if d))


def copy(ends: Ends, plan: FilesPlan, journal: Journal, say) -> str:
    """Stream the files (tar from /, owners, modes and times kept); the undo
    removes them and the folders made for them."""
    target = ends.target.name
    files, dirs = plan.copy, plan.missing_dirs

    def undo() -> None:
        ends.dst.run(["rm", "-f", "--", *files], sudo=True)
        if dirs:
            ends.dst.run(["rmdir", "--ignore-fail-on-non-empty", "--", *reversed(dirs)],
                         sudo=True)
    journal.add("contents", f"the project's files on {target}", undo)
    rel = " ".join(shlex.quote(p.lstrip("/")) for p in files)
    res = ends.stream(f"tar -C / --numeric-owner -cf - -- {rel}",
                      "tar -C / --numeric-owner -xpf -", expected=None, say=say,
                      what="project files stream")
    return (f"{', '.join(files)} copied to {target} ({human(res.bytes)})"
            + (f"; there already: {', '.join(plan.same)}" if plan.same else ""))
