"""The two hosts of a migration (`Ends`): their inventory entries, their
Remotes, and the one way a byte stream runs between them (two OpenSSH
processes as root, piped through here: migrate/stream.py)."""
from __future__ import annotations

import shlex
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable

from fleet.errors import UsageError
from fleet.inventory import Host, Inventory
from fleet.remote import Remote
from fleet.ssh_cli import Masters, ssh_command

from .stream import StreamError, StreamResult, pipe, splice_all

Say = Callable[[str], None]


def stream_prefix(remote: Remote) -> str:
    """How an ssh stream command gets root: it is root, or sudo -n."""
    if remote.conn.user == "root":
        return ""
    if remote.host.sudo.mode == "passwordless":
        return "sudo -n "
    raise UsageError(f"{remote.name}: streaming images needs root or passwordless sudo "
                     f"(the inventory says sudo: {remote.host.sudo.mode} for "
                     f"{remote.conn.user}); log in as root for migrations, or allow "
                     "passwordless sudo for docker")


@dataclass(frozen=True)
class Ends:
    """The two hosts of a migration, as Remotes and as inventory entries."""
    inventory: Inventory
    source: Host
    target: Host
    src: Remote
    dst: Remote
    masters: Masters | None = None  # the run's ssh master connections (fleet/ssh_cli.py)

    def ssh(self, host: Host, remote: Remote, script: str):
        """ssh argv running `script` with bash, as root (a context manager:
        the argv is good inside its block, fleet/ssh_cli.py)."""
        return ssh_command(self.inventory, host,
                           f"{stream_prefix(remote)}bash -c {shlex.quote(script)}",
                           masters=self.masters)

    def stream(self, send: str, receive: str, *, expected: int | None, say: Say,
               what: str, relay: Callable = splice_all) -> StreamResult:
        bar = getattr(say, "bar", None)
        with self.ssh(self.source, self.src, send) as source, \
                self.ssh(self.target, self.dst, receive) as target, \
                (bar(what, expected) if bar else nullcontext(None)) as live:
            try:
                return pipe(source, target, expected=expected,
                            report=lambda line: say(f"    {line}"), what=what, relay=relay,
                            live=live)
            except StreamError as e:
                said = [f"the ssh connection to {h.name} said: {log}"
                        for h in (self.source, self.target)
                        if self.masters and (log := self.masters.log(h))]
                if not said:
                    raise
                raise StreamError(f"{e}; " + "; ".join(said)) from None
