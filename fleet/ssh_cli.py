"""OpenSSH command lines for an inventory host, for data streams that must go
through ssh processes rather than a Python relay (docker save | docker load).

They follow the same way and trust as the Fabric connections
(fleet/route.py): every hop is an ssh process of ours, chained by
ProxyCommand (`ssh ... -W host:port jump`). Each checks the server's key
strictly against a known_hosts file of its own, holding exactly the keys the
Python side accepts for that hop (fleet/hostkeys.known_keys) under the name
the Python side looks up (HostKeyAlias), and no other file: no global file,
no DNS keys, no KnownHostsCommand, no learning of new keys
(UpdateHostKeys=no). `ssh_command` writes those files (0600, in a 0700
folder of its own) and removes them when its block ends, whatever happens.

Every hop's ssh is ours alone: no shared (ControlMaster) connection, whose
mux client would skip all of these checks; no agent or X11 forwarding, no
port forwarding or tunnel, no LocalCommand, no tty on a binary stream; the
ProxyJump and ProxyCommand of any config off, so OpenSSH never opens a hop of
its own. The user goes with -l and the destination after `--`: a name
starting with '-' is never an option. What the Fabric side takes from
ssh_config (HostName, Port, User, IdentityFile, the jumps) is passed
explicitly, as fleet/sshconfig.py read it; the rest of OpenSSH's own config
(ciphers, ...) applies as usual, and with `settings.ssh_config` that file
(-F).

Paths are written the way OpenSSH reads its options: `%` doubled (tokens),
quoted where they hold a blank or a quote, and once more for each
ProxyCommand level.
"""
from __future__ import annotations

import contextlib
import functools
import os
import re
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

from .hostkeys import known_hosts_lines, known_keys
from .inventory import Host, Inventory, Settings
from .route import Hop, route
from .sshconfig import read_ssh_config

# On every hop, whatever ssh_config says (each option known to OpenSSH 5.9+).
OURS_ALONE = ("ControlMaster=no", "ControlPath=none", "ForwardAgent=no", "ForwardX11=no",
              "ClearAllForwardings=yes", "PermitLocalCommand=no", "RequestTTY=no")


@contextlib.contextmanager
def ssh_command(inventory: Inventory, host: Host, command: str | None = None,
                *, batch: bool = True) -> Iterator[list[str]]:
    """The ssh argv running `command` on `host`, good inside the with block:
    the known_hosts files it names live as long as the block."""
    settings = inventory.settings
    hops = route(inventory, host, read_ssh_config(settings))
    with tempfile.TemporaryDirectory(prefix="dockmove-known-hosts-") as folder:
        files = [_write(Path(folder) / f"hop{i}", hop) for i, hop in enumerate(hops)]
        yield command_line(hops, files, settings, command, batch=batch)


def _write(path: Path, hop: Hop) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(known_hosts_lines(known_keys(hop.known_hosts, hop.key_name)))
    return str(path)


def command_line(hops: tuple[Hop, ...], known_hosts: list[str], settings: Settings,
             command: str | None = None, *, batch: bool = True) -> list[str]:
    """The command line for these hops, each checking keys against its file
    of `known_hosts` (pure)."""
    first = hops[0].proxy_command
    proxy = _percent(first) if first else None
    for hop, kh, nxt in zip(hops, known_hosts, hops[1:]):
        ep = nxt.endpoint
        forward = _percent(f"[{ep.hostname}]:{ep.port}")
        proxy = _percent(shlex.join(["ssh", *_options(hop, kh, settings, batch, proxy),
                                     "-W", forward, *_target(hop)]))
    argv = ["ssh", *_options(hops[-1], known_hosts[-1], settings, batch, proxy),
            *_target(hops[-1])]
    if command is not None:
        argv.append(command)
    return argv


def _target(hop: Hop) -> list[str]:
    """The user and the destination, neither ever read as an option."""
    return ["-l", hop.endpoint.user, "--", hop.host.address]


def _options(hop: Hop, known_hosts: str, settings: Settings, batch: bool,
             proxy: str | None) -> list[str]:
    ep = hop.endpoint
    opts = []
    if hop.host.identity_file:
        opts += ["-i", _percent(hop.host.identity_file), "-o", "IdentitiesOnly=yes"]
    for key in ep.identity_files:
        opts += ["-i", _percent(key)]
    if settings.ssh_config:
        opts += ["-F", settings.ssh_config]
    opts += ["-p", str(ep.port), "-o", "HostName=" + _percent(ep.hostname)]
    opts += ["-o", "UserKnownHostsFile=" + known_hosts_value([known_hosts]),
             "-o", "GlobalKnownHostsFile=/dev/null",
             "-o", "StrictHostKeyChecking=yes",
             "-o", "HostKeyAlias=" + hop.key_name,
             "-o", "CheckHostIP=no", "-o", "UpdateHostKeys=no",
             "-o", "VerifyHostKeyDNS=no"]
    if ep.known_hosts_command or openssh_version() >= (8, 5):
        opts += ["-o", "KnownHostsCommand=none"]     # (an option since OpenSSH 8.5)
    opts += ["-o", "ProxyCommand=" + proxy] if proxy else ["-o", "ProxyJump=none"]
    for option in OURS_ALONE:
        opts += ["-o", option]
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
