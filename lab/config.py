"""The lab's names, places and host specs. Pure.

Several labs can live side by side (the tests use their own): every object a
lab creates is named `<name>-...` and labelled `dockmove.lab=<name>`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
LABEL = "dockmove.lab"
HOST_LABEL = "dockmove.lab.host"
# the releases of the lab's hosts: `old` stays on Debian 12 (init scripts,
# Debian's docker.io 20.10); `new` is Debian 13 booted by systemd
OLD_SUITE = "bookworm"
NEW_SUITE = "trixie"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SUDO_USER = "admin"          # passwordless sudo
PASSWORD_USER = "ops"        # sudo with a password
PASSWORD_USER_PASSWORD = "ops-lab-password"


# lab image -> (Debian release, booted by systemd): see lab/images.py
IMAGES = {"host": (OLD_SUITE, False), "old": (OLD_SUITE, False),
          "old-stack": (OLD_SUITE, False), "host-trixie": (NEW_SUITE, True)}


@dataclass(frozen=True)
class HostSpec:
    name: str
    image: str               # which lab image: "host", "old", "old-stack" or "host-trixie"
    seed: bool = False       # run the seed scenario (apache-cont & co.)
    behind: str | None = None  # reachable only through this lab host (the hop network)

    @property
    def systemd(self) -> bool:
        """Booted by systemd (PID 1), else tini starts lab-init."""
        return IMAGES[self.image][1]

    @property
    def release(self) -> str:
        return IMAGES[self.image][0]


HOSTS = (HostSpec("old", "old", seed=True), HostSpec("new", "host-trixie"))
# with the stack, `old` also has docker-compose 1.29 and runs the compose project
# `shop` (PostgreSQL and a web app on 9090): only on request, as the other labs
# need no PostgreSQL (and provisioning `old` would remove docker-compose too)
STACK_OLD = HostSpec("old", "old-stack", seed=True)
# `inner` sits on a network of its own that only `new` shares; it answers only
# `new`, so this machine reaches it through `new` as a jump host or not at all
HOP_HOST = HostSpec("inner", "host", behind="new")
MAX_EXTRA = 16


def extra_hosts(count: int) -> tuple[HostSpec, ...]:
    """`node1`..`nodeN`: hosts without Docker, for fan-out work; of either
    release: odd ones like `new` (Debian 13, systemd), even ones Debian 12
    with init scripts (like `old` before its engine)."""
    if not 0 <= count <= MAX_EXTRA:
        raise ValueError(f"extra lab hosts: {count} is not between 0 and {MAX_EXTRA}")
    return tuple(HostSpec(f"node{i}", "host-trixie" if i % 2 else "host")
                 for i in range(1, count + 1))


@dataclass(frozen=True)
class LabConfig:
    name: str = "dockmove-lab"
    state_dir: Path = PROJECT_DIR / ".lab"
    mirror: str = DEFAULT_MIRROR
    extra: int = 0           # node1..nodeN besides old and new
    hop: bool = False        # also `inner`, reachable only through `new`
    stack: bool = False      # `old` runs the compose project `shop` (lab/files/seed-stack.sh)

    @property
    def hosts(self) -> tuple[HostSpec, ...]:
        base = (STACK_OLD,) + HOSTS[1:] if self.stack else HOSTS
        return base + extra_hosts(self.extra) + ((HOP_HOST,) if self.hop else ())

    @classmethod
    def from_env(cls) -> "LabConfig":
        name = os.environ.get("DOCKMOVE_LAB_NAME", cls.name)
        state = os.environ.get("DOCKMOVE_LAB_DIR")
        extra = os.environ.get("DOCKMOVE_LAB_EXTRA", "0")
        if not extra.isdigit():
            raise ValueError(f"DOCKMOVE_LAB_EXTRA={extra!r}: expected a number of hosts")
        hop = os.environ.get("DOCKMOVE_LAB_HOP", "0")
        if hop not in ("0", "1"):
            raise ValueError(f"DOCKMOVE_LAB_HOP={hop!r}: expected 1 (add `inner`) or 0")
        stack = os.environ.get("DOCKMOVE_LAB_STACK", "0")
        if stack not in ("0", "1"):
            raise ValueError(f"DOCKMOVE_LAB_STACK={stack!r}: expected 1 (the shop stack on "
                             "`old`) or 0")
        return cls(name=name,
                   state_dir=Path(state) if state else PROJECT_DIR / ".lab",
                   mirror=os.environ.get("DOCKMOVE_LAB_MIRROR", DEFAULT_MIRROR),
                   extra=int(extra), hop=hop == "1", stack=stack == "1")

    @property
    def network(self) -> str:
        return f"{self.name}-net"

    @property
    def hop_network(self) -> str:
        """The network of the hosts `behind` another (internal: no way out)."""
        return f"{self.name}-hop-net"

    def network_of(self, spec: HostSpec) -> str:
        return self.hop_network if spec.behind else self.network

    def container(self, host: str) -> str:
        return f"{self.name}-{host}"

    def volume(self, host: str) -> str:
        return f"{self.name}-{host}-docker"

    def cgroup_parent(self, host: str) -> str:
        return f"/{self.name}-{host}"

    @property
    def inventory_path(self) -> Path:
        return self.state_dir / "hosts.yaml"

    @property
    def key_path(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts_path(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def ssh_config_path(self) -> Path:
        return self.state_dir / "ssh_config"

    def labels(self, host: str | None = None) -> dict[str, str]:
        out = {LABEL: self.name}
        if host:
            out[HOST_LABEL] = host
        return out
