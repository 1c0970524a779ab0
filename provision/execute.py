"""The executor: runs a plan on one host and prints every step with its
outcome (changed / already done / skipped, and why), the commands under
--verbose, and under --dry-run only the plan. A failing step stops the host
there, with the step named: nothing after it has run; a step with `recover`
first puts back what was there before (the distro engine and its containers).
An interrupt (`cancel`) stops the host before its next step, except inside a
run of `hold` steps, which finish first (from the distro engine's removal to
its containers on Docker CE: a host is never left without an engine).
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Callable

from fleet.errors import CommandError, DockmoveError, Interrupted, NotStarted
from fleet.inventory import Settings
from fleet.output import Printer
from fleet.remote import Remote, command_line
from fleet.terminal import table as render

from .facts import HostFacts, gather, summary
from .plan import (CONFLICTS, ENGINE_WAIT, PACKAGES, Command, Options, Step, apt, plan,
                   start_recorded)

BOOT_ID = ["sh", "-c", "cat /proc/sys/kernel/random/boot_id; cut -d' ' -f22 /proc/1/stat"]

LOCK_HELD = re.compile(r"Could not get lock (\S+?)\.? *(?:It is held by (.+?))?\s*$", re.M)


class StepFailed(DockmoveError):
    pass


@dataclass(frozen=True)
class HostResult:
    changed: int
    done: int
    skipped: int
    docker: str
    seconds: float
    dry_run: bool


def shown(cmd: Command) -> str:
    if cmd.display:
        return cmd.display
    return command_line(cmd.argv, env=dict(cmd.env) or None, mask=True)


def run_command(remote: Remote, cmd: Command, out: Printer, lock_timeout: float) -> str:
    """Run one step command; apt commands wait for a held dpkg/apt lock."""
    deadline = time.monotonic() + lock_timeout
    said = False
    while True:
        try:
            return remote.run(cmd.argv, sudo=cmd.sudo, env=dict(cmd.env) or None).stdout
        except CommandError as e:
            held = LOCK_HELD.search(e.stderr) if cmd.apt else None
            if not held:
                raise
            who = held.group(2) or "another process"
            if time.monotonic() >= deadline:
                raise StepFailed(
                    f"{remote.name}: the package manager lock {held.group(1)} is still held "
                    f"by {who} after {lock_timeout:.0f}s; wait until that apt/dpkg run "
                    "ends (or stop it), then run provision again") from None
            if not said:
                out(f"    waiting for the lock {held.group(1)}, held by {who} "
                    f"(up to {lock_timeout:.0f}s)")
                said = True
            time.sleep(2)


def wait_for_reboot(remote: Remote, boot: str, out: Printer, timeout: float) -> None:
    """Until the host answers over ssh again with another boot (boot id, or
    PID 1's start time where the kernel stays, as in containers)."""
    out(f"    waiting for {remote.name} to come back (up to {timeout:.0f}s)")
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        time.sleep(2)
        # a new connection for every look: one that dropped while the host
        # went down (systemd takes seconds) would reconnect by itself and
        # fail with a raw refusal instead of an error to wait through
        remote.close()
        try:
            now = remote.run(BOOT_ID).stdout
        except DockmoveError as e:
            last = str(e).splitlines()[0]
            continue
        if now != boot:
            return
    raise StepFailed(f"{remote.name}: did not come back from the reboot within "
                     f"{timeout:.0f}s ({last or 'it never went down'}); check the "
                     "host's console")


def _recover(remote: Remote, step: Step, out: Printer, lock_timeout: float) -> str:
    """After `step` failed: put back what was there before it (the distro
    engine and its containers), and say how that went."""
    if not step.recover:
        return ""
    out(f"    putting back {step.recover_what}")
    try:
        for cmd in step.recover:
            out(f"      $ {shown(cmd)}")
            run_command(remote, cmd, out, lock_timeout)
    except DockmoveError as e:
        said = (getattr(e, "stderr", "") or "").strip().splitlines()[-1:]
        return (f" Putting back {step.recover_what} FAILED too, the host may have no "
                f"engine now: {str(e).splitlines()[0]}"
                + (f" ({said[0].strip()})" if said else "")
                + (f". To do by hand: {step.recover_help}" if step.recover_help else ""))
    return f" Put back as before: {step.recover_what}."


def _probe_ok(remote: Remote, cmd: Command) -> bool:
    return remote.run(cmd.argv, sudo=cmd.sudo, env=dict(cmd.env) or None,
                      check=False).ok


def print_plan(steps: list[Step], out: Printer) -> None:
    words = {"change": "will change", "done": "already done", "skip": "skipped",
             "check": "will check"}
    for i, s in enumerate(steps, 1):
        out(f"[{i}/{len(steps)}] {s.title}: {words[s.state]} ({s.reason})")
        if s.state in ("change", "check"):
            for c in s.commands:
                out(f"      $ {shown(c)}")


def prerequisites(remote: Remote, facts: HostFacts, dry_run: bool, out: Printer,
                  lock_timeout: float) -> bool:
    """Without curl or wget nothing can be downloaded: install curl first
    (harmless; the key is checked right after). Returns True if it ran."""
    if facts.fetch_tool is not None:
        return False
    cmds = [apt("update"), apt("install", "ca-certificates", "curl")]
    out("no curl or wget on the host: installing curl first, then reading the host again")
    for c in cmds:
        out(f"      $ {shown(c)}")
        if not dry_run:
            run_command(remote, c, out, lock_timeout)
    return not dry_run


def provision(remote: Remote, settings: Settings, options: Options = Options(), *,
              dry_run: bool = False, verbose: bool = False, lock_timeout: float = 300,
              reboot_timeout: float = 600, write: Callable[[str], None] = print,
              cancel: threading.Event | None = None) -> HostResult:
    """`cancel` set (Ctrl-C, SIGTERM, SIGHUP): stop before the next step; a
    step that runs is never cut in the middle (apt, dpkg), and once a `hold`
    step ran, the hold steps after it run too."""
    started = time.monotonic()
    out = Printer(remote.name, verbose, write)
    out("reading the host")
    facts = gather(remote, settings, options.users)
    if prerequisites(remote, facts, dry_run, out, lock_timeout):
        facts = gather(remote, settings, options.users)
    for line in summary(facts, CONFLICTS + PACKAGES + ("golang-docker-credential-helpers",)):
        out(line)
    steps = plan(facts, settings, options)
    if dry_run:
        out("dry run: the plan, nothing changed")
        print_plan(steps, out)
        return HostResult(0, sum(s.state == "done" for s in steps),
                          sum(s.state == "skip" for s in steps),
                          facts.docker.describe(), time.monotonic() - started, True)
    changed = done = skipped = 0
    version = facts.docker.describe()
    holding = said = False          # the step before was a `hold` one; the user was told
    for i, step in enumerate(steps, 1):
        head = f"[{i}/{len(steps)}] {step.title}"
        if cancel is not None and cancel.is_set():
            if not (holding and step.hold):
                out(f"{head}: not run (interrupted)")
                raise Interrupted(f"{remote.name}: interrupted before step {i}/{len(steps)} "
                                  f"'{step.title}' ({changed} changed so far); run provision "
                                  "again to finish")
            if not said:
                out(f"{head}: interrupted; run all the same: the distro engine is removed, "
                    "so the new one is brought up with the containers first")
                said = True
        holding = step.hold
        t0 = time.monotonic()
        if step.state in ("done", "skip"):
            out(f"{head}: {'already done' if step.state == 'done' else 'skipped'} ({step.reason})")
            done += step.state == "done"
            skipped += step.state == "skip"
            continue
        if step.probe is not None and _probe_ok(remote, step.probe):
            out(f"{head}: already done (found so after the earlier steps)")
            done += 1
            continue
        output = ""
        try:
            boot = remote.run(BOOT_ID).stdout if step.reboot else ""
            for cmd in step.commands:
                if verbose:
                    out(f"      $ {shown(cmd)}")
                output = run_command(remote, cmd, out, lock_timeout)
                if cmd.show:
                    for line in output.splitlines():
                        if line.strip():
                            out(f"    {line.strip()}")
            if step.reboot:
                wait_for_reboot(remote, boot, out, reboot_timeout)
                for cmd in (ENGINE_WAIT, start_recorded()):
                    run_command(remote, cmd, out, lock_timeout)
        except DockmoveError as e:
            back = _recover(remote, step, out, lock_timeout)
            raise StepFailed(f"{remote.name}: step {i}/{len(steps)} '{step.title}' failed; "
                             f"the steps after it did not run.{back}\n{e}") from None
        took = time.monotonic() - t0
        if step.state == "check":
            version = output.strip() or version
            out(f"{head}: ok: {output.strip()} ({took:.1f}s)")
            done += 1
        else:
            out(f"{head}: changed ({step.reason}) ({took:.1f}s)")
            changed += 1
    return HostResult(changed, done, skipped, version, time.monotonic() - started, False)


def summary_rows(outcomes: dict) -> list[dict]:
    """One row a host of a run: its result or why it failed (`--json`
    prints these). `outcomes`: host name -> fleet.parallel outcome holding
    a HostResult."""
    rows = []
    for name, o in outcomes.items():
        if o.ok:
            r = o.value
            rows.append({"host": name, "result": "planned" if r.dry_run else
                         "changed" if r.changed else "no change", "changed_steps": r.changed,
                         "docker": r.docker, "seconds": round(r.seconds, 3)})
        else:
            rows.append({"host": name, "result": "not started" if isinstance(o.error, NotStarted)
                         else "interrupted" if isinstance(o.error, Interrupted) else "failed",
                         "error": str(o.error)})
    return rows


def summary_table(rows: list[dict]) -> str:
    return render(["HOST", "RESULT", "CHANGED", "DOCKER", "TIME"],
                  [[r["host"], r["result"], r["changed_steps"], r["docker"], f"{r['seconds']:.1f}s"]
                   if "error" not in r else
                   [r["host"], r["result"].upper(), "", r["error"].splitlines()[0][:70], ""]
                   for r in rows])
