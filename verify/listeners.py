"""Who listens on a host's ports: `ss` and Docker's port map, read from the
host (the parsers are in fleet/facts.py)."""
from __future__ import annotations

from fleet.facts import Listener, parse_docker_ports, parse_ss
from fleet.remote import Remote


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
