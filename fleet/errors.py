"""The project's errors and the exit codes a user sees.

    DockmoveError               exit 1  something failed; the message says what
    +-- UsageError              exit 2  bad input: inventory, host selection, options
    |   +-- InventoryError              hosts.yaml unreadable or invalid
    |   +-- UnknownHostError            a --host name the inventory does not know
    +-- ConnectError            exit 3  host unreachable: refused, timeout, DNS, handshake
    +-- HostKeyError            exit 4  host key unknown or changed (known_hosts)
    +-- AuthError               exit 5  ssh login or sudo refused
    +-- CommandError            exit 1  a remote command failed; carries host, command,
    |                                   exit code and the tail of stderr
    +-- HostsFailed                     some hosts of a multi-host run failed
    +-- EngineError                     no Docker engine answers on a host
    +-- MigrateError                    a migration step failed (what was undone is said)
    |   +-- PreflightError              problems found before anything changed (all of them)
    |   +-- StreamError                 a stream between two hosts failed (which side, why)
    |   +-- RollbackError               --rollback cannot go back, or failed (and what it did)
    +-- Interrupted             exit 130  Ctrl-C (or SIGTERM, SIGHUP) stopped the run at a
        +-- NotStarted                    safe point; NotStarted: a host it never began

Anything else raised (paramiko, sockets, the file system) becomes one of
these through unexpected(): ConnectError for ssh and socket failures,
DockmoveError otherwise, with one line of message, never a traceback.

Each message names the host, what ran, what came back and what to do next.
tasks.py turns these into `invoke.Exit(message, code)` in one place.
"""
from __future__ import annotations


class DockmoveError(Exception):
    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(DockmoveError):
    exit_code = 2


class InventoryError(UsageError):
    pass


class UnknownHostError(UsageError):
    pass


class ConnectError(DockmoveError):
    exit_code = 3


class HostKeyError(DockmoveError):
    exit_code = 4


class AuthError(DockmoveError):
    exit_code = 5


class CommandError(DockmoveError):
    exit_code = 1

    def __init__(self, host: str, command: str, exit_code: int | None,
                 stderr: str, hint: str = "", tail: int = 12):
        self.host = host
        self.command = command
        self.code = exit_code
        self.stderr = stderr
        how = f"exit {exit_code}" if exit_code is not None else "no exit status"
        lines = [f"{host}: command failed ({how}): {command}"]
        from .secrets import mask_text          # what a command says may hold a secret
        tail_lines = [mask_text(l) for l in stderr.rstrip().splitlines() if l.strip()][-tail:]
        if tail_lines:
            lines.append("  stderr (last lines):")
            lines.extend(f"    {l}" for l in tail_lines)
        if hint:
            lines.append(f"  {hint}")
        super().__init__("\n".join(lines))


class HostsFailed(DockmoveError):
    """Raised once at the end of a multi-host run where any host failed."""

    def __init__(self, failures: dict[str, BaseException], summary: str = ""):
        self.failures = failures
        codes = {getattr(e, "exit_code", 1) for e in failures.values()}
        self.exit_code = codes.pop() if len(codes) == 1 else 1
        names = ", ".join(failures)
        parts = [summary] if summary else []
        if all(isinstance(e, Interrupted) for e in failures.values()):
            parts.append(f"interrupted: {len(failures)} host(s) not finished: {names}")
        else:
            parts.append(f"{len(failures)} host(s) failed: {names}")
        parts.extend(f"- {e}" for e in failures.values())
        super().__init__("\n".join(parts))


class EngineError(DockmoveError):
    pass


class MigrateError(DockmoveError):
    pass


class PreflightError(MigrateError):
    pass


class StreamError(MigrateError):
    pass


class RollbackError(MigrateError):
    pass


class Interrupted(DockmoveError):
    """The run was interrupted; what had been done so far is in the message."""
    exit_code = 130


class NotStarted(Interrupted):
    """An interrupted multi-host run never began this host: it is unchanged."""


def unexpected(e: Exception) -> DockmoveError:
    """An error that is not ours (paramiko, a socket, the file system) as one
    of ours: its exit code and a one-line message; never a traceback."""
    import socket

    import paramiko
    text = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, (paramiko.SSHException, EOFError, socket.timeout, ConnectionError,
                      socket.gaierror)):
        return ConnectError(f"the ssh connection failed: {type(e).__name__}: {text}; check "
                            "that the host is up and reachable, then run again")
    if isinstance(e, OSError):
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        return DockmoveError(f"{e.strerror or text}{where}")
    return DockmoveError(f"unexpected {type(e).__name__}: {text} (a bug: please report it "
                         "with the command you ran)")
