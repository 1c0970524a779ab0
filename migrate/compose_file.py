"""`inv record --compose`: the docker-compose.yml that recreates containers,
from `docker inspect` of each container, of its original image and of the
networks they use. Pure: inspect dicts -> `ComposeFile` (a plain dict and the
notes on what it cannot say) -> YAML text (`render`, secrets masked at that
edge as `inv record` masks them, `$` escaped as `$$` for compose's
interpolation).

A service's own settings are migrate/compose_service.py's (what `inv record`
keeps, without the image's values and compose's own labels); this module
names the services, turns references between containers into references
between services, declares the networks and volumes, and writes the text.

Names stay the same: each service keeps its `container_name`, and every
user-defined network and named volume is declared with `name:` (not
`external`: a fresh host has none of them, and compose must not prefix them
with the project's name). A service is named by its compose service label,
else by its container's name, made what compose accepts.

A reference to another container (--link, --volumes-from, --network, --ipc,
--pid container:X) becomes a reference to X's service, with `depends_on`,
when X is in the file; else it names the container (`container:X`,
`external_links`) and a note says that X is outside the file. Compose drops
the mode of `volumes_from`, so X:ro also mounts X's named volumes and binds
read-only. A compose project's own depends_on label comes back as
`depends_on`, with its conditions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import yaml

from fleet.errors import UsageError
from fleet.secrets import mask_argv, mask_word

from .compose_labels import DEPENDS as DEPENDS_LABEL, PREFIX as COMPOSE_LABELS
from .compose_labels import PROJECT as PROJECT_LABEL, SERVICE as SERVICE_LABEL, of as _labels
from .compose_service import long_mount, service_options
from .inspected import container_name, from_inspect, link_arg
from .spec import DEFAULT_NETWORKS, Mount, MountEntry, NetworkAttach, RunSpec, Volume


@dataclass(frozen=True)
class ComposeFile:
    doc: dict                   # the compose file as data, secrets in clear
    notes: tuple[str, ...] = ()  # what the file cannot say, one line each


def service_name(name: str) -> str:
    """A name compose accepts for a service: lower case letters, digits, `.`,
    `_` and `-`, starting with a letter or digit."""
    out = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).lstrip("._-")
    return out or "service"


def build(members: Sequence[tuple[dict, dict]], networks: Mapping[str, dict] | None = None, *,
          volumes: Mapping[str, dict] | None = None, default_log_driver: str = "json-file",
          project: str | None = None) -> ComposeFile:
    """The compose file of `members` (each: inspect of a container and of its
    original image); `networks` and `volumes`: `docker network inspect` and
    `docker volume inspect` by name, of those read."""
    if not members:
        raise UsageError("no container to write a compose file for")
    services = _service_names([c for c, _ in members])
    specs = [from_inspect(c, image, default_log_driver) for c, image in members]
    refs = _Refs({container_name(c): services[container_name(c)] for c, _ in members},
                 {c.get("Id", ""): services[container_name(c)] for c, _ in members},
                 {services[spec.name]: spec.mounts for spec in specs})
    labelled = {_labels(c)[SERVICE_LABEL]: services[container_name(c)]
                for c, _ in members if _labels(c).get(SERVICE_LABEL)}
    notes: list[str] = []
    out: dict[str, dict] = {}
    declared: dict[str, dict] = {}
    used_networks: list[str] = []
    static: set[str] = set()
    for (container, image), spec in zip(members, specs):
        svc, needs = _service(container, image, spec, refs, default_log_driver, notes)
        depends = _depends_on(container, spec.name, needs, labelled, notes)
        if depends:
            svc["depends_on"] = depends
        out[services[spec.name]] = svc
        for m in spec.mounts:
            _declare_volume(m, declared, volumes or {})
        for attach in _attaches(spec):
            used_networks.append(attach.network)
            if attach.ipv4 or attach.ipv6:
                static.add(attach.network)
    doc: dict = {}
    labels = {_labels(c).get(PROJECT_LABEL) for c, _ in members}
    name = project or (labels.pop() if len(labels) == 1 else None)
    if name:
        doc["name"] = name
    doc["services"] = out
    nets = {n: _network(n, (networks or {}).get(n)) for n in dict.fromkeys(used_networks)}
    for n in static - set(networks or {}):
        notes.append(f"network {n}: static addresses need its subnet, which was not read")
    if nets:
        doc["networks"] = nets
    if declared:
        doc["volumes"] = declared
    return ComposeFile(doc, tuple(notes))


def named_volumes(container: dict) -> list[str]:
    """The named volumes a container was given (to `docker volume inspect`)."""
    host = container.get("HostConfig") or {}
    names = [b.split(":")[0] for b in host.get("Binds") or [] if ":" in b]
    names += [m.get("Source") or "" for m in host.get("Mounts") or [] if m.get("Type") == "volume"]
    return [n for n in names if n and not n.startswith("/")]


def render(compose: ComposeFile, mask: bool = True) -> str:
    """The YAML text: the notes as comments first; with `mask`, secrets as
    `inv record` hides them; every `$` doubled (compose reads `$$` as `$`)."""
    notes = list(compose.notes)
    shown = _escaped(compose.doc, mask)
    if mask and shown != _escaped(compose.doc, False):
        notes.insert(0, "secrets are shown as ****: this file recreates the containers as "
                        "they were only when written with --show-secrets")
    head = "".join(f"# {' '.join(n.splitlines())}\n" for n in notes)
    return head + yaml.safe_dump(shown, sort_keys=False, allow_unicode=True,
                                 default_flow_style=False, width=10**9)


def _depends_on(container: dict, name: str, needs: list[str], labelled: dict[str, str],
                notes: list[str]):
    """The services this one needs: those its compose project said (its
    depends_on label, `db:service_healthy:true,...`, with the conditions) and
    those it names (links, shared volumes and namespaces). A list when every
    condition is compose's default."""
    wanted: dict[str, dict] = {}
    for entry in filter(None, _labels(container).get(DEPENDS_LABEL, "").split(",")):
        service, condition, restart = (entry.split(":") + ["", ""])[:3]
        if service not in labelled:
            notes.append(f"{name}: its compose project's depends_on names {service}, outside "
                         "this file: left out")
            continue
        wanted[labelled[service]] = {"condition": condition or "service_started",
                                     **({"restart": True} if restart == "true" else {})}
    for service in needs:
        wanted.setdefault(service, {"condition": "service_started"})
    if all(w == {"condition": "service_started"} for w in wanted.values()):
        return list(wanted)
    return wanted


class _Refs:
    """Containers by name or id -> their services in this file."""

    def __init__(self, names: dict[str, str], ids: dict[str, str],
                 mounts: dict[str, tuple[MountEntry, ...]]):
        self.names, self.ids, self.mounts = names, ids, mounts

    def service(self, ref: str) -> str | None:
        if ref in self.names:
            return self.names[ref]
        if len(ref) >= 12:
            return next((s for cid, s in self.ids.items() if cid.startswith(ref)), None)
        return None


def _service_names(containers: Sequence[dict]) -> dict[str, str]:
    """Container name -> service name, unique in the file."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for c in containers:
        labels = (c.get("Config") or {}).get("Labels") or {}
        base = service_name(labels.get(SERVICE_LABEL) or container_name(c))
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name)
        out[container_name(c)] = name
    return out


def _service(container: dict, image: dict, spec: RunSpec, refs: _Refs, log_driver: str,
             notes: list[str]) -> tuple[dict, list[str]]:
    """One service, and the services it needs."""
    host = container.get("HostConfig") or {}
    needs: list[str] = []

    def ref(x: str, what: str) -> str | None:
        """X's service (noted as needed), or None: X is outside (said)."""
        s = refs.service(x)
        if s is None:
            notes.append(f"{spec.name}: {what} names {x}, outside this file: kept as a "
                         "container reference (it must exist where this file runs)")
        else:
            needs.append(s)
        return s

    svc = service_options(container, image, spec, log_driver, notes)
    _network_mode(svc, spec, ref)
    _links(svc, container, spec, ref)
    _volumes_from(svc, host, spec.name, refs, ref, notes)
    for key, option in (("ipc", "IpcMode"), ("pid", "PidMode")):
        mode = host.get(option) or ""
        if mode.startswith("container:"):
            s = ref(mode.partition(":")[2], f"--{key} container:")
            svc[key] = f"service:{s}" if s else mode
    return svc, needs


def _volumes_from(svc: dict, host: dict, name: str, refs: _Refs, ref, notes: list[str]) -> None:
    """--volumes-from X[:MODE]: `volumes_from` X's service (or container).
    Compose (2.26) drops the mode, so X:ro also mounts, read-only over the
    shared ones, the volumes and binds X has by name; its anonymous ones
    (and all of an X outside the file) come read-write, and a note says so."""
    volumes_from: list[str] = []
    readonly: list = []
    for v in host.get("VolumesFrom") or []:
        x, _, mode = v.partition(":")
        s = ref(x, "--volumes-from")
        volumes_from.append(s or f"container:{x}")
        if "ro" not in mode.split(","):
            continue
        theirs = refs.mounts.get(s, ()) if s else ()
        readonly += [_read_only(m) for m in theirs if _read_only(m) is not None]
        if not s or any(isinstance(m, (Volume, Mount)) and not m.source for m in theirs):
            notes.append(f"{name}: --volumes-from {v}: compose mounts "
                         f"{'the anonymous volumes' if s else 'the volumes'} of {x} read-write")
    if volumes_from:
        svc["volumes_from"] = list(dict.fromkeys(volumes_from))
    own = {_target(m) for m in svc.get("volumes", [])}
    extra = [m for m in readonly if _target(m) not in own]
    if extra:
        svc["volumes"] = [*svc.get("volumes", []), *extra]


def _read_only(m: MountEntry):
    """A volume or bind of another container, as this one mounts it read-only."""
    if isinstance(m, Volume) and m.source:
        modes = [w for w in m.mode.split(",") if w and w not in ("rw", "ro")]
        return Volume(m.target, m.source, ",".join(["ro", *modes])).words()[1]
    if isinstance(m, Mount) and m.type in ("volume", "bind") and m.source:
        return {**long_mount(m), "read_only": True}
    return None


def _target(entry) -> str:
    """The container path of a `volumes` entry (short or long syntax)."""
    if isinstance(entry, dict):
        return entry["target"]
    parts = entry.split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _declare_volume(m, declared: dict, inspected: Mapping[str, dict]) -> None:
    """A named volume the service uses, declared with its real name, and its
    driver, options and labels (not compose's) as `docker volume inspect`
    or the --mount that made it said."""
    if isinstance(m, Volume) and m.source and not m.source.startswith("/"):
        name, labels = m.source, {}
    elif isinstance(m, Mount) and m.type == "volume" and m.source:
        name, labels = m.source, dict(m.volume_labels)
    else:
        return
    if name in declared:
        return
    v = inspected.get(name) or {}
    entry: dict = {"name": name}
    if v.get("Driver") not in (None, "", "local"):
        entry["driver"] = v["Driver"]
    if v.get("Options"):
        entry["driver_opts"] = dict(sorted(v["Options"].items()))
    labels = {k: val for k, val in {**(v.get("Labels") or {}), **labels}.items()
              if not k.startswith(COMPOSE_LABELS)}
    if labels:
        entry["labels"] = labels
    declared[name] = entry


def _attaches(spec: RunSpec) -> list[NetworkAttach]:
    """The networks the service joins by name (not a shared namespace)."""
    if spec.network is None or spec.network.network in ("host", "none") \
            or spec.network.network.startswith("container:"):
        return []
    return [spec.network, *spec.extra_networks]


def _network_mode(svc: dict, spec: RunSpec, ref) -> None:
    if spec.network is None:
        svc["network_mode"] = "bridge"      # the default bridge, not the project's network
        return
    mode = spec.network.network
    if mode in ("host", "none"):
        svc["network_mode"] = mode
    elif mode.startswith("container:"):
        s = ref(mode.partition(":")[2], "--network container:")
        svc["network_mode"] = f"service:{s}" if s else mode
    else:
        nets = {}
        for a in _attaches(spec):
            entry: dict = {}
            if a.aliases:
                entry["aliases"] = list(a.aliases)
            if a.ipv4:
                entry["ipv4_address"] = a.ipv4
            if a.ipv6:
                entry["ipv6_address"] = a.ipv6
            nets[a.network] = entry or None
        svc["networks"] = nets


def _links(svc: dict, container: dict, spec: RunSpec, ref) -> None:
    """--link, on the default bridge or a user-defined network: `links` to a
    service of the file, else `external_links`."""
    name = spec.name
    given = [link_arg(k, name) for k in (container.get("HostConfig") or {}).get("Links") or []]
    given += [k for a in _attaches(spec) for k in a.links]
    links, external = [], []
    for link in dict.fromkeys(given):
        x, _, alias = link.partition(":")
        s = ref(x, "--link")
        if s:
            links.append(s if alias in ("", s) else f"{s}:{alias}")
        else:
            external.append(link)
    if links:
        svc["links"] = links
    if external:
        svc["external_links"] = external


def _network(name: str, n: dict | None) -> dict:
    """A top-level network: its real name, and what `docker network inspect`
    said of it (driver, subnets, options), when it was read. The engine's
    own networks exist everywhere: those are external."""
    if name in DEFAULT_NETWORKS:
        return {"name": name, "external": True}
    out: dict = {"name": name}
    if not n:
        return out
    out["driver"] = n.get("Driver") or "bridge"
    for key, option in (("Internal", "internal"), ("Attachable", "attachable"),
                        ("EnableIPv6", "enable_ipv6")):
        if n.get(key):
            out[option] = True
    if n.get("Options"):
        out["driver_opts"] = dict(sorted(n["Options"].items()))
    ipam = n.get("IPAM") or {}
    configs = []
    for cfg in ipam.get("Config") or []:
        entry = {k: cfg[key] for key, k in (("Subnet", "subnet"), ("Gateway", "gateway"),
                                            ("IPRange", "ip_range")) if cfg.get(key)}
        if entry:
            configs.append(entry)
    if configs or ipam.get("Driver") not in (None, "", "default"):
        out["ipam"] = {**({"driver": ipam["Driver"]} if ipam.get("Driver") not in
                          (None, "", "default") else {}), **({"config": configs} if configs
                                                               else {})}
    labels = {k: v for k, v in (n.get("Labels") or {}).items() if not k.startswith(COMPOSE_LABELS)}
    if labels:
        out["labels"] = labels
    return out


def _escaped(value, mask: bool, key: str | None = None):
    """Every string masked (as `inv record` masks a word, `name=value` for
    a mapping's entry) and its `$` doubled."""
    if isinstance(value, dict):
        return {k: _escaped(v, mask, k) for k, v in value.items()}
    if isinstance(value, list):
        words = [w for w in value if isinstance(w, str)]
        masked = iter(mask_argv(words) if mask else words)
        return [_dollars(next(masked)) if isinstance(w, str) else _escaped(w, mask)
                for w in value]
    if isinstance(value, str):
        if mask:
            value = (mask_word(f"{key}={value}").partition("=")[2] if key
                     else mask_word(value))
        return _dollars(value)
    return value


def _dollars(text: str) -> str:
    return text.replace("$", "$$")
