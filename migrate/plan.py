"""Decide a migration. Pure: options + facts (migrate/facts.py) give either
every problem at once, each saying what to do (`Refused`), or the `Plan`:
the run spec the target gets, the data to copy and the frozen list of steps,
each with what it does and what undoing it means. migrate/execute.py runs
the steps; `--dry-run` prints them.

The order of the steps is the cut-over:
- live (default): image and data copied while the source runs; with overlay2
  on both hosts the target container is created (not started) and the
  source's own layer copied into it like a volume; then the source stops
  (or, run with --rm, is paused), what changed since is sent, the target
  starts and is verified. Else the stopped container is committed and only
  the commit's new layer sent.
- offline: the source stops first, then everything is copied once.
- none (--no-stop): copied while the source runs, the last pass with the
  source paused (a consistent snapshot), then it runs on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from .facts import Facts
from .options import Options
from .overrides import apply, held_back_env
from . import envfile
from .engine import bindings
from .spec import RunSpec, from_inspect, render
from .transfer import COMPRESS
from .volumes import ANONYMOUS, DataCopy, DataPlan, container_layer, pin_volume_names, plan_data


@dataclass(frozen=True)
class Step:
    action: str                 # what the executor does (migrate/execute.py)
    title: str                  # printed as "[n] title: outcome"
    what: str                   # what it will do, and why (--dry-run)
    undo: str = ""              # what undoing it means; "" when it changes nothing to undo
    live: bool = False          # data and layer passes: made while the source runs


@dataclass(frozen=True)
class Refused:
    problems: tuple[str, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    run_id: str                 # UTC timestamp: the record's and the tag's name
    container: str              # on the source
    spec: RunSpec               # what the target runs (overrides applied, volumes pinned)
    final: str                  # this run's image tag
    data: DataPlan
    layer: DataCopy | None      # the container's own layer, copied like a volume
    target_paths: Mapping[str, str]        # copy name -> its path on the target (exists)
    existing_volumes: frozenset[str]       # volumes of ours the target has already
    replaced_uses: tuple[str, ...]         # volumes we copy into that --replace's container uses
    networks: Mapping[str, Mapping]        # user network -> inspect, to create if missing
    missing_networks: tuple[str, ...]
    running: bool               # the source runs
    autoremove: bool            # the source runs with --rm
    restart_policy: Mapping
    stops: bool                 # this run stops (or pauses) the source
    live: bool                  # ... after a first pass while it ran (the live cut-over)
    frozen: bool                # --no-stop with data: the last pass with the source paused
    warnings: tuple[str, ...]
    steps: tuple[Step, ...]
    preflight: str              # the one-line summary of what preflight found

    def run_line(self) -> str:
        """The target's docker run, shown (masked)."""
        return render(self.spec.run_argv(self.final))


def tag_name(container: str) -> str:
    """A repository name for `container`: container names allow capitals and
    runs of `._-` that image references do not (`MyApp` -> `myapp`)."""
    name = re.sub(r"[^a-z0-9]+", "-", container.lower()).strip("-")
    return name or "container"


def _mib(n: int) -> int:
    return n >> 20


def plan(opts: Options, facts: Facts, run_id: str, environ: Mapping[str, str],
         ) -> Plan | Refused:
    src, dst = facts.source, facts.target
    c, image = facts.container, facts.image
    spec = apply(from_inspect(c, image, src.info.get("LoggingDriver", "json-file")),
                 name=opts.name, publish=opts.publish, env=opts.env, environ=environ)
    if opts.mode == "export":
        spec = held_back_env(spec, image)
    problems: list[str] = envfile.problems(spec.env)
    warnings: list[str] = []
    existing = facts.existing
    if existing is not None and opts.replace and (existing.get("HostConfig") or {}).get("AutoRemove"):
        problems.append(f"{dst.name}: the container {spec.name!r} there runs with --rm: "
                        "--replace would stop it, and its stop deletes it and its anonymous "
                        "volumes; remove it yourself first, or pass --name NEW")
    if existing is not None and not opts.replace:
        problems.append(f"{dst.name}: a container named {spec.name!r} exists; pass "
                        "--name NEW, or --replace (the existing one is kept, stopped and renamed)")
    taken = set(facts.taken_ports)
    if existing is not None and opts.replace:      # its ports are freed when it stops
        taken -= {(p.proto, p.port) for p in bindings(dict(existing))}
    for p in spec.published():
        if (p.proto, p.port) in taken:
            problems.append(f"{dst.name}: port {p.port}/{p.proto} is taken; pass --publish "
                            f"NEW:CONTAINER to use another host port")

    # data: volumes and bind mounts
    data = plan_data(dict(c), {k: dict(v) for k, v in facts.volumes.items()},
                     copy_binds=opts.copy_binds, empty_volumes=opts.empty_volumes,
                     bind_kinds=dict(facts.bind_kinds))
    spec = pin_volume_names(spec, data)
    problems += data.problems
    warnings += data.warnings
    target_paths: dict[str, str] = {}
    existing_volumes: set[str] = set()
    replaced_uses: list[str] = []
    for copy in data.copies + data.empty:
        if copy.kind == "volume":
            v = facts.target_volumes.get(copy.name)
            if v is None:
                continue
            existing_volumes.add(copy.name)
            users = set(v.users)
            others = sorted(users - {spec.name}) if existing is not None else sorted(users)
            if copy in data.copies and others:
                problems.append(f"{dst.name}: volume {copy.name} is used by "
                                f"{', '.join(others)} there; its data cannot be replaced under "
                                "a running or stopped container: remove that container (or "
                                "move this one with --empty-volumes)")
            elif copy in data.copies and users:
                replaced_uses.append(copy.name)
            if copy in data.copies:
                target_paths[copy.name] = v.mountpoint
                if not opts.replace and v.holds_data:
                    problems.append(f"{dst.name}: volume {copy.name} exists and holds data; "
                                    "pass --replace to overwrite it with the source's data")
        else:
            target_paths[copy.name] = copy.name
            if not opts.replace and copy.name in facts.target_paths_with_data:
                problems.append(f"{dst.name}: {copy.name} exists and is not empty; pass "
                                "--replace to overwrite it with the source's (--copy-binds)")
    if data.copies:
        for h in (src, dst):
            if not h.gnu_tar:
                problems.append(f"{h.name}: copying volume data needs GNU tar there")
    policy = facts.host_config.get("RestartPolicy") or {}
    if policy.get("Name") == "always" and opts.cutover != "none":
        warnings.append(f"{facts.name} has restart policy 'always': once stopped it starts "
                        f"again if the engine on {src.name} restarts")

    # space, tools, root
    size = int(image.get("Size") or 0)
    data_size = sum(facts.sizes.get(cp.source_path, 0) for cp in data.copies)
    vol_size = sum(facts.sizes.get(cp.source_path, 0) for cp in data.copies
                   if cp.kind == "volume")
    root = dst.info.get("DockerRootDir", "/var/lib/docker")
    need = 2 * size + vol_size
    if facts.free_bytes < need:
        problems.append(f"{dst.name}: {_mib(facts.free_bytes)} MiB free in {root}, the image "
                        f"and volumes need about {_mib(need)} MiB there (the image twice while "
                        "it loads); free some space")
    for tool in COMPRESS[opts.compress]:
        if tool:
            for h in (src, dst):
                if tool.split()[0] not in h.tools:
                    problems.append(f"{h.name}: --compress {opts.compress} needs "
                                    f"{tool.split()[0]} there")
    problems += [h.stream_problem for h in (src, dst) if h.stream_problem]
    if problems:
        return Refused(tuple(dict.fromkeys(problems)), tuple(warnings))

    running = facts.running
    autoremove = bool(facts.host_config.get("AutoRemove"))
    stops = running and opts.cutover != "none"
    live = stops and opts.cutover == "live"
    layer = (container_layer(dict(c), dst.driver)
             if live and opts.mode == "commit" else None)
    frozen = opts.cutover == "none" and running and bool(data.copies)
    final = f"dockmove/{tag_name(spec.name)}:{run_id}"
    missing = tuple(n for n in facts.networks if n not in facts.target_networks)
    shape = _Shape(opts, facts.name, src.name, dst.name, spec, final, data, layer, live,
                   facts.target_has_image,
                   frozen, stops, autoremove, missing, tuple(replaced_uses),
                   bool(((existing or {}).get("State") or {}).get("Running")), running)
    return Plan(run_id=run_id, container=facts.name, spec=spec, final=final, data=data,
                layer=layer, target_paths=target_paths,
                existing_volumes=frozenset(existing_volumes),
                replaced_uses=tuple(replaced_uses), networks=facts.networks,
                missing_networks=missing, running=running, autoremove=autoremove,
                restart_policy=policy, stops=stops, live=live, frozen=frozen, warnings=tuple(warnings),
                steps=shape.steps(),
                preflight=(f"preflight: ok ({src.name} {src.version} -> {dst.name} "
                           f"{dst.version}; image {_mib(size)} MiB, data {_mib(data_size)} MiB; "
                           f"{_mib(facts.free_bytes)} MiB free on the target)"))


@dataclass(frozen=True)
class _Shape:
    """The step list, from what plan() decided."""
    o: Options
    c: str
    src: str
    tgt: str
    spec: RunSpec
    final: str
    data: DataPlan
    layer: DataCopy | None
    live: bool
    has_image: bool
    frozen: bool
    stops: bool
    autoremove: bool
    missing: tuple[str, ...]
    replaced_uses: tuple[str, ...]
    existing_runs: bool
    running: bool

    def steps(self) -> tuple[Step, ...]:
        o, c, src, tgt, live, frozen = self.o, self.c, self.src, self.tgt, self.live, self.frozen
        data = ", ".join(x.label for x in self.data.copies) or "none"
        empty = [x.label for x in self.data.empty if not ANONYMOUS.match(x.name)]
        if empty:
            data += f"; created empty (--empty-volumes): {', '.join(empty)}"
        name = self.spec.name
        if self.autoremove:
            stop = Step("pause", "pause",
                        f"pause {c} on {src} (it runs with --rm: a stop would delete it and its "
                        "anonymous volumes; removed only after the target passed verification)"
                        + (" (downtime starts)" if live else ""),
                        undo=f"unpause {c} on {src}")
        else:
            stop = Step("stop", "stop", f"stop {c} on {src}" + (" (downtime starts)" if live else ""),
                        undo=f"start {c} on {src} again")
        out = [Step("record", "record", f"record {c}'s run arguments in {o.records}/ (mode 0600)")]
        if self.replaced_uses and self.existing_runs:
            out.append(Step("replace", "replace",
                            f"stop {name} on {tgt} (--replace): it uses "
                            f"{', '.join(self.replaced_uses)}, which the copy overwrites",
                            undo=f"start {name} again unless its volumes were overwritten"))
        if self.stops and not live:
            out.append(stop)
        if live and o.mode != "export":
            out.append(Step("base_image", "image (source running)",
                            f"{tgt} has {c}'s image already: nothing to send" if self.has_image
                            else f"send the layers of {c}'s image that {tgt} lacks, while it runs",
                            undo=f"remove the image from {tgt} if this run brought it",
                            live=True))
        if live or frozen:
            out.append(Step("data", "data (source running)",
                            f"copy its data while it runs: {data}",
                            undo="remove the volumes this run created; empty again what was empty",
                            live=True))
        if frozen and o.mode == "export":
            out.append(Step("image", "image",
                            f"docker export {c} | docker import on {tgt}, config restored, before "
                            f"the freeze (compression {o.compress})",
                            undo=f"remove the imported image from {tgt}"))
        if frozen:
            out.append(Step("freeze", "freeze",
                            f"pause {c} on {src} for the last pass (a short freeze: a consistent "
                            "snapshot of its data and changes)", undo=f"unpause {c} on {src}"))
            if o.mode != "export":
                out.append(Step("snapshot", "snapshot",
                                {"commit": f"docker commit {c} as {self.final} (frozen)",
                                 "image": f"tag its image as {self.final}"}[o.mode],
                                undo=f"remove {self.final} from {src}"))
        out.append(Step("networks", "networks",
                        f"create networks: {', '.join(self.missing)}" if self.missing
                        else "no network to create",
                        undo=f"remove the networks created on {tgt}" if self.missing else ""))
        if self.layer:
            out.append(Step("create", "container", f"create {name} on {tgt} (not started)",
                            undo=f"remove {name} from {tgt}"))
            out.append(Step("layer", "container layer (source running)",
                            f"copy {c}'s own changes (its overlay2 layer) into it, while {c} runs",
                            live=True))
        if live:
            out.append(stop)
        if not self.layer and not frozen:
            out.append(Step(
                "image", "image" + (" (changes since)" if live and o.mode != "export" else ""),
                {"commit": f"docker commit {c} as {self.final}, send the layers {tgt} lacks",
                 "image": f"tag its image as {self.final}, send it unless {tgt} has it",
                 "export": f"docker export {c} | docker import on {tgt}, config restored"}
                [o.mode] + f" (compression {o.compress})",
                undo=f"remove the tag {self.final} (and the image, if this run brought it)"))
        out.append(Step("data", "data" + (" (changes since)" if live or frozen else ""),
                        ("copy what changed in its data since: " if live or frozen
                         else "copy its data: ") + data,
                        undo="remove the volumes this run created; empty again what was empty"))
        if frozen:
            out.append(Step("unpause", "unpause", f"unpause {c} on {src}; report the freeze"))
            if o.mode != "export":
                out.append(Step("send_snapshot", "image",
                                f"send the layers of {self.final} that {tgt} lacks, after the "
                                f"freeze (compression {o.compress})",
                                undo=f"remove {self.final} from {tgt}"))
        if self.layer:
            out.append(Step("layer", "container layer (changes since)",
                            f"copy what changed in {c}'s layer since"))
        else:
            out.append(Step("create", "container", f"create {name} on {tgt}",
                            undo=f"remove {name} from {tgt}"))
        out.append(Step("start", "start", f"start {name} on {tgt}"))
        out.append(Step("verify", "verify",
                        f"wait until it runs (healthy, if it has a check) without a restart for "
                        f"{o.settle:g}s and the published ports that answered on the source "
                        "answer" + ("; report the downtime" if self.stops else "")))
        out.append(Step("finish", "finish",
                        f"remove temporary tags; {c} " + (
                            "removed (--remove-source)" if o.remove_source
                            else "kept, stopped, for rollback" if self.stops
                            else "left running" if self.running
                            else "kept as it is (it was not running)")))
        return tuple(out)
