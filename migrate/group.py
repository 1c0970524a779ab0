"""Decide the migration of several containers together (`inv migrate web,db`,
`--project NAME`): their order and one plan each, made to fit together.
Pure: the facts of each container (migrate/facts.py) give either every
problem at once or a `GroupPlan`.

- Order: a container comes after the ones it needs: --link, --volumes-from,
  --network/--ipc/--pid container:X, and compose's depends_on label
  (com.docker.compose.depends_on, service names of the same project), or,
  for compose 1's containers, which have no such label, the depends_on of
  the project's files (`declared`). Among
  the others the order given is kept. A cycle is a problem.
- Each plan sees what the ones before it bring: a container they bring counts
  as on the target; a network one of them creates is not created twice; a
  volume one of them copies is not copied again (the same mount is the same
  data).
- A member that is not running (a data container others take volumes
  from, a job that ran once) is copied like the running ones, a first pass
  before the stops and what changed since after them (a running member may
  share its volumes), created on the target and left stopped.
- The cut-over is one (migrate/group_run.py): every step before the stop
  while all run (in order), every stop (in reverse order: dependents first;
  `stop_waves()`: those that no running member needs any more stop together,
  so that their stop timeouts do not add up),
  every step after it (in order), every verify, every finish. `phases()`
  cuts a plan's steps at those places.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping, Sequence

from .compose_labels import DEPENDS, PROJECT, SERVICE, of
from .facts import Facts
from .options import Options
from .plan import Plan, Refused, plan
from .steps import Step



@dataclass(frozen=True)
class GroupPlan:
    order: tuple[str, ...]          # start order: each after what it needs
    plans: tuple[Plan, ...]         # in that order
    warnings: tuple[str, ...]
    needs: Mapping[str, tuple[str, ...]]    # container -> the members it needs



Declared = Mapping[tuple[str, str], Sequence[str]]


def needs(members: Mapping[str, Facts], declared: Declared = {}) -> dict[str, tuple[str, ...]]:
    """For each member, the other members it needs where it runs.
    `declared`: (project, service) -> the services it depends on, as the
    project's files say (compose 1 puts no depends_on label)."""
    services = {(of(f.container).get(PROJECT), of(f.container).get(SERVICE)): name
                for name, f in members.items() if of(f.container).get(SERVICE)}
    out = {}
    for name, f in members.items():
        wanted = [d.name for d in f.dependencies]
        labels = of(f.container)
        entries = [e.split(":")[0].strip()
                   for e in filter(None, (labels.get(DEPENDS) or "").split(","))]
        entries += declared.get((labels.get(PROJECT), labels.get(SERVICE)), ())
        for service in entries:
            other = services.get((labels.get(PROJECT), service))
            if other:
                wanted.append(other)
        out[name] = tuple(dict.fromkeys(w for w in wanted if w in members and w != name))
    return out


def order(given: Sequence[str], needed: Mapping[str, Sequence[str]]) -> tuple[str, ...] | str:
    """The start order (each after what it needs, else as given), or the
    problem: a cycle, named."""
    done: list[str] = []
    left = list(given)
    while left:
        ready = [n for n in left if all(d in done for d in needed.get(n, ()))]
        if not ready:
            cycle = ", ".join(f"{n} needs {', '.join(d for d in needed[n] if d in left)}"
                              for n in left)
            return (f"these containers need each other, so none can start first: {cycle}; "
                    "move them separately, or undo the dependency")
        done.append(ready[0])
        left.remove(ready[0])
    return tuple(done)


def stop_waves(ordered: Sequence[str], needed: Mapping[str, Sequence[str]]
               ) -> tuple[tuple[str, ...], ...]:
    """The stops, in waves: a member stops once every member that needs it
    has stopped; the members of a wave stop together (reverse start order
    within it)."""
    left = list(reversed(ordered))
    stopped: set[str] = set()
    waves = []
    while left:
        wave = tuple(n for n in left if all(m in stopped for m in ordered
                                            if n in needed.get(m, ())))
        waves.append(wave)
        stopped.update(wave)
        left = [n for n in left if n not in wave]
    return tuple(waves)


def _mounts_by_volume(f: Facts) -> dict[str, str]:
    """Volume name -> the mount point it has in this container."""
    return {m["Name"]: m.get("Destination", "") for m in f.container.get("Mounts") or []
            if m.get("Type") == "volume" and m.get("Name")}


def plan_group(opts: Options, members: Mapping[str, Facts], given: Sequence[str], run_id: str,
               environ: Mapping[str, str], declared: Declared = {}) -> GroupPlan | Refused:
    """One plan per member, in start order, fitted together (see above)."""
    needed = needs(members, declared)
    ordered = order(given, needed)
    if isinstance(ordered, str):
        return Refused((ordered,), ())
    problems: list[str] = []
    warnings: list[str] = []
    plans: list[Plan] = []
    made_networks: set[str] = set()
    copied: set[str] = set()            # volumes an earlier member copies or creates
    ports: dict[tuple[str, int, str], str] = {}
    for name in ordered:
        f = members[name]
        brought = set(ordered[:ordered.index(name)])
        f = dataclasses.replace(
            f,
            dependencies=tuple(dataclasses.replace(d, on_target=True) if d.name in brought else d
                               for d in f.dependencies),
            target_networks=f.target_networks | frozenset(made_networks))
        mounts = _mounts_by_volume(f)
        borrowed = frozenset(mounts[v] for v in copied if v in mounts)
        decided = plan(opts, f, run_id, environ, borrowed=borrowed, in_group=True)
        warnings += [f"{name}: {w}" for w in decided.warnings]
        if isinstance(decided, Refused):
            problems += [f"{name}: {p}" for p in decided.problems]
            continue
        for p in decided.spec.published():
            for (proto, port, address), other in ports.items():
                if (proto, port) == (p.proto, p.port) and (
                        not address or not p.address or address == p.address):
                    problems.append(f"{name} and {other} both publish port {p.port}/{p.proto} "
                                    f"on {p.address or address or 'every address'} of the "
                                    "target: only one can have it (--publish with one of "
                                    "them alone)")
            ports[(p.proto, p.port, p.address)] = name
        made_networks.update(decided.missing_networks)
        copied.update(c.name for c in decided.data.copies + decided.data.empty
                      if c.kind == "volume")
        plans.append(decided)
    if not problems:
        problems += _space(members, plans)
    if problems:
        return Refused(tuple(dict.fromkeys(problems)), tuple(warnings))
    return GroupPlan(ordered, tuple(plans), tuple(warnings), needed)


def _space(members: Mapping[str, Facts], plans: Sequence[Plan]) -> list[str]:
    """The group's need on the target's disk, each image and volume counted
    once (each plan checked its own already)."""
    images: dict[str, int] = {}
    volumes: dict[str, int] = {}
    for p in plans:
        f = members[p.container]
        if not f.target_has_image:
            images[f.container["Image"]] = int(f.image.get("Size") or 0)
        for c in p.data.copies:
            if c.kind == "volume":
                volumes[c.name] = f.sizes.get(c.source_path, 0)
    need = 2 * sum(images.values()) + sum(volumes.values())
    free = min(members[p.container].free_bytes for p in plans)
    if free >= need:
        return []
    return [f"{members[plans[0].container].target.name}: {free >> 20} MiB free "
            f"for the group, whose images and volumes need about {need >> 20} MiB there (each "
            "image twice while it loads); free some space, or move fewer at once"]


@dataclass(frozen=True)
class Phases:
    """A plan's steps, cut where the group's cut-over interleaves them."""
    before: tuple[Step, ...]        # while every source runs
    stop: tuple[Step, ...]          # the stop (or pause) of the source
    after: tuple[Step, ...]         # what changed since, create, start
    verify: tuple[Step, ...]
    finish: tuple[Step, ...]


def phases(steps: Sequence[Step]) -> Phases:
    """The cut-over stops each member (live or offline; a stopped one's plan
    has a step that says so in its place): each plan has one such step."""
    *body, finish = steps
    verify_at = next(i for i, s in enumerate(body) if s.action == "verify")
    stop_at = next(i for i, s in enumerate(body) if s.action in ("stop", "pause", "stay"))
    return Phases(tuple(body[:stop_at]), (body[stop_at],), tuple(body[stop_at + 1:verify_at]),
                  tuple(body[verify_at:]), (finish,))
