"""Decide a migration. Pure: options + facts (migrate/facts.py) give either
every problem at once, each saying what to do (`Refused`), or the `Plan`:
the run spec the target gets, the data to copy and the frozen list of steps,
each with what it does and what undoing it means. migrate/execute.py runs
the steps; `--dry-run` prints them.

The order of the steps is the cut-over:
- live (default): image and data copied while the source runs; then the
  source stops (or, run with --rm, is paused), what changed since is sent,
  the target starts and is verified.
- offline: the source stops first, then everything is copied once.
- none (--no-stop): copied while the source runs, the last pass with the
  source paused (a consistent snapshot), then it runs on.

Which image the target container runs (its Config.Image, what `docker ps`
shows):
- modes commit and image: the source's reference (`apache-test`,
  `nginx:1.27`), tagged on the target on the original image, which is sent
  as it is. In mode commit the container's own changes come with it: with
  overlay2 on both hosts its layer is copied into the created container like
  a volume (in every cut-over); with another storage driver the container is
  committed, and the target container runs the commit (dockmove/NAME:RUN),
  the original name staying on the original image there.
- export: the imported image, dockmove/NAME:RUN.
A reference that is an image id stays that id (the image keeps its id on the
target; nothing is tagged); one with a digest (NAME@sha256:...) cannot be
tagged, and the container runs the image by its id. A tag that names another
image on the target is a problem unless --replace moves it (undone if the
run fails).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Mapping

from .facts import Facts, names_an_id
from .options import Options
from .overrides import apply, as_imported, change_problems, held_back_env, import_changes
from . import envfile
from .inspected import bindings
from .inspected import from_inspect
from .spec import RunSpec, render
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
    final: str                  # this run's image tag (commit, export)
    image: str                  # what the target container runs (its Config.Image)
    tag: str                    # the source's reference, tagged there ("" for none)
    tag_was: str | None         # the image that tag named there before (--replace)
    commit: bool                # the container's changes come as a commit
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
        return render(self.spec.run_argv(self.image))


def tag_name(container: str) -> str:
    """A repository name for `container`: container names allow capitals and
    runs of `._-` that image references do not (`MyApp` -> `myapp`)."""
    name = re.sub(r"[^a-z0-9]+", "-", container.lower()).strip("-")
    return name or "container"


def _by_name(spec: RunSpec, facts: Facts) -> RunSpec:
    """`container:ID` (as the engine keeps --network/--ipc/--pid container:X)
    becomes `container:NAME`: the id is the source's, the name is what the
    target has."""
    ids = {f"container:{d.ref}": f"container:{d.name}" for d in facts.dependencies if d.ref}
    if not ids:
        return spec
    net = spec.network
    if net is not None and net.network in ids:
        net = dataclasses.replace(net, network=ids[net.network])
    return dataclasses.replace(spec, network=net,
                               host_options=tuple(ids.get(w, w) for w in spec.host_options))


def _mib(n: int) -> int:
    return n >> 20


def plan(opts: Options, facts: Facts, run_id: str, environ: Mapping[str, str],
         ) -> Plan | Refused:
    src, dst = facts.source, facts.target
    c, image = facts.container, facts.image
    export = opts.mode == "export"
    spec = apply(from_inspect(c, as_imported(dict(image)) if export else image,
                              src.info.get("LoggingDriver", "json-file")),
                 name=opts.name, publish=opts.publish, env=opts.env, environ=environ)
    if export:
        spec = held_back_env(spec, image)
    problems: list[str] = envfile.problems(spec.env)
    warnings: list[str] = []
    if export:
        problems += change_problems(import_changes(dict(image)))
    for d in facts.dependencies:
        if not d.on_target:
            problems.append(f"{dst.name}: {facts.name} depends on the container {d.name} "
                            f"({', '.join(d.how)}), which {dst.name} does not have: move it "
                            f"first (inv migrate {d.name} --to {dst.name})")
    spec = _by_name(spec, facts)
    ref, image_id = facts.ref, c["Image"]
    tag = "" if export or names_an_id(ref, image_id) or "@" in ref else ref
    tag_was = facts.target_ref_id if tag and facts.target_ref_id not in (None, image_id) else None
    if tag_was and not opts.replace:
        problems.append(f"{dst.name}: the tag {tag} names another image there ({tag_was[7:19]}); "
                        f"pass --replace to point it at {facts.name}'s image (the other image "
                        "stays, by its id), or remove or retag it there")
    if "@" in ref and not export:
        warnings.append(f"{facts.name}'s image is named by digest ({ref}), which a copied image "
                        f"cannot carry: it runs on {dst.name} as {image_id[7:19]} (its id)")
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
             if opts.mode == "commit" and not opts.commit else None)
    commit = opts.mode == "commit" and layer is None
    frozen = opts.cutover == "none" and running and bool(data.copies or layer)
    final = f"dockmove/{tag_name(spec.name)}:{run_id}"
    runs = final if export or commit else tag or ref if "@" not in ref else image_id
    if commit:
        why = ("asked with --commit" if opts.commit else
               f"{src.name} keeps containers in {src.driver or '?'}, {dst.name} in "
               f"{dst.driver or '?'}: its layer cannot be copied")
        warnings.append(f"{facts.name}'s changes come as a commit ({why}): it runs on "
                        f"{dst.name} as {final}"
                        + (f", and {tag} names its original image there" if tag else ""))
    deps = "; depends on: " + ", ".join(
        f"{d.name} ({dst.name} has it)" for d in facts.dependencies) if facts.dependencies else ""
    missing = tuple(n for n in facts.networks if n not in facts.target_networks)
    shape = _Shape(opts, facts.name, src.name, dst.name, spec, final, runs, tag, commit,
                   data, layer, live,
                   facts.target_has_image,
                   frozen, stops, autoremove, missing, tuple(replaced_uses),
                   bool(((existing or {}).get("State") or {}).get("Running")), running)
    return Plan(run_id=run_id, container=facts.name, spec=spec, final=final, image=runs,
                tag=tag, tag_was=tag_was, commit=commit, data=data,
                layer=layer, target_paths=target_paths,
                existing_volumes=frozenset(existing_volumes),
                replaced_uses=tuple(replaced_uses), networks=facts.networks,
                missing_networks=missing, running=running, autoremove=autoremove,
                restart_policy=policy, stops=stops, live=live, frozen=frozen, warnings=tuple(warnings),
                steps=shape.steps(),
                preflight=(f"preflight: ok ({src.name} {src.version} -> {dst.name} "
                           f"{dst.version}; image {_mib(size)} MiB, data {_mib(data_size)} MiB; "
                           f"{_mib(facts.free_bytes)} MiB free on the target{deps})"))


@dataclass(frozen=True)
class _Shape:
    """The step list, from what plan() decided."""
    o: Options
    c: str
    src: str
    tgt: str
    spec: RunSpec
    final: str
    image: str          # what the target container runs
    tag: str
    commit: bool        # the changes come as a commit (no layer copy)
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
        export = o.mode == "export"
        early = live or frozen              # a first pass while the source runs
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
        tagged = f"; tag it {self.tag} there" if self.tag else ""
        base = Step("base_image", "image (source running)" if early else "image",
                    (f"{tgt} has {c}'s image already: nothing to send" if self.has_image
                     else f"send the layers of {c}'s image that {tgt} lacks"
                     + (", while it runs" if early else "")) + tagged,
                    undo=f"remove the image from {tgt} if this run brought it"
                    + ("; the tag as it was" if self.tag else ""),
                    live=early)
        create = Step("create", "container",
                      f"create {name} on {tgt} from {self.image}"
                      + (" (not started)" if self.layer else ""),
                      undo=f"remove {name} from {tgt}")
        out = [Step("record", "record", f"record {c}'s run arguments in {o.records}/ (mode 0600)")]
        if self.replaced_uses and self.existing_runs:
            out.append(Step("replace", "replace",
                            f"stop {name} on {tgt} (--replace): it uses "
                            f"{', '.join(self.replaced_uses)}, which the copy overwrites",
                            undo=f"start {name} again unless its volumes were overwritten"))
        if self.stops and not live:
            out.append(stop)
        if not export:
            out.append(base)
        if early:
            out.append(Step("data", "data (source running)",
                            f"copy its data while it runs: {data}",
                            undo="remove the volumes this run created; empty again what was empty",
                            live=True))
        if frozen and export:
            out.append(Step("image", "image",
                            f"docker export {c} | docker import on {tgt}, config restored, before "
                            f"the freeze (compression {o.compress})",
                            undo=f"remove the imported image from {tgt}"))
        out.append(Step("networks", "networks",
                        f"create networks: {', '.join(self.missing)}" if self.missing
                        else "no network to create",
                        undo=f"remove the networks created on {tgt}" if self.missing else ""))
        if self.layer and early:
            out.append(create)
            out.append(Step("layer", "container layer (source running)",
                            f"copy {c}'s own changes (its overlay2 layer) into it, while {c} runs",
                            live=True))
        if frozen:
            out.append(Step("freeze", "freeze",
                            f"pause {c} on {src} for the last pass (a short freeze: a consistent "
                            "snapshot of its data and changes)", undo=f"unpause {c} on {src}"))
            if self.commit:
                out.append(Step("snapshot", "snapshot",
                                f"docker commit {c} as {self.final} (frozen)",
                                undo=f"remove {self.final} from {src}"))
        if live:
            out.append(stop)
        if not frozen and (self.commit or export):
            out.append(Step(
                "image", ("commit" if self.commit else "image")
                + (" (changes since)" if live and not export else ""),
                (f"docker commit {c} as {self.final}, send the layers {tgt} lacks" if self.commit
                 else f"docker export {c} | docker import on {tgt} as {self.final}, config "
                      "restored") + f" (compression {o.compress})",
                undo=f"remove the tag {self.final} (and the image, if this run brought it)"))
        out.append(Step("data", "data" + (" (changes since)" if early else ""),
                        ("copy what changed in its data since: " if early
                         else "copy its data: ") + data,
                        undo="remove the volumes this run created; empty again what was empty"))
        if self.layer and early:
            out.append(Step("layer", "container layer (changes since)",
                            f"copy what changed in {c}'s layer since"))
        if frozen:
            out.append(Step("unpause", "unpause", f"unpause {c} on {src}; report the freeze"))
            if self.commit:
                out.append(Step("send_snapshot", "image",
                                f"send the layers of {self.final} that {tgt} lacks, after the "
                                f"freeze (compression {o.compress})",
                                undo=f"remove {self.final} from {tgt}"))
        if not (self.layer and early):
            out.append(create)
            if self.layer:
                out.append(Step("layer", "container layer",
                                f"copy {c}'s own changes (its overlay2 layer) into it"))
        out.append(Step("start", "start", f"start {name} on {tgt}"))
        out.append(Step("verify", "verify",
                        f"wait until it runs (healthy, if it has a check) without a restart for "
                        f"{o.settle:g}s and the published ports that answered on the source "
                        "answer" + ("; report the downtime" if self.stops else "")))
        out.append(Step("finish", "finish",
                        ("remove temporary tags; " if self.commit else "")
                        + f"{c} " + (
                            "removed (--remove-source)" if o.remove_source
                            else "kept, stopped, for rollback" if self.stops
                            else "left running" if self.running
                            else "kept as it is (it was not running)")))
        return tuple(out)
