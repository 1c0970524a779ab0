"""Decide a migration. Pure: options + facts (migrate/facts.py) give either
every problem at once, each saying what to do (`Refused`), or the `Plan`:
the run spec the target gets, the data to copy and the frozen list of steps,
each with what it does and what undoing it means. migrate/execute.py runs
the steps; `--dry-run` prints them.

The order of the steps is the cut-over's: migrate/steps.py.

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
from .inspected import bindings, shares_network
from .inspected import from_inspect
from .spec import RunSpec, render
from .steps import Shape, Step
from .transfer import COMPRESS
from .volumes import DataCopy, DataPlan, container_layer, pin_volume_names, plan_data


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
    data_bytes: int             # on the source's disk, of what is copied
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
    idle: bool                  # not running, moved within a group's cut-over: left stopped
    warnings: tuple[str, ...]
    steps: tuple[Step, ...]
    preflight: str              # the one-line summary of what preflight found
    overwrites: tuple[str, ...] = ()    # what it removes or overwrites that it did not make

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
         borrowed: frozenset[str] = frozenset(), in_group: bool = False) -> Plan | Refused:
    """Every problem at once, or the plan (see the module's docstring).
    `borrowed`: mount points whose data another container of the same run
    copies; `in_group`: it moves within a group's cut-over, so a stopped one
    is copied around the group's stops and left stopped (migrate/group.py)."""
    problems: list[str] = []
    warnings: list[str] = []
    spec = _spec(opts, facts, environ, problems)
    image = _image(opts, facts, problems, warnings)
    problems += _target_problems(opts, facts, spec)
    data = plan_data(dict(facts.container), {k: dict(v) for k, v in facts.volumes.items()},
                     copy_binds=opts.copy_binds, empty_volumes=opts.empty_volumes,
                     bind_kinds=dict(facts.bind_kinds),
                     borrowed=borrowed | frozenset(m for d in facts.dependencies
                                                   for m in d.lends))
    spec = pin_volume_names(spec, data)
    problems += data.problems
    warnings += data.warnings
    there = _on_target(opts, facts, spec, data, problems)
    problems += _host_problems(opts, facts, data)
    policy = facts.host_config.get("RestartPolicy") or {}
    if policy.get("Name") == "always" and opts.cutover != "none":
        warnings.append(f"{facts.name} has restart policy 'always': once stopped it starts "
                        f"again if the engine on {facts.source.name} restarts")
    if problems:
        return Refused(tuple(dict.fromkeys(problems)), tuple(warnings))

    src, dst = facts.source, facts.target
    running = facts.running
    autoremove = bool(facts.host_config.get("AutoRemove"))
    stops = running and opts.cutover != "none"
    idle = in_group and not running
    if idle and autoremove:
        warnings.append(f"{facts.name} was created with --rm and never ran: {dst.name}'s "
                        "engine removes such a container when it restarts, as "
                        f"{src.name}'s does")
    live = stops and opts.cutover == "live"
    layer = (container_layer(dict(facts.container), dst.driver)
             if opts.mode == "commit" and not opts.commit else None)
    commit = opts.mode == "commit" and layer is None and not (facts.unchanged and not opts.commit)
    if opts.mode == "commit" and layer is None and not commit:
        warnings.append(f"{facts.name} does not run and has no changes of its own (docker diff "
                        f"is empty): its image goes as it is, no commit")
    frozen = opts.cutover == "none" and running and bool(data.copies or layer)
    final = f"dockmove/{tag_name(spec.name)}:{run_id}"
    runs = final if opts.mode == "export" or commit else image.runs
    if commit:
        why = ("asked with --commit" if opts.commit else
               f"{src.name} keeps containers in {src.driver or '?'}, {dst.name} in "
               f"{dst.driver or '?'}: its layer cannot be copied")
        warnings.append(f"{facts.name}'s changes come as a commit ({why}): it runs on "
                        f"{dst.name} as {final}"
                        + (f", and {image.tag} names its original image there" if image.tag else ""))
    missing = tuple(n for n in facts.networks if n not in facts.target_networks)
    existing_runs = bool(((facts.existing or {}).get("State") or {}).get("Running"))
    shape = Shape(o=opts, c=facts.name, src=src.name, tgt=dst.name, spec=spec, final=final,
                   image=runs, tag=image.tag, commit=commit, data=data, layer=layer, live=live,
                   has_image=facts.target_has_image, frozen=frozen, stops=stops,
                   autoremove=autoremove, missing=missing, replaced_uses=there.replaced_uses,
                   existing_runs=existing_runs, running=running, idle=idle,
                   sums=src.python and dst.python)
    if shape.by_blocks and not shape.sums:
        lacking = " and ".join(h.name for h in (src, dst) if not h.python)
        warnings.append(f"{lacking} {'have' if ' and ' in lacking else 'has'} no Python 3.8+: "
                        "a large file that changes while the first pass runs (a database's) is "
                        f"sent whole again after the {'freeze' if frozen else 'stop'}, not only "
                        "its changed blocks; install python3 there for a shorter downtime")
    data_bytes = sum(facts.sizes.get(cp.source_path, 0) for cp in data.copies)
    return Plan(run_id=run_id, container=facts.name, spec=spec, final=final, image=runs,
                tag=image.tag, tag_was=image.tag_was, commit=commit, data=data,
                data_bytes=data_bytes, layer=layer,
                target_paths=there.paths, existing_volumes=there.volumes,
                replaced_uses=there.replaced_uses, networks=facts.networks,
                missing_networks=missing, running=running, autoremove=autoremove,
                restart_policy=policy, stops=stops, live=live, frozen=frozen, idle=idle,
                warnings=tuple(warnings), steps=shape.steps(),
                preflight=_preflight_line(facts, data_bytes),
                overwrites=_overwrites(opts, facts, spec, image, data, run_id))


def _overwrites(opts: Options, facts: Facts, spec: RunSpec, image: _Image, data: DataPlan,
                run_id: str) -> tuple[str, ...]:
    """What the run removes, overwrites or stops that it did not make: the
    user confirms these (fleet/confirm.py) before the first change."""
    src, dst = facts.source.name, facts.target.name
    out = []
    if opts.remove_source:
        out.append(f"the container {facts.name} on {src}: removed once {dst} passed "
                   "verification (--remove-source)")
    elif facts.running and opts.cutover != "none" and (facts.host_config.get("AutoRemove")):
        out.append(f"the container {facts.name} on {src}: it runs with --rm, so it is removed "
                   f"once {dst} passed verification (no rollback then)")
    if not opts.replace:
        return tuple(out)
    if facts.existing is not None:
        runs = ((facts.existing.get("State") or {}).get("Running"))
        out.append(f"the container {spec.name} on {dst}: {'stopped and ' if runs else ''}"
                   f"renamed {spec.name}.replaced-{run_id} (--replace)")
    if image.tag_was:
        out.append(f"the tag {image.tag} on {dst}: it names image {image.tag_was[7:19]} "
                   "(kept by its id) now (--replace)")
    for copy in data.copies:
        if copy.kind == "volume":
            v = facts.target_volumes.get(copy.name)
            if v is not None and v.holds_data:
                out.append(f"volume {copy.name} on {dst}: the data it holds (--replace)")
        elif copy.name in facts.target_paths_with_data:
            out.append(f"{copy.name} on {dst}: what it holds (--copy-binds --replace)")
    return tuple(out)


def _spec(opts: Options, facts: Facts, environ: Mapping[str, str],
          problems: list[str]) -> RunSpec:
    """What the target container is given: the source's run arguments, the
    user's overrides; container:ID as container:NAME."""
    export = opts.mode == "export"
    image = facts.image
    spec = apply(from_inspect(facts.container, as_imported(dict(image)) if export else image,
                              facts.source.info.get("LoggingDriver", "json-file")),
                 name=opts.name, publish=opts.publish, env=opts.env, environ=environ)
    if export:
        spec = held_back_env(spec, image)
        problems += change_problems(import_changes(dict(image)))
    problems += envfile.problems(spec.env)
    dst = facts.target.name
    for d in facts.dependencies:
        if not d.on_target:
            problems.append(f"{dst}: {facts.name} depends on the container {d.name} "
                            f"({', '.join(d.how)}), which {dst} does not have: move it "
                            f"first (inv migrate {d.name} --to {dst})")
    return _by_name(spec, facts)


@dataclass(frozen=True)
class _Image:
    tag: str                # the source's reference, to tag on the target ("" for none)
    tag_was: str | None     # the image that tag names there now (--replace moves it)
    runs: str               # what the target container runs, unless a commit or an import


def _image(opts: Options, facts: Facts, problems: list[str], warnings: list[str]) -> _Image:
    dst = facts.target.name
    ref, image_id = facts.ref, facts.container["Image"]
    export = opts.mode == "export"
    tag = "" if export or names_an_id(ref, image_id) or "@" in ref else ref
    tag_was = facts.target_ref_id if tag and facts.target_ref_id not in (None, image_id) else None
    if tag_was and not opts.replace:
        problems.append(f"{dst}: the tag {tag} names another image there ({tag_was[7:19]}); "
                        f"pass --replace to point it at {facts.name}'s image (the other image "
                        "stays, by its id), or remove or retag it there")
    if "@" in ref and not export:
        warnings.append(f"{facts.name}'s image is named by digest ({ref}), which a copied image "
                        f"cannot carry: it runs on {dst} as {image_id[7:19]} (its id)")
    return _Image(tag, tag_was, tag or ref if "@" not in ref else image_id)


def _target_problems(opts: Options, facts: Facts, spec: RunSpec) -> list[str]:
    """Its name and its ports on the target."""
    problems = []
    dst, existing = facts.target.name, facts.existing
    if existing is not None and opts.replace and (existing.get("HostConfig") or {}).get("AutoRemove"):
        problems.append(f"{dst}: the container {spec.name!r} there runs with --rm: "
                        "--replace would stop it, and its stop deletes it and its anonymous "
                        "volumes; remove it yourself first, or pass --name NEW")
    if existing is not None and not opts.replace:
        problems.append(f"{dst}: a container named {spec.name!r} exists; pass "
                        "--name NEW, or --replace (the existing one is kept, stopped and renamed)")
    if opts.publish and shares_network(dict(facts.host_config)):
        mode = facts.host_config.get("NetworkMode")
        problems.append(f"--publish: {facts.name} has no network of its own (--network {mode}), "
                        "so it publishes no port: ports are published by the container whose "
                        "network it shares (or are the host's)")
    taken = set(facts.taken_ports)
    if existing is not None and opts.replace:      # its ports are freed when it stops
        taken -= {(p.proto, p.port) for p in bindings(dict(existing))}
    for p in spec.published():
        if (p.proto, p.port) in taken:
            problems.append(f"{dst}: port {p.port}/{p.proto} is taken; pass --publish "
                            f"NEW:CONTAINER to use another host port")
    return problems


@dataclass(frozen=True)
class _There:
    paths: Mapping[str, str]        # copy name -> its path on the target (exists)
    volumes: frozenset[str]         # volumes of ours the target has already
    replaced_uses: tuple[str, ...]  # ... that --replace's container uses


def _on_target(opts: Options, facts: Facts, spec: RunSpec, data: DataPlan,
               problems: list[str]) -> _There:
    """The volumes and paths the copy goes into that the target has already."""
    dst, existing = facts.target.name, facts.existing
    paths: dict[str, str] = {}
    volumes: set[str] = set()
    replaced_uses: list[str] = []
    for copy in data.copies + data.empty:
        if copy.kind == "volume":
            v = facts.target_volumes.get(copy.name)
            if v is None:
                continue
            volumes.add(copy.name)
            users = set(v.users)
            others = sorted(users - {spec.name}) if existing is not None else sorted(users)
            if copy in data.copies and others:
                problems.append(f"{dst}: volume {copy.name} is used by "
                                f"{', '.join(others)} there; its data cannot be replaced under "
                                "a running or stopped container: remove that container (or "
                                "move this one with --empty-volumes)")
            elif copy in data.copies and users:
                replaced_uses.append(copy.name)
            if copy in data.copies:
                paths[copy.name] = v.mountpoint
                if not opts.replace and v.holds_data:
                    problems.append(f"{dst}: volume {copy.name} exists and holds data; "
                                    "pass --replace to overwrite it with the source's data")
        else:
            paths[copy.name] = copy.name
            if not opts.replace and copy.name in facts.target_paths_with_data:
                problems.append(f"{dst}: {copy.name} exists and is not empty; pass "
                                "--replace to overwrite it with the source's (--copy-binds)")
    return _There(paths, frozenset(volumes), tuple(replaced_uses))


def _host_problems(opts: Options, facts: Facts, data: DataPlan) -> list[str]:
    """Tools, space and root on the two hosts."""
    problems = []
    src, dst = facts.source, facts.target
    if data.copies:
        for h in (src, dst):
            if not h.gnu_tar:
                problems.append(f"{h.name}: copying volume data needs GNU tar there")
    size = int(facts.image.get("Size") or 0)
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
    return problems + [h.stream_problem for h in (src, dst) if h.stream_problem]


def _preflight_line(facts: Facts, data_size: int) -> str:
    src, dst = facts.source, facts.target
    size = int(facts.image.get("Size") or 0)
    deps = "; depends on: " + ", ".join(
        f"{d.name} ({dst.name} has it)" for d in facts.dependencies) if facts.dependencies else ""
    return (f"preflight: ok ({src.name} {src.version} -> {dst.name} {dst.version}; image "
            f"{_mib(size)} MiB, data {_mib(data_size)} MiB; {_mib(facts.free_bytes)} MiB free "
            f"on the target{deps})")
