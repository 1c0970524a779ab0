"""Lab hosts as system containers: create, start, find, wait for, remove.

The run options are those LAB-NOTES.md found to work for a container that runs
its own dockerd here (--privileged does not): all capabilities but
SYS_RESOURCE, no seccomp/apparmor confinement, unmasked system paths, the
cgroup tree mounted read-write, and /var/lib/docker on a volume.

A host of the newer release boots systemd as PID 1 (no tini), with tmpfs
on /run and /run/lock; systemd runs in the cgroup hierarchies bound below.

The cgroup tree: on a cgroup v1 machine /sys/fs/cgroup is a tmpfs holding one
mount per hierarchy. A host gets a tmpfs of its own there with each hierarchy
bound into it, never this machine's tmpfs itself: a host that removes those
directories (cgroupfs-mount's `cgroupfs-umount` does, when apt removes it)
would otherwise detach every cgroup mount of this machine, and no container
could start here any more.
"""
from __future__ import annotations

import json
import socket
import time
from typing import Callable

import docker
from docker.errors import NotFound
from docker.models.containers import Container

from .config import HOST_LABEL, LABEL, HostSpec, LabConfig
from .images import LabError

Log = Callable[[str], None]


def ensure_network(client: docker.DockerClient, cfg: LabConfig, name: str | None = None,
                   *, internal: bool = False):
    """The lab's network (or another of its networks: `name`), created once."""
    name = name or cfg.network
    for net in client.networks.list(names=[name]):
        if net.name == name:
            return net
    return client.networks.create(name, driver="bridge", internal=internal,
                                  labels=cfg.labels())


def join_network(client: docker.DockerClient, container: Container, network: str,
                 alias: str) -> None:
    """Attach a running host to a second network, once."""
    container.reload()
    if network not in container.attrs["NetworkSettings"]["Networks"]:
        client.networks.get(network).connect(container, aliases=[alias])


def find_host(client: docker.DockerClient, cfg: LabConfig, name: str) -> Container | None:
    try:
        return client.containers.get(cfg.container(name))
    except NotFound:
        return None


def lab_containers(client: docker.DockerClient, cfg: LabConfig) -> list[Container]:
    return client.containers.list(all=True, filters={"label": f"{LABEL}={cfg.name}"})


# what systemd as PID 1 wants of a container (besides the cgroup tree): its
# runtime folders empty on every boot
SYSTEMD_TMPFS = {"/run": "rw,exec,mode=755", "/run/lock": "rw,mode=1777"}


def create_host(client: docker.DockerClient, cfg: LabConfig, spec: HostSpec,
                image: str, authorized_key: str) -> Container:
    volume = cfg.volume(spec.name)
    if not client.volumes.list(filters={"name": volume}):
        client.volumes.create(volume, labels=cfg.labels(spec.name))
    api = client.api
    network = cfg.network_of(spec)
    host_config = api.create_host_config(
        init=not spec.systemd,       # systemd must be PID 1 itself
        cap_add=["ALL"], cap_drop=["SYS_RESOURCE"],
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        binds={**cgroup_binds(), volume: {"bind": "/var/lib/docker", "mode": "rw"}},
        tmpfs={**cgroup_tmpfs(), **(SYSTEMD_TMPFS if spec.systemd else {})},
        network_mode=network,
        restart_policy={"Name": "unless-stopped"},   # `reboot` inside comes back
    )
    # --security-opt systempaths=unconfined, which the SDK has no word for
    host_config["MaskedPaths"] = []
    host_config["ReadonlyPaths"] = []
    created = api.create_container(
        image=image,
        name=cfg.container(spec.name),
        hostname=spec.name,
        labels=cfg.labels(spec.name),
        environment={"LAB_AUTHORIZED_KEY": authorized_key,
                     "LAB_CGROUP_PARENT": cfg.cgroup_parent(spec.name)},
        host_config=host_config,
        networking_config=api.create_networking_config(
            {network: api.create_endpoint_config(aliases=[spec.name])}),
    )
    container = client.containers.get(created["Id"])
    container.start()
    return container


def cgroup_mounts(mountinfo: str) -> tuple[str, list[str]]:
    """(type of /sys/fs/cgroup, the cgroup hierarchies mounted below it), from
    /proc/self/mountinfo. Pure."""
    top, below = "", []
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        where, fstype = fields[4], fields[fields.index("-") + 1]
        if where == "/sys/fs/cgroup":
            top = fstype
        elif where.startswith("/sys/fs/cgroup/") and fstype in ("cgroup", "cgroup2"):
            below.append(where)
    return top, below


def _machine_cgroups() -> tuple[str, list[str]]:
    with open("/proc/self/mountinfo") as f:
        return cgroup_mounts(f.read())


def cgroup_binds() -> dict:
    top, below = _machine_cgroups()
    if top != "tmpfs" or not below:         # cgroup v2 (or unknown): the tree as it is
        return {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}}
    return {m: {"bind": m, "mode": "rw"} for m in below}


def cgroup_tmpfs() -> dict:
    top, below = _machine_cgroups()
    return {"/sys/fs/cgroup": "rw,mode=755"} if top == "tmpfs" and below else {}


def ensure_repo(client: docker.DockerClient, cfg: LabConfig, image: str,
                fresh: bool, log: Log) -> Container:
    """The stand-in repository server (busybox httpd; no sshd, no engine)."""
    container = find_host(client, cfg, "repo")
    if container is not None and (fresh or image not in container.image.tags):
        container.remove(force=True)
        container = None
    if container is None:
        log(f"lab: starting the stand-in repository from {image}")
        return client.containers.run(
            image, name=cfg.container("repo"), hostname="repo", detach=True,
            labels=cfg.labels("repo"), network=cfg.network)
    if container.status != "running":
        container.start()
    return container


def repo_facts(container: Container) -> dict:
    code, out = exec_ok(container, ["cat", "/srv/repo/lab.json"])
    if code != 0:
        raise LabError(f"lab: cannot read /srv/repo/lab.json in {container.name}: {out}")
    return json.loads(out)


def address(container: Container, network: str) -> str | None:
    container.reload()
    nets = container.attrs["NetworkSettings"]["Networks"]
    ip = (nets.get(network) or {}).get("IPAddress")
    return ip or None


def wait_for_ssh(container: Container, ip: str, timeout: float = 60) -> None:
    """Until sshd greets on port 22 (its banner, not just an open port)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        container.reload()
        if container.status != "running":
            raise LabError(f"lab: {container.name} stopped while starting; its log:\n"
                           f"{container.logs(tail=20).decode(errors='replace')}")
        try:
            with socket.create_connection((ip, 22), timeout=2) as s:
                s.settimeout(2)
                if s.recv(64).startswith(b"SSH-"):
                    return
        except OSError as e:
            last = str(e)
        time.sleep(0.2)
    raise LabError(f"lab: sshd on {container.name} ({ip}) did not answer within "
                   f"{timeout:.0f}s ({last}); see `docker logs {container.name}`")


def wait_for_ssh_inside(container: Container, timeout: float = 60) -> None:
    """Until sshd greets on the host's own loopback (for a host this machine
    is not meant to reach)."""
    probe = ["timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/22 && head -c 4 <&3"]
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        code, out = exec_ok(container, probe)
        if code == 0 and out.startswith("SSH-"):
            return
        time.sleep(0.2)
    raise LabError(f"lab: sshd on {container.name} did not answer within {timeout:.0f}s "
                   f"({out.strip()}); see `docker logs {container.name}`")


CONFINE = r"""set -eu
peer=$1
route=$(ip -o -4 route get "$peer")
dev=$(printf '%s\n' "$route" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
src=$(printf '%s\n' "$route" | sed -n 's/.* src \([^ ]*\).*/\1/p')
ip -4 route flush dev "$dev"
ip -4 route add "$peer/32" dev "$dev" src "$src"
"""


def confine(container: Container, peer: str) -> None:
    """Leave the host one route: to `peer`. Whoever else connects (this
    machine, through the network's bridge) never gets an answer."""
    code, out = exec_ok(container, ["sh", "-c", CONFINE, "confine", peer])
    if code != 0:
        raise LabError(f"lab: cannot limit {container.name}'s routes to {peer}: {out}")


def wait_for_boot(container: Container, timeout: float = 90) -> None:
    """Until systemd has started every unit of the boot; a unit that failed
    is an error of the lab (the host would be "degraded")."""
    code, out = exec_ok(container, ["timeout", str(int(timeout)), "systemctl",
                                    "is-system-running", "--wait"])
    if out.strip() == "running":
        return
    _, failed = exec_ok(container, ["systemctl", "--failed", "--no-legend", "--plain"])
    raise LabError(f"lab: systemd on {container.name} did not reach `running` within "
                   f"{timeout:.0f}s (it says {out.strip() or f'nothing, exit {code}'}); "
                   f"failed units:\n{failed.strip() or '(none)'}\n"
                   f"see `docker exec {container.name} journalctl -b`")


def exec_ok(container: Container, argv: list[str]) -> tuple[int, str]:
    code, out = container.exec_run(argv, demux=False)
    return code, (out or b"").decode(errors="replace")


def wait_for_engine(container: Container, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        code, out = exec_ok(container, ["docker", "version", "--format", "{{.Server.Version}}"])
        if code == 0:
            return
        time.sleep(0.3)
    _, log = exec_ok(container, ["tail", "-n", "20", "/var/log/docker.log"])
    raise LabError(f"lab: the Docker engine in {container.name} did not start within "
                   f"{timeout:.0f}s: {out.strip()}\n/var/log/docker.log:\n{log}")


def engine_version(container: Container) -> str | None:
    code, out = exec_ok(container, ["sh", "-c", "command -v docker >/dev/null && "
                                    "docker version --format '{{.Server.Version}}'"])
    return out.strip() if code == 0 and out.strip() else None


def host_public_keys(container: Container) -> list[str]:
    """`TYPE BASE64` of each host key, ed25519 first (paramiko offers the
    first type it finds in known_hosts)."""
    code, out = exec_ok(container, ["sh", "-c", "cat /etc/ssh/ssh_host_ed25519_key.pub "
                                    "/etc/ssh/ssh_host_ecdsa_key.pub /etc/ssh/ssh_host_rsa_key.pub"])
    if code != 0:
        raise LabError(f"lab: cannot read the host keys of {container.name}: {out}")
    return [" ".join(l.split()[:2]) for l in out.splitlines() if l.strip()]


def _labelled(client: docker.DockerClient, cfg: LabConfig) -> tuple[list, list, list]:
    """The containers, volumes and networks labelled with this lab's name."""
    selector = {"label": f"{LABEL}={cfg.name}"}
    return (client.containers.list(all=True, filters=selector),
            client.volumes.list(filters=selector), client.networks.list(filters=selector))


def lab_objects(client: docker.DockerClient, cfg: LabConfig) -> list[str]:
    """What remove_lab_objects would remove, one line each."""
    containers, volumes, networks = _labelled(client, cfg)
    return ([f"lab host {c.labels.get(HOST_LABEL, '?')} ({c.name}) and all it holds"
             for c in containers]
            + [f"volume {v.name}" for v in volumes] + [f"network {n.name}" for n in networks])


def remove_lab_objects(client: docker.DockerClient, cfg: LabConfig, log: Log) -> None:
    """Containers, volumes and the network labelled with this lab's name."""
    containers, volumes, networks = _labelled(client, cfg)
    for c in containers:
        log(f"lab: removing host {c.labels.get(HOST_LABEL, '?')} ({c.name})")
        c.remove(force=True)
    for v in volumes:
        log(f"lab: removing volume {v.name}")
        v.remove(force=True)
    for n in networks:
        log(f"lab: removing network {n.name}")
        n.remove()
