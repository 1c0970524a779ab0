"""Running commands on this machine: argv lists only, timed, output kept."""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass


class CommandFailed(Exception):
    def __init__(self, argv: list[str], code: int, output: str):
        self.argv, self.code, self.output = argv, code, output
        tail = "\n".join(output.strip().splitlines()[-12:])
        command = " ".join(argv).splitlines()[0][:160]
        super().__init__(f"{command} ... exited {code}:\n{tail}")


@dataclass(frozen=True)
class Done:
    code: int
    output: str          # stdout and stderr, interleaved
    seconds: float


def run(argv: list[str], *, check: bool = True, env: dict | None = None,
        cwd: str | None = None, timeout: float | None = None) -> Done:
    started = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, env=env, cwd=cwd, timeout=timeout)
    done = Done(p.returncode, p.stdout.decode(errors="replace"), time.monotonic() - started)
    if check and done.code != 0:
        raise CommandFailed(argv, done.code, done.output)
    return done
