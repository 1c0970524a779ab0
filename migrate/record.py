"""From `docker inspect` to the `docker run` arguments that recreate a
container. Pure.

The arguments are what the container was given that differs from its ORIGINAL
image's defaults (inspect the image the container was created from, before
any commit: `docker commit` folds the container's config into the new image).
Accidental state is not pinned: runtime MAC addresses, ports that -P picked,
the engine's default log driver, the container-id hostname, the aliases the
engine adds itself, anonymous volumes the image declares. The env and labels
the container was given are kept apart from the other options: they reach
`docker create` in files (migrate/envfile.py), and are in the `docker run`
line only as it is shown (masked) or recorded.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Sequence

from fleet.secrets import mask_argv

DEFAULT_NETWORKS = ("default", "bridge", "host", "none")
DEFAULT_SHM = 64 * 1024 * 1024


@dataclass(frozen=True)
class NetworkAttach:
    network: str
    aliases: tuple[str, ...] = ()
    ipv4: str | None = None
    ipv6: str | None = None

    def connect_args(self, alias_flag: str = "--alias") -> list[str]:
        """`docker network connect` options for a network after the first;
        with alias_flag="--network-alias", `docker create`'s for the first."""
        args = []
        for a in self.aliases:
            args += [alias_flag, a]
        if self.ipv4:
            args += ["--ip", self.ipv4]
        if self.ipv6:
            args += ["--ip6", self.ipv6]
        return args


@dataclass(frozen=True)
class RunSpec:
    name: str
    image: str                          # as the container named it
    options: tuple[str, ...]            # between `docker create` and the image
    command: tuple[str, ...]            # after the image
    extra_networks: tuple[NetworkAttach, ...] = ()
    user_networks: tuple[str, ...] = ()  # networks to exist on the target
    env: tuple[tuple[str, str], ...] = field(default=())     # given, in order
    labels: tuple[tuple[str, str], ...] = field(default=())  # given

    def create_argv(self, given: Sequence[str], image: str | None = None,
                    name: str | None = None) -> list[str]:
        """`docker create`; `given`: the words that give the env and labels
        (files: migrate/envfile.py), never their values."""
        return ["docker", "create", "--name", name or self.name, *given, *self.options,
                image or self.image, *self.command]

    def run_argv(self, image: str | None = None) -> list[str]:
        """The whole `docker run` as a person would type it (shown masked)."""
        words = [w for k, v in self.env for w in ("--env", f"{k}={v}")]
        words += [w for k, v in self.labels for w in ("--label", f"{k}={v}")]
        return ["docker", "run", "--detach", "--name", self.name, *words, *self.options,
                image or self.image, *self.command]


def _env_dict(env: list[str] | None) -> dict[str, str]:
    out = {}
    for item in env or []:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def _duration(ns: int) -> str:
    """Nanoseconds to docker's duration syntax."""
    for unit, size in (("h", 3600 * 10**9), ("m", 60 * 10**9), ("s", 10**9), ("ms", 10**6),
                       ("us", 10**3)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def _ports(host: dict, config: dict, image_config: dict) -> list[str]:
    args = []
    if host.get("PublishAllPorts"):
        args.append("--publish-all")
    for port, bindings in sorted((host.get("PortBindings") or {}).items()):
        cport, _, proto = port.partition("/")
        suffix = "" if proto in ("", "tcp") else f"/{proto}"
        for b in bindings or [{}]:
            hip, hport = b.get("HostIp") or "", b.get("HostPort") or ""
            if hip and ":" in hip:
                hip = f"[{hip}]"
            if hip:
                args += ["--publish", f"{hip}:{hport}:{cport}{suffix}"]
            elif hport:
                args += ["--publish", f"{hport}:{cport}{suffix}"]
            else:
                args += ["--publish", f"{cport}{suffix}"]
    published = set((host.get("PortBindings") or {}))
    image_exposed = set((image_config.get("ExposedPorts") or {}))
    for port in sorted(set(config.get("ExposedPorts") or {}) - image_exposed - published):
        args += ["--expose", port]
    return args


def _mounts(container: dict, host: dict, image_config: dict) -> list[str]:
    args = []
    binds = host.get("Binds") or []
    for b in binds:
        args += ["--volume", b]
    bound = {b.split(":")[1] if b.count(":") >= 1 else b for b in binds}
    for m in host.get("Mounts") or []:
        parts = [f"type={m.get('Type', 'volume')}"]
        if m.get("Source"):
            parts.append(f"source={m['Source']}")
        parts.append(f"target={m['Target']}")
        if m.get("ReadOnly"):
            parts.append("readonly")
        bind = m.get("BindOptions") or {}
        if bind.get("Propagation"):
            parts.append(f"bind-propagation={bind['Propagation']}")
        vol = m.get("VolumeOptions") or {}
        if vol.get("NoCopy"):
            parts.append("volume-nocopy")
        for k, v in sorted((vol.get("Labels") or {}).items()):
            parts.append(f"volume-label={k}={v}")
        tmpfs = m.get("TmpfsOptions") or {}
        if tmpfs.get("SizeBytes"):
            parts.append(f"tmpfs-size={tmpfs['SizeBytes']}")
        if tmpfs.get("Mode"):
            parts.append(f"tmpfs-mode={tmpfs['Mode']:o}")
        args += ["--mount", ",".join(_csv(p) for p in parts)]
        bound.add(m["Target"])
    for path, opts in sorted((host.get("Tmpfs") or {}).items()):
        args += ["--tmpfs", f"{path}:{opts}" if opts else path]
        bound.add(path)
    image_volumes = set(image_config.get("Volumes") or {})
    config_volumes = set((container.get("Config") or {}).get("Volumes") or {})
    for path in sorted(config_volumes - image_volumes - bound):
        args += ["--volume", path]               # anonymous volume given at run time
    return args


def _csv(field_: str) -> str:
    """A --mount field, quoted the CSV way when it holds a comma or quote."""
    if "," in field_ or '"' in field_:
        return '"' + field_.replace('"', '""') + '"'
    return field_


def _networks(container: dict, host: dict) -> tuple[list[str], list[NetworkAttach], list[str]]:
    mode = host.get("NetworkMode") or "default"
    cid = container.get("Id", "")
    nets = (container.get("NetworkSettings") or {}).get("Networks") or {}
    if mode in ("default", "bridge"):
        return [], [], []
    if mode in ("host", "none") or mode.startswith("container:"):
        return ["--network", mode], [], []

    def attach(name: str) -> NetworkAttach:
        n = nets.get(name) or {}
        ipam = n.get("IPAMConfig") or {}
        aliases = tuple(a for a in (n.get("Aliases") or [])
                        if not cid.startswith(a) and a != container_name(container))
        return NetworkAttach(name, aliases, ipam.get("IPv4Address") or None,
                             ipam.get("IPv6Address") or None)

    args = ["--network", mode, *attach(mode).connect_args("--network-alias")]
    extra = [attach(n) for n in sorted(nets) if n != mode]
    user = [n for n in [mode, *(e.network for e in extra)] if n not in DEFAULT_NETWORKS]
    return args, extra, user


def container_name(container: dict) -> str:
    return (container.get("Name") or "").lstrip("/")


def _healthcheck(config: dict, image_config: dict) -> list[str]:
    hc = config.get("Healthcheck")
    if not hc or hc == image_config.get("Healthcheck"):
        return []
    test = hc.get("Test") or []
    if test == ["NONE"]:
        return ["--no-healthcheck"]
    args = []
    if test and test[0] == "CMD-SHELL":
        args += ["--health-cmd", test[1]]
    elif test and test[0] == "CMD":
        args += ["--health-cmd", shlex.join(test[1:])]
    for key, flag in (("Interval", "--health-interval"), ("Timeout", "--health-timeout"),
                      ("StartPeriod", "--health-start-period")):
        if hc.get(key):
            args += [flag, _duration(hc[key])]
    if hc.get("Retries"):
        args += ["--health-retries", str(hc["Retries"])]
    return args


def _resources(host: dict) -> list[str]:
    args = []
    simple = (("Memory", "--memory"), ("MemoryReservation", "--memory-reservation"),
              ("CpuShares", "--cpu-shares"), ("CpuPeriod", "--cpu-period"),
              ("CpuQuota", "--cpu-quota"), ("CpusetCpus", "--cpuset-cpus"),
              ("CpusetMems", "--cpuset-mems"), ("BlkioWeight", "--blkio-weight"),
              ("OomScoreAdj", "--oom-score-adj"), ("CgroupParent", "--cgroup-parent"))
    for key, flag in simple:
        if host.get(key):
            args += [flag, str(host[key])]
    swap = host.get("MemorySwap")
    if swap and swap != 2 * (host.get("Memory") or 0):
        args += ["--memory-swap", str(swap)]
    if host.get("MemorySwappiness") not in (None, -1):
        args += ["--memory-swappiness", str(host["MemorySwappiness"])]
    if host.get("NanoCpus"):
        cpus = host["NanoCpus"] / 1e9
        args += ["--cpus", f"{cpus:g}"]
    if host.get("PidsLimit") not in (None, 0, -1):
        args += ["--pids-limit", str(host["PidsLimit"])]
    if host.get("OomKillDisable"):
        args.append("--oom-kill-disable")
    for u in host.get("Ulimits") or []:
        args += ["--ulimit", f"{u['Name']}={u['Soft']}:{u['Hard']}"]
    shm = host.get("ShmSize")
    if shm and shm != DEFAULT_SHM:
        args += ["--shm-size", f"{shm}b"]
    return args


def run_spec(container: dict, image: dict, default_log_driver: str = "json-file") -> RunSpec:
    """The arguments that recreate `container` from `image` (its original)."""
    config = container.get("Config") or {}
    host = container.get("HostConfig") or {}
    iconf = image.get("Config") or {}
    name = container_name(container)
    args: list[str] = []

    def flag(cond, *words):
        if cond:
            args.extend(words)

    hostname = config.get("Hostname") or ""
    if hostname and not container.get("Id", "").startswith(hostname) \
            and host.get("NetworkMode") != "host" and not (host.get("UTSMode") == "host"):
        args += ["--hostname", hostname]
    flag(config.get("Domainname"), "--domainname", config.get("Domainname", ""))
    flag(config.get("User") != (iconf.get("User") or "") and config.get("User") is not None
         and config.get("User") != "", "--user", config.get("User") or "")
    flag((config.get("WorkingDir") or "") != (iconf.get("WorkingDir") or "")
         and config.get("WorkingDir"), "--workdir", config.get("WorkingDir") or "")
    env = _env_dict(config.get("Env"))
    ienv = _env_dict(iconf.get("Env"))
    given = [(k, v) for k, v in env.items() if ienv.get(k) != v]
    ilabels = iconf.get("Labels") or {}
    labels = [(k, v) for k, v in sorted((config.get("Labels") or {}).items())
              if ilabels.get(k) != v]
    flag(config.get("Tty"), "--tty")
    flag(config.get("OpenStdin"), "--interactive")
    flag(config.get("StopSignal") and config.get("StopSignal") != iconf.get("StopSignal"),
         "--stop-signal", config.get("StopSignal") or "")
    flag(config.get("StopTimeout") is not None, "--stop-timeout", str(config.get("StopTimeout")))
    args += _healthcheck(config, iconf)

    args += _ports(host, config, iconf)
    args += _mounts(container, host, iconf)
    net_args, extra, user_nets = _networks(container, host)
    args += net_args
    restart = host.get("RestartPolicy") or {}
    if restart.get("Name") not in (None, "", "no"):
        value = restart["Name"]
        if value == "on-failure" and restart.get("MaximumRetryCount"):
            value += f":{restart['MaximumRetryCount']}"
        args += ["--restart", value]
    flag(host.get("AutoRemove"), "--rm")
    log = host.get("LogConfig") or {}
    if log.get("Type") and log["Type"] != default_log_driver:
        args += ["--log-driver", log["Type"]]
    for k, v in sorted((log.get("Config") or {}).items()):
        args += ["--log-opt", f"{k}={v}"]
    for c in host.get("CapAdd") or []:
        args += ["--cap-add", c]
    for c in host.get("CapDrop") or []:
        args += ["--cap-drop", c]
    flag(host.get("Privileged"), "--privileged")
    for d in host.get("Devices") or []:
        spec = f"{d['PathOnHost']}:{d['PathInContainer']}"
        if d.get("CgroupPermissions") and d["CgroupPermissions"] != "rwm":
            spec += f":{d['CgroupPermissions']}"
        args += ["--device", spec]
    for rule in host.get("DeviceCgroupRules") or []:
        args += ["--device-cgroup-rule", rule]
    args += _resources(host)
    for h in host.get("ExtraHosts") or []:
        args += ["--add-host", h]
    for d in host.get("Dns") or []:
        args += ["--dns", d]
    for d in host.get("DnsSearch") or []:
        args += ["--dns-search", d]
    for d in host.get("DnsOptions") or []:
        args += ["--dns-option", d]
    flag(host.get("Init"), "--init")
    for s in host.get("SecurityOpt") or []:
        args += ["--security-opt", s]
    for k, v in sorted((host.get("Sysctls") or {}).items()):
        args += ["--sysctl", f"{k}={v}"]
    flag(host.get("ReadonlyRootfs"), "--read-only")
    flag(host.get("PidMode"), "--pid", host.get("PidMode") or "")
    flag(host.get("IpcMode") not in (None, "", "private"), "--ipc",
         host.get("IpcMode") or "")
    flag(host.get("UTSMode"), "--uts", host.get("UTSMode") or "")
    flag(host.get("UsernsMode"), "--userns", host.get("UsernsMode") or "")
    for g in host.get("GroupAdd") or []:
        args += ["--group-add", g]
    flag(host.get("Runtime") not in (None, "", "runc"), "--runtime", host.get("Runtime") or "")
    for link in host.get("Links") or []:
        args += ["--link", _link(link, name)]
    for v in host.get("VolumesFrom") or []:
        args += ["--volumes-from", v]
    for k, v in sorted((host.get("StorageOpt") or {}).items()):
        args += ["--storage-opt", f"{k}={v}"]

    ientry = iconf.get("Entrypoint") or []
    entry = config.get("Entrypoint") or []
    cmd = config.get("Cmd") or []
    command: list[str] = []
    if entry != ientry:
        args += ["--entrypoint", entry[0] if entry else ""]
        command = entry[1:] + cmd
    elif cmd != (iconf.get("Cmd") or []):
        command = list(cmd)
    return RunSpec(name=name, image=config.get("Image") or image.get("Id", ""),
                   options=tuple(args), command=tuple(command),
                   extra_networks=tuple(extra), user_networks=tuple(user_nets),
                   env=tuple(given), labels=tuple(labels))


def _link(link: str, name: str) -> str:
    """`/db:/web/database` (as inspect shows it) -> `db:database`."""
    target, _, alias = link.partition(":")
    return f"{target.lstrip('/')}:{alias.rsplit('/', 1)[-1]}"


def render(argv: list[str], mask: bool = True) -> str:
    """One shell line; with `mask`, secrets hidden by fleet/secrets.py's rule."""
    return shlex.join(mask_argv(argv) if mask else argv)


def to_json(spec: RunSpec) -> dict:
    return json.loads(json.dumps(spec, default=lambda o: o.__dict__))
