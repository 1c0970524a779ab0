"""From facts and wanted state to steps. Pure: no I/O here.

A step is `change` (its commands will run), `done` (already as wanted, with
the reason) or `skip` (not asked for, or not applicable, with the reason).
A `probe` lets the executor find a step done by an earlier one (the package's
own postinst may have started the engine). Checks that must hold before
anything changes (the key's fingerprint, what the repository publishes) raise
PlanError here, so a refusal always leaves the host as it was.

Replacing the distro engine is one unit: the packages to remove are kept on
the host as .deb files (FALLBACK_DIR) before anything is removed; the steps
from the removal to the containers are `hold` (an interrupt waits until they
ran); installing Docker CE and starting its engine `recover` by putting the
kept packages back, and the folder is deleted only once the containers ran.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, replace

from fleet.errors import DockmoveError
from fleet.inventory import Settings

from .facts import (APT_CACHE, DOCKER_KEY, DOCKER_SOURCES, FALLBACK_DIR, HELPER, HELPER_PACKAGE,
                    STOPPED_LIST, HostFacts, is_docker_repo_line, key_url, parse_release,
                    repo_hosts, repo_url, upstream_version)
from .openpgp import (FingerprintError, KeyCountError, KeyFormatError, VerifiedKey, normalize,
                      spaced, verify)

# Debian 13 split the client out of docker.io (docker-cli) and packages buildx
CONFLICTS = ("docker.io", "docker-doc", "docker-compose", "docker-compose-v2",
             "podman-docker", "containerd", "runc", "docker", "docker-engine",
             "docker-cli", "docker-buildx")
PACKAGES = ("docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin",
            "docker-compose-plugin")
PINNED = ("docker-ce", "docker-ce-cli")
BROKEN_HELPER = ((0, 5, 0), (0, 6, 1))      # docker/for-linux#563, fixed in 0.6.2
APT_ENV = (("DEBIAN_FRONTEND", "noninteractive"), ("NEEDRESTART_MODE", "a"),
           ("NEEDRESTART_SUSPEND", "1"), ("LC_ALL", "C"))
APT_GET = ("apt-get", "-y", "-q", "-o", "Dpkg::Options::=--force-confdef",
           "-o", "Dpkg::Options::=--force-confold")


# comment out the lines of file $1 that name any of $2...; keep a backup
DISABLE_LINES = (
    'set -e; f=$1; shift; cp -p "$f" "$f.dockmove-bak"; '
    'for h in "$@"; do awk -v h="$h" \'!/^[[:space:]]*#/ && index($0, h) '
    '{ $0 = "# disabled by dockmove: " $0 } { print }\' "$f" > "$f.dockmove-tmp"; '
    'cat "$f.dockmove-tmp" > "$f"; rm -f "$f.dockmove-tmp"; done')


class PlanError(DockmoveError):
    """Provisioning refused before changing anything."""


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    sudo: bool = True
    env: tuple[tuple[str, str], ...] = ()
    apt: bool = False            # takes the dpkg lock: wait for it when held
    display: str | None = None   # what the user is shown instead of argv
    show: bool = False           # its output is shown under the step (what it found)


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    state: str                   # change | done | skip | check (always runs, changes nothing)
    reason: str = ""
    commands: tuple[Command, ...] = ()
    probe: Command | None = None
    notes: tuple[str, ...] = ()
    reboot: bool = False         # the executor waits for the host to come back
    recover: tuple[Command, ...] = ()   # run when this step fails: puts back what was before
    recover_what: str = ""              # what `recover` puts back, for the message
    recover_help: str = ""              # what to do by hand if `recover` fails too
    hold: bool = False           # an interrupt after a held step runs this one too (see module doc)


@dataclass(frozen=True)
class Options:
    packages: tuple[str, ...] = PACKAGES
    version: str | None = None   # pin docker-ce and docker-ce-cli (held)
    upgrade: bool = False
    users: tuple[str, ...] = ()
    reboot: bool = False


# until the engine answers, 60 s at most
ENGINE_WAIT = Command(("sh", "-c", "for i in $(seq 1 120); do docker info >/dev/null 2>&1 "
                       "&& exit 0; sleep 0.5; done; echo 'the engine did not answer in 60s' >&2; "
                       "exit 1"))


def apt(*args: str) -> Command:
    return Command(APT_GET + args, env=APT_ENV, apt=True)


def write_file(path: str, content: str, mode: str = "0644") -> Command:
    """Write `content` to `path` atomically; the bytes travel base64-encoded as
    an argument, so no quoting or stdin is involved."""
    script = ('set -e; d=$(dirname "$1"); install -d -m 0755 "$d"; '
              'printf %s "$2" | base64 -d > "$1.dockmove-tmp"; '
              'chmod "$3" "$1.dockmove-tmp"; mv -f "$1.dockmove-tmp" "$1"')
    data = base64.b64encode(content.encode()).decode()
    return Command(("sh", "-c", script, "sh", path, data, mode),
                   display=f"write {path} (mode {mode}, {len(content)} bytes)")


def sources_text(facts: HostFacts, settings: Settings) -> str:
    return (f"Types: deb\nURIs: {repo_url(settings, facts.os)}\n"
            f"Suites: {facts.os.codename}\nComponents: {settings.docker_repo.channel}\n"
            f"Architectures: {facts.arch}\nSigned-By: {DOCKER_KEY}\n")


def verified_key(facts: HostFacts, settings: Settings) -> VerifiedKey:
    """Docker's key as the host downloaded it, read strictly and checked
    against settings.docker_repo.fingerprint; what the host gets is the
    verified certificate, re-serialized, never the downloaded text."""
    url = key_url(settings, facts.os)
    fetched = facts.repo_key
    if fetched is None or fetched.text is None:
        why = fetched.error if fetched else "no curl or wget on the host"
        raise PlanError(f"cannot download Docker's apt key from {url}: {why}")
    want = normalize(settings.docker_repo.fingerprint)
    try:
        return verify(fetched.text, want)
    except FingerprintError as e:
        raise PlanError(
            f"Docker's apt key at {url} has the WRONG FINGERPRINT:\n"
            f"  expected {spaced(e.expected)} (settings.docker_repo.fingerprint)\n"
            f"  found    {spaced(e.found)}\n"
            "  Nothing was changed. If the repository really rotated its key, "
            "check the new fingerprint from a trusted source and update the setting.") from None
    except KeyCountError as e:
        raise PlanError(f"the key file at {url} holds {len(e.fingerprints)} primary keys "
                        f"({', '.join(spaced(f) for f in e.fingerprints) or 'none'}); exactly "
                        "one is expected. Nothing was changed.") from None
    except KeyFormatError as e:
        raise PlanError(f"the key at {url} is refused: {e}. Nothing was changed; "
                        "Docker publishes exactly one armored public key there, so "
                        "whoever serves this file (a mirror, a proxy) may be tampering "
                        "with it.") from None


def check_repository(facts: HostFacts, settings: Settings) -> None:
    url = f"{repo_url(settings, facts.os)}/dists/{facts.os.codename}/Release"
    fetched = facts.repo_release
    if fetched is None or fetched.text is None:
        why = fetched.error if fetched else "no curl or wget on the host"
        raise PlanError(f"the repository does not publish {facts.os.distro} "
                        f"{facts.os.codename}: GET {url} failed ({why})")
    rel = parse_release(fetched.text)
    if facts.arch not in rel.get("Architectures", []):
        raise PlanError(f"the repository publishes {facts.os.codename} for "
                        f"{', '.join(rel.get('Architectures', [])) or 'no architecture'}, "
                        f"not {facts.arch} ({url})")
    channel = settings.docker_repo.channel
    if channel not in rel.get("Components", []):
        raise PlanError(f"the repository has no channel {channel!r} for "
                        f"{facts.os.codename} (it has {', '.join(rel.get('Components', []))})")


# into folder $1 (made anew, 0700): one .deb for each package named by the
# NAME VERSION ARCH triples after $2, as installed: from apt's cache $2, else
# downloaded at that version, else the current version; a line each, saying which
SAVE_REMOVED = r'''set -u
dir=$1 cache=$2; shift 2
rm -rf "$dir" && (umask 077 && mkdir -p "$dir") && chmod 0700 "$dir" && cd "$dir" || exit 1
missing=
while [ $# -ge 3 ]; do
  n=$1 v=$2 a=$3; shift 3
  deb=$(printf '%s_%s_%s.deb' "$n" "$v" "$a" | sed 's/:/%3a/g')
  if [ -f "$cache/$deb" ] && cp "$cache/$deb" .; then
    echo "kept for the way back: $n $v (the installed version, from apt's cache)"
  elif apt-get download -q -o APT::Sandbox::User=root "$n=$v" >/dev/null 2>.err; then
    echo "kept for the way back: $n $v (the installed version)"
  elif apt-get download -q -o APT::Sandbox::User=root "$n" >/dev/null 2>.err; then
    for f in "$n"_*.deb; do got=${f#"$n"_}; got=${got%_*.deb}; done
    got=$(printf %s "$got" | sed 's/%3a/:/g')
    echo "kept for the way back: $n $got (the current version: the installed $v is no longer downloadable)"
  else
    echo "$n $v: no .deb to download ($(tail -n 1 .err))" >&2
    missing="$missing $n"
  fi
done
rm -f .err
if [ -n "$missing" ]; then
  echo "no way back for:$missing if Docker CE failed, so nothing was removed. Remove" \
       "them by hand (apt-get remove) if you will not need them again, then run provision again" >&2
  exit 1
fi'''

# apt-get (the words after $1) with every .deb in folder $1
REINSTALL = ('d=$1; shift; for f in "$d"/*.deb; do [ -e "$f" ] || { echo "no saved packages '
             'in $d" >&2; exit 1; }; set -- "$@" "$f"; done; exec "$@"')


def save_removed(facts: HostFacts, names: list[str]) -> Command:
    """Keep the packages about to be removed, as .deb files in FALLBACK_DIR."""
    triples = [w for n in names for w in (n, facts.installed(n).version,
                                          facts.installed(n).arch or facts.arch)]
    return Command(("sh", "-c", SAVE_REMOVED, "sh", FALLBACK_DIR, APT_CACHE, *triples),
                   env=APT_ENV, show=True,
                   display=f"keep {', '.join(names)} in {FALLBACK_DIR} (0700): apt-get download "
                           "NAME=VERSION as installed, else the current NAME")


def reinstall_saved() -> Command:
    """Install the kept packages again, from their files: no repository needed.
    apt reads them as root: its sandbox user _apt cannot enter the 0700 folder."""
    return Command(("sh", "-c", REINSTALL, "sh", FALLBACK_DIR, *APT_GET,
                    "-o", "APT::Sandbox::User=root", "install", "--no-install-recommends"),
                   env=APT_ENV, apt=True,
                   display=f"apt-get install --no-install-recommends {FALLBACK_DIR}/*.deb")


def _remove_conflicts(facts: HostFacts) -> Step:
    found = [n for n in CONFLICTS if facts.installed(n)]
    if not found:
        return Step("remove-conflicts", "remove distro Docker packages", "done",
                    "none of " + ", ".join(CONFLICTS[:3]) + " & co. is installed")
    commands = [apt("remove", *found)]
    if facts.running_containers:
        commands.insert(0, write_file(STOPPED_LIST, "\n".join(facts.running_containers) + "\n",
                                      "0600"))
    return Step("remove-conflicts", "remove distro Docker packages", "change",
                f"installed: {', '.join(found)}; removed, not purged: /var/lib/docker stays",
                tuple(commands))


def _clean_sources(facts: HostFacts, settings: Settings) -> Step:
    hosts = repo_hosts(settings)
    commands = []
    notes = []
    for path, text in sorted(facts.apt_files.items()):
        lines = [l.strip() for l in text.splitlines()
                 if l.strip() and not l.strip().startswith("#")]
        if path.endswith(".sources"):
            uris = [l for l in lines if l.startswith("URIs:")]
            if not all(is_docker_repo_line(l, hosts) for l in uris):
                raise PlanError(f"{path} names Docker's repository beside others; "
                                "remove its Docker stanza by hand, then run again")
            docker_only = True
        else:
            docker_only = all(is_docker_repo_line(l, hosts) for l in lines)
        if docker_only and path != "/etc/apt/sources.list":
            commands.append(Command(("rm", "-f", "--", path)))
            notes.append(f"remove {path}")
        else:
            commands.append(Command(("sh", "-c", DISABLE_LINES, "sh", path, *hosts)))
            notes.append(f"comment out Docker's lines in {path} (backup {path}.dockmove-bak)")
    for key in facts.legacy_keys:
        commands.append(Command(("rm", "-f", "--", key)))
        notes.append(f"remove old key {key}")
    if not commands:
        return Step("clean-sources", "remove older Docker apt sources and keys", "done",
                    "no other Docker source or key")
    return Step("clean-sources", "remove older Docker apt sources and keys", "change",
                "; ".join(notes), tuple(commands))


def _helper(facts: HostFacts, settings: Settings) -> Step:
    title = "credential helper"
    pkg = facts.installed(HELPER_PACKAGE)
    if pkg is None:
        return Step("credential-helper", title, "done", f"{HELPER_PACKAGE} is not installed")
    v = upstream_version(pkg.version)
    if not (BROKEN_HELPER[0] <= v <= BROKEN_HELPER[1]):
        return Step("credential-helper", title, "done",
                    f"{HELPER_PACKAGE} {pkg.version} is not affected by the "
                    "free(): invalid pointer bug (0.5.0-0.6.1)")
    conf = settings.credential_helper
    broken = f"{HELPER_PACKAGE} {pkg.version} aborts docker build (free(): invalid pointer)"
    if conf.action == "remove":
        return Step("credential-helper", title, "change", f"{broken}: removing it",
                    (apt("remove", HELPER_PACKAGE),))
    if facts.helper.diverted and conf.sha256 and facts.helper.sha256 == conf.sha256:
        return Step("credential-helper", title, "done",
                    f"{HELPER} already replaced by the configured release")
    if not conf.url or not conf.sha256:
        return Step("credential-helper", title, "skip",
                    f"{broken}, and no release is configured: set "
                    "settings.credential_helper.url and sha256, or action: remove")
    mode = facts.helper.mode or "755"
    owner = facts.helper.owner or "0:0"
    script = (
        'set -e; url=$1 sum=$2 mode=$3 owner=$4 dest=$5\n'
        'tmp=$(mktemp)\n'
        'trap \'rm -f "$tmp"\' EXIT\n'
        'curl -fsSL --max-time 300 -o "$tmp" "$url"\n'
        'echo "$sum  $tmp" | sha256sum -c --quiet - || { echo "sha256 mismatch for $url" >&2; exit 3; }\n'
        'if ! dpkg-divert --list "$dest" | grep -q .; then\n'
        '  dpkg-divert --local --rename --divert "$dest.org" --add "$dest"\n'
        'fi\n'
        'install -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$tmp" "$dest"\n'
        '"$dest" version')
    return Step("credential-helper", title, "change",
                f"{broken}: replacing {HELPER} with {conf.url} (sha256 checked; "
                f"the original kept as {HELPER}.org, diverted so apt keeps it there)",
                (Command(("sh", "-c", script, "sh", conf.url, conf.sha256, mode, owner, HELPER)),))


def _file_step(key: str, title: str, path: str, current: str | None, wanted: str,
               done_why: str, change_why: str) -> Step:
    if current == wanted:
        return Step(key, title, "done", f"{path} {done_why}")
    return Step(key, title, "change", f"{change_why}; writing {path}",
                (write_file(path, wanted),))


def plan(facts: HostFacts, settings: Settings, options: Options = Options()) -> list[Step]:
    key = verified_key(facts, settings)            # refusals first: nothing changed yet
    check_repository(facts, settings)
    steps = [_clean_sources(facts, settings)]

    steps.append(_file_step("key", "Docker's apt key", DOCKER_KEY, facts.docker_key, key.armored,
                            f"holds the key {spaced(settings.docker_repo.fingerprint)}",
                            f"fingerprint {spaced(settings.docker_repo.fingerprint)} checked"))
    steps.append(_file_step("repository", "Docker's apt repository", DOCKER_SOURCES,
                            facts.docker_sources, sources_text(facts, settings), "is as wanted",
                            f"{repo_url(settings, facts.os)} {facts.os.codename} "
                            f"{settings.docker_repo.channel} {facts.arch}"))

    def wanted(name: str) -> bool:
        pkg = facts.installed(name)
        if pkg is None:
            return True
        if options.version and name in PINNED:
            return pkg.version != options.version or not pkg.status.startswith("h")
        return False

    missing = [n for n in options.packages if wanted(n)]
    remove = _remove_conflicts(facts)
    removing = remove.state == "change"
    removed = [n for n in CONFLICTS if facts.installed(n)] if removing else []
    sources_changed = any(s.state == "change" for s in steps[0:3])
    if missing or sources_changed or removing:
        steps.append(Step("apt-update", "apt-get update", "change",
                          "sources changed" if sources_changed else
                          "before installing" if missing else "before keeping what is removed",
                          (apt("update"),)))
    else:
        steps.append(Step("apt-update", "apt-get update", "done", "nothing to install"))

    names = [f"{n}={options.version}" if options.version and n in PINNED else n
             for n in options.packages]
    # the whole transaction is downloaded before anything is removed: a bad
    # --pin or a broken repository stops here, with the distro engine intact;
    # and so are the packages to remove, the way back if Docker CE fails
    download = [apt("install", "--download-only", *names)] if missing else []
    why = ["the whole transaction, before anything is removed"] if missing else []
    if removing:
        download.append(save_removed(facts, removed))
        why.append(f"{', '.join(removed)} as installed, into {FALLBACK_DIR}: "
                   "the way back if Docker CE fails")
    if download:
        steps.append(Step("download", "download Docker CE", "change", "; ".join(why),
                          tuple(download)))
    else:
        steps.append(Step("download", "download Docker CE", "done", "nothing to install"))
    steps.append(replace(remove, hold=removing))

    start, probe = _start_engine(facts)
    recover: tuple[Command, ...] = ()
    if removing:
        # what this run installed goes, what it removed comes back from the
        # kept files, and nothing those would recommend today (what they
        # pulled in when first installed is still there)
        # only packages this run newly installs: a Docker CE that was there
        # already (a --pin change) stays, never removed on the way back
        fresh = [n for n in missing if facts.installed(n) is None]
        drop = (_stop_engine(facts),
                apt("remove", "--allow-change-held-packages", *fresh)) if fresh else ()
        recover = (*drop, reinstall_saved(), start, ENGINE_WAIT,
                   *_start_containers(facts.running_containers))
    back = dict(recover=recover, hold=removing,
                recover_what=(f"{', '.join(removed)}, the engine and its containers"
                              if removing else ""),
                recover_help=(f"the removed packages are kept in {FALLBACK_DIR}: sudo apt-get "
                              "-o APT::Sandbox::User=root install --no-install-recommends "
                              f"{FALLBACK_DIR}/*.deb, then start the engine") if removing else "")
    if missing:
        commands = [apt("install", *names)]
        if options.version:
            commands.append(Command(("apt-mark", "hold", *PINNED)))
        steps.append(Step("install", "install Docker CE", "change",
                          f"installing {', '.join(missing)}"
                          + (f" (pinned to {options.version}, held)" if options.version else ""),
                          tuple(commands), **back))
    else:
        steps.append(Step("install", "install Docker CE", "done",
                          f"{', '.join(options.packages)} installed", hold=removing))

    engine_changed = any(s.state == "change" for s in steps
                         if s.key in ("remove-conflicts", "install"))
    how = "systemctl" if facts.systemd else "the init script (no systemd)"
    if facts.engine_running and not engine_changed:
        steps.append(Step("engine", "start the engine", "done", "the engine answers"))
    else:
        steps.append(Step("engine", "start the engine", "change", f"via {how}",
                          (start, ENGINE_WAIT), probe=probe, **back))

    names = tuple(dict.fromkeys(facts.recorded_containers + (
        facts.running_containers if engine_changed else ())))
    # the kept packages go only once the engine and its containers run
    clean = (Command(("rm", "-rf", "--", FALLBACK_DIR)),) if removing or facts.fallback_left else ()
    if names or clean:
        why = [", ".join(names)] if names else []
        if clean:
            why.append(f"then delete {FALLBACK_DIR}" if names else
                       f"delete {FALLBACK_DIR}" + ("" if removing else " (left by an earlier run)"))
        steps.append(Step("containers", "start containers that ran before", "change",
                          "; ".join(why), _start_containers(names) + clean, hold=removing))
    else:
        steps.append(Step("containers", "start containers that ran before", "done",
                          "no running container was stopped"))

    steps.append(Step("verify", "client and engine answer", "check", "docker version",
                      (Command(("docker", "version", "--format",
                                "client {{.Client.Version}}, engine {{.Server.Version}}")),)))
    steps.append(_helper(facts, settings))

    if options.users:
        todo = [u for u in options.users if "docker" not in facts.groups.get(u, ())]
        if todo:
            steps.append(Step("users", "docker group", "change",
                              f"adding {', '.join(todo)}; they must log in again for it to apply",
                              tuple(Command(("usermod", "-aG", "docker", u)) for u in todo)))
        else:
            steps.append(Step("users", "docker group", "done",
                              f"{', '.join(options.users)} already in it"))

    if options.upgrade:
        steps.append(Step("upgrade", "apt full-upgrade and autoremove", "change",
                          "--upgrade", (apt("full-upgrade"), apt("autoremove")),
                          probe=Command(("sh", "-c", "apt-get -s full-upgrade | grep -q "
                                         "'^0 upgraded, 0 newly installed, 0 to remove'"),
                                        env=APT_ENV)))
    if options.reboot:
        steps.append(Step("reboot", "reboot and wait for the host", "change", "--reboot",
                          (record_running(), Command(("sh", "-c", REBOOT),
                                                     display="reboot (in 2 s, detached)")),
                          reboot=True))
    return steps


def _start_engine(facts: HostFacts) -> tuple[Command, Command]:
    """The command that starts and enables the engine, and the probe that
    finds it so."""
    if facts.systemd:
        # the socket too: docker.service requires it, and Docker's own
        # postinst enables both (a unit merely started would not come back
        # after a reboot)
        return (Command(("systemctl", "enable", "--now", "docker.socket", "docker.service")),
                Command(("sh", "-c", "systemctl is-active --quiet docker.socket docker.service "
                         "&& systemctl is-enabled --quiet docker.socket docker.service")))
    # docker.io's postrm leaves /etc/init.d/docker non-executable on
    # remove; the conffile then stays that way under docker-ce
    return (Command(("sh", "-c", "if [ -f /etc/init.d/docker ] && [ ! -x /etc/init.d/docker ]; "
                     "then chmod 0755 /etc/init.d/docker; fi; service docker start"),
                    display="service docker start (making /etc/init.d/docker "
                            "executable again if docker.io's removal left it not)"),
            Command(("docker", "version", "--format", "{{.Server.Version}}")))


def _stop_engine(facts: HostFacts) -> Command:
    """Stop the engine in whatever state it is, so that removing its package
    works: the init script's stop fails on a stale pid file (an engine that
    died at its start), and so would the package's prerm, which calls it."""
    if facts.systemd:
        return Command(("sh", "-c", "systemctl stop docker.socket docker.service || true"),
                       display="systemctl stop docker.socket docker.service (if running)")
    return Command(("sh", "-c", "[ ! -x /etc/init.d/docker ] || service docker stop || true"),
                   display="service docker stop (if running; clears a stale pid file)")


def _start_containers(names: tuple[str, ...]) -> tuple[Command, ...]:
    if not names:
        return ()
    script = ('failed=; for n; do docker start "$n" >/dev/null || failed="$failed $n"; done; '
              f'if [ -n "$failed" ]; then echo "could not start:$failed" >&2; exit 1; fi; '
              f'rm -f {STOPPED_LIST}')
    return (Command(("sh", "-c", script, "sh", *names), display="docker start " + " ".join(names)),)


# reboot in the background so the ssh command returns first
REBOOT = ('nohup sh -c "sleep 2; if [ -d /run/systemd/system ]; then systemctl reboot; '
          'else reboot; fi" >/dev/null 2>&1 &')


def record_running() -> Command:
    script = (f'mkdir -p "$(dirname {STOPPED_LIST})"; '
              f'docker ps --format "{{{{.Names}}}}" >> {STOPPED_LIST} 2>/dev/null || true')
    return Command(("sh", "-c", script), display=f"record running containers in {STOPPED_LIST}")


def start_recorded() -> Command:
    """After a reboot: start what ran before it."""
    script = (f'[ -s {STOPPED_LIST} ] || exit 0; failed=; '
              f'for n in $(sort -u {STOPPED_LIST}); do docker start "$n" >/dev/null || failed="$failed $n"; done; '
              f'if [ -n "$failed" ]; then echo "could not start:$failed" >&2; exit 1; fi; '
              f'rm -f {STOPPED_LIST}')
    return Command(("sh", "-c", script), display="docker start (the containers that ran before)")
