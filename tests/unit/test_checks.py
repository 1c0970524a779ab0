"""What "verified" means, in its pure parts: a container's state judged over
time (up, starting, or down: exited, restarting, restarted), the published
ports with the address each is bound to, who can reach such a port, and what
the host-side probes' outputs mean. Then the probes from here against real
sockets on this machine: a port that accepts and closes without a byte does
not answer, and no HTTP answer fails a check that asked for content."""
import http.server
import socket
import threading
import time

import pytest

from migrate.checks import judge, state_of
from migrate.checks import MigrateError, answering, baseline, wait_ports
from migrate.inspected import bindings
from migrate.spec import Port, Published, RunSpec
from verify import probe
from fleet.facts import Listener
from verify.onhost import OnHost, curl_reply, route, tcp_reply
from verify.run import bound_address

T0 = "2026-12-01T10:00:00.000000001Z"
T1 = "2026-12-01T10:00:01.500000000Z"


def inspect(status="running", running=True, restarting=False, code=0, restarts=0,
            started=T0, health=None, policy="no", output=""):
    state = {"Status": status, "Running": running, "Restarting": restarting, "ExitCode": code,
             "StartedAt": started, "Error": ""}
    if health:
        state["Health"] = {"Status": health, "Log": [{"Output": output}] if output else []}
    return {"State": state, "RestartCount": restarts,
            "HostConfig": {"RestartPolicy": {"Name": policy}}}


def verdict(first, now):
    return judge(state_of(first), state_of(now))


def test_running_is_up_and_health_must_be_healthy():
    assert verdict(inspect(), inspect()) == ("up", "")
    assert verdict(inspect(health="healthy"), inspect(health="healthy")) == ("up", "")
    kind, why = verdict(inspect(health="starting"), inspect(health="unhealthy", output="db: refused\n"))
    assert kind == "starting" and why == "running, unhealthy (last check: db: refused)"


def test_a_crash_loop_is_down_whichever_moment_it_is_seen_in():
    first = inspect(policy="always")
    for now in (inspect(status="restarting", running=True, restarting=True, code=1, policy="always"),
                inspect(status="exited", running=False, code=1, policy="always"),
                inspect(restarts=1, started=T1, policy="always"),     # already running again
                inspect(started=T1, policy="always")):
        kind, why = verdict(first, now)
        assert kind == "down" and why.startswith("does not stay up: it exits and its restart "
                                                 "policy (always) starts it again"), why
    assert "restarted 2 time(s) since its start" in verdict(first, inspect(restarts=2, started=T1,
                                                                           policy="always"))[1]


def test_an_exit_without_a_restart_policy_is_down_with_its_code():
    kind, why = verdict(inspect(), inspect(status="exited", running=False, code=3))
    assert (kind, why) == ("down", "exited (code 3) right after start: it does not stay up")
    assert verdict(inspect(), None)[0] == "down"                        # removed meanwhile
    # on-failure does not restart a clean exit: that is an exit, not a loop
    assert verdict(inspect(policy="on-failure"),
                   inspect(status="exited", running=False, code=0, policy="on-failure"))[1] \
        .startswith("exited (code 0)")


def test_published_ports_keep_their_host_address_and_container_port():
    spec = RunSpec("web", "img", ports=(
        Port("80", host_port="9080"), Port("80", "tcp", "127.0.0.1", "9092"),
        Port("80", "tcp", "::1", "9093"), Port("53", "udp", "10.0.0.5", "53"),
        Port("80-81", host_port="9000-9001"), Port("7000")))
    assert spec.published() == [Published("tcp", 9080, "", "80/tcp"),
                                 Published("tcp", 9092, "127.0.0.1", "80/tcp"),
                                 Published("tcp", 9093, "::1", "80/tcp"),
                                 Published("udp", 53, "10.0.0.5", "53/udp"),
                                 Published("tcp", 9000, "", "80/tcp"), Published("tcp", 9001, "", "81/tcp")]
    inspect = {"HostConfig": {"PortBindings": {
        "80/tcp": [{"HostIp": "", "HostPort": "9080"}, {"HostIp": "127.0.0.1", "HostPort": "9092"}],
        "53/udp": [{"HostIp": "", "HostPort": "53"}], "7000/tcp": [{"HostIp": "", "HostPort": ""}]}}}
    assert bindings(inspect) == [Published("udp", 53, "", "53/udp"), Published("tcp", 9080, "", "80/tcp"),
                                 Published("tcp", 9092, "127.0.0.1", "80/tcp")]


def test_who_reaches_a_port_depends_on_the_address_it_is_bound_to():
    for bound in ("", "0.0.0.0", "*", "::", "[::]"):
        assert route(None, "192.0.2.7", bound) == (probe.HERE, "192.0.2.7")
    for bound, address in (("127.0.0.1", "127.0.0.1"), ("[::1]", "::1"), ("10.0.0.5", "10.0.0.5")):
        via, where = route(None, "192.0.2.7", bound)
        assert isinstance(via, OnHost) and where == address
    l = lambda address, proto="tcp": Listener(proto, address, 9092, "docker-proxy")  # noqa: E731
    assert bound_address([l("127.0.0.1")]) == "127.0.0.1"
    assert bound_address([l("10.0.0.5"), l("127.0.0.1")]) == "127.0.0.1"
    assert bound_address([l("127.0.0.1"), l("0.0.0.0")]) == ""         # also on every address
    assert bound_address([l("127.0.0.1", "udp")]) == "" and bound_address([]) == ""


def test_host_tcp_probe_outcomes():
    assert tcp_reply(0, "").kind == "ok"
    assert tcp_reply(4, "").kind == "closed"
    assert tcp_reply(124, "").kind == "timeout"
    r = tcp_reply(3, "bash: connect: Connection refused\nbash: /dev/tcp/127.0.0.1/9: Connection refused\n")
    assert (r.kind, r.detail) == ("refused", "Connection refused")
    assert tcp_reply(3, "bash: connect: No route to host\n").kind == "unreachable"
    assert tcp_reply(127, "bash: not found").kind == "error"


def test_host_http_probe_outcomes():
    ok = curl_reply(0, "0 200 5 " + "ab" * 32 + "\naGVsbG8=", "")
    assert (ok.kind, ok.status, ok.size, ok.sha256, ok.text) == ("ok", 200, 5, "ab" * 32, "hello")
    for rc, err, kind in ((7, "curl: (7) Failed to connect to 127.0.0.1 port 1: Couldn't connect", "refused"),
                          (52, "curl: (52) Empty reply from server", "no-answer"),
                          (56, "curl: (56) Recv failure: Connection reset by peer", "no-answer"),
                          (1, "curl: (1) Received HTTP/0.9 when not allowed", "not-http"),
                          (35, "curl: (35) OpenSSL: wrong version number", "tls"),
                          (28, "curl: (28) Operation timed out", "timeout")):
        r = curl_reply(0, f"{rc} 000 0 e3b0\n", err)
        assert (r.kind, r.detail) == (kind, err), rc
    assert "curl is not installed there" in curl_reply(127, "", "curl: not found").detail


# --- the probes from here, against real sockets on this machine


def serve(handle):
    """A TCP server on 127.0.0.1 running `handle(conn)` per connection."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)

    def loop():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            with c:
                handle(c)
    threading.Thread(target=loop, daemon=True).start()
    return s


@pytest.fixture
def server():
    made = []
    yield lambda handle: made.append(serve(handle)) or made[-1].getsockname()[1]
    for s in made:
        s.close()


def test_a_port_that_accepts_and_closes_at_once_does_not_answer(server):
    port = server(lambda c: None)                                       # docker-proxy, nothing behind
    check = probe.tcp("127.0.0.1", port, time.monotonic() + 1)
    assert (check.ok, check.kind) == (False, "closed"), check
    assert "accepted the connection and closed it without a byte" in check.detail
    banner = server(lambda c: c.sendall(b"SSH-2.0-x\r\n") or time.sleep(0.5))
    assert probe.tcp("127.0.0.1", banner, time.monotonic() + 1).ok


def test_no_http_answer_fails_only_when_content_or_a_status_was_asked_for(server):
    seen = []
    port = server(lambda c: seen.append(c.recv(4096)))                  # reads, closes, says nothing
    plain = probe.http_get("127.0.0.1", port, "/", time.monotonic() + 1)
    assert (plain.ok, plain.kind) == (None, "n/a") and "try --tls" in plain.detail
    seen.clear()
    asked = probe.http_get("127.0.0.1", port, "/", time.monotonic() + 1.5, expect="hello")
    assert (asked.ok, asked.kind) == (False, "no-answer"), asked
    assert "closed the connection without an answer" in asked.detail
    assert len(seen) >= 3                                               # retried until the deadline
    status = probe.http_get("127.0.0.1", port, "/", time.monotonic(), expect_status=200)
    assert (status.ok, status.kind) == (False, "no-answer")
    garbage = server(lambda c: c.recv(4096) and c.sendall(b"SSH-2.0-x\r\n"))
    assert probe.http_get("127.0.0.1", garbage, "/", time.monotonic(),
                          expect="x").kind == "not-http"


def test_http_answer_is_judged_on_status_and_content(server):
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<h1>Docker Custom Page</h1>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        port = httpd.server_address[1]
        ok = probe.http_get("127.0.0.1", port, "/", time.monotonic() + 2, expect="Custom Page")
        assert ok.ok and ok.data["status"] == 200 and ok.data["bytes"] == 27
        bad = probe.http_get("127.0.0.1", port, "/", time.monotonic(), expect_status=204)
        assert (bad.ok, bad.kind) == (False, "status")
    finally:
        httpd.shutdown()
        httpd.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_only_the_ports_that_answered_on_the_source_must_answer_on_the_target(server):
    """Source and target are this machine here; the ports are paired by their
    container port, as --publish may move the host port."""
    serving, silent = server(lambda c: c.recv(4096) and c.sendall(
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")), free_port()
    source = [Published("tcp", serving, "", "80/tcp"), Published("tcp", silent, "", "8080/tcp")]
    answered = answering(None, "127.0.0.1", source)
    assert answered == ["80/tcp"]
    target = [Published("tcp", serving, "", "80/tcp"), Published("tcp", silent, "", "8080/tcp")]
    t0 = time.monotonic()
    text = wait_ports(None, "127.0.0.1", target, time.monotonic() + 30, required=answered)
    assert text == (f"port(s) {serving} answer from here; "
                    f"port(s) {silent} did not answer on the source either (not required)")
    assert time.monotonic() - t0 < 5                                    # no wait for the silent one
    with pytest.raises(MigrateError, match=f"port {silent} does not answer: .*refused"):
        wait_ports(None, "127.0.0.1", target, time.monotonic() + 1, required=None)
    # the source's answer is kept under the port the target gives the same service
    moved = [Published("tcp", 9999, "", "80/tcp")]
    assert list(baseline(None, "127.0.0.1", source, answered, moved)) == ["9999"]


class _Seen:
    """A remote whose container inspects come from a script, one a look."""
    name = "new"

    def __init__(self, states):
        self.states = list(states)

    def next(self):
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]


def test_a_group_settles_together_and_fails_at_once_when_one_falls_over(monkeypatch):
    from migrate import checks
    seen = {"a": _Seen([inspect()]), "b": _Seen([inspect(running=False, status="created",
                                                         started=""), inspect(started=T1)])}
    monkeypatch.setattr(checks.eng, "inspect", lambda remote, kind, name: seen[name].next())
    monkeypatch.setattr(checks.Watch, "logs", lambda self: "  boom")
    now = [0.0]                         # a clock that moves only when settle_all waits
    monkeypatch.setattr(checks.time, "sleep", lambda s: now.__setitem__(0, now[0] + s))
    clock = lambda: now[0]              # noqa: E731
    watches = [checks.Answered(checks.Watch(seen[n], n, settle=3, clock=clock), "", 0, 9)
               for n in ("a", "b")]
    states = checks.settle_all(watches, clock=clock)
    assert [s.running for s in states] == [True, True]
    assert [a.watch.up_since for a in watches] == [0.0, 0.2]   # b came up at the 2nd look
    assert now[0] == pytest.approx(3.2)     # b's 3 s from 0.2, a's at the same time: not 6

    seen["b"] = _Seen([inspect(), inspect(running=False, status="exited", code=3)])
    falls = [checks.Answered(checks.Watch(seen[n], n, settle=5), "", 0, time.monotonic() + 9)
             for n in ("a", "b")]
    with pytest.raises(MigrateError, match="new: b exited \\(code 3\\) right after start"):
        checks.settle_all(falls)
