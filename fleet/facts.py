"""Parsers for what hosts print, shared by every task. Pure."""
from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass


def parse_os_release(text: str) -> dict[str, str]:
    """/etc/os-release (shell-style KEY=value lines) to a dict."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            words = shlex.split(value)
        except ValueError:
            words = [value.strip("\"'")]
        out[key.strip()] = words[0] if words else ""
    return out


def describe_os(release: dict[str, str]) -> str:
    """`Debian 12 (bookworm)`, `Ubuntu 22.04 (jammy)`, or what is known."""
    name = release.get("NAME") or release.get("ID") or "unknown"
    version = release.get("VERSION_ID", "")
    codename = release.get("VERSION_CODENAME") or release.get("UBUNTU_CODENAME", "")
    text = f"{name} {version}".strip()
    return f"{text} ({codename})" if codename else text


@dataclass(frozen=True)
class DockerVersions:
    client: str | None
    server: str | None

    def describe(self) -> str:
        if self.server:
            return self.server
        if self.client:
            return f"client {self.client}, engine not answering"
        return "none"


# prints the JSON of `docker version`, or nothing where there is no docker
DOCKER_VERSION = ["sh", "-c",
                  "command -v docker >/dev/null || exit 0; "
                  "docker version --format '{{json .}}' 2>/dev/null || true"]


def parse_docker_version(stdout: str) -> DockerVersions:
    """Output of `docker version --format '{{json .}}'` (the JSON is printed
    even when the engine does not answer; then Server is null)."""
    stdout = stdout.strip()
    if not stdout:
        return DockerVersions(None, None)
    try:
        data = json.loads(stdout.splitlines()[0])
    except json.JSONDecodeError:
        return DockerVersions(None, None)
    client = (data.get("Client") or {}).get("Version")
    server = (data.get("Server") or {}).get("Version")
    return DockerVersions(client, server)


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
