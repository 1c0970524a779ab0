"""What provisioning reads from a host before it changes anything.

Parsers are pure functions over what the host printed (tested against
recorded outputs of Ubuntu and Debian releases); `gather` is the only I/O:
read-only commands, plus downloads of the repository's key and Release file
(into memory, not onto the host).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from fleet.errors import DockmoveError
from fleet.facts import DOCKER_VERSION, DockerVersions, describe_os, parse_docker_version, parse_os_release
from fleet.inventory import Settings
from fleet.remote import Remote

# `dpkg -l`'s columns, machine-readable (dpkg -l itself depends on the terminal)
DPKG_FORMAT = "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n"
DOCKER_SOURCES = "/etc/apt/sources.list.d/docker.sources"
DOCKER_KEY = "/etc/apt/keyrings/docker.asc"
HELPER = "/usr/bin/docker-credential-secretservice"
HELPER_PACKAGE = "golang-docker-credential-helpers"
# the containers that ran before the engine was replaced, kept on the host so
# that a run that stops halfway still knows what to start again
STOPPED_LIST = "/var/lib/dockmove/provision-stopped-containers"
# the distro packages provisioning removes, kept as .deb files until Docker CE
# runs: the way back needs no repository
FALLBACK_DIR = "/var/lib/dockmove/provision/fallback"
APT_CACHE = "/var/cache/apt/archives"
# every place a Docker key has been put by some guide
LEGACY_KEYS = ("/etc/apt/keyrings/docker.gpg", "/usr/share/keyrings/docker-archive-keyring.gpg",
               "/usr/share/keyrings/docker.gpg", "/etc/apt/trusted.gpg.d/docker.gpg",
               "/etc/apt/trusted.gpg.d/docker.asc", "/etc/apt/trusted.gpg.d/docker-ce.gpg",
               "/etc/apt/trusted.gpg.d/download_docker_com.gpg")


class UnsupportedHost(DockmoveError):
    pass


@dataclass(frozen=True)
class OsInfo:
    distro: str          # the repository's name for it: ubuntu | debian
    codename: str
    version: str
    pretty: str


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    status: str          # dpkg's abbreviation: ii, rc, iU, ...
    arch: str = ""

    @property
    def installed(self) -> bool:
        """Present on disk (fully or half installed); `rc` (config files
        only) and `un` are not."""
        return len(self.status) > 1 and self.status[1] not in "nc"

    def dpkg_l(self) -> str:
        return f"{self.status:<3} {self.name:<34} {self.version:<40} {self.arch}"


@dataclass(frozen=True)
class Helper:
    diverted: bool
    sha256: str | None
    mode: str | None        # octal, e.g. 755
    owner: str | None       # uid:gid


@dataclass(frozen=True)
class Fetched:
    url: str
    text: str | None
    error: str | None = None


@dataclass(frozen=True)
class HostFacts:
    os: OsInfo
    arch: str
    systemd: bool
    packages: dict[str, Package]
    docker: DockerVersions
    engine_running: bool
    running_containers: tuple[str, ...]
    recorded_containers: tuple[str, ...]    # STOPPED_LIST, left by an earlier run
    apt_files: dict[str, str]               # path -> text, files that name Docker's repo
    docker_sources: str | None              # our deb822 file, if present
    docker_key: str | None                  # /etc/apt/keyrings/docker.asc, if present
    legacy_keys: tuple[str, ...]
    fetch_tool: str | None                  # curl | wget | None
    repo_key: Fetched | None
    repo_release: Fetched | None
    helper: Helper
    free_kb: int
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)   # user -> groups
    fallback_left: bool = False             # FALLBACK_DIR, left by an earlier run

    def installed(self, name: str) -> Package | None:
        p = self.packages.get(name)
        return p if p and p.installed else None


# --- parsers ----------------------------------------------------------------

def os_info(release_text: str) -> OsInfo:
    """Ubuntu, Debian, and their derivatives (by ID_LIKE; an Ubuntu derivative
    names its base release in UBUNTU_CODENAME)."""
    r = parse_os_release(release_text)
    ids = [r.get("ID", "")] + r.get("ID_LIKE", "").split()
    pretty = r.get("PRETTY_NAME") or describe_os(r)
    if "ubuntu" in ids:
        distro = "ubuntu"
        codename = r.get("UBUNTU_CODENAME") or r.get("VERSION_CODENAME", "")
    elif "debian" in ids:
        distro = "debian"
        codename = r.get("VERSION_CODENAME", "")
        if r.get("ID") != "debian" and r.get("DEBIAN_CODENAME"):
            codename = r["DEBIAN_CODENAME"]
    else:
        raise UnsupportedHost(
            f"unsupported OS {pretty!r} (ID={r.get('ID', '?')}): provisioning "
            "knows Ubuntu, Debian and their derivatives")
    if not codename:
        raise UnsupportedHost(f"{pretty!r}: /etc/os-release names no codename "
                              "(VERSION_CODENAME / UBUNTU_CODENAME)")
    return OsInfo(distro, codename, r.get("VERSION_ID", ""), pretty)


def parse_dpkg_query(text: str) -> dict[str, Package]:
    out = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        status, name, version = parts[0].strip(), parts[1], parts[2]
        arch = parts[3] if len(parts) > 3 else ""
        out[name] = Package(name, version, status, arch)
    return out


def upstream_version(debian_version: str) -> tuple[int, ...]:
    """`1:0.6.1+ds1-1ubuntu0.1` -> (0, 6, 1)."""
    v = debian_version.split(":", 1)[-1]
    m = re.match(r"(\d+(?:\.\d+)*)", v)
    return tuple(int(x) for x in m.group(1).split(".")) if m else ()


def parse_release(text: str) -> dict[str, list[str]]:
    """The fields of a Release file that say what it publishes."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        for key in ("Suite", "Codename", "Architectures", "Components"):
            if line.startswith(key + ":"):
                out[key] = line.split(":", 1)[1].split()
    return out


def parse_helper(text: str) -> Helper:
    """Output of HELPER_PROBE: `diverted yes|no`, `sha256 HEX`, `stat MODE UID:GID`."""
    values = dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
    stat = values.get("stat", "").split()
    return Helper(diverted=values.get("diverted") == "yes",
                  sha256=values.get("sha256") or None,
                  mode=stat[0] if stat else None,
                  owner=stat[1] if len(stat) > 1 else None)


def is_docker_repo_line(line: str, hosts: tuple[str, ...]) -> bool:
    line = line.strip()
    if not line or line.startswith("#"):
        return False
    return any(h in line for h in hosts)


# --- gathering (read only) --------------------------------------------------

HELPER_PROBE = f"""
if dpkg-divert --list {HELPER} | grep -q .; then echo "diverted yes"; else echo "diverted no"; fi
if [ -e {HELPER} ]; then
  echo "sha256 $(sha256sum {HELPER} | cut -d' ' -f1)"
  echo "stat $(stat -c '%a %u:%g' {HELPER})"
fi
"""

APT_FILES = """
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  for h in "$@"; do
    if grep -v '^[[:space:]]*#' "$f" | grep -qF "$h"; then printf '%s\\0' "$f"; cat "$f"; printf '\\0'; break; fi
  done
done
"""


def repo_hosts(settings: Settings) -> tuple[str, ...]:
    """Strings that identify Docker's repository in apt source files."""
    base = settings.docker_repo.base_url
    host = re.sub(r"^[a-z]+://", "", base).split("/")[0]
    return tuple(dict.fromkeys([host, "download.docker.com"]))


def key_url(settings: Settings, os: OsInfo) -> str:
    return settings.docker_repo.key_url.replace("{distro}", os.distro)


def repo_url(settings: Settings, os: OsInfo) -> str:
    return f"{settings.docker_repo.base_url.rstrip('/')}/{os.distro}"


def _fetch(remote: Remote, tool: str | None, url: str) -> Fetched | None:
    if tool is None:
        return None
    argv = ["curl", "-fsSL", "--max-time", "60", url] if tool == "curl" else \
        ["wget", "-q", "-T", "60", "-O", "-", url]
    r = remote.run(argv, check=False)
    if r.ok:
        return Fetched(url, r.stdout)
    return Fetched(url, None, (r.stderr.strip() or f"exit {r.exit_code}").splitlines()[-1])


def gather(remote: Remote, settings: Settings, users: tuple[str, ...] = ()) -> HostFacts:
    def out(argv, sudo=False):
        return remote.run(argv, sudo=sudo).stdout

    def ok(argv, sudo=False):
        return remote.run(argv, sudo=sudo, check=False).ok

    os = os_info(out(["cat", "/etc/os-release"]))
    arch = out(["dpkg", "--print-architecture"]).strip()
    systemd = ok(["test", "-d", "/run/systemd/system"])
    packages = parse_dpkg_query(out(["dpkg-query", "-W", "-f", DPKG_FORMAT]))
    docker_out = remote.run(DOCKER_VERSION, sudo=True, check=False).stdout
    versions = parse_docker_version(docker_out)
    running: tuple[str, ...] = ()
    if versions.server:
        ps = remote.run(["docker", "ps", "--format", "{{.Names}}"], sudo=True, check=False)
        running = tuple(ps.stdout.split()) if ps.ok else ()
    recorded = remote.run(["cat", STOPPED_LIST], sudo=True, check=False)
    fallback_left = remote.run(["test", "-d", FALLBACK_DIR], sudo=True, check=False).ok
    raw = remote.run(["sh", "-c", APT_FILES, "sh", *repo_hosts(settings)], check=False).stdout
    chunks = raw.split("\0")
    apt_files = {chunks[i]: chunks[i + 1] for i in range(0, len(chunks) - 1, 2)}
    sources = remote.run(["cat", DOCKER_SOURCES], check=False)
    key = remote.run(["cat", DOCKER_KEY], check=False)
    legacy = remote.run(["sh", "-c", 'for f in "$@"; do [ -e "$f" ] && echo "$f"; done; true',
                         "sh", *LEGACY_KEYS], check=False).stdout.split()
    tool = next((t for t in ("curl", "wget") if ok(["sh", "-c", f"command -v {t}"])), None)
    repo_key = _fetch(remote, tool, key_url(settings, os))
    release = _fetch(remote, tool, f"{repo_url(settings, os)}/dists/{os.codename}/Release")
    helper = parse_helper(remote.run(["sh", "-c", HELPER_PROBE], check=False).stdout)
    df = out(["df", "-Pk", "/var/lib"]).splitlines()[-1].split()
    groups = {}
    for user in users:
        r = remote.run(["id", "-nG", user], check=False)
        groups[user] = tuple(r.stdout.split()) if r.ok else ()
    return HostFacts(
        os=os, arch=arch, systemd=systemd, packages=packages, docker=versions,
        engine_running=bool(versions.server), running_containers=running,
        recorded_containers=tuple(recorded.stdout.split()) if recorded.ok else (),
        apt_files={k: v for k, v in apt_files.items() if k != DOCKER_SOURCES},
        docker_sources=sources.stdout if sources.ok else None,
        docker_key=key.stdout if key.ok else None,
        legacy_keys=tuple(legacy), fetch_tool=tool, repo_key=repo_key,
        repo_release=release, helper=helper, free_kb=int(df[3]), groups=groups,
        fallback_left=fallback_left)


def summary(facts: HostFacts, names: tuple[str, ...]) -> list[str]:
    """What the user sees before the plan: OS, engine, and the Docker-related
    packages the way `dpkg -l` shows them."""
    lines = [f"{facts.os.pretty}, {facts.arch}, "
             f"{'systemd' if facts.systemd else 'no systemd (init scripts)'}; "
             f"Docker: {facts.docker.describe()}; free on /var/lib: {facts.free_kb // 1024} MiB"]
    shown = [p for n, p in sorted(facts.packages.items()) if n in names and p.status != "un"]
    if shown:
        lines.append("dpkg -l:")
        lines.extend("  " + p.dpkg_l() for p in shown)
    if facts.running_containers:
        lines.append("running containers: " + ", ".join(facts.running_containers))
    return lines
