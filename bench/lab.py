"""The benchmark's lab: a lab of its own (name and state folder apart from the
default lab and the tests' labs), reached through `inv lab.*` and, as root
inside the hosts, through `docker exec` on this machine's engine. It has the
lab's compose stack (`inv lab.up --stack`: project shop on `old`) for the
stack scenario."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar

from lab.images import IMAGE_LABEL          # which lab image a host runs

from .shell import Done, run

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_NAME = "dockmove-bench"
DEFAULT_DIR = PROJECT / ".lab-bench"


@dataclass(frozen=True)
class Lab:
    label: ClassVar[str] = "lab"     # which pair of hosts, in the results
    name: str = DEFAULT_NAME
    dir: Path = DEFAULT_DIR
    nodes: int = 8                   # node1..nodeN besides old and new
    stack: bool = True               # old runs the compose project shop (DOCKMOVE_LAB_STACK)

    @property
    def inventory(self) -> Path:
        return self.dir / "hosts.yaml"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKMOVE_LAB_NAME": self.name,
                "DOCKMOVE_LAB_DIR": str(self.dir), "DOCKMOVE_INVENTORY": str(self.inventory),
                "DOCKMOVE_LAB_STACK": "1" if self.stack else "0"}

    def container(self, host: str) -> str:
        return f"{self.name}-{host}"

    def node_names(self, count: int | None = None) -> list[str]:
        return [f"node{i}" for i in range(1, (self.nodes if count is None else count) + 1)]

    # --- the project's tasks -------------------------------------------------

    def inv(self, *args: str, check: bool = True, timeout: float | None = None) -> Done:
        return run([str(PROJECT / ".venv" / "bin" / "inv"), *args], check=check,
                   env=self.env, cwd=str(PROJECT), timeout=timeout)

    def up(self, log: Callable[[str], None] = print) -> None:
        """`inv lab.up`. With the stack, an `old` made without it is made anew
        first (lab.up refuses to seed the stack into it): only `old`, where
        `inv lab.up --stack --fresh` would remake every host (new's engine,
        the nodes); what the benchmark made on old is made again when needed."""
        if self.stack and self.exists("old") and not self.has_stack():
            log(f"lab: {self.container('old')} was made without the compose stack; making old "
                "anew with it (its state is lost; new and the nodes are kept)")
            self._remove(["old"])
        self.inv("lab.up", "--extra", str(self.nodes))

    def ensure_stack(self, log: Callable[[str], None] = print) -> None:
        """The stack on old, for a lab that was up without it."""
        if not self.has_stack():
            self.up(log)

    def down(self) -> None:
        self.inv("lab.down", "--yes")

    # --- inside the hosts, as root ---------------------------------------------

    def sh(self, host: str, script: str, check: bool = True, timeout: float | None = None) -> Done:
        return run(["docker", "exec", self.container(host), "bash", "-c", script],
                   check=check, timeout=timeout)

    def running(self, hosts: list[str]) -> bool:
        if not self.inventory.exists():
            return False
        done = run(["docker", "inspect", "-f", "{{.State.Running}}",
                    *map(self.container, hosts)], check=False)
        return done.code == 0 and set(done.output.split()) == {"true"}

    def exists(self, host: str) -> bool:
        return run(["docker", "container", "inspect", self.container(host)],
                   check=False).code == 0

    def has_stack(self) -> bool:
        """Whether old was made from the lab's image with the stack (old-stack)."""
        done = run(["docker", "inspect", "-f", f'{{{{index .Config.Labels "{IMAGE_LABEL}"}}}}',
                    self.container("old")], check=False)
        return done.code == 0 and done.output.strip() == "old-stack"

    def has_engine(self, host: str) -> bool:
        return self.sh(host, "docker info >/dev/null 2>&1", check=False).code == 0

    def engine_version(self, host: str) -> str | None:
        done = self.sh(host, "docker version --format '{{.Server.Version}}'", check=False)
        return done.output.strip() if done.code == 0 else None

    def counters(self, host: str) -> tuple[int, int]:
        """(rx, tx) bytes of the host's eth0, its link to the lab network."""
        out = self.sh(host, "cat /sys/class/net/eth0/statistics/rx_bytes "
                            "/sys/class/net/eth0/statistics/tx_bytes").output.split()
        return int(out[0]), int(out[1])

    def recreate(self, hosts: list[str]) -> None:
        """Make hosts fresh again (their root filesystem and their engine's
        volume removed), then `inv lab.up` creates them anew and rewrites the
        inventory and known_hosts with their new addresses and keys."""
        self._remove(hosts)
        self.up()

    def _remove(self, hosts: list[str]) -> None:
        """Hosts' containers and their engines' volumes, nothing else."""
        names = [self.container(h) for h in hosts]
        volumes = run(["docker", "inspect", "-f",
                       "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}",
                       *names], check=False).output.split()
        run(["docker", "rm", "-f", *names], check=False)
        if volumes:
            run(["docker", "volume", "rm", *volumes], check=False)
