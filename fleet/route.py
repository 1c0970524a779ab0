"""The way to a host: every hop, first to last, each with where it connects
and the known_hosts files that count for it. Pure over the inventory and an
ssh_config already read; the one answer that the Fabric connections
(fleet/connection.py), the OpenSSH command lines (fleet/ssh_cli.py) and
`hosts.trust` (fleet/trust.py) all follow.

Where a jump comes from, first match wins:
- the inventory's `jump:` (an inventory host, with its own entry, or
  user@host:port);
- ssh_config's ProxyJump of the host: each hop an ad hoc host looked up in
  ssh_config as ssh does (its HostName, User, Port); as with ssh, the first
  hop's own ProxyJump counts, the later hops' do not. A hop without an
  inventory entry checks its key against the host's `known_hosts` file as
  well as its own ssh_config files, the inventory's and ~/.ssh/known_hosts;
- ssh_config's ProxyCommand, run as written (its program, its own checks).
A hop naming itself is ignored (`Host *` with `ProxyJump bastion` also
matches bastion); a longer loop is an error.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import paramiko

from .errors import UsageError
from .hostkeys import known_hosts_files, known_hosts_name
from .inventory import Host, Inventory
from .selection import parse_adhoc, resolve_jump
from .sshconfig import Endpoint, endpoint

MAX_HOPS = 8


@dataclass(frozen=True)
class Hop:
    host: Host
    endpoint: Endpoint
    known_hosts: tuple[str, ...]        # the files whose keys count, most specific first
    proxy_command: str | None = None    # the first hop only: ssh_config's ProxyCommand
    via: str = ""                       # why this hop is on the way ("" for the host itself)

    @property
    def key_name(self) -> str:
        """The name its key has in known_hosts: HostName, [HostName]:port."""
        return known_hosts_name(self.endpoint.hostname, self.endpoint.port)

    @property
    def label(self) -> str:
        ep = self.endpoint
        return f"{ep.user}@{ep.hostname}:{ep.port}"


def route(inventory: Inventory, host: Host,
          config: paramiko.SSHConfig) -> tuple[Hop, ...]:
    """The hops to `host`, first to last; the last is `host` itself."""
    return tuple(_route(inventory, config, host, (), follow=True, via=""))


def _route(inventory: Inventory, config: paramiko.SSHConfig, host: Host,
           seen: tuple[str, ...], *, follow: bool, via: str) -> list[Hop]:
    ep = endpoint(config, host)
    here = f"{ep.user}@{ep.hostname}:{ep.port}"
    if here in seen:
        raise UsageError(f"{host.name}: the way to it runs in a loop: "
                         f"{' -> '.join(reversed((*seen, here)))}; check the jump "
                         "hosts of the inventory and the ProxyJump lines of ssh_config")
    if len(seen) >= MAX_HOPS:
        raise UsageError(f"{host.name}: more than {MAX_HOPS} jump hosts on the way to it")
    seen = (*seen, here)
    settings = inventory.settings
    files = tuple(known_hosts_files(host, settings, ep.user_known_hosts,
                                    ep.global_known_hosts))
    itself = Hop(host, ep, files, via=via)
    jump = resolve_jump(inventory, host)
    if jump is not None:
        if jump.name == host.name:
            raise UsageError(f"{host.name}: jump host is the host itself")
        return _route(inventory, config, jump, seen, follow=True,
                      via=f"jump: of {host.name} in the inventory") + [itself]
    hops = [h for h in ep.proxy_jump
            if _spec_host(h) not in (host.address, ep.hostname)] if follow else []
    if hops:
        why = f"ProxyJump of {host.address} in ssh_config"
        out: list[Hop] = []
        for i, spec in enumerate(hops):
            hop = _jump_host(spec, host, why)
            out += _route(inventory, config, hop, seen + tuple(h.label for h in out),
                          follow=i == 0, via=why)
        return out + [itself]
    if follow and ep.proxy_command:
        return [replace(itself, proxy_command=ep.proxy_command)]
    return [itself]


def _spec_host(spec: str) -> str:
    spec = spec.removeprefix("ssh://")
    host = spec.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.split(":", 1)[0]


def _jump_host(spec: str, host: Host, why: str) -> Host:
    try:
        hop = parse_adhoc(spec.removeprefix("ssh://"))
    except UsageError as e:
        raise UsageError(f"{host.name}: {why}: {e}") from None
    return replace(hop, name=spec, known_hosts=host.known_hosts)
