"""Who listens on a host's ports: `ss` and Docker's port map. Parsers are pure."""
from __future__ import annotations

import re
from dataclasses import dataclass

from fleet.remote import Remote


@dataclass(frozen=True)
class Listener:
    proto: str          # tcp | udp
    address: str
    port: int
    process: str        # e.g. docker-proxy, sshd; "" when unknown
    container: str = ""


def parse_ss(text: str) -> list[Listener]:
    """`ss -H -l -n -t -u -p` lines."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5:
            continue
        m = re.match(r"^(.*):(\d+)$", parts[4])
        if not m:
            continue
        proc = re.search(r'users:\(\("([^"]+)"', line)
        out.append(Listener("udp" if parts[0].startswith("udp") else "tcp",
                            m.group(1).strip("[]"), int(m.group(2)), proc.group(1) if proc else ""))
    return out


def parse_docker_ports(text: str) -> dict[tuple[str, int], str]:
    """`docker ps --format '{{.Names}}\\t{{.Ports}}'` -> (proto, host port) -> name."""
    out = {}
    for line in text.splitlines():
        name, _, ports = line.partition("\t")
        for m in re.finditer(r"(?:[\d.]+|\[?[0-9a-f:]*\]?):(\d+)(?:-(\d+))?->\d+(?:-\d+)?/(tcp|udp)", ports):
            lo = int(m.group(1))
            hi = int(m.group(2) or lo)
            for p in range(lo, hi + 1):
                out[(m.group(3), p)] = name
    return out


def listeners(remote: Remote) -> list[Listener]:
    ss = remote.run(["ss", "-H", "-l", "-n", "-t", "-u", "-p"], sudo=True, check=False).stdout
    dps = remote.run(["sh", "-c", "command -v docker >/dev/null || exit 0; "
                      "docker ps --format '{{.Names}}\t{{.Ports}}'"], sudo=True, check=False).stdout
    by_port = parse_docker_ports(dps)
    seen = {}
    for l in parse_ss(ss):
        key = (l.proto, l.port)
        l = Listener(l.proto, l.address, l.port, l.process, by_port.get(key, ""))
        seen.setdefault((l.proto, l.port, l.process), l)
    for (proto, port), name in by_port.items():          # published without a proxy
        if not any(k[0] == proto and k[1] == port for k in seen):
            seen[(proto, port, "")] = Listener(proto, "*", port, "", name)
    return sorted(seen.values(), key=lambda l: (l.port, l.proto))
