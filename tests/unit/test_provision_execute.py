"""The provisioning executor over a scripted host: which steps run when a
Ctrl-C (or SIGTERM, SIGHUP) arrives in the middle of a run. The host is a
stand-in that answers every command (failure injection: the signal lands
while a chosen command runs); the plan is the real one."""
import threading
import types

import pytest

from fleet.errors import CommandError, Interrupted
from fleet.facts import DockerVersions
from fleet.remote import CommandResult
from provision import execute
from provision.execute import StepFailed
from test_provision_plan import SETTINGS, facts_for

FACTS = facts_for("ubuntu-22.04", running_containers=("web", "db"),
                  docker=DockerVersions("24.0.7", "24.0.7"), engine_running=True)


class Host:
    """Answers every command; sets `cancel` while the first command that
    contains `when` runs, as a signal arriving during it would."""

    name = "h"

    def __init__(self, cancel, when, fail=()):
        self.cancel, self.when, self.fail, self.ran = cancel, when, fail, []

    def run(self, argv, *, sudo=False, env=None, check=True, timeout=None):
        line = " ".join(argv)
        self.ran.append(line)
        if self.when in argv and not self.cancel.is_set():
            self.cancel.set()
        for words, why in self.fail:
            if words in line:
                raise CommandError(self.name, line, 100, f"E: {why}\n")
        code = 1 if "is-active" in line else 0            # the engine's probe: not yet
        out = "client 24.0.7, engine 24.0.7" if argv[:2] == ["docker", "version"] else ""
        return CommandResult(self.name, line, code, out, "")

    def close(self):
        pass


def run(monkeypatch, when):
    monkeypatch.setattr(execute, "gather", lambda remote, settings, users=(): FACTS)
    cancel = threading.Event()
    host, lines = Host(cancel, when), []
    with pytest.raises(Interrupted) as e:
        execute.provision(host, SETTINGS, cancel=cancel, write=lines.append)
    return host.ran, lines, str(e.value)


def test_a_signal_during_the_removal_still_brings_up_the_new_engine_and_the_containers(monkeypatch):
    ran, lines, error = run(monkeypatch, "remove")
    assert any("install docker-ce docker-ce-cli containerd.io" in c for c in ran)
    assert "systemctl enable --now docker.socket docker.service" in ran
    started = [c for c in ran if c.endswith("web db")]
    assert started and ran.index(started[-1]) > ran.index("systemctl enable --now docker.socket docker.service")
    assert not any(c.startswith("docker version") for c in ran)        # then it stopped
    assert "h: [7/11] install Docker CE: interrupted; run all the same: the distro engine " \
           "is removed, so the new one is brought up with the containers first" in lines
    assert any(l.startswith("h: [9/11] start containers that ran before: changed (web, db; "
                            "then delete /var/lib/dockmove/provision/fallback)") for l in lines)
    assert ran[-1] == "rm -rf -- /var/lib/dockmove/provision/fallback"
    assert "h: [10/11] client and engine answer: not run (interrupted)" in lines
    assert error.startswith("h: interrupted before step 10/11 'client and engine answer' "
                            "(8 changed so far)")


def test_a_signal_before_the_removal_leaves_the_distro_engine_alone(monkeypatch):
    ran, lines, error = run(monkeypatch, "--download-only")
    assert not any(" remove " in f" {c} " for c in ran)
    assert "h: [6/11] remove distro Docker packages: not run (interrupted)" in lines
    assert error.startswith("h: interrupted before step 6/11 'remove distro Docker packages'")


def test_when_putting_back_fails_too_the_error_says_what_is_left_and_what_to_do(monkeypatch):
    monkeypatch.setattr(execute, "gather", lambda remote, settings, users=(): FACTS)
    host, lines = Host(threading.Event(), "-", fail=(
        ("install docker-ce docker-ce-cli", "Sub-process /usr/bin/dpkg returned an error code (1)"),
        ("--no-install-recommends", "Failed to fetch file:/var/lib/dockmove/provision/fallback/x.deb"),
    )), []
    with pytest.raises(StepFailed) as e:
        execute.provision(host, SETTINGS, write=lines.append)
    msg = str(e.value)
    assert msg.startswith("h: step 7/11 'install Docker CE' failed; the steps after it did not "
                          "run. Putting back docker.io, docker-compose-v2, containerd, runc, the "
                          "engine and its containers FAILED too, the host may have no engine now")
    assert "(E: Failed to fetch file:/var/lib/dockmove/provision/fallback/x.deb)" in msg
    assert "To do by hand: the removed packages are kept in /var/lib/dockmove/provision/fallback: " \
           "sudo apt-get -o APT::Sandbox::User=root install --no-install-recommends " \
           "/var/lib/dockmove/provision/fallback/*.deb, then start the engine" in msg
    assert "E: Sub-process /usr/bin/dpkg returned an error code (1)" in msg     # the first error
    assert not any("systemctl enable" in c for c in host.ran)     # nothing after the failure


def test_waiting_for_a_reboot_opens_a_new_connection_for_every_look(monkeypatch):
    """A systemd host takes seconds to go down (sshd stops, the port is
    closed, then it boots): each look at it must go through the connection
    that reports errors the executor waits through, never through the one
    that dropped (which reconnected by itself, and refused raw)."""
    calls, boots = [], iter(["b1\n", "b1\n", "b2\n"])

    class Rebooting:
        name = "new"

        def run(self, argv, **kw):
            calls.append("run")
            return types.SimpleNamespace(stdout=next(boots))

        def close(self):
            calls.append("close")

    monkeypatch.setattr(execute.time, "sleep", lambda s: None)
    execute.wait_for_reboot(Rebooting(), "b1\n", lambda line: None, timeout=60)
    assert calls == ["close", "run", "close", "run", "close", "run"]
