"""The lab itself: real hosts, the seed's scenario, idempotent up, exact down."""
import re
import urllib.request

import docker
import pytest
import yaml

from lab.config import LABEL, LabConfig
from lab.lab import down, status, up

from .conftest import lab_name

pytestmark = pytest.mark.lab


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode()


def test_old_serves_the_seed_page_and_volume(lab):
    old = lab.addresses["old"]
    assert fetch(f"http://{old}:9080/") == (200, "<html><body><h1>Docker Custom Page</h1></body></html>\n")
    assert "Volume Page" in fetch(f"http://{old}:9081/")[1]


def test_new_is_debian_13_booted_by_systemd_and_old_debian_12_with_init_scripts(lab):
    new = lab.sh("new", "cat /proc/1/comm; . /etc/os-release; echo $VERSION_CODENAME; "
                        "systemctl is-system-running; "
                        "systemctl is-active ssh.service cron.service systemd-journald.service; "
                        "zstd --version")
    assert new.splitlines()[:6] == ["systemd", "trixie", "running", "active", "active", "active"], new
    assert "Zstandard" in new
    old = lab.sh("old", "cat /proc/1/comm; . /etc/os-release; echo $VERSION_CODENAME; "
                        "test -d /run/systemd/system && echo systemd || echo no-systemd; "
                        "docker version --format '{{.Server.Version}}'; zstd --version")
    assert old.splitlines()[:3] == ["docker-init", "bookworm", "no-systemd"], old
    assert old.splitlines()[3].startswith("20.10") and "Zstandard" in old


def test_the_stand_in_repository_publishes_docker_ce_26_for_both_releases(lab):
    repo = yaml.safe_load(lab.cfg.inventory_path.read_text())["settings"]["docker_repo"]["base_url"]
    seen = {}
    for codename in ("bookworm", "trixie"):
        index = fetch(f"{repo}/debian/dists/{codename}/stable/binary-amd64/Packages")[1]
        seen[codename] = {p["Package"]: p for p in (dict(l.split(": ", 1) for l in stanza.splitlines()
                                                        if ": " in l and not l.startswith(" "))
                                                   for stanza in index.strip().split("\n\n"))}
        assert set(seen[codename]) == {"docker-ce", "docker-ce-cli", "containerd.io",
                                       "docker-buildx-plugin", "docker-compose-plugin"}
    number = {"bookworm": 12, "trixie": 13}
    for codename, pkgs in seen.items():
        assert pkgs["docker-ce"]["Version"] == f"5:26.1.5-1~debian.{number[codename]}~{codename}"
        assert "docker.io" in pkgs["docker-ce"]["Conflicts"]
        assert pkgs["containerd.io"]["Provides"] == "containerd, runc"
        assert pkgs["docker-compose-plugin"]["Version"].startswith("2.26.1-1~")
        assert pkgs["docker-buildx-plugin"]["Version"].startswith("0.13.1-1~")
    notes = fetch(f"{repo}/debian/dists/bookworm/NOTES")[1]
    assert "containerd.io carries bookworm's own runc" in notes
    assert "trixie's runc needs glibc 2.38" in notes


def test_too_many_extra_hosts_is_a_usage_error(lab):
    out = lab.inv("lab.up", "--extra", "17")
    assert out.returncode == 2
    assert "lab: extra lab hosts: 17 is not between 0 and 16" in out.stderr


def test_status_shows_hosts_and_engines(lab):
    rows = {r.name: r for r in status(lab.cfg)}
    assert rows["old"].state == rows["new"].state == "running"
    assert rows["old"].engine.startswith("20.10")
    assert rows["new"].engine == "none"
    assert rows["old"].address == lab.addresses["old"]
    assert rows["repo"].state == "running"
    out = lab.inv("lab.status")
    assert out.returncode == 0 and lab.cfg.container("old") in out.stdout


def test_in_a_terminal_status_is_a_table_and_down_asks_first(lab):
    code, frames, final = lab.inv_in_terminal("lab.status")
    assert code == 0 and re.search(r"^old +" + re.escape(lab.cfg.container("old")), final, re.M)
    code, frames, final = lab.inv_in_terminal("lab.down", answer=("Go on? [y/N]", b"\n"))
    assert code == 1, final
    assert f"lab.down removes the lab {lab.cfg.name}, which removes or overwrites:" in final
    assert f"- lab host old ({lab.cfg.container('old')}) and all it holds" in final, final
    assert "error: not confirmed: nothing was changed" in final
    assert {r.name: r.state for r in status(lab.cfg)}["old"] == "running"
    out = lab.inv("lab.down")                               # no terminal, no --yes
    assert out.returncode == 2 and "add --yes to go on; nothing was changed" in out.stderr
    assert {r.name: r.state for r in status(lab.cfg)}["new"] == "running"


def test_up_again_keeps_hosts_and_their_state(lab):
    client = docker.from_env()
    before = {c.name: c.id for c in client.containers.list(filters={"label": f"{LABEL}={lab.cfg.name}"})}
    again = up(lab.cfg, log=lambda m: None)
    after = {c.name: c.id for c in client.containers.list(filters={"label": f"{LABEL}={lab.cfg.name}"})}
    assert again == lab.addresses and after == before
    out = lab.inv("hosts", "--host", "old")       # the rewritten state still works
    assert out.returncode == 0, out.stderr


def test_extra_hosts_of_both_releases_and_down_removes_exactly_what_its_lab_created(tmp_path):
    client = docker.from_env()
    cfg = LabConfig(name=lab_name("-down"), state_dir=tmp_path, extra=2)
    bystander = client.volumes.create(lab_name("-down-bystander"))   # same prefix, no label
    try:
        up(cfg, log=lambda m: None)
        names = {c.name for c in client.containers.list(filters={"label": f"{LABEL}={cfg.name}"})}
        assert names == {f"{cfg.name}-{h}" for h in ("old", "new", "repo", "node1", "node2")}
        release = "cat /proc/1/comm; . /etc/os-release; echo $VERSION_CODENAME"
        for node, want in (("node1", "systemd\ntrixie"), ("node2", "docker-init\nbookworm")):
            code, out = client.containers.get(cfg.container(node)).exec_run(["sh", "-c", release])
            assert (code, out.decode().strip()) == (0, want), node
        down(cfg, log=lambda m: None)
        for kind in (client.containers.list(all=True, filters={"label": f"{LABEL}={cfg.name}"}),
                     client.volumes.list(filters={"label": f"{LABEL}={cfg.name}"}),
                     client.networks.list(filters={"label": f"{LABEL}={cfg.name}"})):
            assert kind == []
        assert not cfg.inventory_path.exists()
        client.volumes.get(bystander.name)               # still there
        assert client.containers.get(f"{lab_name()}-old")   # the other lab is untouched
    finally:
        bystander.remove(force=True)
        down(cfg, log=lambda m: None)


def test_a_host_that_unmounts_its_cgroups_leaves_this_machines_alone(lab):
    """What cgroupfs-mount's removal does inside a host (cgroupfs-umount):
    unmount and rmdir every hierarchy. Run with the lab's own mount options
    in a throwaway container; this machine keeps every cgroup mount."""
    from lab.hosts import cgroup_binds, cgroup_mounts, cgroup_tmpfs
    def machine():
        with open("/proc/self/mountinfo") as f:
            return f.read()
    before = cgroup_mounts(machine())
    client = docker.from_env()
    api = client.api
    config = api.create_host_config(cap_add=["ALL"], cap_drop=["SYS_RESOURCE"],
                                    security_opt=["seccomp=unconfined", "apparmor=unconfined"],
                                    binds=cgroup_binds(), tmpfs=cgroup_tmpfs())
    image = lab.container("new").image.id
    made = api.create_container(image, command=[
        "sh", "-c", "cd /sys/fs/cgroup && for d in *; do umount $d; rmdir $d; done; ls -A"],
        host_config=config, labels=lab.cfg.labels())
    try:
        api.start(made)
        assert api.wait(made, timeout=60)["StatusCode"] == 0
        assert api.logs(made).decode().strip() == ""          # gone inside the host
    finally:
        api.remove_container(made, force=True)
    assert cgroup_mounts(machine()) == before
    client.containers.run(image, ["true"], remove=True)         # containers still start here
