"""`inv migrate NAME --rollback`: back to the source after a finished
migration. The target's container is stopped (kept, its restart policy set to
no so that it cannot come back by itself), the source's started and checked
(if that fails, the target is started again: never both down): the ports that answered before the migration must answer again
(from where they can, as in migrate/checks.py). Writes the target received
since the cut-over stay there."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

from fleet.errors import DockmoveError, RollbackError, UsageError
from fleet.inventory import Inventory
from fleet.output import Printer
from fleet.remote import Remote, renew_all
from fleet.selection import select
from fleet.signals import checkpoint, deferred, held

from . import engine as eng
from .inspected import bindings
from .checks import wait_ports
from .records import last_finished


def rollback(inventory: Inventory, container: str, records: Path,
             write: Callable[[str], None] = print) -> None:
    out = Printer("rollback", write=write)
    rec = last_finished(records, container)
    if rec is None:
        raise UsageError(f"no finished migration of {container!r} on record in {records}/ "
                         "(--records DIR points elsewhere)")
    if rec.rolled_back:
        out(f"note: {rec.path.name} was rolled back already at {rec.rolled_back}; doing it again")
    if rec.source_removed:
        raise RollbackError(f"{container} was removed from {rec.source} after the migration "
                            "(--remove-source): there is nothing to go back to")
    if rec.source_autoremoved:
        raise RollbackError(
            f"{container} ran with --rm on {rec.source}: its stop after the verified "
            f"migration removed it there, as --rm asks, so there is nothing to go back to. "
            f"Its data and container run on {rec.target}; `inv record {container} --host "
            f"{rec.target}` prints the command that recreates it")
    source = select(inventory, rec.source, role="source (from the record)")[0]
    target = select(inventory, rec.target, role="target (from the record)")[0]
    name = rec.target_name
    out(f"{container}: back from {target.name} ({name}) to {source.name}, per {rec.path.name}")
    with Remote(inventory, source) as src, Remote(inventory, target) as dst:
        mine = eng.inspect(src, "container", container)
        if mine is None:
            raise RollbackError(f"{source.name}: {container} is gone; nothing to go back to")
        theirs = eng.inspect(dst, "container", name)
        ran = bool(theirs and (theirs.get("State") or {}).get("Running"))
        their_policy = ((theirs or {}).get("HostConfig") or {}).get("RestartPolicy") or {}
        policy = rec.source_restart_policy
        # one that was not running (a stopped member of a group) is left stopped, as it was
        was_running = _ran(rec)
        with deferred():            # Ctrl-C is taken between commands: fleet/signals.py
            try:
                if ran:
                    eng.docker(dst, "stop", "--", name)
                if theirs is not None and (their_policy.get("Name") or "no") != "no":
                    # else the target's next engine start runs a second copy beside the source
                    eng.docker(dst, "update", "--restart", "no", "--", name)
                    rec = rec.update(target_restart_policy=their_policy)
                out(f"[1/3] target: {name} " + ("stopped" if ran else "is not running")
                    + f" on {target.name} (kept; `docker rm {name}` there when you are sure)"
                    + (f"; its restart policy set from {restart_value(their_policy)} to no"
                       if theirs is not None and (their_policy.get("Name") or "no") != "no"
                       else ""))
                checkpoint()
                if policy:
                    eng.docker(src, "update", "--restart", restart_value(policy), "--", container)
                restored = (f", its restart policy {restart_value(policy)} restored" if policy
                            else "")
                if not was_running:
                    out(f"[2/3] source: {container} left stopped on {source.name}, as it was "
                        "before the migration" + restored)
                    rec.update(rolled_back=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
                    out.result(f"[3/3] verify: nothing to answer; rolled back: {container} is on "
                        f"{source.name} as before, not running")
                    return
                eng.docker(src, "start", "--", container)
                out(f"[2/3] source: {container} started on {source.name}" + restored)
                answer = wait_ports(
                    src, source.address, bindings(rec.container_inspect),
                    time.monotonic() + 60, required=rec.answered_before,
                    skipped="did not answer before the migration either",
                    fail=lambda port, detail: RollbackError(
                        f"{container} runs on {source.name} again, but port {port} does not "
                        f"answer: {detail}"))
            except (DockmoveError, KeyboardInterrupt) as e:
                if ran:                     # never leave both down: the target serves again
                    with held():
                        if isinstance(e, KeyboardInterrupt):
                            renew_all((src, dst), out)
                        _serve_from_target(src, dst, container, name, their_policy)
                    if isinstance(e, KeyboardInterrupt):
                        raise
                    raise RollbackError(f"rollback failed, so {name} was started again on "
                                        f"{target.name} (and {container} stopped on "
                                        f"{source.name}): {e}") from None
                raise
        out(f"[3/3] verify: {container} runs; {answer}")
        rec.update(rolled_back=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        out.result(f"rolled back: {container} serves from {source.name}. Data written on "
            f"{target.name} since the cut-over was not copied back.")


def rollback_all(inventory: Inventory, containers: Sequence[str], records: Path,
                 write: Callable[[str], None] = print) -> None:
    """Roll back several containers, in the order they were moved together
    (each source starts after what it needs), else in the order given."""
    if len(containers) == 1:
        rollback(inventory, containers[0], records, write)
        return
    recs = {n: last_finished(records, n) for n in containers}
    problems = [f"{n}: no finished migration on record in {records}/" for n, r in recs.items()
                if r is None]
    problems += [f"{n}: removed from {r.source} after its migration (--remove-source or --rm): "
                 "nothing to go back to" for n, r in recs.items()
                 if r is not None and (r.source_removed or r.source_autoremoved)]
    if problems:                        # checked for all before any is touched
        raise RollbackError("nothing was rolled back:\n- " + "\n- ".join(problems))
    group = recs[containers[0]].group
    ordered = ([n for n in group if n in containers]
               + [n for n in containers if n not in group])
    done: list[str] = []
    for name in ordered:
        try:
            rollback(inventory, name, records, write)
        except DockmoveError as e:
            back = _forward_again(inventory, [last_finished(records, n) for n in done], write)
            raise RollbackError(
                f"rollback of {name} failed: {e}"
                + (f"\n{back}" if done else "")
                + (f"\nnot tried: {', '.join(ordered[len(done) + 1:])}"
                   if ordered[len(done) + 1:] else "")) from None
        done.append(name)


def _forward_again(inventory: Inventory, recs: list, write: Callable[[str], None]) -> str:
    """After a group's rollback failed part way: the members it rolled back
    go forward again (their targets started in order, their sources stopped,
    dependents first), so the group runs in one place, not split; what says
    how that went."""
    out = Printer("rollback", write=write)
    failed = []
    with held():
        for rec in recs:
            source = select(inventory, rec.source, role="source (from the record)")[0]
            target = select(inventory, rec.target, role="target (from the record)")[0]
            with Remote(inventory, source) as src, Remote(inventory, target) as dst:
                policy = rec.target_restart_policy
                bad = (_serve_from_target(src, dst, rec.container, rec.target_name, policy)
                       if _ran(rec) else _failed(_policy_back(dst, rec.target_name, policy)))
                if (rec.source_restart_policy or {}).get("Name", "no") != "no":
                    bad += _failed([(src, ["update", "--restart", "no", "--", rec.container])])
            if bad:
                failed.append(f"{rec.container} ({'; '.join(bad)})")
            else:
                rec.update(rolled_back=None)
                out(f"  forward again: {rec.container} runs on {rec.target}, stopped on "
                    f"{rec.source}" if _ran(rec) else f"  forward again: {rec.container} is "
                    f"on {rec.target}, not running, as before")
    names = ", ".join(r.container for r in recs)
    if failed:
        return (f"{names} had been rolled back; going forward again failed for "
                f"{', '.join(failed)}: check both hosts")
    return f"so {names}, rolled back before it, went forward again: the group runs on the target"


def _ran(rec) -> bool:
    """The migration started it on the target (a stopped member of a group
    was left stopped there, and a rollback leaves it stopped on the source)."""
    return not rec.left_stopped


def _serve_from_target(src: Remote, dst: Remote, container: str, name: str,
                       policy: dict | None) -> list[str]:
    """The target's container serves again, with its restart policy, and the
    source's is stopped: never both down. The commands that failed."""
    return _failed(_policy_back(dst, name, policy)
                   + [(dst, ["start", "--", name]), (src, ["stop", "--", container])])


def _policy_back(remote: Remote, name: str, policy: dict | None) -> list[tuple[Remote, list[str]]]:
    """The command that gives a container its restart policy back (none
    for no policy)."""
    if ((policy or {}).get("Name") or "no") == "no":
        return []
    return [(remote, ["update", "--restart", restart_value(policy), "--", name])]


def _failed(steps: list[tuple[Remote, list[str]]]) -> list[str]:
    """Run each docker command (in order, whatever fails); those that failed."""
    return [f"{r.name}: docker {' '.join(argv)}" for r, argv in steps
            if not eng.docker(r, *argv, check=False).ok]


def restart_value(policy: dict) -> str:
    """`docker update --restart` value of an inspect RestartPolicy."""
    name = policy.get("Name") or "no"
    retries = policy.get("MaximumRetryCount") or 0
    return f"{name}:{retries}" if name == "on-failure" and retries else name
