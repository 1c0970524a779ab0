"""Is the new container up, and does it answer as the source did.

"Up" means: running, not restarting, its restart count unchanged and not
started again for a settle period (`--settle`, default 3 s), and healthy
where it has a healthcheck. A container that exits or restarts meanwhile is
a failure at once, shown with its last log lines.

"Answers" means: each published TCP port that answered on the source just
before its stop (`answering`) answers on the target; the others are named
and not required. A port published on every address is checked from here;
one published on an address of the host only (127.0.0.1) from the host
itself, over its SSH connection (verify/onhost.py). The source's HTTP
answers before the cut-over (`baseline`) are kept for `inv verify-port`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

from fleet.errors import MigrateError
from fleet.remote import Remote
from fleet.signals import checkpoint
from verify import probe
from verify.onhost import route

from . import engine as eng
from .spec import Published


@dataclass(frozen=True)
class State:
    """The facts of `docker inspect` that say whether a container is up."""
    status: str
    running: bool
    restarting: bool
    exit_code: int | None
    restarts: int
    started_at: str
    health: str | None
    health_output: str
    policy: str
    error: str


def state_of(inspect: dict | None) -> State:
    """Pure: `docker inspect` of a container (None: it is gone)."""
    inspect = inspect or {}
    s = inspect.get("State") or {}
    health = s.get("Health") or {}
    log = health.get("Log") or []
    policy = ((inspect.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no"
    return State(status=s.get("Status") or ("gone" if not inspect else "unknown"),
                 running=bool(s.get("Running")), restarting=bool(s.get("Restarting")),
                 exit_code=s.get("ExitCode"), restarts=int(inspect.get("RestartCount") or 0),
                 started_at=s.get("StartedAt") or "", health=health.get("Status"),
                 health_output=(log[-1].get("Output") or "").strip() if log else "",
                 policy=policy, error=s.get("Error") or "")


def judge(first: State, now: State) -> tuple[str, str]:
    """Pure: ("down", why) when it stopped or restarted since `first` (the
    first look after the start), ("up", "") when it runs (and is healthy),
    else ("starting", what it is)."""
    restarted = (now.restarts > first.restarts
                 or (first.started_at and now.started_at and now.started_at != first.started_at))
    stopped = not now.running and now.status in ("exited", "dead", "gone")
    again = now.policy in ("always", "unless-stopped") or (
        now.policy == "on-failure" and now.exit_code not in (0, None))
    if now.restarting or restarted or (stopped and again and now.status == "exited"):
        seen = [f"restarted {now.restarts - first.restarts} time(s) since its start"
                if now.restarts > first.restarts else "",
                "" if now.running else f"last exit code {now.exit_code}"]
        return "down", (f"does not stay up: it exits and its restart policy ({now.policy}) "
                        f"starts it again ({', '.join(w for w in seen if w) or 'it was started again'}): a crash loop")
    if stopped:
        why = f"exited (code {now.exit_code}) right after start" if now.status != "gone" \
            else "is gone right after start"
        return "down", why + (f" ({now.error})" if now.error else "") + ": it does not stay up"
    if not now.running:
        return "starting", now.status
    if now.health not in (None, "healthy"):
        return "starting", f"running, {now.health}" + (
            f" (last check: {now.health_output.splitlines()[-1][:200]})"
            if now.health_output else "")
    return "up", ""


class Watch:
    """The new container, from its start until it has settled: each look
    fails at once if it exited or restarted since the first."""

    def __init__(self, remote: Remote, name: str, settle: float,
                 clock: Callable[[], float] = time.monotonic):
        self.remote, self.name, self.settle, self.clock = remote, name, settle, clock
        self.first: State | None = None
        self.up_since: float | None = None
        self.last = ""

    def look(self) -> State:
        now = state_of(eng.inspect(self.remote, "container", self.name))
        if self.first is None:
            self.first = now
        verdict, why = judge(self.first, now)
        if verdict == "down":
            raise MigrateError(f"{self.remote.name}: {self.name} {why}; its last log lines:\n"
                               f"{self.logs()}")
        if verdict == "up":
            self.up_since = self.up_since if self.up_since is not None else self.clock()
        else:
            self.up_since, self.last = None, why
        return now

    def logs(self) -> str:
        r = self.remote.run(["sh", "-c", 'docker logs --tail 15 -- "$1" 2>&1', "sh", self.name],
                            sudo=True, check=False)
        text = (r.stdout + r.stderr).rstrip()
        return "\n".join(f"  {line}" for line in text.splitlines()) or "  (none)"

    def _until(self, deadline: float, done: Callable[[], bool]) -> State:
        while True:
            state = self.look()
            if done():
                return state
            if self.clock() > deadline:
                raise MigrateError(
                    f"{self.remote.name}: {self.name} is {self.last or state.status} after "
                    f"waiting; see `docker logs {self.name}` there")
            checkpoint()
            time.sleep(0.2)

    def until_up(self, deadline: float) -> State:
        """Running (and healthy) now; it may still fall over."""
        return self._until(deadline, lambda: self.up_since is not None)

    def settled(self, deadline: float) -> State:
        """Up, without a restart, for the settle period."""
        if self.up_since is not None:       # the settle period may end after the wait
            deadline = max(deadline, self.up_since + self.settle + 2)
        return self._until(deadline, lambda: self.up_since is not None
                           and self.clock() - self.up_since >= self.settle)


def describe(state: State, settle: float) -> str:
    return (f"running{', healthy' if state.health == 'healthy' else ''}, "
            f"no restart in {settle:g}s")


def _tcp(ports: list[Published]) -> list[Published]:
    seen, out = set(), []
    for p in sorted(ports, key=lambda p: (p.port, p.address)):
        if p.proto == "tcp" and p.port not in seen:
            seen.add(p.port)
            out.append(p)
    return out


def answering(remote: Remote, address: str, ports: list[Published]) -> list[str]:
    """Which published TCP ports answer now (a short try each), by their
    container port ("80/tcp": the same on the target, whatever --publish
    made of the host port): on the source, just before it stops."""
    out = []
    for p in _tcp(ports):
        via, where = route(remote, address, p.address)
        if probe.tcp(where, p.port, time.monotonic() + 0.5, via=via).ok:
            out.append(p.inner)
    return out


def _not_answering(port: int, detail: str) -> Exception:
    return MigrateError(f"the container runs, but port {port} does not answer: {detail}")


def wait_ports(remote: Remote, address: str, ports: list[Published], deadline: float, *,
               required: list[str] | None = None, between: Callable[[], object] = lambda: None,
               skipped: str = "did not answer on the source either",
               fail: Callable[[int, str], Exception] = _not_answering) -> str:
    """Wait until each published TCP port whose container port is in
    `required` (None: all of them) answers, from where it can (see `route`); `between` attempts may raise
    (the container fell over); `fail(port, detail)` is the error for a port
    that does not answer by the deadline."""
    tcp = _tcp(ports)
    if not tcp:
        return "no published TCP port"
    here, there, others = [], [], []
    for p in tcp:
        if required is not None and p.inner not in required:
            others.append(p.port)
            continue
        via, where = route(remote, address, p.address)
        while True:
            check = probe.tcp(where, p.port, min(deadline, time.monotonic() + 5), via=via)
            if check.ok:
                break
            between()
            if time.monotonic() >= deadline:
                raise fail(p.port, check.detail)
        (here if via is probe.HERE else there).append(p.port)
    words = []
    if here:
        words.append(f"port(s) {', '.join(map(str, here))} answer from here")
    if there:
        words.append(f"port(s) {', '.join(map(str, there))} answer on {remote.name} itself")
    if others:
        words.append(f"port(s) {', '.join(map(str, others))} {skipped} (not required)")
    return "; ".join(words)


@dataclass(frozen=True)
class Verified:
    text: str
    answered_at: float       # when it ran and its ports answered (the downtime's end)


@dataclass(frozen=True)
class Answered:
    """Up and answering; its settle period may not have passed yet."""
    watch: Watch
    text: str                # what answered
    answered_at: float
    deadline: float


def answer_target(remote: Remote, address: str, name: str, ports: list[Published],
                  required: list[str] | None, *, wait: float, settle: float,
                  port_check: bool) -> Answered:
    """Up (see `Watch`) and answering (see `wait_ports`), within `wait` seconds."""
    deadline = time.monotonic() + wait
    watch = Watch(remote, name, settle)
    watch.until_up(deadline)
    answer = (wait_ports(remote, address, ports, deadline, required=required, between=watch.look)
              if port_check else "port check skipped (--no-port-check)")
    return Answered(watch, answer, time.monotonic(), deadline)


def verify_target(remote: Remote, address: str, name: str, ports: list[Published],
                  required: list[str] | None, *, wait: float, settle: float,
                  port_check: bool) -> Verified:
    """Up and answering (`answer_target`), then settled, within `wait`
    seconds (plus what is left of the settle period)."""
    a = answer_target(remote, address, name, ports, required, wait=wait, settle=settle,
                      port_check=port_check)
    state = a.watch.settled(a.deadline)
    return Verified(f"{describe(state, settle)}; {a.text}", a.answered_at)


def settle_all(answered: Sequence[Answered], clock: Callable[[], float] = time.monotonic
               ) -> list[State]:
    """Several containers that answered, each up without a restart for its
    settle period, their periods running at the same time (a group): each
    look fails at once if one fell over."""
    begun = clock()         # those verified first waited for the others: time from here too
    while True:
        states = [a.watch.look() for a in answered]
        waiting = [a for a in answered if a.watch.up_since is None
                   or clock() - a.watch.up_since < a.watch.settle]
        if not waiting:
            return states
        for a in waiting:
            w = a.watch
            if clock() > max(a.deadline, begun + w.settle + 2, (w.up_since or 0) + w.settle + 2):
                raise MigrateError(f"{w.remote.name}: {w.name} is {w.last or 'not up'} after "
                                   f"waiting; see `docker logs {w.name}` there")
        checkpoint()
        time.sleep(0.2)


def baseline(remote: Remote, address: str, ports: list[Published], answered: list[str],
             target: list[Published]) -> dict:
    """The source's HTTP answers on its ports that answered, under the host
    port each has on the target, for `inv verify-port` there."""
    out = {}
    for p in _tcp(ports):
        names = [str(t.port) for t in _tcp(target) if t.inner == p.inner]
        if p.inner not in answered or not names:
            continue
        via, where = route(remote, address, p.address)
        web = probe.http_get(where, p.port, "/", time.monotonic() + 3, via=via)
        if web.ok:
            out.update({n: {k: web.data[k] for k in ("status", "bytes", "sha256", "body")}
                        for n in names})
    return out
