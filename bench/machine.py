"""Facts about the machine and the versions a result was measured with."""
from __future__ import annotations

import os
import platform
import time

from .lab import PROJECT, Lab
from .shell import run


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_gib() -> float | None:
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _out(argv: list[str]) -> str:
    done = run(argv, check=False)
    return done.output.strip() if done.code == 0 else ""


def facts(lab: Lab) -> dict:
    commit = _out(["git", "-C", str(PROJECT), "rev-parse", "HEAD"])
    dirty = _out(["git", "-C", str(PROJECT), "status", "--porcelain", "--untracked-files=no"])
    return {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gib": _mem_gib(),
        "kernel": platform.release(), "os": _out(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"]),
        "python": platform.python_version(),
        "openssh": _out(["ssh", "-V"]),
        "docker_outer": _out(["docker", "version", "--format", "{{.Server.Version}}"]),
        "docker_old": lab.engine_version("old"),
        "docker_new": lab.engine_version("new"),
        "dockmove_commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "load_avg_at_start": os.getloadavg()[0],
    }
