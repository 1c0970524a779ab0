"""`inv provision` on real lab hosts: the stand-in Docker repository, a host
without Docker (`new`) and one with Debian's docker.io running the seed's
containers (`old`). The tests run in file order on a lab of their own: each
builds on the state the one before left, and says so."""
import base64
import re
import time
import urllib.request

import pytest
import yaml

from tests.hostile_keys import EVIL_BIN, armored, hostile

from .conftest import ROOT, lab_name, make_lab

pytestmark = pytest.mark.lab

# what must not change when provisioning refuses or has nothing to do
SNAPSHOT = r"""
dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Version}\n' | sort
find /etc/apt /var/lib/dockmove -type f 2>/dev/null | sort | xargs -r sha256sum
"""
FALLBACK = "/var/lib/dockmove/provision/fallback"
OFFLINE = "/etc/apt/apt.conf.d/00-test-offline"
LOCKER = ("use Fcntl; open(my $f, '>>', '/var/lib/dpkg/lock-frontend') or die; "
          "fcntl($f, F_SETLKW, pack('s s x4 q q l x4', F_WRLCK, SEEK_SET, 0, 0, 0)) or die $!; "
          "open(my $o, '>', '/tmp/locked'); print $o 'locked'; close $o; sleep 300")


@pytest.fixture(scope="module")
def plab(tmp_path_factory):
    return make_lab(lab_name("-prov"), tmp_path_factory)


def snapshot(plab, host):
    return plab.sh(host, SNAPSHOT)


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def test_dry_run_prints_the_plan_and_changes_nothing(plab):
    before = {h: snapshot(plab, h) for h in ("old", "new")}
    out = plab.inv("provision", "--host", "old,new", "--dry-run")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "old: dry run: the plan, nothing changed" in out.stdout
    assert re.search(r"old: \[6/11\] remove distro Docker packages: will change "
                     r"\(installed: docker\.io, containerd, runc", out.stdout)
    assert "old:   ii  docker.io " in out.stdout                      # dpkg -l view
    assert "new:       $ env DEBIAN_FRONTEND=noninteractive" in out.stdout
    assert {h: snapshot(plab, h) for h in ("old", "new")} == before


def inventory_with(plab, path, **docker_repo):
    """The lab's inventory with other docker_repo settings, written to `path`."""
    data = yaml.safe_load(plab.cfg.inventory_path.read_text())
    data["settings"]["docker_repo"].update(docker_repo)
    for h in data["hosts"].values():
        for key in ("identity_file", "known_hosts"):
            h[key] = str(plab.cfg.state_dir / h[key])
    path.write_text(yaml.safe_dump(data))
    return path


def test_wrong_fingerprint_aborts_before_any_change(plab, tmp_path):
    inv = inventory_with(plab, tmp_path / "hosts.yaml",
                         fingerprint="9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88")
    before = snapshot(plab, "old")
    out = plab.inv("provision", "--host", "old", inventory=inv)
    assert out.returncode == 1
    assert "WRONG FINGERPRINT" in out.stderr
    assert "expected 9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88" in out.stderr
    assert "Nothing was changed" in out.stderr
    assert snapshot(plab, "old") == before


HOSTILE_CASES = ("suffixed BEGIN line", "a PRIVATE KEY block beside it",
                 "two primary keys in one block", "trailing garbage",
                 "a truncated packet header")


def test_hostile_key_files_are_refused_and_no_byte_of_another_key_reaches_etc_apt(plab, tmp_path):
    """The repository's key URL serves Docker's (here: the lab's) key with
    another key smuggled in, as a compromised mirror could."""
    repo = _repo_host(plab)
    good = fetch(f"http://{repo}/linux/debian/gpg")
    cases = hostile(good)
    for i, case in enumerate(HOSTILE_CASES):
        data = base64.b64encode(cases[case][0].encode()).decode()
        plab.sh("repo", f"mkdir -p /srv/repo/hostile/{i}/debian && "
                        f"echo {data} | base64 -d > /srv/repo/hostile/{i}/debian/gpg")
    evil_lines = [l for l in armored(EVIL_BIN).splitlines()[3:-2] if len(l) > 40]
    before = snapshot(plab, "new")
    for i, case in enumerate(HOSTILE_CASES):
        inv = inventory_with(plab, tmp_path / f"hosts-{i}.yaml",
                             key_url=f"http://{repo}/hostile/{i}/{{distro}}/gpg")
        out = plab.inv("provision", "--host", "new", inventory=inv)
        assert out.returncode == 1, (case, out.stdout, out.stderr)
        assert f"http://{repo}/hostile/{i}/debian/gpg" in out.stderr, case
        assert cases[case][1] in out.stderr, (case, out.stderr)
        assert "Nothing was changed" in out.stderr, case
        assert "Traceback" not in out.stderr, case
        assert snapshot(plab, "new") == before, case
        found = plab.sh("new", "grep -rlF -e " + " -e ".join(f"'{l}'" for l in evil_lines)
                               + " /etc/apt || true")
        assert found.strip() == "", (case, found)


def test_held_dpkg_lock_makes_it_wait_then_fail(plab):
    plab.container("new").exec_run(["perl", "-e", LOCKER], detach=True)
    deadline = time.monotonic() + 30
    while "locked" not in plab.sh("new", "cat /tmp/locked 2>/dev/null || true"):
        assert time.monotonic() < deadline, "the lock holder did not start"
        time.sleep(0.1)
    try:
        out = plab.inv("provision", "--host", "new", "--lock-timeout", "6")
    finally:
        plab.sh("new", "pkill -x perl; rm -f /tmp/locked")
    assert out.returncode == 1
    assert "waiting for the lock /var/lib/dpkg/lock-frontend, held by process" in out.stdout
    assert "(perl)" in out.stdout
    assert "is still held by process" in out.stderr and "then run provision again" in out.stderr
    assert "step 5/11 'download Docker CE' failed; the steps after it did not run" in out.stderr


def test_ctrl_c_in_a_multi_host_run_starts_no_new_host_and_reports_each(plab):
    """One host at a time: Ctrl-C while `new` runs apt-get update lets that
    step finish, runs no further step there, and never begins `old`."""
    import os
    import signal
    import subprocess
    import sys
    before = snapshot(plab, "old")
    env = {**os.environ, "DOCKMOVE_INVENTORY": str(plab.cfg.inventory_path),
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "provision", "--host", "new,old",
                             "--parallel", "1"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("new: [3/11]"):       # the step before apt-get update ended
            break
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=300)
    output = "".join(seen) + rest
    assert proc.returncode == 130, output + err
    assert re.search(r"new: \[\d+/11\] [^:]+: not run \(interrupted\)", output), output
    assert re.search(r"^new\s+INTERRUPTED\s+new: interrupted before step \d+/11", output, re.M), output
    assert re.search(r"^old\s+NOT STARTED\s+old: not started", output, re.M), output
    assert not any(l.startswith("old: ") for l in output.splitlines())    # never began
    assert "interrupted: 2 host(s) not finished: new, old" in err
    assert "Traceback" not in err
    assert snapshot(plab, "old") == before


def test_new_gets_docker_ce_that_runs_a_container_and_a_rerun_changes_nothing(plab):
    out = plab.inv("provision", "--host", "new")          # also the re-run after the lock failure
    assert out.returncode == 0, out.stdout + out.stderr
    pk = plab.sh("new", "dpkg-query -W -f '${db:Status-Abbrev}${Package} ${Version}\\n' "
                        "docker-ce containerd.io")
    assert "ii docker-ce 5:26.1.5-1~debian.13~trixie" in pk and "ii containerd.io" in pk
    want = yaml.safe_load(plab.cfg.inventory_path.read_text())["settings"]["docker_repo"]["fingerprint"]
    keys = plab.sh("new", "gpg --show-keys --with-colons /etc/apt/keyrings/docker.asc 2>/dev/null")
    assert [l.split(":")[9] for l in keys.splitlines() if l.startswith("fpr:")][0] == \
        "".join(want.split()).upper()
    assert sum(l.startswith("pub:") for l in keys.splitlines()) == 1
    hello = plab.sh("new", "tar -C / -chf - bin/dash lib64/ld-linux-x86-64.so.2 "
                           "lib/x86_64-linux-gnu/libc.so.6 | docker import - mini >/dev/null && "
                           "docker run --rm --pull never mini /bin/dash -c 'echo hello from new'")
    assert hello.strip() == "hello from new"

    before = snapshot(plab, "new")
    again = plab.inv("provision", "--host", "new")
    assert again.returncode == 0, again.stderr
    steps = [l for l in again.stdout.splitlines() if re.match(r"new: \[\d+/\d+\]", l)]
    assert len(steps) == 11
    assert all("already done" in l or ": ok: " in l for l in steps), "\n".join(steps)
    assert snapshot(plab, "new") == before


def test_new_runs_docker_ce_under_systemd_with_compose_and_buildx_as_plugins(plab):
    """As Docker's packages leave a systemd host: the engine's socket and
    service and containerd enabled and running, compose v2 and buildx as
    CLI plugins; the engine is 26 (API 1.45), the host's journal has it."""
    units = plab.sh("new", "systemctl is-enabled docker.socket docker.service containerd.service; "
                           "systemctl is-active docker.socket docker.service containerd.service")
    assert units.split() == ["enabled"] * 3 + ["active"] * 3, units
    versions = plab.sh("new", "docker version --format '{{.Server.Version}} {{.Server.APIVersion}}'; "
                              "docker compose version; docker buildx version")
    assert versions.splitlines()[0] == "26.1.5+dfsg1 1.45", versions
    assert "Docker Compose version 2.26.1" in versions and " 0.13.1" in versions, versions
    assert "API listen on /run/docker.sock" in plab.sh("new", "journalctl -b -u docker.service --no-pager")


def test_reboot_of_the_systemd_host_is_real_and_the_engine_brings_its_containers_back(plab):
    """`--reboot` on `new`: systemd stops the units, the host boots again
    (systemd as PID 1 anew), docker.service starts at boot and starts the
    container with a restart policy; the one without is started by provision,
    which recorded it. A second run changes nothing."""
    # `mini` holds dash and libc only: a dash on an open stdin (-i) waits
    plab.sh("new", "docker rm -f always plain >/dev/null 2>&1; "
                   "docker run -d -i --name always --restart always --pull never mini /bin/dash "
                   ">/dev/null && docker run -d -i --name plain --pull never mini /bin/dash "
                   ">/dev/null && test \"$(docker ps -q | wc -l)\" = 2")
    pid1_before = plab.sh("new", "cut -d' ' -f22 /proc/1/stat")
    out = plab.inv("provision", "--host", "new", "--reboot")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "waiting for new to come back" in out.stdout
    assert re.search(r"reboot and wait for the host: changed", out.stdout)
    after = plab.sh("new", "cut -d' ' -f22 /proc/1/stat; cat /proc/1/comm; "
                           "systemctl is-system-running --wait; systemctl is-active docker.service; "
                           "docker ps --format '{{.Names}}' | sort")
    lines = after.splitlines()
    assert lines[0] != pid1_before and lines[1:4] == ["systemd", "running", "active"], after
    assert lines[4:] == ["always", "plain"], after
    before = snapshot(plab, "new")
    again = plab.inv("provision", "--host", "new")
    assert again.returncode == 0, again.stderr
    steps = [l for l in again.stdout.splitlines() if re.match(r"new: \[\d+/\d+\]", l)]
    assert all("already done" in l or ": ok: " in l for l in steps), "\n".join(steps)
    assert snapshot(plab, "new") == before
    plab.sh("new", "docker rm -f always plain >/dev/null")


def engine_state(plab, host):
    return plab.sh(host, "dpkg-query -W -f '${db:Status-Abbrev}${Package}\\n' docker.io "
                         "containerd runc docker-ce 2>/dev/null; docker ps --format '{{.Names}}' | sort")


# dpkg refuses docker-ce's .deb, and cuts apt off from every repository
REFUSE_DOCKER_CE = f"""#!/bin/sh
grep -q /docker-ce_ || exit 0
printf '%s\\n' 'Acquire::http::Proxy "http://127.0.0.1:9/";' \\
  'Acquire::https::Proxy "http://127.0.0.1:9/";' > {OFFLINE}
echo "test: refusing docker-ce" >&2
exit 1
"""


def put(plab, host, path, text, mode="644"):
    """Write `text` to `path` on a lab host (test setup)."""
    data = base64.b64encode(text.encode()).decode()
    plab.sh(host, f"echo {data} | base64 -d > {path} && chmod {mode} {path}")


def test_a_failing_install_never_leaves_the_host_without_its_engine(plab):
    """A bad --pin, then an install that fails after the distro engine was
    removed: both times old ends with docker.io running its containers."""
    before = engine_state(plab, "old")
    assert "ii docker.io" in before and "apache-cont" in before
    out = plab.inv("provision", "--host", "old", "--pin", "9.9.9-nosuch")
    assert out.returncode == 1
    assert "step 5/11 'download Docker CE' failed" in out.stderr, out.stderr
    assert "Version '9.9.9-nosuch' for 'docker-ce' was not found" in out.stderr
    assert engine_state(plab, "old") == before                # nothing was removed

    # dpkg refuses to install docker-ce (as a broken package or a full disk
    # would), and from then on no repository answers (as when the archive no
    # longer carries the installed docker.io): the way back must not need one
    hook = "/etc/apt/apt.conf.d/00-test-refuse-docker-ce"
    put(plab, "old", "/usr/local/sbin/refuse-docker-ce", REFUSE_DOCKER_CE, "755")
    put(plab, "old", hook, 'DPkg::Pre-Install-Pkgs {"/usr/local/sbin/refuse-docker-ce";};\n')
    try:
        out = plab.inv("provision", "--host", "old")
        offline = plab.sh("old", "cd /tmp && apt-get download -q docker.io 2>&1 || true")
    finally:
        plab.sh("old", f"rm -f {hook} {OFFLINE}")
    assert "Failed to fetch" in offline, offline             # it was cut off indeed
    assert out.returncode == 1
    assert "step 7/11 'install Docker CE' failed" in out.stderr, out.stdout + out.stderr
    assert "old:     putting back docker.io, containerd, runc, the engine and its containers" \
        in out.stdout
    assert "Put back as before: docker.io, containerd, runc, the engine and its containers." \
        in out.stderr
    assert engine_state(plab, "old") == before
    old = plab.addresses["old"]
    assert "Docker Custom Page" in fetch(f"http://{old}:9080/")
    assert "Volume Page" in fetch(f"http://{old}:9081/")
    version = re.search(r"ii docker\.io (\S+)", plab.sh("old", "dpkg-query -W -f "
                        "'${db:Status-Abbrev}${Package} ${Version}\\n' docker.io")).group(1)
    assert f"old:     kept for the way back: docker.io {version} (the installed version)" \
        in out.stdout, out.stdout
    assert plab.sh("old", f"stat -c %a {FALLBACK}").strip() == "700"     # kept until a good run


# dpkg hook: docker.io going back in takes the host's old daemon.json again
ACCEPT_FOR_DOCKER_IO = """#!/bin/sh
grep -q /docker.io_ || exit 0
cp -p /root/daemon.json.lab /etc/docker/daemon.json
"""


def test_an_engine_that_does_not_start_after_the_install_puts_docker_io_back(plab):
    """Docker CE installs, but its engine refuses the host's daemon.json (as
    docker-ce 24+ refuses the aufs storage driver that docker.io 20.10 ran
    on): docker.io, its engine and its containers come back. The lab's
    docker-ce is docker.io's own dockerd, so the test's daemon.json names a
    driver neither has, and a dpkg hook puts the lab's own daemon.json back
    when docker.io is installed again (docker.io "accepts" it)."""
    import json
    before = engine_state(plab, "old")
    assert "ii docker.io" in before and "apache-cont" in before
    conf = "/etc/docker/daemon.json"
    lab_conf = json.loads(plab.sh("old", f"cat {conf}"))
    hook = "/etc/apt/apt.conf.d/00-test-accept-for-docker-io"
    plab.sh("old", f"cp -p {conf} /root/daemon.json.lab")
    put(plab, "old", conf, json.dumps({**lab_conf, "storage-driver": "nosuchdriver"}))
    put(plab, "old", "/usr/local/sbin/accept-for-docker-io", ACCEPT_FOR_DOCKER_IO, "755")
    put(plab, "old", hook, 'DPkg::Pre-Install-Pkgs {"/usr/local/sbin/accept-for-docker-io";};\n')
    try:
        out = plab.inv("provision", "--host", "old")
    finally:
        plab.sh("old", f"rm -f {hook}; cmp -s /root/daemon.json.lab {conf} || "
                       f"cp -p /root/daemon.json.lab {conf}; rm -f /root/daemon.json.lab")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "step 8/11 'start the engine' failed; the steps after it did not run. " \
           "Put back as before: docker.io, containerd, runc, the engine and its containers." \
        in out.stderr, out.stdout + out.stderr
    assert "the engine did not answer in 60s" in out.stderr
    assert "old: [7/11] install Docker CE: changed" in out.stdout
    assert "old:     putting back docker.io, containerd, runc, the engine and its containers" \
        in out.stdout
    now = engine_state(plab, "old")
    assert sorted(l for l in now.splitlines() if l.startswith("ii")) == \
        ["ii containerd", "ii docker.io", "ii runc"], now
    assert now.splitlines()[-2:] == ["apache-cont", "data-cont"]
    assert plab.sh("old", "dpkg-query -W -f '${db:Status-Abbrev}${Package}\\n' 'docker-*' "
                          "containerd.io | grep '^ii' || true") == ""      # Docker CE went again
    assert json.loads(plab.sh("old", f"cat {conf}")) == lab_conf
    old = plab.addresses["old"]
    assert "Docker Custom Page" in fetch(f"http://{old}:9080/")
    assert "Volume Page" in fetch(f"http://{old}:9081/")


def test_old_moves_from_docker_io_keeping_containers_images_and_volumes(plab):
    # a leftover from an older guide, with another Signed-By
    plab.sh("old", "mkdir -p /usr/share/keyrings && echo junk > /usr/share/keyrings/docker-archive-keyring.gpg && "
                   f"echo 'deb [arch=amd64 signed-by=/usr/share/keyrings/docker-archive-keyring.gpg] "
                   f"http://{_repo_host(plab)}/linux/debian bookworm stable' "
                   "> /etc/apt/sources.list.d/docker.list")
    volume_before = plab.sh("old", "cd /var/lib/docker/volumes/app-data/_data && "
                                   "find . -printf '%p %U:%G %m %y\\n' | sort && sha256sum index.html")
    out = plab.inv("provision", "--host", "old,new")       # in parallel, with a summary
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"^old\s+changed\s+\d+\s+client 26\.1\.5", out.stdout, re.M)
    assert re.search(r"^new\s+no change\s+0\s+", out.stdout, re.M)
    assert "changed (data-cont, apache-cont; then delete " \
           "/var/lib/dockmove/provision/fallback)" in out.stdout, out.stdout
    assert plab.sh("old", f"test -e {FALLBACK} && echo left || echo gone").strip() == "gone"
    pk = plab.sh("old", "dpkg-query -W -f '${db:Status-Abbrev}${Package}\\n' docker.io docker-ce runc containerd.io")
    assert "rc docker.io" in pk and "ii docker-ce" in pk    # removed, config kept: not purged
    assert "ii runc" not in pk
    assert plab.sh("old", "ls /etc/apt/sources.list.d/; ls /usr/share/keyrings/") .count("docker") == 1
    plab.sh("old", "apt-get update -q")                         # no Conflicting values for Signed-By
    old = plab.addresses["old"]
    assert "Docker Custom Page" in fetch(f"http://{old}:9080/")
    assert "Volume Page" in fetch(f"http://{old}:9081/")
    assert "apache-test" in plab.sh("old", "docker images --format '{{.Repository}}'")
    assert plab.sh("old", "cd /var/lib/docker/volumes/app-data/_data && "
                          "find . -printf '%p %U:%G %m %y\\n' | sort && sha256sum index.html") == volume_before


def _repo_host(plab):
    data = yaml.safe_load(plab.cfg.inventory_path.read_text())
    return data["settings"]["docker_repo"]["base_url"].split("//")[1].split("/")[0]


def test_broken_credential_helper_is_replaced_and_diverted(plab):
    data = yaml.safe_load(plab.cfg.inventory_path.read_text())
    sha = data["settings"]["credential_helper"]["sha256"]
    plab.sh("old", f"curl -fsS -o /tmp/old.deb http://{_repo_host(plab)}/extra/"
                   "golang-docker-credential-helpers_0.6.1+lab-1_amd64.deb && "
                   "dpkg -i /tmp/old.deb >/dev/null")
    out = plab.inv("provision", "--host", "old")
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"credential helper: changed \(golang-docker-credential-helpers 0\.6\.1\+lab-1 "
                     r"aborts docker build", out.stdout)
    state = plab.sh("old", "dpkg-divert --list /usr/bin/docker-credential-secretservice; "
                           "sha256sum /usr/bin/docker-credential-secretservice; "
                           "stat -c '%a %U' /usr/bin/docker-credential-secretservice; "
                           "ls /usr/bin/docker-credential-secretservice.org; "
                           "/usr/bin/docker-credential-secretservice version")
    assert "local diversion of /usr/bin/docker-credential-secretservice to " \
           "/usr/bin/docker-credential-secretservice.org" in state
    assert sha in state and "755 root" in state and "0.6.4" in state
    again = plab.inv("provision", "--host", "old")
    assert "credential helper: already done" in again.stdout


def test_upgrade_users_and_reboot_bring_the_host_and_its_containers_back(plab):
    boot_before = plab.sh("old", "cut -d' ' -f22 /proc/1/stat")
    out = plab.inv("provision", "--host", "old", "--upgrade", "--users", "admin", "--reboot")
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"docker group: changed \(adding admin; they must log in again", out.stdout)
    assert re.search(r"apt full-upgrade and autoremove: (changed|already done)", out.stdout)
    assert "waiting for old to come back" in out.stdout
    assert re.search(r"reboot and wait for the host: changed", out.stdout)
    assert plab.sh("old", "cut -d' ' -f22 /proc/1/stat") != boot_before     # it did restart
    assert "docker" in plab.sh("old", "id -nG admin").split()
    old = plab.addresses["old"]
    assert "Docker Custom Page" in fetch(f"http://{old}:9080/")              # started again
    again = plab.inv("provision", "--host", "old", "--users", "admin")
    assert "docker group: already done (admin already in it)" in again.stdout


def test_a_signal_while_the_distro_engine_is_removed_still_ends_with_an_engine_and_containers(plab):
    """SIGTERM (a killed job) while apt removes docker.io: the new engine is
    installed and started and the containers come back before the run stops;
    a second run finishes. old first gets docker.io back (the tests before
    moved it to Docker CE), without recommends, as the lab needs."""
    import os
    import signal
    import subprocess
    import sys
    plab.sh("old", "set -e; "
                   "if ! dpkg-query -W -f '${db:Status-Abbrev}' docker.io 2>/dev/null | grep -q '^ii'; then "
                   "apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                   "--no-install-recommends -o Dpkg::Options::=--force-confold "
                   "docker.io containerd runc >/dev/null; fi; "
                   "chmod 0755 /etc/init.d/docker; docker info >/dev/null 2>&1 || service docker start; "
                   "for i in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done; "
                   "docker start apache-cont data-cont >/dev/null")
    assert "ii docker.io" in engine_state(plab, "old")
    env = {**os.environ, "DOCKMOVE_INVENTORY": str(plab.cfg.inventory_path),
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "provision", "--host", "old", "-v"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, stdin=subprocess.DEVNULL)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if re.match(r"old:\s+\$ .*apt-get .* remove docker\.io", line):   # the removal runs
            break
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=600)
    output = "".join(seen) + rest
    assert proc.returncode == 143, output + err          # SIGTERM
    state = engine_state(plab, "old")
    assert "ii docker-ce" in state and "ii docker.io" not in state, output + err
    old = plab.addresses["old"]
    assert "Docker Custom Page" in fetch(f"http://{old}:9080/")
    assert "Volume Page" in fetch(f"http://{old}:9081/")
    assert "old: [7/11] install Docker CE: interrupted; run all the same: the distro engine is " \
           "removed, so the new one is brought up with the containers first" in output, output
    for head in ("[6/11] remove distro Docker packages", "[7/11] install Docker CE",
                 "[8/11] start the engine", "[9/11] start containers that ran before"):
        assert f"old: {head}: changed" in output, (head, output)
    assert "old: [10/11] client and engine answer: not run (interrupted)" in output
    assert re.search(r"^old\s+INTERRUPTED\s+old: interrupted before step 10/11", output, re.M), output
    assert "Traceback" not in err
    assert plab.sh("old", f"test -e {FALLBACK} && echo left || echo gone").strip() == "gone"
    again = plab.inv("provision", "--host", "old")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "old: [10/11] client and engine answer: ok: client 26.1.5" in again.stdout
