import threading

from fleet.errors import ConnectError, DockmoveError, HostsFailed
from fleet.facts import describe_os, parse_docker_version, parse_os_release
from fleet.parallel import raise_if_failed, run_each
from fleet.secrets import is_secret_name
from fleet.terminal import table as render

DEBIAN12 = '''PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
'''
MINT = '''NAME="Linux Mint"
VERSION="21.2 (Victoria)"
ID=linuxmint
ID_LIKE="ubuntu debian"
VERSION_ID="21.2"
VERSION_CODENAME=victoria
UBUNTU_CODENAME=jammy
'''


def test_os_release():
    r = parse_os_release(DEBIAN12)
    assert r["ID"] == "debian" and r["VERSION_CODENAME"] == "bookworm"
    assert describe_os(r) == "Debian GNU/Linux 12 (bookworm)"
    m = parse_os_release(MINT)
    assert m["UBUNTU_CODENAME"] == "jammy" and m["ID_LIKE"] == "ubuntu debian"


def test_docker_version_json():
    up = parse_docker_version('{"Client":{"Version":"20.10.24+dfsg1"},"Server":{"Version":"20.10.24+dfsg1"}}')
    assert up.describe() == "20.10.24+dfsg1"
    down = parse_docker_version('{"Client":{"Version":"28.2.2"},"Server":null}')
    assert down.describe() == "client 28.2.2, engine not answering"
    assert parse_docker_version("").describe() == "none"


def test_secret_names():
    assert all(map(is_secret_name, ["DB_PASSWORD", "api_key", "GITHUB_TOKEN", "SECRET", "AWS_SECRET_ACCESS_KEY"]))
    assert not any(map(is_secret_name, ["PATH", "APACHE_RUN_USER", "KEYBOARD", "MONKEY_MODE"]))


def test_table():
    assert render(["A", "BB"], [["x", None], ["longer", 1]]).splitlines() == [
        "A       BB", "------- --", "x", "longer  1"]
    wide = "w" * 300                                   # never wrapped nor cut, at any width
    assert render(["H"], [[wide]]).splitlines()[2] == wide


def test_run_each_is_parallel_keeps_every_outcome_and_fails_once():
    barrier = threading.Barrier(3, timeout=5)   # deadlocks unless all 3 run at once

    def fn(name):
        barrier.wait()
        if name == "b":
            raise ConnectError("b: refused")
        if name == "c":
            raise RuntimeError("bug")
        return name.upper()

    out = run_each(["a", "b", "c"], fn)
    assert list(out) == ["a", "b", "c"]
    assert out["a"].value == "A" and isinstance(out["b"].error, ConnectError)
    try:
        raise_if_failed(out)
    except HostsFailed as e:
        assert set(e.failures) == {"b", "c"}
        assert isinstance(e.failures["c"], DockmoveError) and "unexpected RuntimeError" in str(e)
        assert e.exit_code == 1
    else:
        raise AssertionError("no HostsFailed")


def test_lab_hosts_never_share_this_machines_cgroup_tmpfs():
    from lab.hosts import cgroup_mounts
    v1 = ("31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
          "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
          "33 31 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
          "34 23 0:31 / /sys/kernel/debug rw - debugfs debugfs rw\n")
    assert cgroup_mounts(v1) == ("tmpfs", ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/systemd"])
    v2 = "31 23 0:28 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n"
    assert cgroup_mounts(v2) == ("cgroup2", [])


def test_a_hosts_row_counts_its_time_until_its_last_step():
    from fleet.terminal import _Row
    row = _Row()
    assert (row.line, row.took(5.0)) == ("waiting", "")
    row = row.said("reading the host", 10.0)
    assert row.took(13.0) == "3s"
    row = row.said("[11/11] credential helper: already done", 14.0)
    assert row.took(100.0) == "4s"                       # done: its clock stopped
