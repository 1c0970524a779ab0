"""What `inv hosts` shows of one host: ssh, sudo, OS, Docker engine."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import AuthError, CommandError, UsageError
from .facts import DOCKER_VERSION, describe_os, parse_docker_version, parse_os_release
from .inventory import Host, Inventory
from .parallel import failures, run_each
from .remote import Remote
from .terminal import table as render

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


def survey_rows(inventory: Inventory,
                hosts: list[Host]) -> tuple[list[dict], dict[str, BaseException]]:
    """A row per host (queried in parallel), in the inventory's order: its
    ssh, sudo, OS and engine, or what failed (`--json` prints these); and
    the failures by host name."""

    def one(host: Host) -> HostReport:
        with Remote(inventory, host) as remote:
            return survey(remote)

    outcomes = run_each(hosts, one, key=lambda h: h.name)
    rows = []
    for host in hosts:
        o = outcomes[host.name]
        row = {"name": host.name, "address": host.address, "user": host.user or ""}
        if o.ok:
            r = o.value
            row.update(user=r.user, ssh="ok", sudo=r.sudo, os=r.os, docker=r.docker)
        else:
            kind = type(o.error).__name__.replace("Error", "").lower() or "error"
            row.update(ssh=f"failed ({kind})", sudo="", os="", docker="",
                       error=str(o.error).splitlines()[0] if str(o.error) else kind)
        rows.append(row)
    return rows, failures(outcomes)


def survey_table(rows: list[dict]) -> str:
    return render(["HOST", "ADDRESS", "USER", "SSH", "SUDO", "OS", "DOCKER"],
                  [[r["name"], r["address"], r["user"], r["ssh"].replace("failed", "FAILED"),
                    r["sudo"], r["os"], r["docker"]] for r in rows])
