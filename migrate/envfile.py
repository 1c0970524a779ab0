"""How a container's env and labels reach `docker create` on the target: in
files, never in an argv (where sudo's log, /proc/PID/cmdline and our error
messages would show them). Pure, except `on_target`, which writes the files.

The files live in a fresh `mktemp -d` folder (0700) of the login user on the
target, are written 0600 from the bytes sent on the command's stdin over the
SSH channel, and are removed when the create is done, failed or not.

docker's `--env-file` and `--label-file` (20.10) read one `NAME=value` per
line: leading whitespace and lines starting with `#` are skipped, a name
must hold no space or tab, a line ends at LF (a CR before it is dropped) and
may not pass 64 KiB. A value that no line can carry (a newline, a CR, too
long) is, for env, a bare `NAME` line, which the docker CLI fills from its own
environment: that value is exported by a small sh file sourced just before
docker runs (`exports`). Such a name must be a shell name, and not one that
sh or the docker CLI itself reads (PATH, HOME, DOCKER_*, LD_*...): those are
refused at preflight (`problems`). A label no line can carry is given with
`--label` in the argv (labels rarely hold newlines; the output names it).

An env variable the container holds by name only (value None: `--env VAR`
with VAR unset) cannot be a file line: the CLI (20.10) drops a bare line whose
name is unset in its environment. It is given as `--env NAME` in the argv (a
name, no value), with NAME unset in docker's environment (`env -u NAME docker
...`): the CLI passes the bare name on and the engine keeps it as it is
(`NAME`, no `=`), as on the source.
"""
from __future__ import annotations

import re
import shlex
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Sequence

from fleet.errors import CommandError
from fleet.remote import Remote

Pairs = Sequence[tuple[str, str]]
EnvPairs = Sequence[tuple[str, "str | None"]]
ENV_FILE, LABEL_FILE, EXPORTS = "env", "labels", "exports"
MAX_LINE = 60000                      # bytes; bufio.Scanner stops at 64 KiB
_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# names the sourcing shell or the docker CLI reads from its environment
_RESERVED = re.compile(
    r"(PATH|HOME|IFS|ENV|CDPATH|PS[1-4]|OPTIND|OPTARG|PWD|OLDPWD|PPID|SHELL|TMPDIR|TERM|TZ"
    r"|LANG|LANGUAGE|NOTIFY_SOCKET|(DOCKER|LD|LC|GO|SSL|XDG|BASH|SUDO)_.*|GO[A-Z]+|.*_PROXY)",
    re.I)


def fits_a_line(name: str, value: str) -> bool:
    """Whether docker's env/label file reads `name=value` back as it is."""
    return (bool(name) and not name.startswith("#") and not any(c.isspace() for c in name)
            and not name.startswith("\ufeff") and "\n" not in value and "\r" not in value
            and len(f"{name}={value}".encode()) <= MAX_LINE)


def problems(env: EnvPairs) -> list[str]:
    """Env that no file can carry to docker create (refused at preflight)."""
    out = []
    for name, value in env:
        if value is None:
            if not _SHELL_NAME.fullmatch(name) or _RESERVED.fullmatch(name):
                out.append(f"env {name}: the container holds it by name only (unset), which "
                           "reaches docker create only as a name unset in docker's own "
                           "environment, and that name is no shell name or one docker (or "
                           "the shell) reads; set a value with --env")
            continue
        if fits_a_line(name, value):
            continue
        if not _SHELL_NAME.fullmatch(name):
            out.append(f"env {name!r}: its value holds a line break (or is over "
                       f"{MAX_LINE} bytes) and its name is no shell name: dockmove cannot "
                       "give it to docker create without putting it in a command line")
        elif _RESERVED.fullmatch(name):
            out.append(f"env {name}: its value holds a line break (or is over {MAX_LINE} "
                       f"bytes), which reaches docker only through docker's own environment, "
                       f"where {name} would change how docker (or the shell) runs; "
                       "set another value with --env, or give it a value of one line")
    return out


@dataclass(frozen=True)
class Given:
    """The files for one `docker create`, and the words that name them."""
    env_file: str = ""
    label_file: str = ""
    exports: str = ""
    inline_labels: tuple[str, ...] = ()      # `k=v` given with --label
    unset: tuple[str, ...] = ()              # bare names that must stay unset

    def files(self) -> dict[str, str]:
        return {name: text for name, text in ((ENV_FILE, self.env_file),
                                              (LABEL_FILE, self.label_file),
                                              (EXPORTS, self.exports)) if text}

    def argv(self, folder: str) -> list[str]:
        """The create options giving the env and labels, files in `folder`."""
        words = []
        if self.env_file:
            words += ["--env-file", f"{folder}/{ENV_FILE}"]
        if self.label_file:
            words += ["--label-file", f"{folder}/{LABEL_FILE}"]
        for name in self.unset:
            words += ["--env", name]
        for kv in self.inline_labels:
            words += ["--label", kv]
        return words

    def command(self, docker_argv: list[str], folder: str) -> list[str]:
        """The docker argv as run: with exports, behind a shell sourcing them;
        with bare names, behind `env -u NAME` for each."""
        if self.unset:
            docker_argv = ["env", *[w for n in self.unset for w in ("-u", n)], *docker_argv]
        if not self.exports:
            return docker_argv
        return ["sh", "-c", '. "$1" && shift && exec "$@"', "sh", f"{folder}/{EXPORTS}",
                *docker_argv]


def given(env: EnvPairs, labels: Pairs) -> Given:
    env_lines, exports, label_lines, inline, unset = [], [], [], [], []
    for name, value in env:
        if value is None:
            unset.append(name)
        elif fits_a_line(name, value):
            env_lines.append(f"{name}={value}\n")
        else:
            env_lines.append(f"{name}\n")
            exports.append(f"export {name}={shlex.quote(value)}\n")
    for name, value in labels:
        if fits_a_line(name, value):
            label_lines.append(f"{name}={value}\n")
        else:
            inline.append(f"{name}={value}")
    return Given("".join(env_lines), "".join(label_lines), "".join(exports), tuple(inline),
                 tuple(unset))


@contextmanager
def on_target(remote: Remote, files: dict[str, str]) -> Iterator[str]:
    """A private folder on the host holding `files`; removed on leaving.
    No files: no folder ("")."""
    if not files:
        yield ""
        return
    folder = remote.run(["sh", "-c", 'umask 077 && mktemp -d "${TMPDIR:-/tmp}/dockmove.XXXXXXXXXX"'
                         ]).stdout.strip()
    done = False
    try:
        for name, text in files.items():
            remote.run(["sh", "-c", 'umask 077 && cat > "$1"', "sh", f"{folder}/{name}"],
                       stdin=text.encode())
        yield folder
        done = True
    finally:
        try:
            gone = remote.run(["rm", "-rf", "--", folder], check=False)
        except Exception:
            if done:
                raise
        else:
            if done and not gone.ok:
                raise CommandError(remote.name, gone.command, gone.exit_code, gone.stderr,
                                   hint=f"remove {folder} there: it holds the container's env")
