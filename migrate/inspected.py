"""From `docker inspect` of a container and of its ORIGINAL image (the one
it was created from, before any commit: `docker commit` folds the
container's config into the new image) to the run spec (migrate/spec.py)
that recreates it. Pure.

The spec holds what the container was given that differs from the image's
defaults. Accidental state is not pinned: runtime MAC addresses, ports that
-P picked, the engine's default log driver, the container-id hostname, the
aliases the engine adds itself, anonymous volumes the image declares. An env
variable the container was given by name only (`--env VAR` where VAR was
unset: the engine keeps `VAR`, no `=`) stays a bare name.

A container that shares another's network (`--network container:X`) or the
host's has no network settings of its own: the options the engine refuses
with those modes (hostname, domainname, MAC address, DNS, extra hosts,
published and exposed ports, aliases) are left out, as the engine left them
out of what it ran. A MAC address is kept when the user set it
(Config.MacAddress, which the engine fills only then); the docker CLI puts
`--mac-address` on the first network's endpoint where the engine wants it
there (API 1.44+).
"""
from __future__ import annotations

import shlex
from typing import Mapping

from .spec import (DEFAULT_SHM, Mount, MountEntry, NetworkAttach, Port, Published, RunSpec,
                   Tmpfs, Volume)


def _env_dict(env: list[str] | None) -> dict[str, str | None]:
    """NAME=value -> value; a bare NAME (unset in the container) -> None."""
    out: dict[str, str | None] = {}
    for item in env or []:
        k, sep, v = item.partition("=")
        out[k] = v if sep else None
    return out


def shares_network(host: dict) -> bool:
    """Whether the container has no network namespace of its own (another
    container's, or the host's)."""
    mode = host.get("NetworkMode") or ""
    return mode == "host" or mode.startswith("container:")


def depends_on(container: dict) -> dict[str, tuple[str, ...]]:
    """The other containers this one needs where it is created, each with the
    options that name it (a name, or an id as the engine kept it)."""
    host = container.get("HostConfig") or {}
    out: dict[str, list[str]] = {}
    # --link on the default bridge is the host's; on a user-defined network, the endpoint's
    endpoints = ((container.get("NetworkSettings") or {}).get("Networks") or {}).values()
    links = [*(host.get("Links") or []),
             *(k for e in endpoints for k in (e or {}).get("Links") or [])]
    for link in links:
        out.setdefault(link.partition(":")[0].lstrip("/"), []).append("--link")
    for v in host.get("VolumesFrom") or []:
        out.setdefault(v.partition(":")[0], []).append("--volumes-from")
    for key, flag in (("NetworkMode", "--network"), ("IpcMode", "--ipc"), ("PidMode", "--pid")):
        mode = host.get(key) or ""
        if mode.startswith("container:"):
            out.setdefault(mode.partition(":")[2], []).append(f"{flag} container:")
    return {k: tuple(dict.fromkeys(v)) for k, v in out.items()}


def duration(ns: int) -> str:
    """Nanoseconds to docker's duration syntax."""
    for unit, size in (("h", 3600 * 10**9), ("m", 60 * 10**9), ("s", 10**9), ("ms", 10**6),
                       ("us", 10**3)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def port_bindings(host: dict) -> list[Port]:
    """HostConfig.PortBindings as ports (`--publish`)."""
    ports = []
    for key, bindings in sorted((host.get("PortBindings") or {}).items()):
        cport, _, proto = key.partition("/")
        for b in bindings or [{}]:
            ports.append(Port(cport, proto or "tcp", b.get("HostIp") or "", b.get("HostPort") or ""))
    return ports


def bindings(container: Mapping) -> list[Published]:
    """The ports a container (`docker inspect`) publishes with a fixed host port."""
    return [p for port in port_bindings(container.get("HostConfig") or {})
            for p in port.published()]


def _ports(host: dict, config: dict, image_config: dict) -> tuple[list[Port], list[str]]:
    """The bindings (`--publish`) and the ports exposed at run time (`--expose`)."""
    ports = port_bindings(host)
    published = set((host.get("PortBindings") or {}))
    image_exposed = set((image_config.get("ExposedPorts") or {}))
    expose = sorted(set(config.get("ExposedPorts") or {}) - image_exposed - published)
    return ports, expose


def _volume(bind: str) -> Volume:
    """One of HostConfig.Binds, as the engine stores it: SOURCE:TARGET[:MODE]."""
    parts = bind.split(":")
    if len(parts) == 1:
        return Volume(bind)
    return Volume(parts[1], parts[0], ":".join(parts[2:]))


def _mount(m: dict) -> Mount:
    vol, tmpfs = m.get("VolumeOptions") or {}, m.get("TmpfsOptions") or {}
    return Mount(m.get("Type", "volume"), m["Target"], m.get("Source") or "",
                 readonly=bool(m.get("ReadOnly")),
                 propagation=(m.get("BindOptions") or {}).get("Propagation") or "",
                 nocopy=bool(vol.get("NoCopy")),
                 volume_labels=tuple(sorted((vol.get("Labels") or {}).items())),
                 tmpfs_size=tmpfs.get("SizeBytes") or 0, tmpfs_mode=tmpfs.get("Mode") or None)


def _mounts(container: dict, host: dict, image_config: dict) -> list[MountEntry]:
    """Binds and named volumes (`--volume`), `--mount`s, `--tmpfs`, then the
    anonymous volumes given at run time (not declared by the image)."""
    out: list[MountEntry] = [_volume(b) for b in host.get("Binds") or []]
    out += [_mount(m) for m in host.get("Mounts") or []]
    out += [Tmpfs(path, opts or "") for path, opts in sorted((host.get("Tmpfs") or {}).items())]
    bound = {m.target for m in out}
    image_volumes = set(image_config.get("Volumes") or {})
    config_volumes = set((container.get("Config") or {}).get("Volumes") or {})
    out += [Volume(path) for path in sorted(config_volumes - image_volumes - bound)]
    return out




def _networks(container: dict, host: dict) -> tuple[NetworkAttach | None, list[NetworkAttach]]:
    """The network mode with the first network's attach, and the networks
    connected after create; (None, []) for the default bridge."""
    mode = host.get("NetworkMode") or "default"
    cid = container.get("Id", "")
    nets = (container.get("NetworkSettings") or {}).get("Networks") or {}
    if mode in ("default", "bridge"):
        return None, []
    if mode in ("host", "none") or mode.startswith("container:"):
        return NetworkAttach(mode), []

    def attach(name: str) -> NetworkAttach:
        n = nets.get(name) or {}
        ipam = n.get("IPAMConfig") or {}
        aliases = tuple(a for a in (n.get("Aliases") or [])
                        if not cid.startswith(a) and a != container_name(container))
        return NetworkAttach(name, aliases, ipam.get("IPv4Address") or None,
                             ipam.get("IPv6Address") or None,
                             tuple(link_arg(k, container_name(container))
                                   for k in n.get("Links") or []))

    return attach(mode), [attach(n) for n in sorted(nets) if n != mode]


def container_name(container: dict) -> str:
    return (container.get("Name") or "").lstrip("/")


def given_healthcheck(config: dict, image_config: dict) -> dict | None:
    """The container's healthcheck when it is not its image's."""
    hc = config.get("Healthcheck")
    return None if not hc or hc == image_config.get("Healthcheck") else hc


def _healthcheck(config: dict, image_config: dict) -> list[str]:
    hc = given_healthcheck(config, image_config)
    if hc is None:
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
            args += [flag, duration(hc[key])]
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


def from_inspect(container: dict, image: dict, default_log_driver: str = "json-file") -> RunSpec:
    """The run spec that recreates `container` from `image` (its original)."""
    config = container.get("Config") or {}
    host = container.get("HostConfig") or {}
    iconf = image.get("Config") or {}
    name = container_name(container)
    env = _env_dict(config.get("Env"))
    ienv = _env_dict(iconf.get("Env"))
    ilabels = iconf.get("Labels") or {}
    ports, expose = _ports(host, config, iconf)
    network, extra = _networks(container, host)
    shared = shares_network(host)
    contained = (host.get("NetworkMode") or "").startswith("container:")
    if contained:           # the engine refuses them with --network container:X
        ports, expose = [], []
    ientry = iconf.get("Entrypoint") or []
    entry = config.get("Entrypoint") or []
    cmd = config.get("Cmd") or []
    entrypoint, command = None, []
    if entry != ientry:
        entrypoint, command = (entry[0] if entry else ""), entry[1:] + cmd
    elif cmd != (iconf.get("Cmd") or []):
        command = list(cmd)
    return RunSpec(
        name=name, image=config.get("Image") or image.get("Id", ""), command=tuple(command),
        options=tuple(_config_options(container, iconf)),
        publish_all=bool(host.get("PublishAllPorts")) and not contained, ports=tuple(ports),
        expose=tuple(expose),
        mounts=tuple(_mounts(container, host, iconf)),
        network=network, extra_networks=tuple(extra),
        host_options=tuple(_host_options(host, name, default_log_driver)),
        entrypoint=entrypoint,
        mac="" if shared else (config.get("MacAddress") or ""),
        env=tuple((k, v) for k, v in env.items() if k not in ienv or ienv[k] != v),
        labels=tuple((k, v) for k, v in sorted((config.get("Labels") or {}).items())
                     if ilabels.get(k) != v))


def given_hostname(container: dict) -> str:
    """The hostname the user set; "" for the one the engine derived (the id's
    start, the host's, or the other container's)."""
    config = container.get("Config") or {}
    host = container.get("HostConfig") or {}
    hostname = config.get("Hostname") or ""
    if not hostname or container.get("Id", "").startswith(hostname) \
            or host.get("NetworkMode") == "host" or host.get("UTSMode") == "host" \
            or (host.get("NetworkMode") or "").startswith("container:"):
        return ""
    return hostname


def _config_options(container: dict, iconf: dict) -> list[str]:
    """The flags from the container's Config: identity, process, health."""
    config = container.get("Config") or {}
    host = container.get("HostConfig") or {}
    args: list[str] = []

    def flag(cond, *words):
        if cond:
            args.extend(words)

    hostname = given_hostname(container)
    contained = (host.get("NetworkMode") or "").startswith("container:")
    flag(hostname, "--hostname", hostname)
    flag(config.get("Domainname") and not contained, "--domainname",
         config.get("Domainname", ""))
    flag(config.get("User") != (iconf.get("User") or "") and config.get("User") is not None
         and config.get("User") != "", "--user", config.get("User") or "")
    flag((config.get("WorkingDir") or "") != (iconf.get("WorkingDir") or "")
         and config.get("WorkingDir"), "--workdir", config.get("WorkingDir") or "")
    flag(config.get("Tty"), "--tty")
    flag(config.get("OpenStdin"), "--interactive")
    flag(config.get("StopSignal") and config.get("StopSignal") != iconf.get("StopSignal"),
         "--stop-signal", config.get("StopSignal") or "")
    flag(config.get("StopTimeout") is not None, "--stop-timeout", str(config.get("StopTimeout")))
    return args + _healthcheck(config, iconf)


def _host_options(host: dict, name: str, default_log_driver: str) -> list[str]:
    """The flags from the container's HostConfig other than ports, mounts
    and networks: restart, log, privileges, devices, resources, DNS, ..."""
    args: list[str] = []

    def flag(cond, *words):
        if cond:
            args.extend(words)

    restart = restart_policy(host)
    flag(restart, "--restart", restart)
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
    contained = (host.get("NetworkMode") or "").startswith("container:")
    for h in [] if contained else host.get("ExtraHosts") or []:
        args += ["--add-host", h]
    for d in [] if contained else host.get("Dns") or []:
        args += ["--dns", d]
    for d in [] if contained else host.get("DnsSearch") or []:
        args += ["--dns-search", d]
    for d in [] if contained else host.get("DnsOptions") or []:
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
        args += ["--link", link_arg(link, name)]
    for v in host.get("VolumesFrom") or []:
        args += ["--volumes-from", v]
    for k, v in sorted((host.get("StorageOpt") or {}).items()):
        args += ["--storage-opt", f"{k}={v}"]
    return args


def restart_policy(host: dict) -> str:
    """`--restart`'s value ("on-failure:3"); "" for the default (no)."""
    restart = host.get("RestartPolicy") or {}
    if restart.get("Name") in (None, "", "no"):
        return ""
    value = restart["Name"]
    if value == "on-failure" and restart.get("MaximumRetryCount"):
        value += f":{restart['MaximumRetryCount']}"
    return value


def link_arg(link: str, name: str) -> str:
    """`/db:/web/database` (as inspect shows it) -> `db:database`."""
    target, _, alias = link.partition(":")
    return f"{target.lstrip('/')}:{alias.rsplit('/', 1)[-1]}"
