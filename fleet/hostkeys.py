"""SSH host keys: which known_hosts files count, refusing unknown keys with
their fingerprint, and recording a key the user chose to trust.

Never accepts a key silently: an unknown key raises HostKeyError with the
fingerprint and the command that records it (`inv hosts.trust NAME`).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import shlex
import socket
from dataclasses import dataclass
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
                      user_files: tuple[str, ...] = (),
                      global_files: tuple[str, ...] = ()) -> list[str]:
    """Every file whose keys count for `host`, most specific first: its own
    (inventory), ssh_config's UserKnownHostsFile, the inventory's, then
    ~/.ssh/known_hosts and ssh_config's GlobalKnownHostsFile (else
    /etc/ssh/ssh_known_hosts). `hosts.trust` records in the first."""
    files = [host.known_hosts, *user_files, *settings.known_hosts,
             USER_KNOWN_HOSTS, *(global_files or (SYSTEM_KNOWN_HOSTS,))]
    out: list[str] = []
    for f in files:
        if f:
            p = os.path.expanduser(f)
            if p not in out:
                out.append(p)
    return out


class RefuseUnknownKey(paramiko.MissingHostKeyPolicy):
    """paramiko policy: refuse, saying what the key is and how to trust it
    (or that known_hosts revokes it)."""

    def __init__(self, host: Host, files: list[str], revoked: tuple = ()):
        self.host = host
        self.files = files
        self.revoked = revoked

    def missing_host_key(self, client, hostname, key):
        if is_revoked(key, self.revoked):
            raise revoked_error(self.host.name, hostname, key)
        raise HostKeyError(
            f"{self.host.name}: host key of {hostname} is not known: "
            f"{key.get_name()} {fingerprint(key)}\n"
            f"  looked in: {', '.join(self.files)}\n"
            f"  check this fingerprint with the host's admin (on the host: "
            f"ssh-keygen -lf /etc/ssh/ssh_host_{_short(key)}_key.pub), then record it: "
            f"inv hosts.trust {shlex.quote(self.host.name)} --fingerprint {fingerprint(key)}")


def revoked_error(name: str, hostname: str, key: paramiko.PKey) -> HostKeyError:
    return HostKeyError(
        f"{name}: host key of {hostname} is REVOKED (a @revoked line of known_hosts): "
        f"{key.get_name()} {fingerprint(key)}; refusing it. Someone may be "
        f"intercepting the connection, or the host still uses a retired key")


def is_revoked(key: paramiko.PKey, revoked: tuple) -> bool:
    return any(key.asbytes() == r.asbytes() for r in revoked)


def _short(key: paramiko.PKey) -> str:
    name = key.get_name()
    if "ed25519" in name:
        return "ed25519"
    if "ecdsa" in name:
        return "ecdsa"
    return "rsa"


def changed_key_error(name: str, key_name: str,
                      e: paramiko.BadHostKeyException) -> HostKeyError:
    """`name` (the host as the user calls it) showed another key than the
    one known_hosts has for `key_name`."""
    return HostKeyError(
        f"{name}: HOST KEY CHANGED for {e.hostname}: known_hosts has "
        f"{e.expected_key.get_name()} {fingerprint(e.expected_key)}, the host "
        f"now shows {e.key.get_name()} {fingerprint(e.key)}.\n"
        f"  Someone may be intercepting the connection. If the host was "
        f"reinstalled, remove the old key (ssh-keygen -R '{key_name}') and trust "
        f"the new one: inv hosts.trust {shlex.quote(name)}")


@dataclass(frozen=True)
class KnownKeys:
    """What known_hosts says about one name: the keys that count for it and
    the revoked ones. Both sides use exactly these keys: the Python
    connections (fleet/connection.py) and the OpenSSH streams, which get them
    in a file of their own (fleet/ssh_cli.py)."""
    name: str                             # as known_hosts names it: host, [host]:port
    keys: tuple[paramiko.PKey, ...]       # at most one per type; revoked ones left out
    file: str | None                      # the file they come from (None: not known)
    revoked: tuple[paramiko.PKey, ...]    # the keys of every @revoked line of the files

    def by_type(self) -> dict[str, paramiko.PKey]:
        return {k.get_name(): k for k in self.keys}


def known_keys(files: list[str] | tuple[str, ...], name: str) -> KnownKeys:
    """The keys of `name` in `files`: those of the first file that knows it
    (the most specific: the host's own file comes first), all of their types,
    and nothing of the later files, whose keys for that name may be stale (a
    reused address). A @revoked line of any of the files revokes its key for
    every name. Missing files count as empty."""
    texts = []
    for f in files:
        try:
            texts.append((f, Path(f).read_text(errors="replace")))
        except OSError:
            continue
    parsed = [(f, parse_known_hosts(text)) for f, text in texts]
    revoked = tuple(k for _, (_, rev) in parsed for k in rev)
    for f, (entries, _) in parsed:
        found: dict[str, paramiko.PKey] = {}
        for entry in entries:
            if names_match(name, entry.hostnames) and not is_revoked(entry.key, revoked):
                found.setdefault(entry.key.get_name(), entry.key)
        if found:
            return KnownKeys(name, tuple(found.values()), f, revoked)
    return KnownKeys(name, (), None, revoked)


def parse_known_hosts(text: str) -> tuple[list[paramiko.hostkeys.HostKeyEntry],
                                          list[paramiko.PKey]]:
    """(host key lines, keys of @revoked lines) of a known_hosts text, read
    as OpenSSH reads it: fields separated by blanks of any kind (spaces,
    tabs), a comment after the key. A line with another marker counts for
    nothing: @cert-authority (host certificates are not supported) and
    unknown markers (OpenSSH skips those too); so do lines that are no key."""
    entries, revoked = [], []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        marker = words.pop(0) if words[0].startswith("@") else ""
        if marker not in ("", "@revoked") or len(words) < 3:
            continue
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(" ".join(words[:3]))
        except (paramiko.SSHException, paramiko.hostkeys.InvalidHostKey, ValueError):
            continue
        if entry is None or entry.key is None:
            continue
        if marker:
            revoked.append(entry.key)
        else:
            entries.append(entry)
    return entries, revoked


def names_match(name: str, names: list[str]) -> bool:
    """Whether a known_hosts line's names (plain or hashed, |1|salt|hash)
    include `name`. Patterns (*, ?, !) are not read: a host known only
    through one is unknown, on both sides."""
    for n in names:
        if n == name:
            return True
        if n.startswith("|1|"):
            try:
                if hmac.compare_digest(paramiko.HostKeys.hash_host(name, n), n):
                    return True
            except (ValueError, AssertionError, binascii.Error, IndexError):
                continue
    return False


def known_hosts_lines(known: KnownKeys) -> str:
    """`known` as a known_hosts file: its keys under its name, and its
    revoked keys revoked for every name."""
    lines = [f"{known.name} {k.get_name()} {k.get_base64()}" for k in known.keys]
    lines += [f"@revoked * {k.get_name()} {k.get_base64()}" for k in known.revoked]
    return "".join(line + "\n" for line in lines)


def tcp_socket(address: str, port: int, timeout: float) -> socket.socket:
    try:
        return socket.create_connection((address, port), timeout=timeout)
    except OSError as e:
        raise ConnectError(f"{address}:{port}: cannot connect: {e}") from None


def fetch_host_key(sock, where: str, timeout: float,
                   key_types: list[str] | None = None) -> paramiko.PKey:
    """The key a server presents on `sock` (a socket or an ssh channel), read
    without logging in; with `key_types`, only a key of those types (the
    server offering none raises KeyTypeNotOffered)."""
    transport = paramiko.Transport(sock)
    try:
        if key_types is not None:
            options = transport.get_security_options()
            options.key_types = [t for t in options.key_types if t in key_types]
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    except paramiko.ssh_exception.IncompatiblePeer as e:
        if key_types is not None and "host key" in str(e):
            raise KeyTypeNotOffered(where) from None
        raise ConnectError(f"{where}: ssh handshake failed: {e}") from None
    except (paramiko.SSHException, EOFError, OSError) as e:
        raise ConnectError(f"{where}: ssh handshake failed: {e}") from None
    finally:
        transport.close()


class KeyTypeNotOffered(Exception):
    """The server offers no host key of the types asked for."""


def algorithms(key_type: str) -> list[str]:
    """The host key algorithms that prove a key of this known_hosts type."""
    if key_type == "ssh-rsa":
        return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
    return [key_type]


def record_key(path: str, name: str, key: paramiko.PKey) -> None:
    """Append one known_hosts line, creating the file (0600) and its folder."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = f"{name} {key.get_name()} {key.get_base64()}\n"
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write(line)
