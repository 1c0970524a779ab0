"""Remote commands: one way to run them.

A command is an argument list, quoted for the remote shell with shlex; never a
string put together by hand. Root is reached with sudo as the inventory says
(`none`, `passwordless`, or a password read from an environment variable);
sudo drops the environment, so variables travel as `env NAME=VALUE` after it
(an argv: for values that are no secret).
A failure raises CommandError with the host, the command, the exit code and the
tail of stderr; what is shown is masked by fleet/secrets.py's one rule. Bytes
a command reads on its stdin travel over the SSH channel, never in an argv:
the way to hand a host a secret.
"""
from __future__ import annotations

import io
import os
import re
import shlex
from dataclasses import dataclass
from typing import Sequence

from fabric import Connection
from invoke.exceptions import CommandTimedOut, Failure, ResponseNotAccepted, ThreadException
from invoke.watchers import FailingResponder

from .connection import connection_for, open_connection
from .errors import AuthError, CommandError, UsageError
from .inventory import Host, Inventory
from .secrets import mask_argv
from .signals import doing

SUDO_PROMPT = "[dockmove] sudo password: "


@dataclass(frozen=True)
class CommandResult:
    host: str
    command: str          # as shown to users (secrets masked)
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def command_line(argv: Sequence[str], *, env: dict[str, str] | None = None,
                 sudo: str | None = None, mask: bool = False) -> str:
    """The shell line for `argv`. `sudo` is None (as the login user),
    'passwordless' (sudo -n) or 'password' (sudo -S with our prompt)."""
    if not argv:
        raise ValueError("empty command")
    words = list(argv)
    if env:
        assignments = [f"{k}={v}" for k, v in env.items()]
        for k in env:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
                raise ValueError(f"not an environment variable name: {k!r}")
        words = ["env", *assignments, *words]
    if sudo == "passwordless":
        words = ["sudo", "-n", "--", *words]
    elif sudo == "password":
        words = ["sudo", "-S", "-p", SUDO_PROMPT, "--", *words]
    return shlex.join(mask_argv(words) if mask else words)


class _Whole(io.BytesIO):
    """Stdin for a remote command: invoke reads a stream that is not a
    terminal one byte per 10 ms; this hands over all that is left at once."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(-1)


class Remote:
    """Commands on one host over one lazily opened SSH connection."""

    def __init__(self, inventory: Inventory, host: Host,
                 conn: Connection | None = None):
        self.inventory = inventory
        self.host = host
        self.conn = conn or connection_for(inventory, host)
        self._opened = False

    @property
    def name(self) -> str:
        return self.host.name

    def connect(self) -> None:
        if not self._opened:
            open_connection(self.host, self.conn)
            self._opened = True

    def close(self) -> None:
        self.conn.close()
        self._opened = False

    def renew(self) -> None:
        """A new connection for the commands from now on (opened at the next
        one). The old one is left to the process's end, not closed: an
        interrupt that landed inside it (a second Ctrl-C) may have left one
        of its locks held, and closing could wait for it."""
        self.conn = connection_for(self.inventory, self.host)
        self._opened = False

    def __enter__(self) -> "Remote":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _sudo_mode(self) -> str | None:
        user = self.conn.user
        if user == "root":
            return None
        mode = self.host.sudo.mode
        if mode == "none":
            raise UsageError(
                f"{self.name}: this step needs root, but {user} logs in and the "
                f"inventory says sudo: none; set sudo: passwordless or "
                f"{{password_env: VAR}} for this host, or log in as root")
        return mode

    def _sudo_password(self) -> str:
        var = self.host.sudo.password_env
        value = os.environ.get(var or "")
        if not value:
            raise UsageError(f"{self.name}: the sudo password is read from "
                             f"${var}, which is not set")
        return value

    def run(self, argv: Sequence[str], *, sudo: bool = False,
            env: dict[str, str] | None = None, check: bool = True,
            timeout: float | None = None, stdin: bytes | None = None) -> CommandResult:
        """Run `argv` on the host; with `sudo`, as root. `stdin`: bytes (UTF-8
        text) the command reads on its standard input, then end of file."""
        mode = self._sudo_mode() if sudo else None
        if stdin is not None and mode == "password":
            # sudo -S reads the password from the same stdin
            raise ValueError("stdin for a command run with a sudo password")
        line = command_line(argv, env=env, sudo=mode)
        shown = command_line(argv, env=env, sudo=mode, mask=True)
        watchers = []
        if mode == "password":
            watchers.append(FailingResponder(
                pattern=re.escape(SUDO_PROMPT),
                response=self._sudo_password() + "\n",
                sentinel="Sorry, try again."))
        self.connect()
        try:
            feed = {"in_stream": False} if stdin is None else \
                {"in_stream": _Whole(stdin), "echo_stdin": False, "encoding": "utf-8"}
            with doing(f"the command running on {self.name}"):
                res = self.conn.run(line, hide=True, warn=True, watchers=watchers,
                                    timeout=timeout, **feed)
        except ThreadException:
            if stdin is None:
                raise
            # the channel closed while its input was still being written
            raise CommandError(self.name, shown, None, "",
                               hint="the command ended before it read all its input") from None
        except CommandTimedOut as e:
            raise CommandError(self.name, shown, None, e.result.stderr,
                               hint=f"timed out after {e.timeout}s") from None
        except Failure as e:
            if isinstance(e.reason, ResponseNotAccepted):
                raise AuthError(
                    f"{self.name}: sudo refused the password from "
                    f"${self.host.sudo.password_env} for {self.conn.user}") from None
            raise
        stderr = res.stderr
        if mode == "password":
            stderr = stderr.replace(SUDO_PROMPT, "")
        result = CommandResult(self.name, shown, res.exited, res.stdout, stderr)
        if mode == "passwordless" and res.exited == 1 and \
                "sudo: a password is required" in stderr:
            raise AuthError(
                f"{self.name}: sudo needs a password for {self.conn.user}; set "
                f"sudo: {{password_env: VAR}} for this host in the inventory, "
                f"or allow passwordless sudo (NOPASSWD) for this user")
        if check and not result.ok:
            raise CommandError(self.name, shown, res.exited, stderr)
        return result


def renew_all(remotes, say) -> None:
    """New connections for an undo after an interrupt (a second one may have
    landed inside paramiko, mid-message: Remote.renew). One that cannot be
    made is said, and the undo goes on over the old."""
    for remote in remotes:
        try:
            remote.renew()
        except Exception as e:          # the undo must run whatever this says
            say(f"  warning: could not open a new connection to {remote.name} ({e}); "
                "undoing over the old one")
