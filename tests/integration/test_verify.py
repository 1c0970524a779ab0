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


def test_bad_port_or_status_is_a_usage_error(lab):
    for args, words in [(["abc"], "port 'abc': expected a number from 1 to 65535"),
                        (["70000"], "port '70000': expected a number from 1 to 65535"),
                        (["9080", "--expect-status", "x"],
                         "--expect-status 'x': expected an HTTP status from 100 to 599"),
                        (["9080", "--timeout", "soon"],
                         "--timeout 'soon': expected a number of seconds")]:
        out = lab.inv("verify-port", *args, "--host", "old")
        assert out.returncode == 2, out.stdout + out.stderr
        assert words in out.stderr and "Traceback" not in out.stderr, out.stderr


# accepts, reads the request, closes without a byte: what an HTTPS port probed
# without --tls, or a proxy whose backend is down, does
SILENT = ("import socket\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
          "s.bind(('0.0.0.0', 9095)); s.listen(8)\nwhile True:\n    c, _ = s.accept(); c.recv(4096); c.close()\n")


def test_expect_fails_when_the_port_closes_without_an_answer(lab):
    import shlex
    lab.sh("old", f"setsid python3 -c {shlex.quote(SILENT)} >/dev/null 2>&1 & echo $! > /run/silent.pid; "
                  "for i in $(seq 50); do ss -Hltn | grep -q ':9095 ' && break; sleep 0.1; done")
    try:
        asked = lab.inv("verify-port", "9095", "--host", "old", "--expect", "Welcome",
                        "--timeout", "3")
        status = lab.inv("verify-port", "9095", "--host", "old", "--expect-status", "200",
                         "--timeout", "3")
        plain = lab.inv("verify-port", "9095", "--host", "old", "--timeout", "3")
    finally:
        lab.sh("old", "kill $(cat /run/silent.pid)")
    for out in (asked, status):
        assert out.returncode == 1, out.stdout + out.stderr
        assert "http      FAILED (no-answer)" in out.stdout, out.stdout
        assert "closed the connection without an answer" in out.stdout
        assert "error: old:9095 failed: http (no-answer)" in out.stderr
    # nothing asked of the answer: the port accepts, HTTP does not apply (maybe TLS)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "http      n/a" in plain.stdout and "--tls" in plain.stdout


def test_a_proxy_with_nothing_behind_it_does_not_answer(lab):
    # docker-proxy accepts on 127.0.0.1:9096 and closes at once: nothing listens inside
    lab.sh("old", "docker run -d --name deaf-local -p 127.0.0.1:9096:80 apache-test "
                  "sleep infinity >/dev/null")
    try:
        out = lab.inv("verify-port", "9096", "--host", "old", "--expect", "Welcome",
                      "--timeout", "3")
    finally:
        lab.sh("old", "docker rm -f deaf-local >/dev/null")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "tcp       FAILED (closed)" in out.stdout, out.stdout
    assert "from old itself" in out.stdout
    assert "accepted the connection and closed it without a byte" in out.stdout


def test_a_port_published_on_loopback_is_checked_from_the_host(lab):
    lab.sh("old", "docker run -d --name local-web -p 127.0.0.1:9097:80 apache-test >/dev/null; "
                  "for i in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:9097/ && break; "
                  "sleep 0.1; done")
    try:
        out = lab.inv("verify-port", "9097", "--host", "old", "--expect-status", "200")
    finally:
        lab.sh("old", "docker rm -f local-web >/dev/null")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert any(l.startswith("tcp       ok") and "from old itself: connected to 127.0.0.1:9097" in l
               for l in lines), out.stdout
    assert any(l.startswith("http      ok") and "from old itself" in l and "status 200" in l
               for l in lines), out.stdout
