"""`inv verify-port` and `inv ports` on the shared lab (`old` runs the seed's
apache-cont on 9080 and data-cont on 9081). A test that changes a host puts
it back."""
import json

import pytest

pytestmark = pytest.mark.lab


def test_served_port_passes_with_expected_content(lab):
    out = lab.inv("verify-port", "9080", "--host", "old", "--expect", "Docker Custom Page",
                  "--expect-status", "200")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert any(l.startswith("listener  ok") and "(container apache-cont)" in l for l in lines)
    assert any(l.startswith("http      ok") and "status 200" in l for l in lines)


def test_wrong_content_and_status_fail(lab):
    out = lab.inv("verify-port", "9080", "--host", "old", "--expect", "Some Other Page")
    assert out.returncode == 1
    assert "FAILED (content)" in out.stdout and "'Some Other Page' is not in the" in out.stdout
    out = lab.inv("verify-port", "9080", "--host", "old", "--path", "/missing", "--expect-status", "200")
    assert out.returncode == 1 and "FAILED (status)" in out.stdout and "status 404" in out.stdout


def test_closed_port_fails_as_refused(lab):
    out = lab.inv("verify-port", "9099", "--host", "old", "--timeout", "2")
    assert out.returncode == 1
    assert "nothing listens on port 9099 on old" in out.stdout
    assert "FAILED (refused)" in out.stdout and "error: old:9099 failed: listener (refused), tcp (refused)" in out.stderr


def test_plain_tcp_service_passes_with_http_not_applicable(lab):
    out = lab.inv("verify-port", "22", "--host", "old", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["passed"] is True and data["port"] == 22
    kinds = {c["name"]: (c["ok"], c["kind"]) for c in data["checks"]}
    assert kinds == {"listener": (True, "ok"), "tcp": (True, "ok"), "http": (None, "n/a")}


def test_dropped_port_fails_as_timeout_but_answers_on_the_host(lab):
    # a firewall as real ones are: loopback allowed, the rest of port 2222 dropped
    lab.sh("old", "/usr/sbin/sshd -p 2222 -o PidFile=/run/sshd-2222.pid && "
                  "iptables -I INPUT ! -i lo -p tcp --dport 2222 -j DROP")
    try:
        out = lab.inv("verify-port", "2222", "--host", "old", "--timeout", "4")
    finally:
        lab.sh("old", "iptables -D INPUT ! -i lo -p tcp --dport 2222 -j DROP; "
                      "kill $(cat /run/sshd-2222.pid)")
    assert out.returncode == 1
    assert "tcp       FAILED (timeout)" in out.stdout
    assert "a firewall drops the traffic" in out.stdout
    assert "port 2222 answers on old itself, not from here" in out.stdout


def test_ports_lists_the_seed_container(lab):
    out = lab.inv("ports", "--host", "old")
    assert out.returncode == 0, out.stderr
    rows = [l.split() for l in out.stdout.splitlines()]
    assert ["tcp", "0.0.0.0", "9080", "docker-proxy", "apache-cont"] in rows
    assert ["tcp", "0.0.0.0", "9081", "docker-proxy", "data-cont"] in rows
