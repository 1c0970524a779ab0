"""dockmove: move Docker workloads to a new server over SSH.

Tasks only wire options to the packages; errors become exit codes in one
place (`_handled`). Run `inv --list`, `inv --help TASK`.
"""
from __future__ import annotations

import functools
import sys

from invoke import Collection, Exit, task

from fleet.errors import DockmoveError, HostsFailed
from fleet.inventory import load_inventory
from fleet.selection import select

INVENTORY_HELP = ("inventory file (default: $DOCKMOVE_INVENTORY, else the lab's "
                  ".lab/hosts.yaml)")


def _handled(fn):
    """DockmoveError -> its message on stderr and its exit code; Ctrl-C -> 130."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DockmoveError as e:
            raise Exit(f"error: {e}", code=e.exit_code) from None
        except KeyboardInterrupt:
            raise Exit("interrupted", code=130) from None
    return wrapper


# --- hosts ----------------------------------------------------------------

@task(name="list", default=True, help={
    "host": "hosts to query: names, groups, all (default) or user@address:port",
    "inventory": INVENTORY_HELP})
@_handled
def hosts_list(c, host="all", inventory=None):
    """Show inventory hosts: ssh, sudo, OS and Docker engine (in parallel)."""
    from fleet.survey import survey_table
    inv = load_inventory(inventory)
    table, failed = survey_table(inv, select(inv, host))
    print(table)
    if failed:
        raise HostsFailed(failed)


@task(name="trust", help={
    "name": "inventory host (or user@address:port) whose key to record",
    "fingerprint": "the SHA256:... fingerprint you expect (checked before recording)",
    "yes": "record the key shown without asking",
    "inventory": INVENTORY_HELP})
@_handled
def hosts_trust(c, name, fingerprint=None, yes=False, inventory=None):
    """Record a host's SSH key in known_hosts after you checked its fingerprint."""
    from fleet.trust import trust
    inv = load_inventory(inventory)
    confirm = (lambda q: True) if yes else _ask
    for h in select(inv, name):
        r = trust(h, inv.settings, expected=fingerprint, confirm=confirm)
        verb = "recorded in" if r.recorded else "already in"
        print(f"{r.host}: {r.key_type} {r.fingerprint} {verb} {r.file}")


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


# --- lab ------------------------------------------------------------------

@task(name="up", help={
    "rebuild": "build the lab images again (and recreate the hosts)",
    "fresh": "recreate the hosts from the cached images (their state is lost)"})
@_handled
def lab_up(c, rebuild=False, fresh=False):
    """Start the lab: hosts old (docker.io, the seed's apache-cont) and new."""
    from lab.config import LabConfig
    from lab.lab import up
    up(LabConfig.from_env(), rebuild=rebuild, fresh=fresh)


@task(name="status")
@_handled
def lab_status(c):
    """Show the lab's hosts, addresses and Docker engines."""
    from lab.config import LabConfig
    from lab.lab import render_status, status
    print(render_status(status(LabConfig.from_env())))


@task(name="down", help={"images": "also remove the cached lab images"})
@_handled
def lab_down(c, images=False):
    """Remove the lab's hosts, volumes, network and state, nothing else."""
    from lab.config import LabConfig
    from lab.lab import down
    down(LabConfig.from_env(), images=images)


hosts = Collection("hosts")
hosts.add_task(hosts_list)
hosts.add_task(hosts_trust)

lab = Collection("lab")
lab.add_task(lab_up)
lab.add_task(lab_status)
lab.add_task(lab_down)

ns = Collection(hosts, lab)
