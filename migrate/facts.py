"""Everything a migration reads from its two hosts before it decides:
gathered once into frozen `Facts`, the source's and the target's reads in
parallel. Nothing here changes a host, and nothing here decides: that is
migrate/plan.py's job over these facts.

The container is read first (a name that is not there is bad input, exit 2,
answered with the names that are); its mounts and networks then say which
volumes, paths and networks to look up on both hosts, and the target's reads
use the name it will have there (--name).

The image's name: the reference the container was created from
(Config.Image) and which image that reference names on the target, if any;
and each container this one depends on (--link, --volumes-from,
--network/--ipc/--pid container:X), by its name, and whether the target has one
of that name.
"""
from __future__ import annotations

import re
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping, TypeVar

from fleet.errors import UsageError
from fleet.remote import Remote

from . import engine as eng
from .ends import Ends, stream_prefix
from .hostfs import du, nonempty, sh, tools
from .options import Options
from .inspected import depends_on
from .spec import DEFAULT_NETWORKS
from . import remote_filter
from .transfer import COMPRESS, layer_chains, uses_containerd_store
from .volumes import container_layer

T = TypeVar("T")


@dataclass(frozen=True)
class TargetVolume:
    """A volume of the same name that exists on the target already."""
    name: str
    mountpoint: str
    users: tuple[str, ...]          # containers that use it there
    holds_data: bool


@dataclass(frozen=True)
class Dependency:
    """Another container this one needs where it is created."""
    name: str                       # its name on the source
    how: tuple[str, ...]            # the options that name it: --link, --volumes-from, ...
    on_target: bool                 # the target has a container of that name
    ref: str = ""                   # as the container names it, when not by name (an id)
    lends: tuple[str, ...] = ()     # --volumes-from: the mount points it lends this one


_ID = re.compile(r"(sha256:)?[0-9a-f]{12,64}")


def names_an_id(ref: str, image_id: str) -> bool:
    """Whether the container's image reference is the image's id (full or short)."""
    return bool(_ID.fullmatch(ref)) and image_id.removeprefix("sha256:").startswith(
        ref.removeprefix("sha256:"))


@dataclass(frozen=True)
class HostFacts:
    """What is true of one host, whichever end it is."""
    name: str
    info: Mapping                   # docker info
    gnu_tar: bool
    tools: frozenset[str]           # compression tools found (gzip, zstd)
    stream_problem: str = ""        # why a stream cannot run there as root ("" if it can)
    python: bool = False            # Python 3.8+: the final pass can go by blocks (blocks.py)

    @property
    def version(self) -> str:
        return str(self.info.get("ServerVersion") or "?")

    @property
    def driver(self) -> str:
        return str(self.info.get("Driver") or "")


@dataclass(frozen=True)
class Facts:
    source: HostFacts
    target: HostFacts
    container: Mapping                      # docker inspect, on the source
    image: Mapping                          # its original image (docker image inspect)
    volumes: Mapping[str, Mapping]          # volume inspect of each volume it mounts
    bind_kinds: Mapping[str, str]           # bind path -> dir | file | other (--copy-binds)
    sizes: Mapping[str, int]                # source path of each volume/bind -> bytes
    networks: Mapping[str, Mapping]         # network inspect of each user network
    source_filters: bool                    # the source can leave layers out itself
    # the target
    existing: Mapping | None                # the container of the target name there
    taken_ports: frozenset[tuple[str, int]]   # (proto, port) listening there
    target_volumes: Mapping[str, TargetVolume]
    target_paths_with_data: frozenset[str]  # bind paths (--copy-binds) not empty there
    target_networks: frozenset[str]         # which of `networks` exist there
    target_has_image: bool                  # the container's image is there already
    target_chains: frozenset[str] | None    # layer chains there; None: containerd's store
    free_bytes: int                         # in the target engine's root dir
    target_name: str = ""
    target_ref_id: str | None = None        # the image the container's reference names there
    dependencies: tuple[Dependency, ...] = ()
    unchanged: bool = False                 # not running, and `docker diff` is empty
    chain_bytes: Mapping[str, int] = field(default_factory=dict)   # image sizes there by top chain

    def __post_init__(self):
        # read-only views: the plan and the executor read facts, never change them
        for name in ("container", "image", "volumes", "bind_kinds", "sizes", "networks",
                     "target_volumes", "existing"):
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, MappingProxyType(value))

    @property
    def running(self) -> bool:
        return bool((self.container.get("State") or {}).get("Running"))

    @property
    def host_config(self) -> Mapping:
        return self.container.get("HostConfig") or {}

    @property
    def name(self) -> str:
        return (self.container.get("Name") or "").lstrip("/")

    @property
    def ref(self) -> str:
        """The image reference the container was created from (Config.Image)."""
        return (self.container.get("Config") or {}).get("Image") or self.container["Image"]


def user_networks(container: Mapping) -> list[str]:
    """The networks of its own a container is attached to."""
    mode = (container.get("HostConfig") or {}).get("NetworkMode") or "default"
    if mode in DEFAULT_NETWORKS or mode.startswith("container:"):
        names = []
    else:
        names = [mode]
    nets = (container.get("NetworkSettings") or {}).get("Networks") or {}
    return names + [n for n in sorted(nets) if n not in names and n not in DEFAULT_NETWORKS]


def _stream_problem(remote: Remote) -> str:
    try:
        stream_prefix(remote)
    except UsageError as e:
        return str(e)
    return ""


def _host(remote: Remote, info: dict, compress: str) -> HostFacts:
    wanted = [tool.split()[0] for tool in COMPRESS.get(compress, ("", "")) if tool]
    gnu, found, python = tools(remote, wanted, remote_filter.PROBE)
    return HostFacts(remote.name, MappingProxyType(info), gnu, found, _stream_problem(remote),
                     python)


def _both(source: Callable[[], T], target: Callable[[], object]) -> tuple[T, object]:
    """The source's reads and the target's, at once (one SSH connection each)."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="facts") as pool:
        t = pool.submit(target)
        s = source()
        return s, t.result()


# the first byte of `docker diff` (nothing more crosses: on vfs it walks the
# whole filesystem), and its exit status; 141 is its SIGPIPE once head has it
DIFF_FIRST_BYTE = 'docker diff -- "$1" | head -c 1; echo " ${PIPESTATUS[0]}"'


def no_changes(said: str) -> bool:
    """What DIFF_FIRST_BYTE printed: no change, and docker diff said so
    (a failed diff is taken for changes)."""
    return said.strip() == "0" and said.startswith(" ")


def gather(ends: Ends, container: str, opts: Options) -> Facts:
    src, dst = ends.src, ends.dst
    _both(src.connect, dst.connect)
    target_name = opts.name or container
    src_info, dst_info = _both(lambda: eng.engine_info(src), lambda: eng.engine_info(dst))
    c, image = eng.container_and_image(src, container)
    mounts = c.get("Mounts") or []
    volume_names = [m["Name"] for m in mounts if m.get("Type") == "volume" and m.get("Name")]
    binds = [m.get("Source", "") for m in mounts if m.get("Type") == "bind"]
    nets = user_networks(c)
    ref = (c.get("Config") or {}).get("Image") or c["Image"]
    named = not names_an_id(ref, c["Image"]) and "@" not in ref
    deps = {}
    for dep, how in depends_on(c).items():
        found = eng.inspect(src, "container", dep)
        name = (found or {}).get("Name", "").lstrip("/") or dep
        lends = tuple(m.get("Destination", "") for m in (found or {}).get("Mounts") or []
                      if "--volumes-from" in how)
        deps[name] = (how, "" if name == dep else dep, lends)

    def source_side() -> dict:
        vols = {n: eng.inspect(src, "volume", n) or {} for n in volume_names}
        kinds = {}
        if opts.copy_binds:
            for b in binds:
                q = shlex.quote(b)
                r = sh(src, f"if [ -d {q} ]; then echo dir; elif [ -f {q} ]; then echo file; "
                            "else echo other; fi", check=False)
                kinds[b] = r.stdout.strip() or "other"
        paths = [vols[m["Name"]].get("Mountpoint") or m.get("Source") or ""
                 for m in mounts if m.get("Type") == "volume" and m.get("Name")]
        paths += [b for b in binds if opts.copy_binds and kinds.get(b) in ("dir", "file")]
        # a container that does not run and changed nothing gives a commit nothing to
        # carry: asked only where a commit would be made (not with --commit)
        asked = (opts.mode == "commit" and not opts.commit
                 and not (c.get("State") or {}).get("Running")
                 and container_layer(c, dst_info.get("Driver", "")) is None)
        return dict(host=_host(src, src_info, opts.compress), volumes=vols, bind_kinds=kinds,
                    unchanged=asked and no_changes(src.run(
                        ["bash", "-c", DIFF_FIRST_BYTE, "bash", c["Id"]], sudo=True,
                        check=False).stdout),
                    sizes=du(src, [p for p in paths if p]),
                    networks={n: eng.inspect(src, "network", n) or {} for n in nets})

    def target_side() -> dict:
        existing = eng.inspect(dst, "container", target_name)
        tvols = {}
        for n in volume_names:
            v = eng.inspect(dst, "volume", n)
            if v is None:
                continue
            users = eng.docker(dst, "ps", "-a", "--filter", f"volume={n}",
                               "--format", "{{.Names}}").stdout.split()
            mountpoint = v.get("Mountpoint", "")
            tvols[n] = TargetVolume(n, mountpoint, tuple(sorted(users)),
                                    bool(mountpoint) and nonempty(dst, mountpoint))
        full = frozenset(b for b in binds if opts.copy_binds and nonempty(dst, b))
        root = dst_info.get("DockerRootDir", "/var/lib/docker")
        there = eng.inspect(dst, "image", ref) if named else None
        return dict(target_ref_id=(there or {}).get("Id"),
                    dependencies=tuple(
                        Dependency(n, how, eng.inspect(dst, "container", n) is not None, r, lends)
                        for n, (how, r, lends) in deps.items()),
                    host=_host(dst, dst_info, opts.compress), existing=existing,
                    taken_ports=frozenset(eng.listening_ports(dst)), target_volumes=tvols,
                    target_paths_with_data=full,
                    target_networks=frozenset(n for n in nets
                                              if eng.inspect(dst, "network", n) is not None),
                    target_has_image=eng.inspect(dst, "image", c["Image"]) is not None,
                    layers=None if uses_containerd_store(dst_info) else layer_chains(dst),
                    free_bytes=eng.free_kb(dst, root) * 1024)

    s, t = _both(source_side, target_side)
    return Facts(source=s["host"], target=t["host"], container=c, image=image,
                 volumes=s["volumes"], bind_kinds=s["bind_kinds"], sizes=s["sizes"],
                 networks=s["networks"], source_filters=s["host"].python,
                 existing=t["existing"], taken_ports=t["taken_ports"],
                 target_volumes=t["target_volumes"],
                 target_paths_with_data=t["target_paths_with_data"],
                 target_networks=t["target_networks"],
                 target_has_image=t["target_has_image"],
                 target_chains=None if t["layers"] is None else frozenset(t["layers"][0]),
                 chain_bytes=MappingProxyType({} if t["layers"] is None else t["layers"][1]),
                 free_bytes=t["free_bytes"], target_name=target_name,
                 target_ref_id=t["target_ref_id"], dependencies=t["dependencies"],
                 unchanged=s["unchanged"])
