"""The benchmark's lab: a lab of its own (name and state folder apart from the
default lab and the tests' labs), reached through `inv lab.*` and, as root
inside the hosts, through `docker exec` on this machine's engine."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .shell import Done, run

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_NAME = "dockmove-bench"
DEFAULT_DIR = PROJECT / ".lab-bench"


@dataclass(frozen=True)
class Lab:
    name: str = DEFAULT_NAME
    dir: Path = DEFAULT_DIR
    nodes: int = 8                   # node1..nodeN besides old and new

    @property
    def inventory(self) -> Path:
        return self.dir / "hosts.yaml"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKMOVE_LAB_NAME": self.name,
                "DOCKMOVE_LAB_DIR": str(self.dir), "DOCKMOVE_INVENTORY": str(self.inventory)}

    def container(self, host: str) -> str:
        return f"{self.name}-{host}"

    def node_names(self, count: int | None = None) -> list[str]:
        return [f"node{i}" for i in range(1, (self.nodes if count is None else count) + 1)]

    # --- the project's tasks -------------------------------------------------

    def inv(self, *args: str, check: bool = True, timeout: float | None = None) -> Done:
        return run([str(PROJECT / ".venv" / "bin" / "inv"), *args], check=check,
                   env=self.env, cwd=str(PROJECT), timeout=timeout)

    def up(self) -> None:
        self.inv("lab.up", "--extra", str(self.nodes))

    def down(self) -> None:
        self.inv("lab.down")

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
        names = [self.container(h) for h in hosts]
        volumes = run(["docker", "inspect", "-f",
                       "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}",
                       *names], check=False).output.split()
        run(["docker", "rm", "-f", *names], check=False)
        if volumes:
            run(["docker", "volume", "rm", *volumes], check=False)
        self.up()
