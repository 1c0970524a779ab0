"""One container's own settings as a compose service's keys, from its run
spec (migrate/inspected.py, whose decisions it reuses) and its `docker
inspect`: what `inv record` keeps, without what the image sets already and
without compose's own labels. Its references to other containers (network
namespaces, links, --volumes-from) are the file's (migrate/compose_file.py),
which knows the other services. Pure; what compose cannot say goes to `notes`.
"""
from __future__ import annotations

from .compose_labels import PREFIX as COMPOSE_LABELS
from .inspected import duration, given_healthcheck, given_hostname, restart_policy
from .spec import DEFAULT_SHM, Mount, RunSpec, Tmpfs, Volume


def service_options(container: dict, image: dict, spec: RunSpec, log_driver: str,
                    notes: list[str]) -> dict:
    """The service's keys, but for its networks and references."""
    config = container.get("Config") or {}
    host = container.get("HostConfig") or {}
    iconf = image.get("Config") or {}
    svc: dict = {"image": spec.image, "container_name": spec.name}
    command = list(spec.command)
    if spec.entrypoint is not None:     # not the image's: both as the container has them
        svc["entrypoint"] = list(config.get("Entrypoint") or [""])     # [""]: reset, as the CLI
        command = list(config.get("Cmd") or [])
    if command:
        svc["command"] = command
    if spec.env:
        svc["environment"] = dict(spec.env)
    labels = {k: v for k, v in spec.labels if not k.startswith(COMPOSE_LABELS)}
    if labels:
        svc["labels"] = labels
    contained = (host.get("NetworkMode") or "").startswith("container:")
    put = _putter(svc)
    put("hostname", given_hostname(container))
    put("domainname", "" if contained else config.get("Domainname"))
    if config.get("User") and config.get("User") != (iconf.get("User") or ""):
        svc["user"] = config["User"]
    if config.get("WorkingDir") and config["WorkingDir"] != (iconf.get("WorkingDir") or ""):
        svc["working_dir"] = config["WorkingDir"]
    put("tty", config.get("Tty"))
    put("stdin_open", config.get("OpenStdin"))
    if config.get("StopSignal") and config["StopSignal"] != iconf.get("StopSignal"):
        svc["stop_signal"] = config["StopSignal"]
    if config.get("StopTimeout") is not None:
        svc["stop_grace_period"] = f"{config['StopTimeout']}s"
    put("healthcheck", _healthcheck(given_healthcheck(config, iconf)))
    if spec.ports:
        svc["ports"] = [p.value() for p in spec.ports]
    put("expose", list(spec.expose))
    if spec.publish_all:
        notes.append(f"{spec.name}: --publish-all has no compose form; its exposed ports are "
                     "not published")
    _volumes(svc, spec)
    put("mac_address", spec.mac)
    put("restart", restart_policy(host))
    if host.get("AutoRemove"):
        notes.append(f"{spec.name}: --rm has no compose form; the service is kept when it stops")
    log = host.get("LogConfig") or {}
    logging = {}
    if log.get("Type") and log["Type"] != log_driver:
        logging["driver"] = log["Type"]
    if log.get("Config"):
        logging["options"] = dict(sorted(log["Config"].items()))
    put("logging", logging)
    _host(svc, host, contained, spec.name, notes)
    return svc


def _putter(svc: dict):
    def put(key: str, value) -> None:
        if value not in (None, "", False, [], {}, 0):
            svc[key] = value
    return put


def _healthcheck(hc: dict | None) -> dict | None:
    if hc is None:
        return None
    test = hc.get("Test") or []
    if test == ["NONE"]:
        return {"disable": True}
    out: dict = {"test": list(test)}
    for key, name in (("Interval", "interval"), ("Timeout", "timeout"),
                      ("StartPeriod", "start_period")):
        if hc.get(key):
            out[name] = duration(hc[key])
    if hc.get("Retries"):
        out["retries"] = hc["Retries"]
    return out


def _volumes(svc: dict, spec: RunSpec) -> None:
    volumes: list = []
    tmpfs: list[str] = []
    for m in spec.mounts:
        if isinstance(m, Volume):
            volumes.append(m.words()[1])            # [SOURCE:]TARGET[:MODE], as -v says it
        elif isinstance(m, Tmpfs):
            tmpfs.append(m.words()[1])
        else:
            volumes.append(long_mount(m))
    if volumes:
        svc["volumes"] = volumes
    if tmpfs:
        svc["tmpfs"] = tmpfs


def long_mount(m: Mount) -> dict:
    out: dict = {"type": m.type}
    if m.source:
        out["source"] = m.source
    out["target"] = m.target
    if m.readonly:
        out["read_only"] = True
    if m.propagation:
        out["bind"] = {"propagation": m.propagation}
    if m.nocopy:
        out["volume"] = {"nocopy": True}
    tmpfs = {}
    if m.tmpfs_size:
        tmpfs["size"] = m.tmpfs_size
    if m.tmpfs_mode:
        tmpfs["mode"] = m.tmpfs_mode
    if tmpfs:
        out["tmpfs"] = tmpfs
    return out


def _host(svc: dict, host: dict, contained: bool, name: str, notes: list[str]) -> None:
    """HostConfig's options beside ports, mounts, networks and references,
    as migrate/inspected.py's _host_options reads them."""
    put = _putter(svc)
    put("cap_add", list(host.get("CapAdd") or []))
    put("cap_drop", list(host.get("CapDrop") or []))
    put("privileged", host.get("Privileged"))
    devices = []
    for d in host.get("Devices") or []:
        spec = f"{d['PathOnHost']}:{d['PathInContainer']}"
        if d.get("CgroupPermissions") and d["CgroupPermissions"] != "rwm":
            spec += f":{d['CgroupPermissions']}"
        devices.append(spec)
    put("devices", devices)
    put("device_cgroup_rules", list(host.get("DeviceCgroupRules") or []))
    for key, option in (("Memory", "mem_limit"), ("MemoryReservation", "mem_reservation"),
                        ("CpuShares", "cpu_shares"), ("CpuPeriod", "cpu_period"),
                        ("CpuQuota", "cpu_quota"), ("CpusetCpus", "cpuset"),
                        ("OomScoreAdj", "oom_score_adj"), ("CgroupParent", "cgroup_parent")):
        put(option, host.get(key))
    if host.get("BlkioWeight"):
        svc["blkio_config"] = {"weight": host["BlkioWeight"]}
    if host.get("CpusetMems"):
        notes.append(f"{name}: --cpuset-mems {host['CpusetMems']} has no compose form")
    swap = host.get("MemorySwap")
    if swap and swap != 2 * (host.get("Memory") or 0):
        svc["memswap_limit"] = swap
    if host.get("MemorySwappiness") not in (None, -1):
        svc["mem_swappiness"] = host["MemorySwappiness"]
    if host.get("NanoCpus"):
        svc["cpus"] = float(f"{host['NanoCpus'] / 1e9:g}")
    if host.get("PidsLimit") not in (None, 0, -1):
        svc["pids_limit"] = host["PidsLimit"]
    put("oom_kill_disable", host.get("OomKillDisable"))
    ulimits = {u["Name"]: u["Soft"] if u["Soft"] == u["Hard"]
               else {"soft": u["Soft"], "hard": u["Hard"]} for u in host.get("Ulimits") or []}
    put("ulimits", ulimits)
    if host.get("ShmSize") and host["ShmSize"] != DEFAULT_SHM:
        svc["shm_size"] = host["ShmSize"]
    if not contained:
        put("extra_hosts", list(host.get("ExtraHosts") or []))
        put("dns", list(host.get("Dns") or []))
        put("dns_search", list(host.get("DnsSearch") or []))
        put("dns_opt", list(host.get("DnsOptions") or []))
    put("init", host.get("Init"))
    put("security_opt", list(host.get("SecurityOpt") or []))
    put("sysctls", dict(sorted((host.get("Sysctls") or {}).items())))
    put("read_only", host.get("ReadonlyRootfs"))
    if host.get("PidMode") and not host["PidMode"].startswith("container:"):
        svc["pid"] = host["PidMode"]
    ipc = host.get("IpcMode") or ""
    if ipc not in ("", "private") and not ipc.startswith("container:"):
        svc["ipc"] = ipc
    put("uts", host.get("UTSMode"))
    put("userns_mode", host.get("UsernsMode"))
    put("group_add", list(host.get("GroupAdd") or []))
    if host.get("Runtime") not in (None, "", "runc"):
        svc["runtime"] = host["Runtime"]
    put("storage_opt", dict(sorted((host.get("StorageOpt") or {}).items())))
