"""`inv migrate web,db --to new`, `inv migrate NAME --project` and `inv
migrate HOST --all`: several containers moved with one cut-over
(migrate/group.py decides the order and the plans). With a project or a
whole host, the ones not running are left out unless --include-stopped;
those moved are left stopped on the target.

A compose project's own files (its compose and env files, as its labels name
them: migrate/project_files.py) go first, to the same paths. Then every step
before the stop runs for each container in start order while all of them run
(image, data, container layer: the long part); then every source stops,
dependents first; then what changed since is copied and each is created and
started, in start order; then each is verified, and finished. One undo
journal holds the whole group: a failure or Ctrl-C before the last
verification puts every target back as it was and starts every source again.
Each container gets its own record (with the group's order), so `--rollback`
goes back container by container, or the group at once.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from pathlib import Path
from typing import Callable, Sequence

from fleet.confirm import Confirm, confirmer
from fleet.errors import DockmoveError, MigrateError, UsageError
from fleet.inventory import Host, Inventory
from fleet.output import Printer
from fleet.remote import Remote
from fleet.signals import checkpoint, deferred, held
from fleet.ssh_cli import Masters

from . import engine as eng
from . import compose_adopt, project_files
from .ends import Ends
from .execute import (Executor, Shared, _remove_snapshots, _timestamp, accepted, failure,
                      dry_run_report, same_as_asked, say_overwrites, undo_run)
from .facts import gather
from .compose_labels import CONFIG_FILES, DEPENDS, ENV_FILES, ONEOFF, PROJECT, VERSION
from .compose_labels import of as labels_of
from .group import GroupPlan, phases, plan_group, stop_waves
from .journal import Journal
from .records import last_finished
from .plan import Refused
from .options import Options, check
from .stream import human
from .checks import describe, settle_all


def check_group(opts: Options) -> None:
    """Options that name one container's settings make no sense for several."""
    for given, option in ((opts.name, "--name"), (opts.publish, "--publish"),
                          (opts.env, "--env")):
        if given:
            raise UsageError(f"{option} changes one container; with several, move that one "
                             "alone (inv migrate NAME ... " + option + " ...)")
    if opts.replace:
        raise UsageError("--replace with several containers is not supported yet: its undo "
                         "would restart the replaced ones out of order; replace them one by "
                         "one, or remove them on the target first")
    if opts.cutover == "none":
        raise UsageError("--no-stop copies one container at a time; several containers move "
                         "with one cut-over (the default) or --offline")


def project_members(remote: Remote, project: str) -> tuple[str, ...]:
    """The containers of a compose project on a host (compose's one-off
    `run` containers left out)."""
    names = _listed(remote, "--filter", f"label={PROJECT}={project}")
    if not names:
        raise UsageError(f"{remote.name}: no container of the compose project {project!r} "
                         "(label com.docker.compose.project); `docker ps -a` there lists them")
    return names


def host_members(remote: Remote) -> tuple[str, ...]:
    """Every container of a host (compose's one-off `run` containers left
    out)."""
    names = _listed(remote)
    if not names:
        raise UsageError(f"{remote.name}: no container there (`docker ps -a` lists none)")
    return names


def _listed(remote: Remote, *filters: str) -> tuple[str, ...]:
    r = eng.docker(remote, "ps", "-a", *filters,
                   "--format", '{{.Names}}\t{{.Label "' + ONEOFF + '"}}')
    return tuple(sorted(line.split("\t")[0] for line in r.stdout.splitlines()
                        if line.strip() and line.split("\t")[1:] != ["True"]))


def migrate_group(inventory: Inventory, source: Host, target: Host, names: Sequence[str],
                  opts: Options = Options(), *, project: str | None = None,
                  whole_host: bool = False, include_stopped: bool = False,
                  write: Callable[[str], None] = print,
                  confirm: Confirm = confirmer(yes=False)) -> dict:
    """Move the containers named, or a compose project's (`project`), or
    every one of the source (`whole_host`), with one cut-over. With a
    project or the whole host, the ones not running are left out (and
    named) unless `include_stopped`; ones named are moved, running or not
    (those not running are left stopped on the target)."""
    started = time.monotonic()
    out = Printer("migrate", write=write)
    check(opts)
    check_group(opts)
    with Remote(inventory, source) as src, Remote(inventory, target) as dst, \
            Masters() as masters:
        if project:
            names = project_members(src, project)
        elif whole_host:
            names = host_members(src)
        names = tuple(dict.fromkeys(names))
        ends = Ends(inventory, source, target, src, dst, masters)
        if not opts.dry_run:             # the streams' connections, made while we read
            masters.warm(inventory, (source, target))
        members = {n: gather(ends, n, opts) for n in names}
        members = {f.name: f for f in members.values()}     # as the engine names them
        idle = [n for n, f in members.items() if not f.running]
        if (project or whole_host) and idle and include_stopped:
            kept = [n for n in idle if _kept(opts, source, n)]
            if kept:
                out(f"left out (moved already, kept stopped here for rollback): "
                    f"{', '.join(kept)}")
                members = {n: f for n, f in members.items() if n not in kept}
                idle = [n for n in idle if n not in kept]
        if (project or whole_host) and idle and not include_stopped:
            out(f"left out (not running): {', '.join(idle)}; --include-stopped moves them too "
                "(created there, left stopped)")
            members = {n: f for n, f in members.items() if f.running}
            if not members:
                raise UsageError(f"{source.name}: none of "
                                 + (f"the compose project {project!r}'s containers"
                                    if project else "its containers")
                                 + " runs; --include-stopped moves them anyway")
        elif idle:
            out(f"not running, so moved and left stopped there: {', '.join(idle)}")
        cut = "live cut-over" if opts.cutover == "live" else "stop, then copy"
        out(f"{', '.join(members)}" + (f" (compose project {project})" if project else
                                         f" (every container of {source.name})" if whole_host
                                         else "")
            + f": from {source.name} to {target.name} (mode {opts.mode}, one {cut})")
        named = project_files.named(labels_of(f.container) for f in members.values())
        files = (project_files.decide(named, project_files.read(ends, named), source.name,
                                      target.name)
                 if named.files or named.optional else None)
        run_id, declared = _timestamp(), _declared(src, members, out)
        decided = plan_group(opts, members, list(members), run_id, os.environ, declared)
        if files is not None:           # one refusal with every problem
            decided = with_files(decided, files)
        g = accepted(decided, out)
        out(f"order: {' -> '.join(g.order)} (each starts after what it needs; stopped in "
            "reverse)")
        for p in g.plans:
            out(f"{p.container}: {p.preflight}")
            out(f"{p.container}: target command: {p.run_line()}")
        if files is not None:
            out(f"project files: {', '.join(files.copy) or 'none'} to copy to the same paths"
                + (f"; there already, the same: {', '.join(files.same)}" if files.same else ""))
        if files is not None and any(PROJECT in labels_of(f.container)
                                     for f in members.values()):
            out(f"compose: once the project's files and images are on {target.name}, compose on "
                "both hosts gives each service's hash, so that a later `docker compose up` "
                "there keeps these containers where it can")
        overwrites = [w for p in g.plans for w in p.overwrites]
        if opts.dry_run:
            _print_plan(g, out)
            say_overwrites(overwrites, out)
            return dry_run_report(list(g.plans), source.name, target.name)
        if confirm(f"migrate {', '.join(members)} to {target.name}", overwrites):
            # a person said yes, maybe minutes later: the same plans, or nothing is done
            members = {n: gather(ends, n, opts) for n in members}
            again = plan_group(opts, members, list(members), run_id, os.environ, declared)
            if files is not None:
                again = with_files(again, files)
            same_as_asked(list(g.plans), again if isinstance(again, Refused) else list(again.plans))
            g = again
        return _run(ends, members, g, opts, out, started, files)


KEPT = re.compile(r".*\.(replaced|dockmove-commit)-\d{14}$")


def _kept(opts: Options, source: Host, name: str) -> bool:
    """A stopped container that an earlier migration moved away and keeps
    for its rollback (its record says so), or that --replace set aside."""
    if KEPT.fullmatch(name):
        return True
    rec = last_finished(opts.records, name, rolled_back=False)
    return rec is not None and rec.source == source.name and not rec.source_removed


def with_files(decided: GroupPlan | Refused, files: project_files.FilesPlan
               ) -> GroupPlan | Refused:
    """The group's plan with what its project's files add: their problems
    join the group's, their warnings too."""
    if isinstance(decided, Refused) or files.problems:
        return Refused(tuple(decided.problems if isinstance(decided, Refused) else ())
                       + files.problems, decided.warnings + files.warnings)
    return dataclasses.replace(decided, warnings=decided.warnings + files.warnings)


def _settled(exs: Sequence[Executor], opts: Options) -> str:
    """Every member that answered stays up for the settle period (each
    fails the run at once if it falls over)."""
    states = settle_all([ex.answered_now for ex in exs])
    return "; ".join(f"{ex.p.spec.name} {describe(s, opts.settle)}" for ex, s in zip(exs, states))


def _stop_together(ends: Ends, exs: Sequence[Executor]) -> str:
    """Sources that no running member needs any more, stopped with one
    command (the engine stops them at once: their stop timeouts do not add
    up)."""
    shown = [ex.before_stop() for ex in exs]
    checkpoint()
    t0 = time.monotonic()
    eng.docker(ends.src, "stop", *exs[0].stop_time(), "--", *(ex.container for ex in exs))
    done = []
    for ex, s in zip(exs, shown):
        # one that ended on its stop signal stopped serving when it was asked
        # to; one the engine killed (137) only at the end of its stop timeout
        code = ((eng.inspect(ends.src, "container", ex.container) or {}).get("State")
                or {}).get("ExitCode")
        done.append(ex.stopped(t0, killed=code == 137) + s)
    return "; ".join(done)


def _shares(f) -> str:
    """What of another container this one uses (compose hashes its id)."""
    host = f.container.get("HostConfig") or {}
    shared = [what for key, what in (("NetworkMode", "the network"), ("IpcMode", "the IPC"),
                                     ("PidMode", "the PID namespace"))
              if str(host.get(key) or "").startswith("container:")]
    if host.get("VolumesFrom"):
        shared.append("the volumes")
    return " and ".join(shared) + " of another container" if shared else ""


def _declared(src: Remote, members, say: Printer) -> dict[tuple[str, str], tuple[str, ...]]:
    """The depends_on of each compose project among the members whose
    containers carry none (compose 1), as the source's compose reads the
    project's files."""
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    asked = set()
    labelled = {labels_of(f.container).get(PROJECT) for f in members.values()
                if DEPENDS in labels_of(f.container)}      # compose 2's
    for f in members.values():
        labels = labels_of(f.container)
        project = labels.get(PROJECT)
        if not project or project in asked or project in labelled:
            continue
        asked.add(project)
        deps, why = compose_adopt.depends_on(src, labels)
        if why:
            say(f"order: compose on {src.name} could not read the depends_on of the project "
                f"{project} ({why}): ordered by links and shared volumes only")
        for service, needed in deps.items():
            found[(project, service)] = needed
    return found


def _adopt(ends: Ends, f, ex: Executor, files: project_files.FilesPlan,
           asked: dict[str, compose_adopt.Hashes]) -> str:
    """Just before a member's create (its image is on the target now): the
    compose labels with which compose there takes it as its own, where it
    can (migrate/compose_adopt.py); what it found, said. `asked`: each
    project's hashes on the source, read once for the run."""
    labels = labels_of(f.container)
    project = labels[PROJECT]
    if project not in asked:
        asked[project] = compose_adopt.read(ends.src, labels, labels.get(VERSION, ""))
    needed = {p for key in (CONFIG_FILES, ENV_FILES) for p in project_files.paths(labels, key)}
    ref = (f.container.get("Config") or {}).get("Image") or f.container["Image"]
    image_id = (eng.inspect(ends.dst, "image", ref) or {}).get("Id") or f.container["Image"]
    decided = compose_adopt.decide(
        [compose_adopt.Member(f.name, labels, image_id, _shares(f))], asked[project],
        compose_adopt.read(ends.dst, labels), ends.source.name, ends.target.name,
        missing=tuple(sorted(needed - set(files.copy) - set(files.same))))
    if f.name in decided.labels:
        ex.p = dataclasses.replace(ex.p, spec=dataclasses.replace(
            ex.p.spec, labels=compose_adopt.relabel(ex.p.spec.labels, decided.labels[f.name])))
    return "; ".join(decided.said)


def _print_plan(g: GroupPlan, out: Printer) -> None:
    out("dry run: nothing changed. The plan:")
    cut = {p.container: phases(p.steps) for p in g.plans}
    i = 0
    for phase, names in (("before", g.order), ("stop", tuple(reversed(g.order))),
                         ("after", g.order), ("verify", g.order), ("finish", g.order)):
        for name in names:
            for step in getattr(cut[name], phase):
                i += 1
                out(f"  {i}. {name}: {step.what}")


def _run(ends: Ends, members, g: GroupPlan, opts: Options, out: Printer,
         started: float, files: project_files.FilesPlan | None) -> dict:
    first = next(iter(members.values()))
    shared = Shared(Journal(), set(), first.target_chains, dict(first.chain_bytes))
    width = max(len(n) for n in g.order)
    exs = {p.container: Executor(ends, members[p.container], p, opts, out, shared,
                                 label=f"{p.container}: ".ljust(width + 2))
           for p in g.plans}
    cut = {n: phases(exs[n].p.steps) for n in g.order}
    for ex in exs.values():
        ex.settle_later = True
    try:
        with deferred():                # Ctrl-C is taken between steps: fleet/signals.py
            try:
                if files is not None and files.copy:
                    shared.run("project files",
                               lambda: project_files.copy(ends, files, shared.journal, out), out)

                asked: dict[str, compose_adopt.Hashes] = {}

                def run(name: str, step) -> None:
                    # compose is asked just before the create, once the image is there
                    if (step.action == "create" and files is not None
                            and PROJECT in labels_of(members[name].container)):
                        shared.run("compose", lambda: _adopt(ends, members[name], exs[name],
                                                             files, asked), out)
                    exs[name].run(step)
                for name in g.order:
                    for step in cut[name].before:
                        run(name, step)
                for wave in stop_waves(g.order, g.needs):   # dependents first
                    together = [exs[n] for n in wave if cut[n].stop[0].action == "stop"]
                    for name in wave:
                        if len(together) < 2 or exs[name] not in together:
                            run(name, cut[name].stop[0])
                    if len(together) > 1:
                        shared.run(f"{', '.join(ex.container for ex in together)}: stop",
                                   lambda: _stop_together(ends, together), out)
                for phase in ("after", "verify"):
                    for name in g.order:
                        for step in getattr(cut[name], phase):
                            run(name, step)
                # every one answered: their settle periods run at the same time
                up = [exs[n] for n in g.order if exs[n].answered_now is not None]
                if up:
                    shared.run("settled", lambda: _settled(up, opts), out)
                checkpoint()            # one that came during the last step
            except BaseException as e:
                why, left = undo_run(e, list(exs.values()), ends, out,
                                     ", for every container of the group")
                if isinstance(e, KeyboardInterrupt):
                    raise
                if isinstance(e, DockmoveError):
                    raise failure([exs[n] for n in g.order], why, left, e) from None
                raise
            # verified, every one: the migration is done, whatever the clean-up says
            failed = []
            with held():                # the sources' policies and removal are not cut short
                for name in g.order:
                    ex = exs[name]
                    ex.note(outcome="done", source_stopped=ex.p.stops, left_stopped=ex.p.idle,
                            group=tuple(g.order))
                    try:
                        ex.run(cut[name].finish[0], safe_point=False)
                    except DockmoveError as e:
                        failed.append(f"{name}: {e}")
            if failed:
                raise MigrateError(
                    f"{', '.join(g.order)} run on {ends.target.name}, verified (the migration "
                    f"is done and on record); the clean-up after it failed: {'; '.join(failed)}"
                    f"\nCheck on {ends.source.name} that they are stopped with restart policy "
                    "no (docker update --restart no NAME), or removed if you asked for that.")
    finally:
        for ex in exs.values():
            _remove_snapshots(ex, out)
    took = time.monotonic() - started
    summaries = [exs[n].summary(took) for n in g.order]
    stopped = [ex for ex in exs.values() if ex.stopped_at is not None and ex.downtime is not None]
    down = (max(ex.stopped_at + ex.downtime for ex in stopped)       # the last to answer
            - min(ex.stopped_at for ex in stopped)) if stopped else None  # the first stop
    group = {"containers": list(g.order), "source": ends.source.name,
             "target": ends.target.name, "mode": opts.mode, "cutover": opts.cutover,
             "downtime_s": round(down, 3) if down is not None else None,
             "seconds": round(took, 3), "members": summaries}
    for name, summary in zip(g.order, summaries):
        exs[name].note(result={**summary, "group_downtime_s": group["downtime_s"]},
                       source_removed=opts.remove_source)
    if opts.json_report:
        Path(opts.json_report).write_text(json.dumps(group, indent=2) + "\n")
    sent_image = sum(ex.image_sent for ex in exs.values())
    sent_data = sum(ex.data_sent for ex in exs.values())
    each = ", ".join(f"{n} {exs[n].downtime:.2f}s" for n in g.order
                     if exs[n].downtime is not None)
    running = [n for n in g.order if not exs[n].p.idle]
    idle = [n for n in g.order if exs[n].p.idle]
    out.result(f"done in {took:.1f}s: {', '.join(running) or 'none'} run on {ends.target.name}"
        + (f", {', '.join(idle)} created there, left stopped" if idle else "") + "; sent "
        f"{human(sent_image)} of image, {human(sent_data)} of data"
        + (f"; downtime {down:.2f}s for the group ({each})" if down is not None else ""))
    return group
