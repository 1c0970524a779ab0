"""What `inv hosts` shows of one host: ssh, sudo, OS, Docker engine."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import AuthError, CommandError, UsageError
from .facts import DOCKER_VERSION, describe_os, parse_docker_version, parse_os_release
from .inventory import Host, Inventory
from .parallel import failures, run_each
from .remote import Remote
from .table import render

@dataclass(frozen=True)
class HostReport:
    user: str
    sudo: str
    os: str
    docker: str


def survey(remote: Remote) -> HostReport:
    remote.connect()
    user = remote.run(["id", "-un"]).stdout.strip()
    release = parse_os_release(remote.run(["cat", "/etc/os-release"]).stdout)
    try:
        remote.run(["true"], sudo=True)
        sudo, as_root = ("root" if user == "root" else "ok"), True
    except (AuthError, UsageError, CommandError) as e:
        sudo, as_root = f"no: {str(e).splitlines()[0].split(': ', 1)[-1][:60]}", False
    out = remote.run(DOCKER_VERSION, sudo=as_root, check=False).stdout
    return HostReport(user=user, sudo=sudo, os=describe_os(release),
                      docker=parse_docker_version(out).describe())


def survey_table(inventory: Inventory,
                 hosts: list[Host]) -> tuple[str, dict[str, BaseException]]:
    """A row per host (queried in parallel) and the failures by host name."""

    def one(host: Host) -> HostReport:
        with Remote(inventory, host) as remote:
            return survey(remote)

    outcomes = run_each(hosts, one, key=lambda h: h.name)
    rows = []
    for host in hosts:
        o = outcomes[host.name]
        if o.ok:
            r = o.value
            rows.append([host.name, host.address, r.user, "ok", r.sudo, r.os, r.docker])
        else:
            kind = type(o.error).__name__.replace("Error", "").lower() or "error"
            rows.append([host.name, host.address, host.user or "", f"FAILED ({kind})",
                         "", "", ""])
    table = render(["HOST", "ADDRESS", "USER", "SSH", "SUDO", "OS", "DOCKER"], rows)
    return table, failures(outcomes)
