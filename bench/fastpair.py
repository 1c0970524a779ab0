"""The fast pair: two hosts that stream at the machine's full speed, beside
the lab, for the transfer benchmarks (issue 18).

Each host is a network namespace (dockmove-fast-old, dockmove-fast-new) with
its own dockerd (own data root, exec root, socket and cgroup parent) and its
own sshd, reached from here over a veth pair. No bridge, no root filesystem
of its own, no systemd: nothing between the stream and the disk but sshd and
dockerd, which is what the lab's system containers add to. Each sshd has a
mount namespace of its own where /root is an empty folder: a login then runs
no start-up file of this machine's root (its .bashrc starts pyenv, 0.1 s a
command, which a server's root does not). Both ends run
this machine's Docker (Debian's 20.10), logged in as root. Their engine ID is
this machine's (20.10 reads it from /etc/docker/key.json, with no option to
move it); dockmove does not use it.

The namespaces share this machine's filesystem, so only scenarios that touch
nothing but their engines run here (settings.FAST_SCENARIOS): apt, dpkg or
hiding python3 on `new` would change the machine itself.

State: `.lab-fast/` (client key, known_hosts, the hosts' keys, hosts.yaml);
the engines' data under /var/lib/dockmove-fast/HOST and their runtime files
under /run/dockmove-fast/HOST. `down` removes all of it, killing only the
processes named by its own pid files.

The script texts are pure (up_script, down_script, dockerd_argv,
sshd_config_text, inventory_data); FastPair runs them as root.
"""
from __future__ import annotations

import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar

import yaml

from lab.config import LabConfig
from lab.state import ensure_key, known_hosts_text

from .lab import PROJECT
from .shell import Done, run

HOSTS = ("old", "new")
NAME = "dockmove-fast"
DATA = Path("/var/lib/dockmove-fast")
RUN = Path("/run/dockmove-fast")
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"       # Debian's docker CLI (20.10), not /usr/local/bin's
SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class Addr:
    """One host's link: the namespace's address and this machine's end."""
    host: str
    index: int

    @property
    def netns(self) -> str:
        return f"{NAME}-{self.host}"

    @property
    def veth(self) -> str:                 # this machine's end; the namespace's is eth0
        return f"dmf-{self.host}"

    @property
    def outer(self) -> str:                # 10.213.0.1 (old), 10.213.0.5 (new): /30 each
        return f"10.213.0.{4 * self.index + 1}"

    @property
    def inner(self) -> str:
        return f"10.213.0.{4 * self.index + 2}"

    @property
    def bip(self) -> str:                  # the engine's own bridge, outside Docker's pools
        return f"10.213.{self.index + 1}.1/24"

    @property
    def data(self) -> Path:
        return DATA / self.host

    @property
    def runtime(self) -> Path:
        return RUN / self.host

    @property
    def socket(self) -> str:
        return f"unix://{self.runtime}/docker.sock"


ADDRS = {h: Addr(h, i) for i, h in enumerate(HOSTS)}


def dockerd_argv(a: Addr) -> list[str]:
    return ["dockerd", "--config-file", f"{a.data}/daemon.json",
            "--data-root", f"{a.data}/docker", "--exec-root", f"{a.runtime}/exec",
            "--pidfile", f"{a.runtime}/docker.pid", "-H", a.socket,
            "--cgroup-parent", f"/{a.netns}", "--storage-driver", "overlay2",
            "--iptables=false", "--ip-masq=false", "--bip", a.bip,
            # where a containerd of the machine's answers at /run/containerd, the
            # engines use it: in namespaces of their own, never the machine's "moby"
            "--containerd-namespace", a.netns,
            "--containerd-plugins-namespace", f"{a.netns}-plugins"]


def sshd_config_text(a: Addr, host_key: Path) -> str:
    if any(c.isspace() or c in '"#' for c in str(host_key)):
        raise ValueError(f"the fast pair's state folder {host_key.parent} holds a blank, a "
                         "quote or a #, which sshd_config cannot take")
    return "\n".join([
        f"ListenAddress {a.inner}", f"HostKey {host_key}", f"PidFile {a.runtime}/sshd.pid",
        f"AuthorizedKeysFile {RUN}/authorized_keys",
        "PermitRootLogin prohibit-password", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "UsePAM no", "MaxStartups 100:30:200",
        "MaxSessions 100", "Subsystem sftp /usr/lib/openssh/sftp-server",
        f"SetEnv DOCKER_HOST={a.socket} PATH={PATH}", ""])


def nsenter(a: Addr) -> list[str]:
    return ["nsenter", f"--net=/run/netns/{a.netns}"]


def up_script(state: Path, public_key: str) -> str:
    """Root's script that makes both hosts (safe to run again: what runs is
    left as it is)."""
    q = shlex.quote
    lines = ["set -eu", f"mkdir -p -m 0755 {RUN} /run/sshd",
             f"printf '%s\\n' {q(public_key)} > {RUN}/authorized_keys",
             f"chmod 0644 {RUN}/authorized_keys"]
    for a in ADDRS.values():
        key = shlex.quote(str(state / f"ssh_host_{a.host}_ed25519_key"))
        ns = " ".join(nsenter(a))
        lines += [
            f"mkdir -p -m 0700 {a.data} {a.runtime}",
            f"[ -s {a.data}/daemon.json ] || echo '{{}}' > {a.data}/daemon.json",
            f"ip netns list | grep -qx '{a.netns}\\( .*\\)\\?' || ip netns add {a.netns}",
            f"if ! ip link show {a.veth} >/dev/null 2>&1; then",
            f"  ip link add {a.veth} type veth peer name eth0 netns {a.netns}",
            f"  ip addr add {a.outer}/30 dev {a.veth}",
            f"  ip -n {a.netns} addr add {a.inner}/30 dev eth0",
            "fi",
            f"ip link set {a.veth} up",
            f"ip -n {a.netns} link set lo up",
            f"ip -n {a.netns} link set eth0 up",
            f"[ -s {key} ] || ssh-keygen -q -t ed25519 -N '' -f {key}",
            f"cat > {a.runtime}/sshd_config <<'EOF'\n"
            f"{sshd_config_text(a, state / f'ssh_host_{a.host}_ed25519_key')}EOF",
            f"if ! {{ [ -s {a.runtime}/docker.pid ] && tr '\\0' ' ' < "
            f"/proc/\"$(cat {a.runtime}/docker.pid)\"/cmdline 2>/dev/null | grep -qF {a.runtime}/; }}; "
            "then",
            f"  {ns} setsid {shlex.join(dockerd_argv(a))} > {a.runtime}/dockerd.log 2>&1 "
            "< /dev/null &",
            "fi",
            f"if ! {{ [ -s {a.runtime}/sshd.pid ] && tr '\\0' ' ' < "
            f"/proc/\"$(cat {a.runtime}/sshd.pid)\"/cmdline 2>/dev/null | grep -qF {a.runtime}/; }}; "
            "then",
            f"  mkdir -p -m 0700 {a.runtime}/home",
            f"  {ns} unshare --mount --propagation private sh -c "
            f"'mount --bind {a.runtime}/home /root && "
            f"exec {SSHD} -f {a.runtime}/sshd_config -E {a.runtime}/sshd.log'",
            "fi"]
    return "\n".join(lines) + "\n"


def down_script() -> str:
    """Root's script that removes both hosts: their containers, then the
    processes their pid files name, the namespaces, what is mounted under
    their folders, the folders. Safe to run again."""
    lines = ["set -u"]
    for a in ADDRS.values():
        lines += [
            f"if [ -S {a.runtime}/docker.sock ]; then",
            f"  docker -H {a.socket} ps -aq 2>/dev/null | xargs -r docker -H {a.socket} "
            "rm -f >/dev/null 2>&1",
            "fi"]
    for a in ADDRS.values():
        for pidfile in (f"{a.runtime}/sshd.pid", f"{a.runtime}/docker.pid"):
            lines += [
                f"pid=$(cat {pidfile} 2>/dev/null) || pid=",
                # only a process whose command line names this host's runtime
                # folder: a stale pid file's number may be another process now
                f"if [ -n \"$pid\" ] && tr '\\0' ' ' < /proc/\"$pid\"/cmdline 2>/dev/null "
                f"| grep -qF {a.runtime}/; then",
                "  kill \"$pid\" 2>/dev/null",
                "  for _ in $(seq 1 150); do kill -0 \"$pid\" 2>/dev/null || break; sleep 0.1; done",
                "  kill -9 \"$pid\" 2>/dev/null",
                "fi"]
        lines += [  # what the engine started (containerd and its shims) runs under its cgroup
            f"for d in /sys/fs/cgroup/*/{a.netns} /sys/fs/cgroup/{a.netns}; do",
            "  [ -d \"$d\" ] || continue",
            "  find \"$d\" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null",
            "  find \"$d\" -depth -type d -exec rmdir {} + 2>/dev/null",
            "done",
            f"ip link del {a.veth} 2>/dev/null",
            f"ip netns del {a.netns} 2>/dev/null"]
    for root in (RUN, DATA):
        lines += [f"findmnt -rno TARGET | grep '^{root}/' | sort -r | "
                  "while read -r m; do umount -l \"$m\"; done",
                  f"rm -rf {root}"]
    return "\n".join(lines + ["true"]) + "\n"


def inventory_data(state: Path) -> dict:
    hosts = {a.host: {"address": a.inner, "user": "root",
                      "identity_file": str(state / "id_ed25519"),
                      "known_hosts": str(state / "known_hosts"), "groups": ["fast"]}
             for a in ADDRS.values()}
    return {"hosts": hosts, "settings": {"default_source": "old", "default_target": "new"}}


@dataclass(frozen=True)
class FastPair:
    """The same surface as bench.lab.Lab, for the scenarios that run here."""
    dir: Path = PROJECT / ".lab-fast"
    label: ClassVar[str] = "fast"
    name: ClassVar[str] = NAME

    @property
    def inventory(self) -> Path:
        return self.dir / "hosts.yaml"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKMOVE_INVENTORY": str(self.inventory)}

    def node_names(self, count: int | None = None) -> list[str]:
        return []

    def inv(self, *args: str, check: bool = True, timeout: float | None = None) -> Done:
        return run([str(PROJECT / ".venv" / "bin" / "inv"), *args], check=check,
                   env=self.env, cwd=str(PROJECT), timeout=timeout)

    def sh(self, host: str, script: str, check: bool = True, timeout: float | None = None) -> Done:
        a = ADDRS[host]
        return run([*nsenter(a), "env", f"DOCKER_HOST={a.socket}", f"PATH={PATH}",
                    "bash", "-c", script], check=check, timeout=timeout)

    def running(self, hosts: list[str]) -> bool:
        return self.inventory.exists() and all(
            self.has_engine(h) and self._answers(h) for h in hosts)

    def has_engine(self, host: str) -> bool:
        return (ADDRS[host].runtime / "docker.sock").exists() and \
            self.sh(host, "docker info >/dev/null 2>&1", check=False).code == 0

    def engine_version(self, host: str) -> str | None:
        if not (ADDRS[host].runtime / "docker.sock").exists():
            return None
        done = self.sh(host, "docker version --format '{{.Server.Version}}'", check=False)
        return done.output.strip() if done.code == 0 else None

    def counters(self, host: str) -> tuple[int, int]:
        """(rx, tx) of the host's eth0: this machine's end of the veth, turned round."""
        stats = Path("/sys/class/net") / ADDRS[host].veth / "statistics"
        return int((stats / "tx_bytes").read_text()), int((stats / "rx_bytes").read_text())

    def _answers(self, host: str) -> bool:
        return self.inv("hosts", "--host", host, check=False).code == 0

    def up(self, log: Callable[[str], None] = print) -> None:
        if not Path(SSHD).exists():
            raise RuntimeError(f"{SSHD} is missing: run ./bootstrap (it installs openssh-server "
                               "without starting it)")
        self.dir.mkdir(mode=0o700, exist_ok=True)
        cfg = LabConfig(name=NAME, state_dir=self.dir)
        public = ensure_key(cfg)
        log(f"fast pair: starting {', '.join(a.netns for a in ADDRS.values())}")
        run(["bash", "-c", up_script(self.dir, public)], timeout=120)
        keys = {a.inner: [" ".join((self.dir / f"ssh_host_{a.host}_ed25519_key.pub")
                                   .read_text().split()[:2])] for a in ADDRS.values()}
        known = self.dir / "known_hosts"
        known.write_text(known_hosts_text(keys))
        known.chmod(0o600)
        self.inventory.write_text(
            "# The benchmark's fast pair (bench/fastpair.py); rewritten on every start.\n"
            + yaml.safe_dump(inventory_data(self.dir), sort_keys=False))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(self.has_engine(h) for h in HOSTS):
                break
            time.sleep(0.5)
        for h in HOSTS:
            if not self.has_engine(h):
                log_text = (ADDRS[h].runtime / "dockerd.log").read_text(errors="replace")
                raise RuntimeError(f"fast pair: the engine of {h} did not come up:\n"
                                   + "\n".join(log_text.splitlines()[-15:]))
        self.inv("hosts", "--host", ",".join(HOSTS), timeout=60)

    def down(self) -> None:
        run(["bash", "-c", down_script()], check=False, timeout=120)
