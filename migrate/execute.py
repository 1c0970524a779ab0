"""`inv migrate`: preflight (nothing changes until it passes), record, image,
networks, container, verification. Every step is printed with its outcome and
duration. A failure or Ctrl-C after preflight undoes what this run created on
the target (and its temporary tag on the source), in reverse order; the
source container is never removed or changed (`docker commit` pauses it for
a moment), and is stopped only with --stop-source after the target passed.
"""
from __future__ import annotations

import json
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from fleet.errors import DockmoveError, UsageError
from fleet.inventory import Host, Inventory
from fleet.output import Printer
from fleet.remote import Remote
from fleet.secrets import mask_assignment
from fleet.ssh_cli import ssh_argv
from verify import probe

from . import engine as eng
from .overrides import apply, import_changes
from .record import RunSpec, render, run_spec
from .stream import pipe

MODES = ("commit", "image", "export")
COMPRESS = {"none": ("", ""), "gzip": ("gzip -1", "gzip -d"), "zstd": ("zstd -1 -T0 -q", "zstd -d -q")}


class PreflightError(DockmoveError):
    pass


class MigrateError(DockmoveError):
    pass


@dataclass(frozen=True)
class Options:
    mode: str = "commit"
    name: str | None = None
    publish: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    replace: bool = False
    stop_source: bool = False
    compress: str = "none"
    dry_run: bool = False
    records: Path = Path("records")
    wait: float = 120
    port_check: bool = True
    empty_volumes: bool = False


@dataclass
class Undo:
    """What this run created, to remove again if it fails."""
    actions: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def add(self, what: str, fn: Callable[[], None]) -> None:
        self.actions.append((what, fn))

    def run(self, out: Printer) -> None:
        for what, fn in reversed(self.actions):
            try:
                fn()
                out(f"  undone: {what}")
            except Exception as e:   # keep undoing the rest
                out(f"  could not undo {what}: {e}")
        self.actions.clear()


@dataclass(frozen=True)
class Result:
    name: str
    target: str
    image: str
    bytes_sent: int
    seconds: float
    record: Path | None


def stream_prefix(remote: Remote) -> str:
    """How an ssh stream command reaches docker: as root, or via sudo -n."""
    if remote.conn.user == "root":
        return ""
    if remote.host.sudo.mode == "passwordless":
        return "sudo -n "
    raise UsageError(f"{remote.name}: streaming images needs root or passwordless sudo "
                     f"(the inventory says sudo: {remote.host.sudo.mode} for "
                     f"{remote.conn.user}); log in as root for migrations, or allow "
                     "passwordless sudo for docker")


def _timestamp() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime())


def _step(out: Printer, n: int, total: int, title: str, fn: Callable[[], str]) -> None:
    t0 = time.monotonic()
    outcome = fn()
    out(f"[{n}/{total}] {title}: {outcome} ({time.monotonic() - t0:.1f}s)")


def preflight(src: Remote, dst: Remote, container: str, opts: Options, out: Printer):
    if opts.mode not in MODES:
        raise UsageError(f"--mode {opts.mode!r}: expected one of {', '.join(MODES)}")
    if opts.compress not in COMPRESS:
        raise UsageError(f"--compress {opts.compress!r}: expected none, gzip or zstd")
    src.connect()
    dst.connect()
    src_info, dst_info = eng.engine_info(src), eng.engine_info(dst)
    c = eng.inspect(src, "container", container)
    if c is None:
        names = eng.docker(src, "ps", "-a", "--format", "{{.Names}}").stdout.split()
        raise PreflightError(f"{src.name}: no container named {container!r}; "
                             f"there: {', '.join(sorted(names)) or 'none'}")
    image = eng.inspect(src, "image", c["Image"])
    spec = apply(run_spec(c, image, src_info.get("LoggingDriver", "json-file")),
                 name=opts.name, publish=opts.publish, env=opts.env)
    problems = []
    existing = eng.inspect(dst, "container", spec.name)
    if existing is not None and not opts.replace:
        problems.append(f"{dst.name}: a container named {spec.name!r} exists; pass "
                        "--name NEW, or --replace (the existing one is kept, stopped and renamed)")
    taken = eng.listening_ports(dst)
    if existing is not None and opts.replace:      # its ports are freed when it stops
        taken -= {(p.partition("/")[2] or "tcp", int(b["HostPort"]))
                  for p, bs in ((existing.get("HostConfig") or {}).get("PortBindings") or {}).items()
                  for b in bs or [] if (b.get("HostPort") or "").isdigit()}
    for proto, port in eng.published_ports(spec.options):
        if (proto, port) in taken:
            problems.append(f"{dst.name}: port {port}/{proto} is taken; pass --publish "
                            f"NEW:CONTAINER to use another host port")
    volumes = [m for m in c.get("Mounts") or [] if m.get("Type") == "volume"]
    if volumes and not opts.empty_volumes:
        listed = ", ".join(f"{m.get('Name', '')[:24]} ({m.get('Destination')})" for m in volumes)
        problems.append(f"{container} keeps data in volumes: {listed}. dockmove does not copy "
                        "volume data yet: copy it yourself, or pass --empty-volumes to create "
                        "them empty on the target (their data stays on the source)")
    for m in c.get("Mounts") or []:
        if m.get("Type") == "bind":
            out(f"warning: bind mount {m.get('Source')} -> {m.get('Destination')} is not copied; "
                f"that path must exist on {dst.name}")
    size = int(image.get("Size") or 0)
    free = eng.free_kb(dst, dst_info.get("DockerRootDir", "/var/lib/docker")) * 1024
    if free < 2 * size:
        problems.append(f"{dst.name}: {free >> 20} MiB free in "
                        f"{dst_info.get('DockerRootDir')}, the image needs about "
                        f"{2 * size >> 20} MiB while it loads; free some space")
    nets = {}
    for n in spec.user_networks:
        nets[n] = eng.inspect(src, "network", n)
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
        f"{dst_info.get('ServerVersion')}; image {size >> 20} MiB; "
        f"{free >> 20} MiB free on the target)")
    return c, image, spec, nets, existing, dst_info


def write_record(directory: Path, data: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{data['created']}-{data['container']}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    return path


def masked_run_line(spec: RunSpec, image: str | None = None) -> str:
    return render(spec.run_argv(image), mask=mask_assignment)


def _wait_running(dst: Remote, name: str, deadline: float) -> str:
    while True:
        state = (eng.inspect(dst, "container", name) or {}).get("State") or {}
        health = (state.get("Health") or {}).get("Status")
        if state.get("Running") and health in (None, "healthy"):
            return "running" + (", healthy" if health else "")
        if not state.get("Running") and state.get("Status") in ("exited", "dead"):
            logs = eng.docker(dst, "logs", "--tail", "15", name, check=False)
            raise MigrateError(f"{dst.name}: {name} exited (code {state.get('ExitCode')}) "
                               f"right after start; its log:\n{logs.stdout}{logs.stderr}")
        if time.monotonic() > deadline:
            raise MigrateError(f"{dst.name}: {name} is {state.get('Status')}"
                               f"{', ' + health if health else ''} after waiting; see "
                               f"`docker logs {name}` there")
        time.sleep(0.5)


def _wait_ports(address: str, ports: list[tuple[str, int]], deadline: float) -> str:
    """The same TCP check as `inv verify-port`."""
    tcp = sorted({p for proto, p in ports if proto == "tcp"})
    for port in tcp:
        check = probe.tcp(address, port, deadline)
        if not check.ok:
            raise MigrateError(f"the container runs, but its port does not answer from here: "
                               f"{check.detail}")
    return f"port(s) {', '.join(map(str, tcp))} answer" if tcp else "no published TCP port"


def migrate(inventory: Inventory, source: Host, target: Host, container: str,
            opts: Options = Options(), *, write: Callable[[str], None] = print) -> Result | None:
    started = time.monotonic()
    out = Printer("migrate", write=write)
    out(f"{container}: from {source.name} to {target.name} (mode {opts.mode})")
    with Remote(inventory, source) as src, Remote(inventory, target) as dst:
        c, image, spec, nets, existing, dst_info = preflight(src, dst, container, opts, out)
        ts = _timestamp()
        final = f"dockmove/{spec.name}:{ts}"
        run_line = masked_run_line(spec, final)
        out(f"target command: {run_line}")
        if opts.dry_run:
            missing = [n for n in nets if eng.inspect(dst, "network", n) is None]
            out("dry run: nothing changed. The plan:")
            plan = [f"record {container}'s run arguments in {opts.records}/ (mode 0600)",
                    {"commit": f"docker commit --pause=true {container} {final} on {source.name}",
                     "image": f"tag image {c['Image'][:19]} as {final} on {source.name}",
                     "export": f"docker export {container} on {source.name}"}[opts.mode],
                    f"stream to {target.name} ({'docker save | docker load' if opts.mode != 'export' else 'docker import with its config restored'}"
                    f", compression {opts.compress}), unless {target.name} has the image",
                    f"create networks: {', '.join(missing)}" if missing else "networks: none to create",
                    f"create and start {spec.name} on {target.name}, wait until it runs, check its ports",
                    f"remove the temporary tag {final} on {source.name}",
                    f"stop {container} on {source.name}" if opts.stop_source
                    else f"leave {container} running on {source.name}"]
            for i, line in enumerate(plan, 1):
                out(f"  {i}. {line}")
            return None

        undo = Undo()
        total = 7
        sent = 0
        try:
            record = write_record(opts.records, {
                "created": ts, "container": container, "source": source.name,
                "target": target.name, "mode": opts.mode, "container_inspect": c,
                "image_inspect": image, "networks": nets, "run_argv": spec.run_argv(),
                "target_name": spec.name, "image_id": c["Image"]})
            out(f"[1/{total}] record: {record} (mode 0600)")

            state: dict = {}

            def make_image():
                if opts.mode == "commit":
                    r = eng.docker(src, "commit", "--pause=true", "--", container, final)
                    state["id"] = r.stdout.strip()
                    undo.add(f"tag {final} on {source.name}",
                             lambda: eng.docker(src, "rmi", final))
                    return f"committed {container} as {final} ({state['id'][:19]})"
                if opts.mode == "image":
                    eng.docker(src, "tag", c["Image"], final)
                    state["id"] = c["Image"]
                    undo.add(f"tag {final} on {source.name}",
                             lambda: eng.docker(src, "rmi", final))
                    return f"tagged {c['Image'][:19]} as {final}"
                return "the container's filesystem is exported in the next step"
            _step(out, 2, total, "image", make_image)

            def transfer():
                nonlocal sent
                sp, dp = stream_prefix(src), stream_prefix(dst)
                zip_, unzip = COMPRESS[opts.compress]
                if opts.mode != "export":
                    if eng.inspect(dst, "image", state["id"]) is not None:
                        eng.docker(dst, "tag", state["id"], final)
                        undo.add(f"tag {final} on {target.name}",
                                 lambda: eng.docker(dst, "rmi", final))
                        return f"{target.name} has image {state['id'][:19]} already: nothing sent"
                    send = f"{sp}docker save {shlex.quote(final)}"
                    recv = f"{dp}docker load -q"
                else:
                    changes = " ".join(f"--change {shlex.quote(ch)}" for ch in import_changes(c))
                    send = f"{sp}docker export {shlex.quote(container)}"
                    recv = f"{dp}docker import {changes} - {shlex.quote(final)}"
                if zip_:
                    send += f" | {zip_}"
                    recv = f"{unzip} | {recv}"
                send = f"set -o pipefail 2>/dev/null; {send}" if zip_ else send
                undo.add(f"image {final} on {target.name}",
                         lambda: eng.docker(dst, "rmi", final, check=False))
                res = pipe(ssh_argv(inventory, source, f"bash -c {shlex.quote(send)}"),
                           ssh_argv(inventory, target, f"bash -c {shlex.quote(recv)}"),
                           expected=int(image.get("Size") or 0) or None,
                           report=lambda line: out(f"    {line}"), what="image stream")
                sent = res.bytes
                if opts.mode != "export":
                    got = (eng.inspect(dst, "image", final) or {}).get("Id")
                    if got != state["id"]:
                        raise MigrateError(f"{target.name}: the loaded image is {got}, "
                                           f"not {state['id']}")
                    return f"sent {res.bytes >> 20} MiB; image id {got[:19]} on both hosts"
                return f"sent {res.bytes >> 20} MiB as one layer; config restored from the record"
            _step(out, 3, total, "stream", transfer)

            def networks():
                made = []
                for name, n in nets.items():
                    if eng.inspect(dst, "network", name) is not None:
                        continue
                    eng.docker(dst, "network", "create", *network_args(n), name)
                    undo.add(f"network {name} on {target.name}",
                             lambda name=name: eng.docker(dst, "network", "rm", name))
                    made.append(name)
                return f"created {', '.join(made)}" if made else "none to create"
            _step(out, 4, total, "networks", networks)

            def create():
                if existing is not None:
                    aside = f"{spec.name}.replaced-{ts}"
                    was_running = (existing.get("State") or {}).get("Running")
                    eng.docker(dst, "stop", spec.name, check=False)
                    eng.docker(dst, "rename", spec.name, aside)

                    def put_back():
                        eng.docker(dst, "rename", aside, spec.name)
                        if was_running:
                            eng.docker(dst, "start", spec.name)
                    undo.add(f"{aside} back as {spec.name}"
                             + (", started again" if was_running else ""), put_back)
                eng.docker(dst, *spec.create_argv(final)[1:])
                undo.add(f"container {spec.name} on {target.name}",
                         lambda: eng.docker(dst, "rm", "-f", spec.name))
                for net in spec.extra_networks:
                    eng.docker(dst, "network", "connect", *net.connect_args(), net.network, spec.name)
                eng.docker(dst, "start", spec.name)
                return f"{spec.name} created and started"
            _step(out, 5, total, "container", create)

            deadline = time.monotonic() + opts.wait
            ports = eng.published_ports(spec.options) if opts.port_check else []
            _step(out, 6, total, "verify", lambda: _wait_running(dst, spec.name, deadline) + "; " +
                  (_wait_ports(target.address, ports, deadline) if opts.port_check
                   else "port check skipped (--no-port-check)"))
        except BaseException as e:
            why = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
            out(f"{why}: undoing what this run created")
            undo.run(out)
            if isinstance(e, KeyboardInterrupt):
                raise
            if isinstance(e, DockmoveError):
                raise MigrateError(f"migration of {container} {why}; {target.name} is as "
                                   f"before, {container} on {source.name} untouched.\n{e}") from None
            raise

        def finish():
            if opts.mode != "export":
                eng.docker(src, "rmi", final, check=False)
            if opts.stop_source:
                eng.docker(src, "stop", container)
                return f"temporary tag removed; {container} stopped on {source.name}"
            return (f"temporary tag removed; {container} still runs on {source.name} "
                    "(--stop-source stops it)")
        _step(out, 7, total, "finish", finish)
        out(f"done in {time.monotonic() - started:.1f}s: {spec.name} runs on {target.name} "
            f"as {final}")
        return Result(spec.name, target.name, final, sent, time.monotonic() - started, record)


def network_args(n: dict) -> list[str]:
    """`docker network create` options that make a network like `n` (inspect)."""
    args = ["--driver", n.get("Driver") or "bridge"]
    for cfg in ((n.get("IPAM") or {}).get("Config") or []):
        if cfg.get("Subnet"):
            args += ["--subnet", cfg["Subnet"]]
        if cfg.get("Gateway"):
            args += ["--gateway", cfg["Gateway"]]
        if cfg.get("IPRange"):
            args += ["--ip-range", cfg["IPRange"]]
    if n.get("Internal"):
        args.append("--internal")
    if n.get("Attachable"):
        args.append("--attachable")
    if n.get("EnableIPv6"):
        args.append("--ipv6")
    for k, v in sorted((n.get("Options") or {}).items()):
        args += ["--opt", f"{k}={v}"]
    for k, v in sorted((n.get("Labels") or {}).items()):
        args += ["--label", f"{k}={v}"]
    return args
