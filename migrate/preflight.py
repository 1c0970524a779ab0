"""Preflight: everything a migration needs is checked before anything
changes; every problem found is listed at once."""
from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from fleet.errors import DockmoveError, UsageError
from fleet.output import Printer

from . import engine as eng
from . import envfile
from .hostfs import du, gnu_tar, nonempty, sh
from .options import CUTOVERS, MODES, Options
from .overrides import apply, held_back_env
from .spec import RunSpec, from_inspect
from .transfer import COMPRESS, Ends, source_filters, stream_prefix
from .volumes import DataPlan, pin_volume_names, plan_data


class PreflightError(DockmoveError):
    pass


@dataclass
class Found:
    """What preflight learned."""
    container: dict
    image: dict
    spec: RunSpec
    networks: dict
    existing: dict | None
    dst_info: dict
    data: DataPlan
    target_paths: dict[str, str]          # DataCopy.name -> path on the target
    existing_volumes: set[str]
    sizes: dict[str, int]                 # source path -> bytes on disk
    source_filters: bool = False          # the source can leave layers out itself
    replaced_uses: tuple[str, ...] = ()   # volumes we copy into that --replace's container uses

    @property
    def data_size(self) -> int:
        return sum(self.sizes.values())


def preflight(ends: Ends, container: str, opts: Options, out: Printer) -> Found:
    if opts.mode not in MODES:
        raise UsageError(f"--mode {opts.mode!r}: expected one of {', '.join(MODES)}")
    if opts.compress not in COMPRESS:
        raise UsageError(f"--compress {opts.compress!r}: expected none, gzip or zstd")
    if opts.cutover not in CUTOVERS:
        raise UsageError(f"--cutover {opts.cutover!r}: expected one of {', '.join(CUTOVERS)}")
    if opts.remove_source and opts.cutover == "none":
        raise UsageError("--remove-source and --no-stop contradict each other")
    if opts.json_report and not Path(opts.json_report).resolve().parent.is_dir():
        raise UsageError(f"--json-report {opts.json_report}: its folder does not exist")
    src, dst = ends.src, ends.dst
    src.connect()
    dst.connect()
    src_info, dst_info = eng.engine_info(src), eng.engine_info(dst)
    c, image = eng.container_and_image(src, container)
    spec = apply(from_inspect(c, image, src_info.get("LoggingDriver", "json-file")),
                 name=opts.name, publish=opts.publish, env=opts.env, environ=os.environ)
    if opts.mode == "export":
        spec = held_back_env(spec, image)
    problems: list[str] = envfile.problems(spec.env)
    existing = eng.inspect(dst, "container", spec.name)
    if existing is not None and opts.replace and (existing.get("HostConfig") or {}).get("AutoRemove"):
        problems.append(f"{dst.name}: the container {spec.name!r} there runs with --rm: "
                        "--replace would stop it, and its stop deletes it and its anonymous "
                        "volumes; remove it yourself first, or pass --name NEW")
    if existing is not None and not opts.replace:
        problems.append(f"{dst.name}: a container named {spec.name!r} exists; pass "
                        "--name NEW, or --replace (the existing one is kept, stopped and renamed)")
    taken = eng.listening_ports(dst)
    if existing is not None and opts.replace:      # its ports are freed when it stops
        taken -= {(p.partition("/")[2] or "tcp", int(b["HostPort"]))
                  for p, bs in ((existing.get("HostConfig") or {}).get("PortBindings") or {}).items()
                  for b in bs or [] if (b.get("HostPort") or "").isdigit()}
    for proto, port in dict.fromkeys((p.proto, p.port) for p in spec.published()):
        if (proto, port) in taken:
            problems.append(f"{dst.name}: port {port}/{proto} is taken; pass --publish "
                            f"NEW:CONTAINER to use another host port")

    # data: volumes and bind mounts
    mounts = c.get("Mounts") or []
    vols = {m["Name"]: eng.inspect(src, "volume", m["Name"]) or {}
            for m in mounts if m.get("Type") == "volume" and m.get("Name")}
    binds = [m.get("Source", "") for m in mounts if m.get("Type") == "bind"]
    kinds = {}
    if opts.copy_binds:
        for b in binds:
            r = sh(src, f"if [ -d {shlex.quote(b)} ]; then echo dir; elif [ -f {shlex.quote(b)} ]; then echo file; "
                         "else echo other; fi", check=False)
            kinds[b] = r.stdout.strip() or "other"
    data = plan_data(c, vols, copy_binds=opts.copy_binds, empty_volumes=opts.empty_volumes,
                     bind_kinds=kinds)
    spec = pin_volume_names(spec, data)
    problems += data.problems
    for w in data.warnings:
        out(f"warning: {w}")
    target_paths: dict[str, str] = {}
    existing_volumes: set[str] = set()
    replaced_uses: list[str] = []
    for copy in data.copies + data.empty:
        if copy.kind == "volume":
            v = eng.inspect(dst, "volume", copy.name)
            if v is None:
                continue
            existing_volumes.add(copy.name)
            users = set(eng.docker(dst, "ps", "-a", "--filter", f"volume={copy.name}",
                                   "--format", "{{.Names}}").stdout.split())
            others = sorted(users - {spec.name}) if existing is not None else sorted(users)
            if copy in data.copies and others:
                problems.append(f"{dst.name}: volume {copy.name} is used by "
                                f"{', '.join(others)} there; its data cannot be replaced under "
                                "a running or stopped container: remove that container (or "
                                "move this one with --empty-volumes)")
            elif copy in data.copies and users:
                replaced_uses.append(copy.name)
            if copy in data.copies:
                target_paths[copy.name] = v.get("Mountpoint", "")
                if not opts.replace and nonempty(dst, target_paths[copy.name]):
                    problems.append(f"{dst.name}: volume {copy.name} exists and holds data; "
                                    "pass --replace to overwrite it with the source's data")
        else:
            target_paths[copy.name] = copy.name
            if not opts.replace and nonempty(dst, copy.name):
                problems.append(f"{dst.name}: {copy.name} exists and is not empty; pass "
                                "--replace to overwrite it with the source's (--copy-binds)")
    if data.copies:
        for r in (src, dst):
            if not gnu_tar(r):
                problems.append(f"{r.name}: copying volume data needs GNU tar there")
    if (c.get("HostConfig") or {}).get("RestartPolicy", {}).get("Name") == "always" \
            and opts.cutover != "none":
        out(f"warning: {container} has restart policy 'always': once stopped it starts "
            f"again if the engine on {src.name} restarts")

    # space
    size = int(image.get("Size") or 0)
    sizes = du(src, [cp.source_path for cp in data.copies])
    vol_size = sum(sizes.get(cp.source_path, 0) for cp in data.copies if cp.kind == "volume")
    data_size = sum(sizes.values())
    root = dst_info.get("DockerRootDir", "/var/lib/docker")
    free = eng.free_kb(dst, root) * 1024
    need = 2 * size + vol_size
    if free < need:
        problems.append(f"{dst.name}: {free >> 20} MiB free in {root}, the image and volumes "
                        f"need about {need >> 20} MiB there (the image twice while it loads); "
                        "free some space")
    nets = {n: eng.inspect(src, "network", n) for n in spec.user_networks}
    for tool in COMPRESS[opts.compress]:
        if tool:
            for r in (src, dst):
                if not r.run(["sh", "-c", f"command -v {tool.split()[0]}"], check=False).ok:
                    problems.append(f"{r.name}: --compress {opts.compress} needs "
                                    f"{tool.split()[0]} there")
    for r in (src, dst):
        try:
            stream_prefix(r)
        except UsageError as e:
            problems.append(str(e))
    if problems:
        raise PreflightError("preflight failed, nothing was changed:\n- " +
                             "\n- ".join(dict.fromkeys(problems)))
    out(f"preflight: ok ({src.name} {src_info.get('ServerVersion')} -> {dst.name} "
        f"{dst_info.get('ServerVersion')}; image {size >> 20} MiB, data {data_size >> 20} MiB; "
        f"{free >> 20} MiB free on the target)")
    return Found(c, image, spec, nets, existing, dst_info, data, target_paths,
                 existing_volumes, sizes, source_filters(src), tuple(replaced_uses))
