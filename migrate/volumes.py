"""The data a container keeps outside its image: which of its volumes (and,
asked, bind mounts) are copied, how, and the tar commands that copy them.
Pure.

Data moves as a GNU tar stream between the two hosts' filesystems (the
volume's mountpoint, as root): numeric owners, modes, symlinks, hard links,
empty directories, xattrs, ACLs and sparse files survive, which busybox tar,
Python's tarfile and `docker cp` each do not all do. Copies are incremental
(GNU tar's --listed-incremental): the pass made while the source runs is
followed by one after it stopped that sends only what changed, and deletes on
the target what was deleted meanwhile. A single pass is incremental too (level
0): unpacked as such it also removes what the target directory held that the
source's does not, so a --replace leaves an exact copy.

The snapshot files (GNU tar's state between passes: every file name of the
data) live on the source in a folder of their run's own, made by `mktemp -d`
under SNAPSHOT_DIR (both 0700, the files 0600), removed after the run
whatever its outcome (migrate/execute.py).
"""
from __future__ import annotations

import dataclasses
import re
import shlex
from dataclasses import dataclass

from fleet.secrets import mask_word

from .spec import Mount, MountEntry, RunSpec, Volume

ANONYMOUS = re.compile(r"^[0-9a-f]{64}$")
TAR_COMMON = ("--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls")
SNAPSHOT_DIR = "/var/lib/dockmove/migrate"


@dataclass(frozen=True)
class DataCopy:
    kind: str                 # "volume", "bind" or "layer" (the container's own)
    name: str                 # volume name, or the bind's host path
    destination: str          # where the container sees it
    source_path: str          # on the source host
    driver: str = "local"
    options: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    is_file: bool = False     # a bind mount of a single file

    @property
    def label(self) -> str:
        if self.kind == "layer":
            return "container layer"
        return (f"volume {self.name[:12] if ANONYMOUS.match(self.name) else self.name}"
                if self.kind == "volume" else f"bind {self.name}")

    def create_args(self) -> list[str]:
        """`docker volume create` arguments for the same volume on the target."""
        args = ["volume", "create", "--driver", self.driver]
        for k, v in self.options:
            args += ["--opt", f"{k}={v}"]
        for k, v in self.labels:
            args += ["--label", f"{k}={v}"]
        return args + ["--", self.name]


@dataclass(frozen=True)
class DataPlan:
    copies: tuple[DataCopy, ...]
    empty: tuple[DataCopy, ...]     # created on the target, data not copied
    warnings: tuple[str, ...]
    problems: tuple[str, ...]


def plan_data(container: dict, volumes: dict[str, dict], *, copy_binds: bool,
              empty_volumes: bool, bind_kinds: dict[str, str] | None = None,
              borrowed: frozenset[str] = frozenset()) -> DataPlan:
    """`volumes`: `docker volume inspect` of each volume the container
    mounts; `bind_kinds`: bind source path -> "dir", "file" or "other" (what
    is there on the source host); `borrowed`: mount points it has from
    another container (--volumes-from), whose data moves with that one."""
    copies, empty, warnings, problems = [], [], [], []
    for m in container.get("Mounts") or []:
        if m.get("Destination") in borrowed:
            continue
        if m.get("Type") == "volume":
            v = volumes.get(m.get("Name", "")) or {}
            c = DataCopy("volume", m["Name"], m["Destination"],
                         v.get("Mountpoint") or m.get("Source") or "",
                         driver=v.get("Driver") or m.get("Driver") or "local",
                         options=tuple(sorted((v.get("Options") or {}).items())),
                         labels=tuple(sorted((v.get("Labels") or {}).items())))
            if empty_volumes:
                empty.append(c)
            elif c.driver != "local" or c.options:
                problems.append(
                    f"volume {c.name} ({c.destination}) uses driver {c.driver}"
                    f"{' with options ' + ','.join(mask_word(f'{k}={v}') for k, v in c.options) if c.options else ''}: "
                    "its data does not live on the source host's disk, so dockmove does not "
                    "copy it; make it reachable from the target yourself and pass --empty-volumes")
            elif not c.source_path:
                problems.append(f"volume {c.name}: the engine gives no mountpoint for it")
            else:
                copies.append(c)
        elif m.get("Type") == "bind":
            src = m.get("Source", "")
            what = (bind_kinds or {}).get(src, "dir")
            if not copy_binds:
                warnings.append(f"bind mount {src} -> {m.get('Destination')} is not copied "
                                "(--copy-binds copies it); that path must exist on the target")
            elif what == "other":
                warnings.append(f"bind mount {src} is not a file or directory (a socket or "
                                "device?): not copied")
            else:
                copies.append(DataCopy("bind", src, m.get("Destination", ""), src,
                                       is_file=what == "file"))
    return DataPlan(tuple(copies), tuple(empty), tuple(warnings), tuple(problems))


def container_layer(container: dict, target_driver: str) -> DataCopy | None:
    """The container's own writable layer as a directory to copy, when both
    engines keep containers in overlay2 (its upper directory holds exactly
    the container's changes: files, whiteouts, opaque directories)."""
    graph = container.get("GraphDriver") or {}
    upper = (graph.get("Data") or {}).get("UpperDir")
    if graph.get("Name") != "overlay2" or target_driver != "overlay2" or not upper:
        return None
    return DataCopy("layer", container.get("Name", "").lstrip("/") or container["Id"][:12],
                    "/", upper)


def pin_volume_names(spec: RunSpec, plan: DataPlan) -> RunSpec:
    """Anonymous volumes get the source's (hexadecimal) name on the target
    too, so that the data copied into them before the first start is what the
    container mounts: `--volume /data` becomes `--volume NAME:/data` (an
    anonymous `--mount type=volume` gets source=NAME), and a volume the image
    declares (VOLUME) gets a `--volume NAME:/data` of its own. Those created
    empty (--empty-volumes) stay anonymous, as on the source."""
    mounts = list(spec.mounts)
    for c in plan.copies:
        if c.kind != "volume" or any(isinstance(m, (Volume, Mount)) and m.source == c.name
                                     for m in mounts):
            continue
        bare = [i for i, m in enumerate(mounts) if _anonymous_at(m, c.destination)]
        if bare:
            mounts[bare[0]] = dataclasses.replace(mounts[bare[0]], source=c.name)
        else:                                   # declared by the image (VOLUME)
            mounts.append(Volume(c.destination, c.name))
    return dataclasses.replace(spec, mounts=tuple(mounts))


def _anonymous_at(m: MountEntry, target: str) -> bool:
    return (isinstance(m, Volume) and not m.source and not m.mode and m.target == target) or \
        (isinstance(m, Mount) and m.type == "volume" and not m.source and m.target == target)


def snapshot_dir_command(run_id: str) -> str:
    """Shell text run as root on the source: make the run's private folder
    for snapshot files, print its path."""
    return (f"install -d -m 0700 {SNAPSHOT_DIR} && "
            f"mktemp -d {SNAPSHOT_DIR}/{shlex.quote(run_id)}.XXXXXXXX")


def snapshot_path(folder: str, copy: DataCopy) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", copy.name.strip("/"))[:80] or "root"
    return f"{folder}/{copy.kind}-{safe}.snar"


def _operands(path: str, is_file: bool) -> list[str]:
    if is_file:
        parent, _, base = path.rstrip("/").rpartition("/")
        return [f"--directory={parent or '/'}", "--", base]
    return [f"--directory={path}", "--", "."]


def send_command(copy: DataCopy, *, snapshot: str | None, live: bool,
                 marker: str | None = None, exclude: str | None = None) -> str:
    """Shell text run on the source: the data as a tar stream on stdout.
    With `snapshot`, incremental: the first run sends everything and
    records the state, later runs send what changed since. A live pass
    tolerates files changing while read (tar's exit 1): the pass after the
    stop sends them again. `marker`: a file made just before tar starts (what
    changed after it, migrate/blocks.py asks); `exclude`: a file of exact
    names ("./path", one a line) tar leaves out and keeps as they are."""
    incremental = bool(snapshot) and not copy.is_file
    args = ["tar", "--create", "--file=-", *TAR_COMMON, "--sparse"]
    if live:
        args += ["--warning=no-file-changed", "--warning=no-file-removed"]
    if incremental:
        args += [f"--listed-incremental={snapshot}", "--no-check-device"]
    if exclude:
        args += ["--no-wildcards", "--anchored", f"--exclude-from={exclude}"]
    args += _operands(copy.source_path, copy.is_file)
    line = " ".join(shlex.quote(a) for a in args)
    if live:
        line = f"{{ {line} || [ $? -eq 1 ]; }}"
    if marker:
        line = f": > {shlex.quote(marker)} && {line}"
    if incremental:          # the snapshot file is created 0600
        line = f"umask 077 && mkdir -p {shlex.quote(snapshot.rsplit('/', 1)[0])} && {line}"
    return line


def send_named_command(copy: DataCopy, names: list[str]) -> str:
    """Shell text run on the source: these files of a directory copy (paths
    relative to it), whole, as one tar stream; unpacked by receive_command."""
    args = ["tar", "--create", "--file=-", *TAR_COMMON, "--sparse",
            *_operands(copy.source_path, False)[:-1], *(f"./{n}" for n in names)]
    return " ".join(shlex.quote(a) for a in args)


def receive_command(copy: DataCopy, target_path: str) -> str:
    """Shell text run on the target: unpack the stream into `target_path`.
    Incremental archives are unpacked as such: what the source deleted
    since the last pass is deleted here too."""
    args = ["tar", "--extract", "--file=-", *TAR_COMMON, "--same-permissions",
            "--same-owner"]
    if copy.is_file:                 # the archive holds the file under its own name
        directory = target_path.rstrip("/").rpartition("/")[0] or "/"
    else:
        directory = target_path
        args.append("--listed-incremental=/dev/null")
    args.append(f"--directory={directory}")
    return f"mkdir -p {shlex.quote(directory)} && " + " ".join(shlex.quote(a) for a in args)
