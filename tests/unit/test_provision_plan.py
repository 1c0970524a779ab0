"""Provisioning facts and plans over recorded outputs of Ubuntu and Debian
releases (hosts we cannot run here). Each case: what is parsed, and which
steps the plan changes."""
import base64
import dataclasses
import subprocess
from pathlib import Path

import pytest

from fleet.facts import DockerVersions
from fleet.inventory import CredentialHelper, DockerRepo, Settings
from provision.facts import (Fetched, Helper, HostFacts, UnsupportedHost, os_info,
                             parse_dpkg_query, parse_helper, upstream_version)
from provision.openpgp import verify
from provision.plan import (DISABLE_LINES, Options, PlanError, plan, sources_text,
                            write_file)

DATA = Path(__file__).parent / "data"
HOSTS = DATA / "hosts"
DOCKER_KEY = (DATA / "docker-apt-key.asc").read_text()
DOCKER_FPR = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"
VERIFIED_KEY = verify(DOCKER_KEY, DOCKER_FPR).armored     # what a provisioned host holds
SETTINGS = Settings()   # Docker's real URLs and fingerprint


def release(codename, archs="amd64 arm64 armhf s390x ppc64el", components="stable test"):
    return (f"Origin: Docker\nLabel: Docker\nSuite: {codename}\nCodename: {codename}\n"
            f"Architectures: {archs}\nComponents: {components}\nDescription: Docker CE\n")


def facts_for(name, **over) -> HostFacts:
    d = HOSTS / name
    os = os_info((d / "os-release").read_text())
    f = HostFacts(
        os=os, arch="amd64", systemd=True,
        packages=parse_dpkg_query((d / "dpkg-query").read_text()),
        docker=DockerVersions(None, None), engine_running=False,
        running_containers=(), recorded_containers=(), apt_files={},
        docker_sources=None, docker_key=None, legacy_keys=(), fetch_tool="curl",
        repo_key=Fetched(f"https://download.docker.com/linux/{os.distro}/gpg", DOCKER_KEY),
        repo_release=Fetched("...", release(os.codename)),
        helper=Helper(False, None, "755", "0:0"), free_kb=10_000_000)
    return dataclasses.replace(f, **over)


def states(steps):
    return {s.key: s.state for s in steps}


def step(steps, key):
    return next(s for s in steps if s.key == key)


def argvs(s):
    return [list(c.argv) for c in s.commands]


@pytest.mark.parametrize("name, distro, codename", [
    ("ubuntu-18.04", "ubuntu", "bionic"), ("ubuntu-20.04", "ubuntu", "focal"),
    ("ubuntu-22.04", "ubuntu", "jammy"), ("ubuntu-24.04", "ubuntu", "noble"),
    ("mint-21.2", "ubuntu", "jammy"), ("debian-11", "debian", "bullseye"),
    ("debian-12", "debian", "bookworm")])
def test_os_release(name, distro, codename):
    os = os_info((HOSTS / name / "os-release").read_text())
    assert (os.distro, os.codename) == (distro, codename)


def test_unsupported_os_names_what_it_found():
    with pytest.raises(UnsupportedHost) as e:
        os_info((HOSTS / "fedora-40" / "os-release").read_text())
    assert "Fedora Linux 40 (Server Edition)" in str(e.value) and "ID=fedora" in str(e.value)


def test_dpkg_query_statuses():
    pk = parse_dpkg_query((HOSTS / "ubuntu-20.04" / "dpkg-query").read_text())
    assert pk["docker.io"].installed and not pk["docker-compose"].installed   # rc
    assert pk["docker.io"].dpkg_l().split() == ["ii", "docker.io", "20.10.21-0ubuntu1~20.04.2", "amd64"]
    assert not parse_dpkg_query((HOSTS / "debian-12" / "dpkg-query").read_text())["docker"].installed


@pytest.mark.parametrize("name, removed", [
    ("ubuntu-18.04", ["docker.io", "containerd", "runc"]),
    ("ubuntu-20.04", ["docker.io", "containerd", "runc"]),
    ("ubuntu-22.04", ["docker.io", "docker-compose-v2", "containerd", "runc"]),
    ("ubuntu-24.04", ["podman-docker", "runc"]),
    ("mint-21.2", None), ("debian-11", ["docker.io", "containerd", "runc"]),
    ("debian-12", None)])
def test_conflicting_packages_are_removed_never_purged(name, removed):
    s = step(plan(facts_for(name), SETTINGS), "remove-conflicts")
    if removed is None:
        assert s.state == "done"
        return
    assert s.state == "change"
    cmd = argvs(s)[-1]
    assert "remove" in cmd and "purge" not in cmd and "--purge" not in cmd
    assert cmd[cmd.index("remove") + 1:] == removed
    assert "/var/lib/docker stays" in s.reason


@pytest.mark.parametrize("name, uri, suite", [
    ("ubuntu-18.04", "https://download.docker.com/linux/ubuntu", "bionic"),
    ("mint-21.2", "https://download.docker.com/linux/ubuntu", "jammy"),
    ("debian-11", "https://download.docker.com/linux/debian", "bullseye")])
def test_deb822_source_for_the_detected_distro(name, uri, suite):
    f = facts_for(name)
    text = sources_text(f, SETTINGS)
    assert text == (f"Types: deb\nURIs: {uri}\nSuites: {suite}\nComponents: stable\n"
                    "Architectures: amd64\nSigned-By: /etc/apt/keyrings/docker.asc\n")
    assert step(plan(f, SETTINGS), "repository").state == "change"


def test_fresh_host_plan_in_order():
    steps = plan(facts_for("debian-12"), SETTINGS)
    assert [s.key for s in steps] == ["clean-sources", "key", "repository", "apt-update",
                                      "download", "remove-conflicts", "install", "engine",
                                      "containers", "verify", "credential-helper"]
    install = argvs(step(steps, "install"))[0]
    assert install[-5:] == ["docker-ce", "docker-ce-cli", "containerd.io",
                            "docker-buildx-plugin", "docker-compose-plugin"]
    assert step(steps, "install").commands[0].apt
    env = dict(step(steps, "install").commands[0].env)
    assert env["DEBIAN_FRONTEND"] == "noninteractive" and env["NEEDRESTART_SUSPEND"] == "1"
    assert "Dpkg::Options::=--force-confold" in install
    # the socket too, as Docker's own postinst enables it (docker.service requires it)
    assert argvs(step(steps, "engine"))[0] == ["systemctl", "enable", "--now", "docker.socket", "docker.service"]
    probe = step(steps, "engine").probe.argv[-1]
    assert "systemctl is-active --quiet docker.socket docker.service" in probe
    assert "systemctl is-enabled --quiet docker.socket docker.service" in probe


def test_without_systemd_the_init_script_starts_the_engine():
    s = step(plan(facts_for("debian-12", systemd=False), SETTINGS), "engine")
    assert "service docker start" in argvs(s)[0][-1]
    # the probe must fail while no engine answers: `docker info --format` of
    # CLI 23+ exits 0 then (the error goes into the template), `docker
    # version` does not
    assert list(s.probe.argv) == ["docker", "version", "--format", "{{.Server.Version}}"]


def installed_state(name="debian-12", **over):
    f = facts_for(name)
    pk = dict(f.packages)
    for n, v in [("docker-ce", "5:27.3.1-1~debian.12~bookworm"), ("docker-ce-cli", "5:27.3.1-1~debian.12~bookworm"),
                 ("containerd.io", "1.7.22-1"), ("docker-buildx-plugin", "0.17.1-1~debian.12~bookworm"),
                 ("docker-compose-plugin", "2.29.7-1~debian.12~bookworm")]:
        pk[n] = parse_dpkg_query(f"ii \t{n}\t{v}\tamd64\n")[n]
    f = dataclasses.replace(f, packages=pk, docker_key=VERIFIED_KEY,
                            docker=DockerVersions("27.3.1", "27.3.1"), engine_running=True,
                            running_containers=("web",))
    f = dataclasses.replace(f, docker_sources=sources_text(f, SETTINGS))
    return dataclasses.replace(f, **over)


def test_provisioned_host_needs_nothing():
    steps = plan(installed_state(), SETTINGS)
    assert {s.state for s in steps} <= {"done", "check"}, states(steps)
    assert step(steps, "containers").reason == "no running container was stopped"


def test_wrong_fingerprint_refuses_with_expected_and_found():
    settings = dataclasses.replace(SETTINGS, docker_repo=DockerRepo(fingerprint="AAAA " * 10))
    with pytest.raises(PlanError) as e:
        plan(facts_for("ubuntu-22.04"), settings)
    msg = str(e.value)
    assert "WRONG FINGERPRINT" in msg and "Nothing was changed" in msg
    assert "expected AAAA AAAA" in msg and "found    9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88" in msg


@pytest.mark.parametrize("text, words", [
    ("<html>not found</html>", "not an ASCII-armored"),
    (DOCKER_KEY + DOCKER_KEY, "refused: a second armored block"),   # nothing hides beside it
    ("<p>\n" + DOCKER_KEY, "refused: data before the armored block"),
    (DOCKER_KEY.replace("=0YYh\n", "").replace("mQINBF", "mQ!NBF"), "bad base64"),
])
def test_unusable_key_texts(text, words):
    f = facts_for("debian-12", repo_key=Fetched("u", text))
    with pytest.raises(PlanError, match=words):
        plan(f, SETTINGS)


def test_key_download_failure_and_repository_checks():
    with pytest.raises(PlanError, match="cannot download Docker's apt key .* 404"):
        plan(facts_for("debian-12", repo_key=Fetched("u", None, "curl: (22) 404")), SETTINGS)
    with pytest.raises(PlanError, match="does not publish ubuntu noble"):
        plan(facts_for("ubuntu-24.04", repo_release=Fetched("u", None, "404")), SETTINGS)
    with pytest.raises(PlanError, match="for arm64, not amd64"):
        plan(facts_for("debian-12", repo_release=Fetched("u", release("bookworm", "arm64"))), SETTINGS)
    with pytest.raises(PlanError, match="no channel 'nightly'"):
        plan(facts_for("debian-12"), dataclasses.replace(
            SETTINGS, docker_repo=DockerRepo(channel="nightly")))


def test_the_host_gets_the_verified_key_not_the_downloaded_text():
    s = step(plan(facts_for("debian-12"), SETTINGS), "key")
    assert s.state == "change" and "fingerprint 9DC8 5822" in s.reason
    path, data = argvs(s)[0][-3:-1]
    assert path == "/etc/apt/keyrings/docker.asc"
    assert base64.b64decode(data).decode() == VERIFIED_KEY != DOCKER_KEY
    # a host provisioned before holds the downloaded text: it gets the verified one
    s = step(plan(installed_state(docker_key=DOCKER_KEY), SETTINGS), "key")
    assert s.state == "change"


def test_old_sources_and_keys_are_cleaned(tmp_path):
    files = {
        "/etc/apt/sources.list.d/docker.list":
            "deb [arch=amd64 signed-by=/usr/share/keyrings/docker-archive-keyring.gpg] "
            "https://download.docker.com/linux/ubuntu jammy stable\n",
        "/etc/apt/sources.list": "deb http://archive.ubuntu.com/ubuntu jammy main\n"
                                 "deb https://download.docker.com/linux/ubuntu jammy stable\n",
    }
    f = installed_state("mint-21.2", apt_files=files,
                        legacy_keys=("/usr/share/keyrings/docker-archive-keyring.gpg",))
    s = step(plan(f, SETTINGS), "clean-sources")
    assert s.state == "change"
    cmds = argvs(s)
    assert ["rm", "-f", "--", "/etc/apt/sources.list.d/docker.list"] in cmds
    assert ["rm", "-f", "--", "/usr/share/keyrings/docker-archive-keyring.gpg"] in cmds
    assert step(plan(f, SETTINGS), "apt-update").state == "change"
    # the mixed file keeps its other lines: run the real script on a copy
    mixed = next(c for c in cmds if c[0] == "sh")
    target = tmp_path / "sources.list"
    target.write_text(files["/etc/apt/sources.list"])
    subprocess.run(["sh", "-c", DISABLE_LINES, "sh", str(target), *mixed[5:]], check=True)
    assert target.read_text() == (
        "deb http://archive.ubuntu.com/ubuntu jammy main\n"
        "# disabled by dockmove: deb https://download.docker.com/linux/ubuntu jammy stable\n")
    assert (tmp_path / "sources.list.dockmove-bak").read_text() == files["/etc/apt/sources.list"]


def test_mixed_deb822_file_is_refused():
    f = facts_for("debian-12", apt_files={"/etc/apt/sources.list.d/all.sources":
                                          "Types: deb\nURIs: https://download.docker.com/linux/debian\n\n"
                                          "Types: deb\nURIs: http://deb.debian.org/debian\n"})
    with pytest.raises(PlanError, match="beside others"):
        plan(f, SETTINGS)


def test_write_file_survives_any_content(tmp_path):
    content = "it's \"quoted\" $(not run) `nor this`\n\\ back\nünï\n"
    cmd = write_file(str(tmp_path / "sub" / "f.txt"), content, "0600")
    subprocess.run(list(cmd.argv), check=True)
    assert (tmp_path / "sub" / "f.txt").read_text() == content
    assert oct((tmp_path / "sub" / "f.txt").stat().st_mode & 0o777) == "0o600"
    assert cmd.display.startswith("write ") and "$(not run)" not in cmd.display


HELPER_SETTINGS = dataclasses.replace(SETTINGS, credential_helper=CredentialHelper(
    url="https://example.invalid/docker-credential-secretservice-v0.8.2.linux-amd64",
    sha256="ab" * 32))


def test_broken_credential_helper_is_replaced_on_bionic():
    assert upstream_version("0.5.0-2") == (0, 5, 0)
    s = step(plan(facts_for("ubuntu-18.04"), HELPER_SETTINGS), "credential-helper")
    assert s.state == "change" and "free(): invalid pointer" in s.reason
    argv = argvs(s)[0]
    assert argv[4:] == [HELPER_SETTINGS.credential_helper.url, "ab" * 32, "755", "0:0",
                        "/usr/bin/docker-credential-secretservice"]
    assert "dpkg-divert --local --rename --divert" in argv[2] and "sha256sum -c" in argv[2]


def test_credential_helper_variants():
    assert step(plan(facts_for("ubuntu-20.04"), HELPER_SETTINGS), "credential-helper").state == "done"
    assert step(plan(facts_for("ubuntu-22.04"), HELPER_SETTINGS), "credential-helper").state == "done"
    unconfigured = step(plan(facts_for("ubuntu-18.04"), SETTINGS), "credential-helper")
    assert unconfigured.state == "skip" and "settings.credential_helper.url" in unconfigured.reason
    remove = dataclasses.replace(SETTINGS, credential_helper=CredentialHelper(action="remove"))
    s = step(plan(facts_for("ubuntu-18.04"), remove), "credential-helper")
    assert argvs(s)[0][-2:] == ["remove", "golang-docker-credential-helpers"]
    replaced = facts_for("ubuntu-18.04", helper=parse_helper(
        f"diverted yes\nsha256 {'ab' * 32}\nstat 755 0:0\n"))
    assert step(plan(replaced, HELPER_SETTINGS), "credential-helper").state == "done"


def test_containers_that_ran_are_started_again_even_after_a_failed_run():
    f = facts_for("ubuntu-22.04", running_containers=("web", "db"), docker=DockerVersions("24.0.7", "24.0.7"),
                  engine_running=True)
    steps = plan(f, SETTINGS)
    remove = step(steps, "remove-conflicts")
    assert remove.commands[0].display.startswith("write /var/lib/dockmove/provision-stopped-containers")
    assert step(steps, "containers").commands[0].argv[-2:] == ("web", "db")
    # a re-run after the engine was removed: nothing runs, the record remains
    again = installed_state("debian-12", running_containers=(), engine_running=False,
                            recorded_containers=("web", "db"))
    s = step(plan(again, SETTINGS), "containers")
    assert s.state == "change" and s.commands[0].argv[-2:] == ("web", "db")
    assert step(plan(again, SETTINGS), "engine").state == "change"


def test_the_whole_install_is_downloaded_before_the_distro_engine_is_removed():
    f = facts_for("ubuntu-22.04", running_containers=("web", "db"),
                  docker=DockerVersions("24.0.7", "24.0.7"), engine_running=True)
    steps = plan(f, SETTINGS, Options(version="5:27.3.1-1~ubuntu.22.04~jammy"))
    keys = [s.key for s in steps]
    assert keys.index("download") < keys.index("remove-conflicts") < keys.index("install")
    download = argvs(step(steps, "download"))[0]
    assert download[-7:] == ["install", "--download-only", "docker-ce=5:27.3.1-1~ubuntu.22.04~jammy",
                             "docker-ce-cli=5:27.3.1-1~ubuntu.22.04~jammy", "containerd.io",
                             "docker-buildx-plugin", "docker-compose-plugin"]
    # if the install still fails, the distro engine and its containers come back
    # (from the packages kept by the download step: see the tests below)
    install = step(steps, "install")
    assert install.recover and install.recover[-1].argv[-2:] == ("web", "db")
    # nothing was removed: nothing to put back
    assert step(plan(installed_state(), SETTINGS, Options(version="5:1")), "install").recover == ()


def test_version_pin_and_hold():
    f = installed_state()
    s = step(plan(f, SETTINGS, Options(version="5:27.3.1-1~debian.12~bookworm")), "install")
    assert s.state == "change"                     # installed at that version, not held
    assert "docker-ce=5:27.3.1-1~debian.12~bookworm" in argvs(s)[0]
    assert argvs(s)[1] == ["apt-mark", "hold", "docker-ce", "docker-ce-cli"]
    held = dict(f.packages)
    for n in ("docker-ce", "docker-ce-cli"):
        held[n] = dataclasses.replace(held[n], status="hi")
    f2 = dataclasses.replace(f, packages=held)
    assert step(plan(f2, SETTINGS, Options(version="5:27.3.1-1~debian.12~bookworm")), "install").state == "done"


def test_users_and_upgrade():
    f = installed_state(groups={"alice": ("alice", "docker"), "bob": ("bob",)})
    s = step(plan(f, SETTINGS, Options(users=("alice", "bob"))), "users")
    assert argvs(s) == [["usermod", "-aG", "docker", "bob"]] and "log in again" in s.reason
    up = step(plan(f, SETTINGS, Options(upgrade=True)), "upgrade")
    assert [c[-1] for c in argvs(up)] == ["full-upgrade", "autoremove"] and up.probe is not None


# --- the way back: the removed packages saved on the host before removal ----

FALLBACK = "/var/lib/dockmove/provision/fallback"
MOVING = dict(running_containers=("web", "db"), docker=DockerVersions("24.0.7", "24.0.7"),
              engine_running=True)


def fake_apt_get(tmp_path, body):
    """An `apt-get` on PATH for the scripts run here (failure injection):
    `body` sees the last argument as $last and runs in the caller's cwd."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "apt-get").write_text('#!/bin/sh\neval last=\\${$#}\n' + body)
    (bin_dir / "apt-get").chmod(0o755)
    import os
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_the_packages_to_remove_are_saved_on_the_host_before_anything_is_removed():
    f = facts_for("ubuntu-22.04", **MOVING)
    steps = plan(f, SETTINGS)
    download = step(steps, "download")
    keys = [s.key for s in steps]
    assert keys.index("download") < keys.index("remove-conflicts")
    save = download.commands[-1]
    assert save.show and save.argv[:2] == ("sh", "-c")
    assert dict(save.env)["LC_ALL"] == "C"
    assert list(save.argv[3:6]) == ["sh", FALLBACK, "/var/cache/apt/archives"]
    triples = list(save.argv[6:])
    assert triples == ["docker.io", "24.0.7-0ubuntu2~22.04.1", "amd64",
                       "docker-compose-v2", "2.24.6+ds1-0ubuntu1~22.04.1", "amd64",
                       "containerd", "1.7.12-0ubuntu2~22.04.1", "amd64",
                       "runc", "1.1.12-0ubuntu2~22.04.1", "amd64"]
    assert FALLBACK in download.reason
    # Docker CE already there, only an old docker-compose to remove: still saved first
    lone = dict(installed_state().packages)
    lone["docker-compose"] = parse_dpkg_query("ii \tdocker-compose\t1.29.2-3\tall\n")["docker-compose"]
    steps = plan(installed_state(packages=lone), SETTINGS)
    assert states(steps)["apt-update"] == "change"           # fresh lists to download from
    assert [list(c.argv[6:]) for c in step(steps, "download").commands] == \
        [["docker-compose", "1.29.2-3", "all"]]
    # nothing to remove: nothing saved
    assert all(FALLBACK not in " ".join(c.argv) for c in step(plan(facts_for("debian-12"), SETTINGS),
                                                                  "download").commands)


def test_the_saved_packages_are_the_exact_versions_or_else_the_current_ones(tmp_path):
    save = step(plan(facts_for("ubuntu-22.04", **MOVING), SETTINGS), "download").commands[-1]
    env = fake_apt_get(tmp_path, """
case "$last" in
  docker.io=24.0.7) : > docker.io_24.0.7_amd64.deb ;;
  runc) : > runc_1.1.13_amd64.deb ;;
  *=*) echo "E: Can't find a source to download version '${last#*=}' of '${last%%=*}:amd64'" >&2; exit 100 ;;
  *) echo "E: Unable to locate package $last" >&2; exit 100 ;;
esac
""")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "containerd_1%3a1.7.2_amd64.deb").write_text("cached")
    dest = tmp_path / "a dir" / "fallback"
    run = subprocess.run([*save.argv[:3], "sh", str(dest), str(cache),
                          "docker.io", "24.0.7", "amd64", "containerd", "1:1.7.2", "amd64",
                          "runc", "1.1.12", "amd64"], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in dest.iterdir()) == [
        "containerd_1%3a1.7.2_amd64.deb", "docker.io_24.0.7_amd64.deb", "runc_1.1.13_amd64.deb"]
    assert oct(dest.stat().st_mode & 0o777) == "0o700"
    assert "docker.io 24.0.7 (the installed version)" in run.stdout
    assert "containerd 1:1.7.2 (the installed version, from apt's cache)" in run.stdout
    assert "runc 1.1.13 (the current version: the installed 1.1.12 is no longer downloadable)" \
        in run.stdout
    # a package with no .deb anywhere: the step fails, nothing is removed after it
    run = subprocess.run([*save.argv[:3], "sh", str(dest), str(cache),
                          "docker.io", "24.0.7", "amd64", "docker-engine", "17.05.0~ce-0", "amd64"],
                         env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert "docker-engine 17.05.0~ce-0: no .deb to download (E: Unable to locate package " \
           "docker-engine)" in run.stderr
    assert "nothing was removed" in run.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["docker.io_24.0.7_amd64.deb"]   # fresh folder


def test_install_and_engine_failures_put_back_the_saved_packages_without_a_repository(tmp_path):
    steps = plan(facts_for("ubuntu-22.04", **MOVING), SETTINGS)
    for key in ("install", "engine"):
        s = step(steps, key)
        assert s.recover, key
        assert "docker.io" in s.recover_what and "containers" in s.recover_what
        stop, drop, back = s.recover[:3]
        # what this run installed goes first (held or not; its engine stopped
        # whatever its state, or its prerm fails), then the kept packages
        assert "systemctl stop docker.socket docker.service || true" in stop.argv[-1]
        assert list(drop.argv[-7:]) == ["remove", "--allow-change-held-packages", "docker-ce",
                                        "docker-ce-cli", "containerd.io", "docker-buildx-plugin",
                                        "docker-compose-plugin"]
        assert back.apt and dict(back.env)["DEBIAN_FRONTEND"] == "noninteractive"
        assert list(back.argv[3:5]) == ["sh", FALLBACK]
        assert list(back.argv[-4:]) == ["-o", "APT::Sandbox::User=root",     # _apt cannot read
                                        "install", "--no-install-recommends"]   # the 0700 folder
        assert FALLBACK in back.display and "--no-install-recommends" in back.display
        assert [list(c.argv) for c in s.recover[3:4]] == [["systemctl", "enable", "--now", "docker.socket", "docker.service"]]
        assert s.recover[-1].argv[-2:] == ("web", "db")
        assert f"sudo apt-get -o APT::Sandbox::User=root install --no-install-recommends " \
               f"{FALLBACK}/*.deb" in s.recover_help
    # what the command runs: apt-get with every saved .deb, from a path with a space
    env = fake_apt_get(tmp_path, 'printf "%s\\n" "$@"\n')
    saved = tmp_path / "it's saved"
    saved.mkdir()
    for n in ("docker.io_24.0.7_amd64.deb", "runc_1.1.12_amd64.deb"):
        (saved / n).write_text("")
    back = step(steps, "install").recover[2]
    run = subprocess.run([*back.argv[:4], str(saved), *back.argv[5:]], env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-4:] == ["install", "--no-install-recommends",
                                            f"{saved}/docker.io_24.0.7_amd64.deb",
                                            f"{saved}/runc_1.1.12_amd64.deb"]
    empty = tmp_path / "empty"
    empty.mkdir()
    run = subprocess.run([*back.argv[:4], str(empty), *back.argv[5:]], env=env,
                         capture_output=True, text=True)
    assert run.returncode != 0 and f"no saved packages in {empty}" in run.stderr


def test_from_the_removal_to_the_containers_the_engine_change_is_held():
    steps = plan(facts_for("ubuntu-22.04", **MOVING), SETTINGS)
    assert [s.key for s in steps if s.hold] == ["remove-conflicts", "install", "engine", "containers"]
    assert not any(s.hold for s in plan(installed_state(), SETTINGS))
    fresh = plan(facts_for("debian-12"), SETTINGS)           # nothing removed: nothing to hold
    assert not any(s.hold for s in fresh)


def test_the_saved_packages_are_deleted_only_after_the_containers_started():
    s = step(plan(facts_for("ubuntu-22.04", **MOVING), SETTINGS), "containers")
    assert s.commands[0].argv[-2:] == ("web", "db")
    assert list(s.commands[-1].argv) == ["rm", "-rf", "--", FALLBACK]
    assert FALLBACK in s.reason
    # a folder left by an earlier run that stopped halfway goes with the next good run
    left = step(plan(installed_state(fallback_left=True), SETTINGS), "containers")
    assert left.state == "change" and [list(c.argv) for c in left.commands] == \
        [["rm", "-rf", "--", FALLBACK]]
    # nothing saved: nothing to delete
    assert all(FALLBACK not in " ".join(c.argv)
               for c in step(plan(facts_for("debian-12"), SETTINGS), "containers").commands)


def test_the_way_back_never_removes_a_docker_ce_that_was_there_before():
    """A --pin change on a host with Docker CE and the distro's docker-compose
    (second review: the recovery removed the installed docker-ce and put back
    only docker-compose, leaving no engine)."""
    f = installed_state()
    pk = dict(f.packages)
    pk["docker-compose"] = parse_dpkg_query("ii \tdocker-compose\t1.29.2-3\tall\n")["docker-compose"]
    f = dataclasses.replace(f, packages=pk)
    steps = plan(f, SETTINGS, Options(version="5:27.4.0-1~debian.12~bookworm"))
    install = step(steps, "install")
    assert install.state == "change" and install.recover
    removals = [list(c.argv) for c in install.recover if "remove" in c.argv]
    assert all("docker-ce" not in a and "docker-ce-cli" not in a for a in removals), removals


def test_a_debian_13_host_with_distro_docker_keeps_its_split_packages_for_the_way_back():
    """Debian 13 split the client (docker-cli) and ships buildx and compose v2
    as packages of their own, which Docker CE's packages replace: they are
    removed by name and kept as .deb files like docker.io, not removed
    silently by apt's conflict resolution (no way back for them)."""
    f = facts_for("debian-13", **MOVING)
    assert f.os.codename == "trixie"
    steps = plan(f, SETTINGS)
    remove = step(steps, "remove-conflicts")
    assert argvs(remove)[-1][-7:] == ["remove", "docker.io", "docker-compose", "containerd",
                                      "runc", "docker-cli", "docker-buildx"]
    kept = step(steps, "download").commands[-1].argv
    for name in ("docker.io", "docker-cli", "docker-buildx", "docker-compose", "containerd", "runc"):
        assert name in kept, name
