"""SSH host keys: which known_hosts files count, refusing unknown keys with
their fingerprint, and recording a key the user chose to trust.

Never accepts a key silently: an unknown key raises HostKeyError with the
fingerprint and the command that records it (`inv hosts.trust NAME`).
"""
from __future__ import annotations

import base64
import hashlib
import os
import socket
from pathlib import Path

import paramiko

from .errors import ConnectError, HostKeyError
from .inventory import Host, Settings

USER_KNOWN_HOSTS = "~/.ssh/known_hosts"
SYSTEM_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's form: SHA256:base64 without padding."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def known_hosts_name(address: str, port: int | None) -> str:
    """How known_hosts names a host: plain on port 22, else [host]:port."""
    if port and port != 22:
        return f"[{address}]:{port}"
    return address


def known_hosts_files(host: Host, settings: Settings,
                      ssh_config_files: tuple[str, ...] = ()) -> list[str]:
    """Every file whose keys count for `host`, most specific first."""
    files = [host.known_hosts, *ssh_config_files, *settings.known_hosts,
             USER_KNOWN_HOSTS, SYSTEM_KNOWN_HOSTS]
    out: list[str] = []
    for f in files:
        if f:
            p = os.path.expanduser(f)
            if p not in out:
                out.append(p)
    return out


def trust_file(host: Host, settings: Settings) -> str:
    """Where `hosts.trust` records a key: the host's own file, else the
    inventory's first, else ~/.ssh/known_hosts."""
    return os.path.expanduser(
        host.known_hosts or (settings.known_hosts[0] if settings.known_hosts
                             else USER_KNOWN_HOSTS))


class RefuseUnknownKey(paramiko.MissingHostKeyPolicy):
    """paramiko policy: refuse, saying what the key is and how to trust it."""

    def __init__(self, host: Host, files: list[str]):
        self.host = host
        self.files = files

    def missing_host_key(self, client, hostname, key):
        raise HostKeyError(
            f"{self.host.name}: host key of {hostname} is not known: "
            f"{key.get_name()} {fingerprint(key)}\n"
            f"  looked in: {', '.join(self.files)}\n"
            f"  check this fingerprint with the host's admin (on the host: "
            f"ssh-keygen -lf /etc/ssh/ssh_host_{_short(key)}_key.pub), then record it: "
            f"inv hosts.trust {self.host.name} --fingerprint {fingerprint(key)}")


def _short(key: paramiko.PKey) -> str:
    name = key.get_name()
    if "ed25519" in name:
        return "ed25519"
    if "ecdsa" in name:
        return "ecdsa"
    return "rsa"


def changed_key_error(host: Host, e: paramiko.BadHostKeyException) -> HostKeyError:
    name = known_hosts_name(host.address, host.port)
    return HostKeyError(
        f"{host.name}: HOST KEY CHANGED for {e.hostname}: known_hosts has "
        f"{e.expected_key.get_name()} {fingerprint(e.expected_key)}, the host "
        f"now shows {e.key.get_name()} {fingerprint(e.key)}.\n"
        f"  Someone may be intercepting the connection. If the host was "
        f"reinstalled, remove the old key (ssh-keygen -R '{name}') and trust "
        f"the new one: inv hosts.trust {host.name}")


def load_known_keys(files: list[str]) -> paramiko.HostKeys:
    keys = paramiko.HostKeys()
    for f in files:
        if os.path.exists(f):
            keys.load(f)
    return keys


def fetch_host_key(address: str, port: int, timeout: float) -> paramiko.PKey:
    """The key a server presents, read without logging in."""
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except OSError as e:
        raise ConnectError(f"{address}:{port}: cannot connect: {e}") from None
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    except paramiko.SSHException as e:
        raise ConnectError(f"{address}:{port}: ssh handshake failed: {e}") from None
    finally:
        transport.close()


def record_key(path: str, name: str, key: paramiko.PKey) -> None:
    """Append one known_hosts line, creating the file (0600) and its folder."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = f"{name} {key.get_name()} {key.get_base64()}\n"
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write(line)
