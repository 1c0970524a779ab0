"""dockmove: move Docker workloads to a new server over SSH.

Tasks only wire options to the packages; errors become exit codes in one
place (`_handled`). Run `inv --list`, `inv --help TASK`.
"""
from __future__ import annotations

import functools
import signal
import sys
import threading
from pathlib import Path

from invoke import Collection, Exit, task

from fleet.cli_help import in_reading_order
from fleet.errors import DockmoveError, HostsFailed, UsageError, unexpected
from fleet.inventory import PROJECT_DIR
from fleet.inventory import load_inventory as _load
from fleet.selection import select
from fleet.signals import interrupt_for, received


def load_inventory(path=None):
    """--inventory, else $DOCKMOVE_INVENTORY, else the lab's inventory."""
    from lab.config import LabConfig        # the lab writes the default inventory
    return _load(path, fallback=None if path else LabConfig.from_env().inventory_path)


INVENTORY_HELP = ("inventory file (default: $DOCKMOVE_INVENTORY, else the lab's "
                  ".lab/hosts.yaml)")


def _on_signal(signum, frame):
    raise interrupt_for(signum)


def _handled(fn):
    """DockmoveError -> its message on stderr and its exit code; Ctrl-C -> 130,
    SIGTERM -> 143 and SIGHUP -> 129, each after the same undo as Ctrl-C."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _EMITTED[0] = False
        saved = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
        try:
            return fn(*args, **kwargs)
        except DockmoveError as e:
            code = e.exit_code
            if code == 130 and received:    # interrupted by SIGTERM or SIGHUP, not Ctrl-C
                code = 128 + received[0]
            _failed_json(fn, kwargs, str(e), code)
            raise Exit(f"error: {e}", code=code) from None
        except Exit:
            raise
        except Exception as e:              # never a traceback: one line and its exit code
            err = unexpected(e)
            _failed_json(fn, kwargs, str(err), err.exit_code)
            raise Exit(f"error: {err}", code=err.exit_code) from None
        except KeyboardInterrupt as e:
            signum = getattr(e, "signum", signal.SIGINT)
            _failed_json(fn, kwargs, "interrupted", 128 + signum)
            raise Exit(f"interrupted ({signal.Signals(signum).name})",
                       code=128 + signum) from None
        finally:
            for s, handler in saved.items():
                signal.signal(s, handler)
    return wrapper


def _task_name(fn) -> str:
    return {"hosts_list": "hosts.list", "hosts_trust": "hosts.trust",
            "verify_port": "verify-port"}.get(fn.__name__, fn.__name__)


_EMITTED = [False]          # this task printed its --json document


def _emit(task: str, ok: bool, failure: DockmoveError | None = None, **fields) -> None:
    """The --json document, once a task: with `failure`, its message and exit code."""
    from fleet.jsonout import document
    if failure is not None:
        fields.update(error=str(failure), exit_code=failure.exit_code)
    print(document(task, ok, **fields), flush=True)
    _EMITTED[0] = True


def _failed_json(fn, kwargs, error: str, code: int) -> None:
    """With --json, a failure is a document on stdout too (its message
    stays on stderr), unless the task printed its own already."""
    if kwargs.get("json") and not _EMITTED[0]:
        _emit(_task_name(fn), False, error=error, exit_code=code)


JSON_HELP = "print one JSON document on stdout (README: Machine-readable output)"
QUIET_HELP = "print only warnings, results and errors, not each step"

# --- hosts ----------------------------------------------------------------

@task(name="list", default=True, help={
    "host": "hosts to query: names, groups, all (default) or user@address:port",
    "json": JSON_HELP,
    "names": "print the inventory's host and group names, one a line, and connect to none "
             "(for shell completion)",
    "inventory": INVENTORY_HELP})
@_handled
def hosts_list(c, host="all", json=False, names=False, inventory=None):
    """Show inventory hosts: ssh, sudo, OS and Docker engine (in parallel)."""
    from fleet.survey import survey_rows, survey_table
    inv = load_inventory(inventory)
    if names:
        print("\n".join([*inv.hosts, *inv.groups()]))
        return
    rows, failed = survey_rows(inv, select(inv, host))
    error = HostsFailed(failed) if failed else None
    if json:
        _emit("hosts.list", not failed, error, hosts=rows)
    else:
        print(survey_table(rows))
    if error:
        raise error


@task(name="trust", help={
    "name": "inventory host, user@address:port or a Host alias of ssh_config whose key to record",
    "fingerprint": "the SHA256:... fingerprint you expect (checked before recording)",
    "yes": "record the key shown without asking",
    "inventory": INVENTORY_HELP})
@_handled
def hosts_trust(c, name, fingerprint=None, yes=False, inventory=None):
    """Record a host's SSH key in known_hosts after you checked its fingerprint."""
    from fleet.confirm import ask
    from fleet.trust import trust, trust_targets
    inv = load_inventory(inventory)
    confirm = (lambda q: True) if yes else ask
    for h in trust_targets(inv, name):
        r = trust(inv, h, expected=fingerprint, confirm=confirm)
        verb = "recorded in" if r.recorded else "already in"
        print(f"{r.host}: {r.key_type} {r.fingerprint} {verb} {r.file}")


# --- provision ------------------------------------------------------------

@task(help={
    "host": "hosts to provision: names, groups, a comma list or user@address:port",
    "dry_run": "print the facts and the plan with its exact commands; change nothing",
    "upgrade": "also apt full-upgrade and autoremove",
    "reboot": "reboot at the end and wait for the host (containers that ran are started again)",
    "users": "comma list of users to add to the docker group",
    "pin": "pin docker-ce and docker-ce-cli to this version (held by apt-mark)",
    "packages": "comma list of packages to install (default: Docker's five)",
    "lock_timeout": "seconds to wait for a held apt/dpkg lock (default 300)",
    "parallel": "hosts provisioned at once (default 8); Ctrl-C starts no further host",
    "verbose": "print every command as it runs",
    "quiet": QUIET_HELP,
    "json": JSON_HELP,
    "inventory": INVENTORY_HELP})
@_handled
def provision(c, host=None, dry_run=False, upgrade=False, reboot=False, users="", pin=None,
              packages="", lock_timeout=None, parallel=None, verbose=False, quiet=False,
              json=False, inventory=None):
    """Bring hosts to Docker CE from Docker's repository (key fingerprint checked)."""
    from fleet.parallel import failed_hosts, run_each
    from fleet.remote import Remote
    from fleet.terminal import Screen
    from provision.execute import provision as run, summary_rows, summary_table
    from provision.plan import PACKAGES, Options

    wait = _count(300 if lock_timeout is None else lock_timeout, "--lock-timeout")
    workers = _count(8 if parallel is None else parallel, "--parallel",
                     "a number of hosts (1 or more)", 1)
    inv = load_inventory(inventory)
    hosts = select(inv, host)
    options = Options(packages=_words(packages) or PACKAGES, version=pin,
                      upgrade=upgrade, users=_words(users), reboot=reboot)
    cancel = threading.Event()
    screen = Screen.for_task(json, quiet and not dry_run)    # a dry run's plan is its output

    def one(h):
        with Remote(inv, h) as remote:
            return run(remote, inv.settings, options, dry_run=dry_run, verbose=verbose,
                       lock_timeout=float(wait), cancel=cancel, write=screen)

    # live, several hosts: a row each; a dry run's plans (its output) and -v's commands whole
    with screen, screen.hosts([] if dry_run or verbose else [h.name for h in hosts]):
        outcomes = run_each(hosts, one, key=lambda h: h.name, workers=workers, cancel=cancel)
    rows = summary_rows(outcomes)
    error = failed_hosts(outcomes)
    if json:
        _emit("provision", error is None, error, dry_run=dry_run, hosts=rows)
    elif len(hosts) > 1 or quiet or error:
        print(summary_table(rows))
    if error:
        raise error


# --- migrate --------------------------------------------------------------

@task(iterable=["publish", "env"], auto_shortflags=False, help={
    "container": "the container to move (its name on the source host); several, "
                 "comma-separated (web,db), move together with one cut-over",
    "project": "CONTAINER names a compose project: move every container of it (its "
               "com.docker.compose.project label) with one cut-over",
    "all_": "CONTAINER names the source host: move every container on it with one cut-over "
            "(inv migrate old --all --to new)",
    "include_stopped": "with --project or --all: move the containers that are not running "
                       "too (left stopped on the target); default: left out, and named",
    "to": "target host (default: settings.default_target)",
    "from_": "source host (default: settings.default_source)",
    "name": "name on the target (default: the same)",
    "publish": "HOST:CONTAINER[/udp] replacing a published port on the target (repeatable)",
    "env": "KEY=VALUE set on the target (repeatable); KEY alone takes the value from this "
           "environment (no secret on the command line)",
    "mode": "commit (default: the container's changes come along), image (its "
            "original image only), or export (docker export | docker import, config restored)",
    "stop": "live cut-over (default): copy while the source runs, stop it, send what changed, "
            "start the target; --no-stop copies a snapshot and leaves the source running",
    "offline": "stop the source first, then copy everything once",
    "commit": "mode commit: carry the container's changes as a docker commit (its image "
              "dockmove/NAME:TS) even where its overlay2 layer could be copied",
    "compress": "none (default), gzip or zstd on the stream",
    "settle": "seconds the target container must run without a restart to count as up "
              "(default 3)",
    "stop_timeout": "seconds the source gets to stop before it is killed (default: its own "
                    "stop timeout, 10 unless set)",
    "port_check": "check that the published TCP ports that answered on the source answer on "
                  "the target (default; --no-port-check skips it)",
    "empty_volumes": "create the container's volumes on the target without copying their data",
    "copy_binds": "copy bind-mounted host paths too (default: warn that they are not copied)",
    "dry_run": "print the preflight findings, the plan and the docker run command; change nothing",
    "replace": "a container of that name on the target is stopped and renamed, not refused; "
               "same-named volumes there holding data are overwritten",
    "remove_source": "remove the source container once the target passed verification",
    "yes": "go on without asking when the run removes or overwrites something (--replace, "
           "--remove-source); needed without a terminal",
    "rollback": "go back after a finished migration: stop the target's container, "
                "start the source's",
    "records": "folder for the records (default: records/ in the project)",
    "json_report": "write the numbers of the run (bytes, downtime, seconds) as JSON to this file",
    "quiet": QUIET_HELP,
    "json": JSON_HELP + "; the same numbers",
    "inventory": INVENTORY_HELP})
@_handled
def migrate(c, container, to=None, from_=None, mode="commit", name=None, publish=None,
            env=None, replace=False, stop=True, offline=False, remove_source=False,
            rollback=False, compress="none", dry_run=False, records=None, port_check=True,
            empty_volumes=False, copy_binds=False, json_report=None, stop_timeout=None,
            settle=None, inventory=None, commit=False, project=False, all_=False,
            include_stopped=False, yes=False, quiet=False, json=False):
    """Move containers to another host, with a live cut-over (--rollback: back).

    Image (only the layers the target lacks), volumes, the container's own
    changes and its run arguments; several at once (web,db, --project or
    --all) with one cut-over. The options below: what moves, where to, how,
    safety, output."""
    from fleet.confirm import confirmer
    from fleet.terminal import Screen
    from migrate.execute import migrate as run
    from migrate.group_run import migrate_group
    from migrate.options import Options, cutover

    if project and all_:
        raise UsageError("--project or --all, not both")
    if include_stopped and not (project or all_):
        raise UsageError("--include-stopped goes with --project or --all (containers named "
                         "are moved whether they run or not)")
    names = _containers(container, project or all_)
    inv = load_inventory(inventory)
    screen = Screen.for_task(json, quiet and not dry_run)    # a dry run's plan is its output
    if rollback:
        from migrate.records import project_moved
        from migrate.rollback import rollback_all
        if all_:
            raise UsageError("--rollback goes by the containers' names (inv migrate web,db "
                             "--rollback) or a compose project's (inv migrate PROJECT --project "
                             "--rollback)")
        if project:
            names = project_moved(_records(records), names[0], from_)
            if isinstance(names, str):
                raise UsageError(names)
            if not names:
                raise UsageError(f"no migration of the compose project {container!r} in force "
                                 f"on record in {_records(records)}/")
        with screen:
            rollback_all(inv, names, _records(records), write=screen)
        if json:
            _emit("migrate", True, rolled_back=list(names))
        return
    settle = _seconds(settle, "--settle", default=3)
    if all_:
        if from_ and from_ != names[0]:
            raise UsageError(f"--all moves every container of the host named ({names[0]}); "
                             f"--from {from_} names another")
        from_ = names[0]
    source = _one(inv, from_, inv.settings.default_source, "source (--from)")
    target = _one(inv, to, inv.settings.default_target, "target (--to)")
    if source.name == target.name:
        raise UsageError(f"source and target are both {source.name}")
    opts = Options(
        mode=mode, name=name, publish=tuple(publish or ()), env=tuple(env or ()),
        replace=replace, cutover=cutover(stop, offline),
        remove_source=remove_source, compress=compress, dry_run=dry_run,
        records=_records(records), port_check=port_check, empty_volumes=empty_volumes,
        copy_binds=copy_binds, json_report=Path(json_report) if json_report else None,
        stop_timeout=_count(stop_timeout, "--stop-timeout"), settle=settle, commit=commit)
    confirm = confirmer(yes)
    with screen:
        if project or all_ or len(names) > 1:
            done = migrate_group(inv, source, target, () if project or all_ else names, opts,
                                 project=names[0] if project else None, whole_host=all_,
                                 include_stopped=include_stopped, confirm=confirm,
                                 write=screen)
        else:
            done = run(inv, source, target, names[0], opts, confirm=confirm, write=screen)
    if json:
        _emit("migrate", True, dry_run=dry_run, **done)


def _containers(container: str, project: bool,
                usage: str = "inv migrate NAME --to HOST (several: web,db; a compose project: "
                             "inv migrate PROJECT --project)") -> tuple[str, ...]:
    """The containers named (a comma-separated list), or the project's (or
    with --all the host's) name."""
    names = tuple(n.strip() for n in container.split(",") if n.strip())
    if not names:
        raise UsageError(f"which container? {usage}")
    if project and len(names) > 1:
        raise UsageError(f"--project and --all take one name (the project's, the host's), "
                         f"not {container}")
    if len(set(names)) != len(names):
        raise UsageError(f"a container named twice: {container}")
    return names


def _count(value, option, what="a number of seconds", least=0):
    if value is None:
        return None
    if not str(value).isdigit() or int(value) < least:
        raise UsageError(f"{option} {value!r}: expected {what}")
    return int(value)


@task(help={"container": "the container whose docker run command to print; with --compose, "
                         "several, comma-separated (web,db)",
            "host": "its host (default: settings.default_source)",
            "show_secrets": "print secret-looking env values instead of ****",
            "compose": "print a docker-compose.yml that recreates the containers instead",
            "project": "with --compose, CONTAINER names a compose project: every container "
                       "of it (its com.docker.compose.project label)",
            "json": JSON_HELP + ": the command, or the compose file as text",
            "inventory": INVENTORY_HELP})
@_handled
def record(c, container, host=None, show_secrets=False, compose=False, project=False,
           json=False, inventory=None):
    """Print the docker run command (--compose: a compose file) that recreates containers."""
    from fleet.remote import Remote
    from migrate.recreate import compose_text, run_line

    names = _containers(container, project, "inv record NAME (with --compose, several: web,db; "
                        "a compose project: inv record PROJECT --compose --project)")
    if not compose and (project or len(names) > 1):
        raise UsageError("several containers or a project go into one compose file: add "
                         f"--compose (inv record {container} --compose"
                         + (" --project)" if project else ")"))
    inv = load_inventory(inventory)
    h = _one(inv, host, inv.settings.default_source, "host (--host)")
    with Remote(inv, h) as r:
        if compose:
            text = compose_text(r, names, names[0] if project else None, not show_secrets,
                                note=lambda line: print(f"note: {line}", file=sys.stderr))
        else:
            text = run_line(r, names[0], mask=not show_secrets)
    if json:
        _emit("record", True, host=h.name, containers=list(names),
              masked=not show_secrets, **{"compose" if compose else "command": text})
    else:
        print(text)


# --- verify-port and ports ----------------------------------------------

@task(name="verify-port", help={
    "port": "the port to check",
    "host": "the host (default: the target of the last migration on record, else "
            "settings.default_target)",
    "path": "HTTP path to GET (default /)",
    "tls": "use HTTPS (the certificate is not checked)",
    "expect": "text the body must contain",
    "expect_status": "HTTP status required (default: any below 500)",
    "compare": "another host whose answer must be the same (default: the answer the "
               "source gave before the last migration, when it was recorded)",
    "timeout": "seconds to keep retrying while the service starts (default 30)",
    "json": "print the checks as JSON",
    "records": "where migration records are (default: records/ in the project)",
    "inventory": INVENTORY_HELP})
@_handled
def verify_port(c, port, host=None, path="/", tls=False, expect=None, expect_status=None,
                compare=None, timeout=None, json=False, records=None, inventory=None):
    """Prove a service answers on its port: listener, TCP, HTTP, and as before."""
    from migrate.records import last_finished
    from verify.run import as_json, passed, table, verify

    port = _number(port, "port", 1, 65535, "a number from 1 to 65535")
    status = _number(expect_status, "--expect-status", 100, 599, "an HTTP status from 100 to 599")
    seconds = _seconds(timeout, "--timeout", default=30)
    if not path.startswith("/"):
        raise UsageError(f"--path {path!r}: expected a path starting with /")
    inv = load_inventory(inventory)
    last = last_finished(_records(records), rolled_back=False)
    target = last.target if last else None
    h = _one(inv, host, target or inv.settings.default_target, "host (--host)",
             "the target of the last migration" if target else "the inventory's default")
    other = _one(inv, compare, None, "compare (--compare)") if compare else None
    before = None
    if other is None and h.name == target and path == "/" and not tls:
        before = last.baseline.get(str(port))
    checks = verify(inv, h, port, path=path, tls=tls, expect=expect, expect_status=status,
                    compare_host=other, timeout=seconds, before=before)
    failed = None if passed(checks) else f"{h.name}:{port} failed: " + ", ".join(
        f"{ch.name} ({ch.kind})" for ch in checks if ch.ok is False)
    print(as_json(h.name, port, checks, failed) if json else table(checks))
    if failed:
        raise Exit(f"error: {failed}", code=1)


def _number(value, what, low, high, expected):
    """An integer option in [low, high]; None stays None."""
    if value is None:
        return None
    text = str(value).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise UsageError(f"{what} {value!r}: expected {expected}")
    return int(text)


def _seconds(value, option, default):
    """A number of seconds (fractions allowed); None gives the default."""
    if value is None:
        return float(default)
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86400:
        raise UsageError(f"{option} {value!r}: expected a number of seconds")
    return seconds


@task(help={"host": "hosts to list (default: settings.default_target)",
            "json": JSON_HELP,
            "inventory": INVENTORY_HELP})
@_handled
def ports(c, host=None, json=False, inventory=None):
    """List a host's listening ports with their process or container."""
    from fleet.remote import Remote
    from fleet.terminal import table as render
    from verify.listeners import listeners

    inv = load_inventory(inventory)
    found = {}
    for h in select(inv, host, default=inv.settings.default_target):
        with Remote(inv, h) as r:
            found[h.name] = listeners(r)
        if not json:
            print(f"{h.name}:")
            print(render(["PROTO", "ADDRESS", "PORT", "PROCESS", "CONTAINER"],
                         [[l.proto, l.address, l.port, l.process, l.container]
                          for l in found[h.name]]))
    if json:
        _emit("ports", True, hosts={
            name: [{"proto": l.proto, "address": l.address, "port": l.port,
                    "process": l.process, "container": l.container} for l in found[name]]
            for name in found})


def _records(path):
    """Migration records: --records, else records/ beside tasks.py."""
    return Path(path) if path else PROJECT_DIR / "records"


def _one(inv, spec, default, role, why="the inventory's default"):
    chosen = select(inv, spec, default=default, role=role)
    if len(chosen) != 1:
        raise UsageError(f"{role}: one host, not {len(chosen)} ({spec})")
    print(f"{role.split()[0]}: {chosen[0].name}" + ("" if spec else f" ({why})"),
          file=sys.stderr)
    return chosen[0]


def _words(text):
    return tuple(w.strip() for w in (text or "").split(",") if w.strip())


@task
def completion(c):
    """Print bash completion for task names, options and host names.

    source <(.venv/bin/inv completion), or put that line in ~/.bashrc."""
    import shlex
    script = (Path(__file__).parent / "fleet" / "completion.bash").read_text()
    print(script.replace("__PROJECT__", shlex.quote(str(PROJECT_DIR))), end="")


# --- lab ------------------------------------------------------------------

@task(name="up", help={
    "rebuild": "build the lab images again (and recreate the hosts)",
    "fresh": "recreate the hosts from the cached images (their state is lost)",
    "extra": "also start hosts node1..nodeN like new (default $DOCKMOVE_LAB_EXTRA or 0)",
    "stack": "old also runs the compose project shop: PostgreSQL and a web app on 9090 "
             "(docker-compose 1.29; default $DOCKMOVE_LAB_STACK=1)"})
@_handled
def lab_up(c, rebuild=False, fresh=False, extra=None, stack=False):
    """Start the lab: hosts old (docker.io, the seed's apache-cont) and new."""
    from lab.lab import up
    up(_lab_config(extra, stack), rebuild=rebuild, fresh=fresh)


def _lab_config(extra=None, stack=False):
    from dataclasses import replace
    from lab.config import LabConfig
    try:
        cfg = LabConfig.from_env()
        if extra is not None:
            cfg = replace(cfg, extra=int(extra))
        if stack:
            cfg = replace(cfg, stack=True)
        cfg.hosts                               # validates the count
        return cfg
    except ValueError as e:
        raise UsageError(f"lab: {e}") from None


@task(name="status")
@_handled
def lab_status(c):
    """Show the lab's hosts, addresses and Docker engines."""
    from lab.lab import render_status, status
    print(render_status(status(_lab_config())))


@task(name="down", help={"images": "also remove the cached lab images",
                         "yes": "remove without asking (needed without a terminal)"})
@_handled
def lab_down(c, images=False, yes=False):
    """Remove the lab's hosts, volumes, network and state, nothing else."""
    from fleet.confirm import confirmer
    from lab.lab import down
    down(_lab_config(), images=images, confirm=confirmer(yes))


hosts = Collection("hosts")
hosts.add_task(hosts_list)
hosts.add_task(hosts_trust)

lab = Collection("lab")
lab.add_task(lab_up)
lab.add_task(lab_status)
lab.add_task(lab_down)

ns = Collection(hosts, lab, provision, migrate, record, verify_port, ports, completion)
in_reading_order(ns)
