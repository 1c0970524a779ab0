"""OpenSSH command lines for an inventory host, for data streams that must go
through ssh processes rather than a Python relay (docker save | docker load).

They follow the same way and trust as the Fabric connections
(fleet/route.py): every hop is an ssh process of ours, chained by
ProxyCommand (`ssh ... -W host:port jump`), each with strict host key
checking against the hop's known_hosts files, the key looked up under the
name the Fabric side uses (HostKeyAlias), no DNS keys, no KnownHostsCommand,
no learning of new keys (UpdateHostKeys=no), and the ProxyJump and
ProxyCommand of any config switched off, so OpenSSH never opens a hop of its
own. What the Fabric side takes from ssh_config (HostName, Port, User,
IdentityFile, the known_hosts files, the jumps) is passed explicitly, as
fleet/sshconfig.py read it; the rest of OpenSSH's own config (ciphers,
agent, ...) applies as usual, and with `settings.ssh_config` that file (-F).

Paths are written the way OpenSSH reads its options: `%` doubled (tokens),
quoted where they hold a blank or a quote, and once more for each
ProxyCommand level.
"""
from __future__ import annotations

import functools
import re
import shlex
import subprocess

from .inventory import Host, Inventory, Settings
from .route import Hop, route
from .sshconfig import read_ssh_config


def ssh_argv(inventory: Inventory, host: Host, command: str | None = None,
             *, batch: bool = True) -> list[str]:
    settings = inventory.settings
    hops = route(inventory, host, read_ssh_config(settings))
    first = hops[0].proxy_command
    proxy = _percent(first) if first else None
    for hop, nxt in zip(hops, hops[1:]):
        ep = nxt.endpoint
        forward = _percent(f"[{ep.hostname}]:{ep.port}")
        proxy = _percent(shlex.join(["ssh", *_options(hop, settings, batch, proxy),
                                     "-W", forward, _target(hop)]))
    argv = ["ssh", *_options(hops[-1], settings, batch, proxy), _target(hops[-1])]
    if command is not None:
        argv += ["--", command]
    return argv


def _target(hop: Hop) -> str:
    return f"{hop.endpoint.user}@{hop.host.address}"


def _options(hop: Hop, settings: Settings, batch: bool, proxy: str | None) -> list[str]:
    ep = hop.endpoint
    opts = []
    if hop.host.identity_file:
        opts += ["-i", _percent(hop.host.identity_file), "-o", "IdentitiesOnly=yes"]
    for key in ep.identity_files:
        opts += ["-i", _percent(key)]
    if settings.ssh_config:
        opts += ["-F", settings.ssh_config]
    opts += ["-p", str(ep.port), "-o", "HostName=" + _percent(ep.hostname)]
    opts += ["-o", "UserKnownHostsFile=" + known_hosts_value(hop.known_hosts),
             "-o", "GlobalKnownHostsFile=/dev/null",
             "-o", "StrictHostKeyChecking=yes",
             "-o", "HostKeyAlias=" + hop.key_name,
             "-o", "CheckHostIP=no", "-o", "UpdateHostKeys=no",
             "-o", "VerifyHostKeyDNS=no"]
    if ep.known_hosts_command or openssh_version() >= (8, 5):
        opts += ["-o", "KnownHostsCommand=none"]     # (an option since OpenSSH 8.5)
    opts += ["-o", "ProxyCommand=" + proxy] if proxy else ["-o", "ProxyJump=none"]
    opts += ["-o", f"ConnectTimeout={settings.connect_timeout}",
             "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"]
    if batch:
        opts += ["-o", "BatchMode=yes"]
    return opts


@functools.cache
def openssh_version() -> tuple[int, int]:
    """This machine's OpenSSH client version, (0, 0) when unknown."""
    try:
        out = subprocess.run(["ssh", "-V"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return (0, 0)
    m = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stderr + out.stdout)
    return (int(m[1]), int(m[2])) if m else (0, 0)


def known_hosts_value(files: tuple[str, ...] | list[str]) -> str:
    """The files as one UserKnownHostsFile value that OpenSSH splits back
    into the same paths."""
    return " ".join(_config_word(_percent(f)) for f in files)


def _percent(text: str) -> str:
    return text.replace("%", "%%")


def _config_word(word: str) -> str:
    """`word` as one word of an ssh_config line (OpenSSH's argv_split)."""
    escaped = "".join("\\" + c if c in "\\\"'" else c for c in word)
    if not word or any(c in " \t" for c in word) or word.startswith("#"):
        return f'"{escaped}"'
    return escaped
