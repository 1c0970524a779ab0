"""`inv hosts.trust NAME`: record a host's key in known_hosts, on purpose.

The key is shown with its fingerprint; it is recorded only when it matches the
fingerprint the user got out of band (--fingerprint), or when the user says
yes. A key that differs from one already known is never replaced here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .errors import HostKeyError, UsageError
from .hostkeys import (fetch_host_key, fingerprint, known_hosts_files,
                       known_hosts_name, load_known_keys, record_key, trust_file)
from .inventory import Host, Settings


@dataclass(frozen=True)
class TrustResult:
    host: str
    fingerprint: str
    key_type: str
    file: str
    recorded: bool          # False: it was already known


def trust(host: Host, settings: Settings, *, expected: str | None = None,
          confirm: Callable[[str], bool] | None = None) -> TrustResult:
    port = host.port or 22
    key = fetch_host_key(host.address, port, settings.connect_timeout)
    fp = fingerprint(key)
    name = known_hosts_name(host.address, host.port)
    files = known_hosts_files(host, settings)
    known = load_known_keys(files).lookup(name) or {}
    target = trust_file(host, settings)
    if key.get_name() in known:
        if known[key.get_name()] == key:
            return TrustResult(host.name, fp, key.get_name(), target, False)
        raise HostKeyError(
            f"{host.name}: {name} shows {key.get_name()} {fp}, but known_hosts "
            f"has another key for it ({fingerprint(known[key.get_name()])}). "
            f"Not replacing it: if the host was reinstalled, remove the old key "
            f"first (ssh-keygen -R '{name}'), then trust again")
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
    record_key(target, name, key)
    return TrustResult(host.name, fp, key.get_name(), target, True)


def _norm(fp: str) -> str:
    fp = fp.strip()
    return fp if fp.startswith("SHA256:") else "SHA256:" + fp
