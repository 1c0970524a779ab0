"""The plain shell pipeline the tool is measured against:
`ssh SOURCE 'docker save IMAGE' | ssh TARGET 'docker load'`, with the same
OpenSSH options the tool uses for its streams (fleet.ssh_cli: the
inventory's key, its known_hosts, StrictHostKeyChecking=yes, BatchMode=yes),
as the same users (sudo -n where the login is not root), one pipe between the
two ssh processes and nothing else."""
from __future__ import annotations

import shlex
from pathlib import Path

from fleet.inventory import Host, load_inventory
from fleet.ssh_cli import ssh_argv


def _prefix(host: Host) -> str:
    return "" if host.user == "root" else "sudo -n "


def pipeline_argv(inventory: Path, source: str, target: str, image: str) -> list[str]:
    inv = load_inventory(inventory)
    src, dst = inv.hosts[source], inv.hosts[target]
    save = ssh_argv(inv, src, f"{_prefix(src)}docker save {shlex.quote(image)}")
    load = ssh_argv(inv, dst, f"{_prefix(dst)}docker load -q")
    return ["bash", "-c", f"set -o pipefail; {shlex.join(save)} | {shlex.join(load)}"]
