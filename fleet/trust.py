"""`inv hosts.trust NAME`: record a host's key in known_hosts, on purpose.

The host is looked up the way the connections reach it (fleet/route.py):
ssh_config's HostName and Port, and through its jump hosts, whose own keys
must already be known. The key is shown with its fingerprint; it is recorded
only when it matches the fingerprint the user got out of band
(--fingerprint), or when the user says yes. Never recorded:
- a key that differs from one already known for the host (changed key);
- a key of another type while the host is known by a key the server does not
  offer at all: a man in the middle without the known key would offer just
  such a key.
"Known" is what the connections would read for the host's name: its own
known_hosts files (the first that knows it, fleet/hostkeys.known_keys), and
when it knows nothing there, also the files read for that name on the way to
any inventory host that passes it (a ProxyJump alias, say, is checked against
the file of the host behind it): the key must then be of a type those know,
and the same key.
"""
from __future__ import annotations

import contextlib
import shlex
from dataclasses import dataclass
from typing import Callable, Iterator

import paramiko

from .connection import connect_route, open_jump
from .errors import ConnectError, DockmoveError, HostKeyError, UnknownHostError, UsageError
from .hostkeys import (KeyTypeNotOffered, KnownKeys, algorithms, fetch_host_key, fingerprint,
                       is_revoked, known_keys, record_key, revoked_error, tcp_socket)
from .inventory import Host, Inventory
from .route import Hop, route
from .selection import select
from .sshconfig import read_ssh_config


@dataclass(frozen=True)
class TrustResult:
    host: str
    fingerprint: str
    key_type: str
    file: str
    recorded: bool          # False: it was already known


def trust_targets(inventory: Inventory, spec: str) -> list[Host]:
    """Hosts for `hosts.trust SPEC`: as --host reads it, and besides a Host
    alias of ssh_config (a jump host named there, say)."""
    try:
        return select(inventory, spec)
    except UnknownHostError:
        aliases = read_ssh_config(inventory.settings).get_hostnames()
        if spec in aliases and not any(c in spec for c in "*?!,"):
            return [Host(name=spec, address=spec)]
        raise


def trust(inventory: Inventory, host: Host, *, expected: str | None = None,
          confirm: Callable[[str], bool] | None = None) -> TrustResult:
    config = read_ssh_config(inventory.settings)
    hops = route(inventory, host, config)
    target = hops[-1]
    name = target.key_name
    mine = known_keys(target.known_hosts, name)
    others = [v for v in other_views(inventory, config, target) if v.keys or v.revoked]
    revoked = mine.revoked + tuple(k for v in others for k in v.revoked)
    others = [v for v in others if v.keys]
    file = target.known_hosts[0]
    timeout = inventory.settings.connect_timeout
    with _sockets(inventory, host, hops, config) as connect:
        if mine.keys:
            known = mine.by_type()
            key = _known_kind(host, name, known, [mine.file], connect, timeout)
            if known[key.get_name()] == key:
                return TrustResult(host.name, fingerprint(key), key.get_name(), mine.file,
                                   False)
            raise HostKeyError(
                f"{host.name}: {name} shows {key.get_name()} {fingerprint(key)}, but "
                f"known_hosts has another key for it "
                f"({fingerprint(known[key.get_name()])}, in {mine.file}). Not replacing "
                f"it: if the host was reinstalled, remove the old key first "
                f"(ssh-keygen -R '{name}' -f {shlex.quote(mine.file)}), then trust again")
        if others:
            known = {t: k for v in reversed(others) for t, k in v.by_type().items()}
            files = [v.file for v in others]
            key = _known_kind(host, name, known, files, connect, timeout)
            clash = [v.file for v in others if v.by_type().get(key.get_name()) not in (None, key)]
            if clash:
                raise HostKeyError(
                    f"{host.name}: {name} shows {key.get_name()} {fingerprint(key)}, but "
                    f"{', '.join(clash)} (read on the way to other hosts through it) has "
                    f"another key of that type for it; nothing recorded. If the host was "
                    f"reinstalled, remove the old key first (ssh-keygen -R '{name}' -f "
                    f"FILE), then trust again")
        else:
            key = fetch_host_key(connect(), name, timeout)
    if is_revoked(key, revoked):
        raise revoked_error(host.name, name, key)
    fp = fingerprint(key)
    if expected is not None:
        if _norm(expected) != _norm(fp):
            raise HostKeyError(
                f"{host.name}: {name} shows {key.get_name()} {fp}, not the "
                f"expected {expected}; nothing recorded")
    elif confirm is None or not confirm(
            f"{host.name} ({name}) shows {key.get_name()} {fp}. Trust it?"):
        raise UsageError(
            f"{host.name}: not trusted: {name} shows {key.get_name()} {fp}. "
            f"Compare it with the host's (ssh-keygen -lf on the host), then pass "
            f"--fingerprint {fp}, or --yes")
    record_key(file, name, key)
    return TrustResult(host.name, fp, key.get_name(), file, True)


def other_views(inventory: Inventory, config, target: Hop) -> list[KnownKeys]:
    """What the connections to the inventory's hosts read for `target`'s
    name where their way passes it (as a jump host, from the inventory or
    ProxyJump) with other known_hosts files than `target`'s own: a jump host
    behind a ProxyJump alias is checked against the file of the host it leads
    to as well. Hosts whose way cannot be worked out are left out."""
    views, seen = [], {target.known_hosts}
    for other in inventory.hosts.values():
        try:
            hops = route(inventory, other, config)
        except DockmoveError:
            continue
        for hop in hops:
            if hop.key_name == target.key_name and hop.known_hosts not in seen:
                seen.add(hop.known_hosts)
                views.append(known_keys(hop.known_hosts, hop.key_name))
    return views


def _known_kind(host: Host, name: str, known: dict, files: list, connect,
                timeout: float) -> paramiko.PKey:
    """The server's key of a type known_hosts has for it; refuse when it
    offers none of them, naming them and where they are."""
    wanted = [a for kind in known.keys() for a in algorithms(kind)]
    try:
        return fetch_host_key(connect(), name, timeout, key_types=wanted)
    except KeyTypeNotOffered:
        shown = fetch_host_key(connect(), name, timeout)
    keys = ", ".join(f"{k} {fingerprint(known[k])}" for k in known.keys())
    raise HostKeyError(
        f"{host.name}: known_hosts knows {name} by {keys} (in {', '.join(files)}), but "
        f"the server does not offer "
        f"{'that key type' if len(known.keys()) == 1 else 'any of those key types'}"
        f": it shows {shown.get_name()} {fingerprint(shown)}.\n"
        f"  Someone may be intercepting the connection (a server without the known "
        f"key offers another type); nothing recorded. If the host's keys were really "
        f"replaced, remove the old ones (ssh-keygen -R '{name}') and trust again")


@contextlib.contextmanager
def _sockets(inventory: Inventory, host: Host, hops: tuple[Hop, ...],
             config) -> Iterator[Callable[[], object]]:
    """A function giving a fresh connection to the host's ssh port: straight,
    through ssh_config's ProxyCommand, or a channel through its jump hosts
    (opened with their keys checked)."""
    target = hops[-1]
    ep = target.endpoint
    timeout = inventory.settings.connect_timeout
    if len(hops) == 1:
        if target.proxy_command:
            yield lambda: paramiko.ProxyCommand(target.proxy_command)
        else:
            yield lambda: tcp_socket(ep.hostname, ep.port, timeout)
        return
    gateway = connect_route(hops[:-1], inventory.settings, config)
    try:
        open_jump(host, gateway)

        def channel():
            try:
                return gateway.transport.open_channel(
                    "direct-tcpip", (ep.hostname, ep.port), ("", 0), timeout=timeout)
            except paramiko.ChannelException as e:
                raise ConnectError(
                    f"{host.name}: the jump host {hops[-2].host.name} could not open a "
                    f"connection to {ep.hostname}:{ep.port}: {e.text}") from None
        yield channel
    finally:
        gateway.close()


def _norm(fp: str) -> str:
    fp = fp.strip()
    return fp if fp.startswith("SHA256:") else "SHA256:" + fp
