"""What ssh_config says about a host: read once, for both sides (the Fabric
connections and the OpenSSH command lines of the streams).

Which files: the inventory's `settings.ssh_config` when it names one (like
`ssh -F FILE`: only that file), else ~/.ssh/config and /etc/ssh/ssh_config,
with ~ taken from $HOME as Fabric does. They are read with paramiko's reader
(Host and Match blocks, the first value wins); `Include` is not followed.
UserKnownHostsFile and GlobalKnownHostsFile are split into files the way
OpenSSH splits them (double or single quotes, backslash escapes) before
paramiko sees them, so a path with a space stays one path.

`endpoint(config, host)` is pure: where the host is (HostName, Port, User),
its identity and known_hosts files, its ProxyJump hops or ProxyCommand. The
OpenSSH side is given all of these explicitly: OpenSSH itself reads the
config of the passwd entry's home, which need not be $HOME's.
"""
from __future__ import annotations

import getpass
import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

import paramiko

from .errors import UsageError
from .inventory import Host, Settings

USER_CONFIG = "~/.ssh/config"
SYSTEM_CONFIG = "/etc/ssh/ssh_config"
_FILE_LISTS = re.compile(r"^(\s*)(userknownhostsfile|globalknownhostsfile)(\s*=\s*|\s+)(.*)$",
                         re.I)


def split_args(value: str) -> list[str]:
    """Words of an ssh_config value as OpenSSH's argv_split reads them:
    blanks separate, quotes group, a backslash escapes a quote, a backslash
    or (unquoted) a blank, and `#` at the start of a word ends the line."""
    words: list[str] = []
    i, n = 0, len(value)
    while i < n:
        if value[i] in " \t":
            i += 1
            continue
        if value[i] == "#":
            break
        word, quote = [], ""
        while i < n:
            c = value[i]
            if c == "\\" and i + 1 < n and (value[i + 1] in "'\"\\"
                                            or (not quote and value[i + 1] == " ")):
                word.append(value[i + 1])
                i += 2
                continue
            if not quote and c in " \t":
                break
            if not quote and c in "'\"":
                quote = c
            elif quote and c == quote:
                quote = ""
            else:
                word.append(c)
            i += 1
        if quote:
            raise UsageError(f"ssh_config: unterminated quote in {value!r}")
        words.append("".join(word))
    return words


def parse_ssh_config(text: str) -> paramiko.SSHConfig:
    """paramiko's reading of `text`, with the known_hosts file lists kept as
    lists (a JSON list that paramiko stores untouched)."""
    lines = []
    for line in text.splitlines():
        m = _FILE_LISTS.match(line)
        if m:
            line = f"{m[1]}{m[2]} {json.dumps(split_args(m[4]))}"
        lines.append(line)
    try:
        return paramiko.SSHConfig.from_text("\n".join(lines) + "\n")
    except paramiko.ssh_exception.ConfigParseError as e:
        raise UsageError(f"ssh_config: {e}") from None


def config_files(settings: Settings) -> list[str]:
    if settings.ssh_config:
        return [settings.ssh_config]
    return [os.path.expanduser(USER_CONFIG), SYSTEM_CONFIG]


def read_ssh_config(settings: Settings) -> paramiko.SSHConfig:
    """The ssh_config files of these settings, read as one (the first value
    wins, so the user's file before the system's)."""
    texts = []
    for path in config_files(settings):
        try:
            texts.append(Path(path).read_text())
        except FileNotFoundError:
            if settings.ssh_config:
                raise UsageError(f"settings.ssh_config: no such file: {path}") from None
        except OSError as e:
            raise UsageError(f"cannot read ssh_config {path}: {e.strerror}") from None
    return parse_ssh_config("\n".join(texts))


@dataclass(frozen=True)
class Endpoint:
    alias: str                      # the name ssh_config was looked up with
    hostname: str                   # where it connects (HostName)
    port: int
    user: str
    identity_files: tuple[str, ...] = ()        # IdentityFile lines, expanded
    user_known_hosts: tuple[str, ...] = ()      # UserKnownHostsFile, expanded
    global_known_hosts: tuple[str, ...] = ()    # GlobalKnownHostsFile, expanded
    proxy_jump: tuple[str, ...] = ()            # ProxyJump hops, first to last
    proxy_command: str | None = None
    known_hosts_command: bool = False           # KnownHostsCommand is set


def endpoint(config: paramiko.SSHConfig, host: Host) -> Endpoint:
    """Where `host` is and how ssh_config says to reach it; what the inventory
    sets (user, port) wins, like a command-line option does for ssh."""
    found = config.lookup(host.address)
    hostname = found.get("hostname", host.address)
    try:
        port = host.port or int(found.get("port", 22))
    except ValueError:
        raise UsageError(f"ssh_config: Port {found['port']!r} of {host.address} "
                         "is not a number") from None
    user = host.user or found.get("user") or getpass.getuser()
    tokens = {"h": hostname, "p": str(port), "r": user, "n": host.address}
    jump = found.get("proxyjump", "").strip()
    hops = () if not jump or jump.lower() == "none" else tuple(
        h.strip() for h in jump.split(","))
    return Endpoint(
        alias=host.address, hostname=hostname, port=port, user=user,
        identity_files=tuple(os.path.expanduser(f) for f in found.get("identityfile", [])),
        user_known_hosts=_files(found.get("userknownhostsfile"), tokens),
        global_known_hosts=_files(found.get("globalknownhostsfile"), tokens),
        proxy_jump=hops,
        proxy_command=found.get("proxycommand") or None,
        known_hosts_command=bool(found.get("knownhostscommand")))


def _files(value: str | None, tokens: dict[str, str]) -> tuple[str, ...]:
    if not value:
        return ()
    words = json.loads(value) if value.startswith("[") else split_args(value)
    if [w.lower() for w in words] == ["none"]:
        return ()
    return tuple(expand_tokens(os.path.expanduser(w), tokens) for w in words)


def expand_tokens(text: str, tokens: dict[str, str]) -> str:
    """OpenSSH's %-tokens of a known_hosts path (%% %d %h %i %l %n %p %r %u)."""
    local = {"%": "%", "d": os.path.expanduser("~"), "u": getpass.getuser(),
             "i": str(os.getuid()), "l": socket.gethostname().split(".")[0], **tokens}

    def one(m: re.Match) -> str:
        if m[1] not in local:
            raise UsageError(f"ssh_config: %{m[1]} in {text!r} is not a token "
                             "dockmove knows (%% %d %h %i %l %n %p %r %u)")
        return local[m[1]]
    return re.sub(r"%(.?)", one, text)
