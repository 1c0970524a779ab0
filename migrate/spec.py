"""The typed run spec: what recreates a container, as data, rendered to a
`docker create` / `docker run` argv in one place (`create_argv`,
`run_argv`). Pure. migrate/inspected.py reads it from `docker inspect`.

Published ports, mounts, networks, env and labels are typed: the user's
overrides (migrate/overrides.py) and volume pinning (migrate/volumes.py)
change them as data, and `published()` reads the ports from them; nothing
parses an argv this module rendered. The flags nothing changes (hostname,
user, health, restart, log, caps, resources, ...) are kept as words. The env
and labels the container was given reach `docker create` in files
(migrate/envfile.py), and are in the `docker run` line only as it is shown
(masked) or recorded. An env variable given by name only has the value None,
and stays a bare name.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Sequence, Union

from fleet.secrets import mask_argv

DEFAULT_NETWORKS = ("default", "bridge", "host", "none")
DEFAULT_SHM = 64 * 1024 * 1024


@dataclass(frozen=True)
class Published:
    """A port published with a fixed host port."""
    proto: str          # tcp | udp | sctp
    port: int           # on the host
    address: str = ""   # the host address it is published on; "" for every address
    inner: str = ""     # the container's port, "80/tcp": the same service on source and target


@dataclass(frozen=True)
class Port:
    """One `--publish`: a container port and where the host publishes it."""
    container: str              # "80", or a range "80-81"
    proto: str = "tcp"
    host_ip: str = ""           # "" for every address; IPv6 without brackets
    host_port: str = ""         # "" (the engine picks), "8080", or a range "8000-8001"

    def value(self) -> str:
        suffix = "" if self.proto in ("", "tcp") else f"/{self.proto}"
        hip = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
        if hip:
            return f"{hip}:{self.host_port}:{self.container}{suffix}"
        if self.host_port:
            return f"{self.host_port}:{self.container}{suffix}"
        return f"{self.container}{suffix}"

    def published(self) -> list[Published]:
        """The host ports this publishes, each with its container port; none
        when the engine picks the host port."""
        if not self.host_port:
            return []
        proto = self.proto or "tcp"
        hosts, inner = _range(self.host_port), _range(self.container)
        return [Published(proto, port, self.host_ip,
                          f"{inner[n] if len(inner) == len(hosts) else inner[0]}/{proto}")
                for n, port in enumerate(hosts)]


def _range(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


@dataclass(frozen=True)
class Volume:
    """`--volume [SOURCE:]TARGET[:MODE]`: a bind (SOURCE a host path), a named
    volume, or an anonymous one (no SOURCE)."""
    target: str
    source: str = ""
    mode: str = ""              # "ro", "ro,Z", ...

    def words(self) -> list[str]:
        value = f"{self.source}:{self.target}" if self.source else self.target
        return ["--volume", f"{value}:{self.mode}" if self.mode else value]


@dataclass(frozen=True)
class Mount:
    """`--mount type=...,source=...,target=...`."""
    type: str                   # volume | bind | tmpfs
    target: str
    source: str = ""            # "" for an anonymous volume or a tmpfs
    readonly: bool = False
    propagation: str = ""       # bind-propagation
    nocopy: bool = False        # volume-nocopy
    volume_labels: tuple[tuple[str, str], ...] = ()
    tmpfs_size: int = 0
    tmpfs_mode: int | None = None

    def words(self) -> list[str]:
        parts = [f"type={self.type}"]
        if self.source:
            parts.append(f"source={self.source}")
        parts.append(f"target={self.target}")
        if self.readonly:
            parts.append("readonly")
        if self.propagation:
            parts.append(f"bind-propagation={self.propagation}")
        if self.nocopy:
            parts.append("volume-nocopy")
        parts += [f"volume-label={k}={v}" for k, v in self.volume_labels]
        if self.tmpfs_size:
            parts.append(f"tmpfs-size={self.tmpfs_size}")
        if self.tmpfs_mode:
            parts.append(f"tmpfs-mode={self.tmpfs_mode:o}")
        return ["--mount", ",".join(_csv(p) for p in parts)]


@dataclass(frozen=True)
class Tmpfs:
    """`--tmpfs TARGET[:OPTIONS]`."""
    target: str
    options: str = ""

    def words(self) -> list[str]:
        return ["--tmpfs", f"{self.target}:{self.options}" if self.options else self.target]


MountEntry = Union[Volume, Mount, Tmpfs]


@dataclass(frozen=True)
class NetworkAttach:
    network: str
    aliases: tuple[str, ...] = ()
    ipv4: str | None = None
    ipv6: str | None = None
    links: tuple[str, ...] = ()     # --link NAME:ALIAS on this (user-defined) network

    def connect_args(self, alias_flag: str = "--alias") -> list[str]:
        """`docker network connect` options for a network after the first;
        with alias_flag="--network-alias", `docker create`'s for the first."""
        args = []
        for a in self.aliases:
            args += [alias_flag, a]
        for link in self.links:
            args += ["--link", link]
        if self.ipv4:
            args += ["--ip", self.ipv4]
        if self.ipv6:
            args += ["--ip6", self.ipv6]
        return args


@dataclass(frozen=True)
class RunSpec:
    """A container's run arguments; `create_argv` and `run_argv` render them
    in this order: options, ports, mounts, network, host_options, entrypoint."""
    name: str
    image: str                              # as the container named it
    command: tuple[str, ...] = ()           # after the image
    options: tuple[str, ...] = ()           # from its Config: --hostname ... --health-*
    publish_all: bool = False
    ports: tuple[Port, ...] = ()
    expose: tuple[str, ...] = ()            # "7000/tcp"
    mounts: tuple[MountEntry, ...] = ()
    network: NetworkAttach | None = None    # --network and its first attach; None: default
    extra_networks: tuple[NetworkAttach, ...] = ()   # connected after create
    host_options: tuple[str, ...] = ()      # from its HostConfig: --restart ... --storage-opt
    entrypoint: str | None = None           # --entrypoint, when it differs from the image's
    mac: str = ""                           # --mac-address the user set
    env: tuple[tuple[str, str | None], ...] = field(default=())  # given, in order; None: bare name
    labels: tuple[tuple[str, str], ...] = field(default=())  # given

    @property
    def network_mode(self) -> str:
        return self.network.network if self.network else "default"

    @property
    def user_networks(self) -> tuple[str, ...]:
        """The networks that must exist on the target (not the engine's own)."""
        if self.network is None or self.network.network.startswith("container:"):
            return ()
        return tuple(n for n in (self.network.network, *(e.network for e in self.extra_networks))
                     if n not in DEFAULT_NETWORKS)

    def published(self) -> list[Published]:
        """The ports published with a fixed host port, with the host address
        each is bound to."""
        return [p for port in self.ports for p in port.published()]

    def _option_words(self) -> list[str]:
        words = list(self.options)
        if self.publish_all:
            words.append("--publish-all")
        for p in self.ports:
            words += ["--publish", p.value()]
        for e in self.expose:
            words += ["--expose", e]
        for m in self.mounts:
            words += m.words()
        if self.network is not None:
            words += ["--network", self.network.network,
                      *self.network.connect_args("--network-alias")]
        if self.mac:
            words += ["--mac-address", self.mac]
        words += self.host_options
        if self.entrypoint is not None:
            words += ["--entrypoint", self.entrypoint]
        return words

    def create_argv(self, given: Sequence[str], image: str | None = None,
                    name: str | None = None) -> list[str]:
        """`docker create`; `given`: the words that give the env and labels
        (files: migrate/envfile.py), never their values."""
        return ["docker", "create", "--name", name or self.name, *given, *self._option_words(),
                image or self.image, *self.command]

    def run_argv(self, image: str | None = None) -> list[str]:
        """The whole `docker run` as a person would type it (shown masked)."""
        words = [w for k, v in self.env for w in ("--env", k if v is None else f"{k}={v}")]
        words += [w for k, v in self.labels for w in ("--label", f"{k}={v}")]
        return ["docker", "run", "--detach", "--name", self.name, *words, *self._option_words(),
                image or self.image, *self.command]


def _csv(field_: str) -> str:
    """A --mount field, quoted the CSV way when it holds a comma or quote."""
    if "," in field_ or '"' in field_:
        return '"' + field_.replace('"', '""') + '"'
    return field_


def render(argv: list[str], mask: bool = True) -> str:
    """One shell line; with `mask`, secrets hidden by fleet/secrets.py's rule."""
    return shlex.join(mask_argv(argv) if mask else argv)
