"""The plain shell pipeline the tool is measured against:
`ssh SOURCE 'docker save IMAGE' | ssh TARGET 'docker load'`, with the same
OpenSSH options the tool uses for its streams (fleet.ssh_cli: the
inventory's key, the keys its known_hosts accept, StrictHostKeyChecking=yes,
BatchMode=yes),
as the same users (sudo -n where the login is not root), one pipe between the
two ssh processes and nothing else."""
from __future__ import annotations

import contextlib
import shlex
from pathlib import Path
from typing import Iterator

from fleet.inventory import Host, load_inventory
from fleet.ssh_cli import ssh_command


def _prefix(host: Host) -> str:
    return "" if host.user == "root" else "sudo -n "


@contextlib.contextmanager
def pipeline_argv(inventory: Path, source: str, target: str, image: str,
                  run: list[str] | None = None) -> Iterator[list[str]]:
    """The pipeline's argv, good inside the with block (the known_hosts
    files of its ssh processes live as long as the block). `run`: then, as
    an operator would, `docker run` with these arguments on the target."""
    inv = load_inventory(inventory)
    src, dst = inv.hosts[source], inv.hosts[target]
    then = f"{_prefix(dst)}docker run {shlex.join(run)}" if run else "true"
    with ssh_command(inv, src, f"{_prefix(src)}docker save {shlex.quote(image)}") as save, \
            ssh_command(inv, dst, f"{_prefix(dst)}docker load -q") as load, \
            ssh_command(inv, dst, then) as start:
        script = f"set -o pipefail; {shlex.join(save)} | {shlex.join(load)}"
        if run:
            script += f" && {shlex.join(start)} >/dev/null"
        yield ["bash", "-c", script]
