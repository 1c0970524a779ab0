"""OpenSSH command lines for an inventory host, for data streams that must go
through ssh processes rather than a Python relay (docker save | docker load).

Same settings as the Fabric connections: user, port, identity file, the
known_hosts files (strict checking: an unknown key is refused), the jump
host; ~/.ssh/config applies as usual to what the inventory leaves open.
"""
from __future__ import annotations

import shlex

from .hostkeys import known_hosts_files
from .inventory import Host, Inventory
from .selection import resolve_jump


def ssh_argv(inventory: Inventory, host: Host, command: str | None = None,
             *, batch: bool = True) -> list[str]:
    argv = ["ssh"] + _options(inventory, host, batch)
    jump = resolve_jump(inventory, host)
    if jump is not None:
        proxy = ["ssh"] + _options(inventory, jump, batch) + ["-W", "%h:%p", _target(jump)]
        argv += ["-o", "ProxyCommand=" + shlex.join(proxy)]
    argv.append(_target(host))
    if command is not None:
        argv += ["--", command]
    return argv


def _target(host: Host) -> str:
    return f"{host.user}@{host.address}" if host.user else host.address


def _options(inventory: Inventory, host: Host, batch: bool) -> list[str]:
    opts = []
    if host.port:
        opts += ["-p", str(host.port)]
    if host.identity_file:
        opts += ["-i", host.identity_file, "-o", "IdentitiesOnly=yes"]
    files = known_hosts_files(host, inventory.settings)
    opts += ["-o", "UserKnownHostsFile=" + " ".join(files),
             "-o", "StrictHostKeyChecking=yes",
             "-o", f"ConnectTimeout={inventory.settings.connect_timeout}",
             "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"]
    if batch:
        opts += ["-o", "BatchMode=yes"]
    return opts
