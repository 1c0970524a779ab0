"""Which hosts a `--host` value means. Pure.

A value is a comma list of: inventory host names, group names, `all`, or ad hoc
`[user@]address[:port]` (an address containing a dot or colon, or any value
with `@`). Ad hoc hosts get no inventory settings besides ~/.ssh/config; a
user or address starting with '-' is refused (it would be an option of ssh).
"""
from __future__ import annotations

import re

from .errors import UnknownHostError, UsageError
from .inventory import Host, Inventory, Sudo

_ADHOC = re.compile(r"""^(?:(?P<user>[^@\s]+)@)?
                        (?:\[(?P<ipv6>[0-9a-fA-F:.]+)\]|(?P<host>[^:@\s\[\]]+))
                        (?::(?P<port>\d+))?$""", re.X)


def parse_adhoc(spec: str) -> Host:
    """`user@host:port` to a Host; IPv6 addresses need brackets: `[::1]:2222`."""
    m = _ADHOC.match(spec)
    if not m:
        raise UsageError(f"cannot read host {spec!r}: expected NAME, GROUP or "
                         "[user@]address[:port] (IPv6 in brackets: [::1]:22)")
    for part in ("user", "host"):
        if (m[part] or "").startswith("-"):
            raise UsageError(f"host {spec!r}: the {part} must not start with '-' "
                             "(ssh would read it as an option)")
    port = int(m["port"]) if m["port"] else None
    if port is not None and not 1 <= port <= 65535:
        raise UsageError(f"host {spec!r}: {port} is not a port (1-65535)")
    user = m["user"]
    return Host(name=spec, address=m["ipv6"] or m["host"], user=user, port=port,
                sudo=Sudo(mode="none" if user == "root" else "passwordless"))


def _looks_adhoc(item: str) -> bool:
    return "@" in item or "." in item or ":" in item


def select(inventory: Inventory, spec: str | None, *, default: str | None = None,
           role: str = "host") -> list[Host]:
    """Hosts for `spec`, in the order given, each once. `default` names the
    inventory's default for this role when `spec` is empty."""
    spec = spec or default
    if not spec:
        raise UsageError(f"no {role} given: pass --host NAME "
                         f"(known: {_known(inventory)})")
    groups = inventory.groups()
    chosen: dict[str, Host] = {}
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if item in inventory.hosts:
            found = [inventory.hosts[item]]
        elif item in groups:
            found = [inventory.hosts[n] for n in groups[item]]
        elif item == "all":
            found = list(inventory.hosts.values())
        elif _looks_adhoc(item):
            found = [parse_adhoc(item)]
        else:
            raise UnknownHostError(
                f"unknown host {item!r} in {inventory.path}; known hosts: "
                f"{_known(inventory)}; or give [user@]address[:port]")
        for host in found:
            chosen.setdefault(host.name, host)
    if not chosen:
        raise UsageError(f"no hosts selected by {spec!r}")
    return list(chosen.values())


def _known(inventory: Inventory) -> str:
    names = sorted(inventory.hosts)
    groups = sorted(inventory.groups())
    text = ", ".join(names) or "none"
    if groups:
        text += f" (groups: {', '.join(groups)})"
    return text


def resolve_jump(inventory: Inventory, host: Host) -> Host | None:
    """The jump host of `host`, as an inventory host or ad hoc."""
    if not host.jump:
        return None
    if host.jump in inventory.hosts:
        return inventory.hosts[host.jump]
    if _looks_adhoc(host.jump):
        return parse_adhoc(host.jump)
    raise UnknownHostError(
        f"{inventory.path}: hosts.{host.name}.jump: unknown host {host.jump!r}; "
        f"known hosts: {_known(inventory)}")
