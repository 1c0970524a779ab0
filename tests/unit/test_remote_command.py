"""Command lines are built from argument lists; what the remote shell parses
back must be exactly the arguments given."""
import shlex
import subprocess

import pytest

from fleet.errors import CommandError, HostsFailed, AuthError, UsageError
from fleet.remote import SUDO_PROMPT, command_line

HOSTILE = ["it's", 'say "hi"', "$(touch /tmp/pwned)", "`id`", "a;b", "two  spaces",
           "line1\nline2", "ünïcødé ✓", "--", "", "*", "~root", "$HOME"]


def test_plain_and_round_trip_through_a_real_shell():
    line = command_line(["printf", "%s\\0", *HOSTILE])
    out = subprocess.run(["sh", "-c", line], capture_output=True, check=True).stdout
    assert out.decode().split("\0")[:-1] == HOSTILE


def test_env_rides_after_sudo():
    line = command_line(["apt-get", "install", "x"], env={"DEBIAN_FRONTEND": "noninteractive"},
                        sudo="passwordless")
    assert shlex.split(line) == ["sudo", "-n", "--", "env", "DEBIAN_FRONTEND=noninteractive",
                                 "apt-get", "install", "x"]


def test_env_values_survive_a_real_shell():
    env = {"V": "a'b \"c\" $(x) `y`\nz"}
    line = command_line(["sh", "-c", 'printf %s "$V"'], env=env)
    assert subprocess.run(["sh", "-c", line], capture_output=True).stdout.decode() == env["V"]


def test_password_sudo_uses_our_prompt():
    assert shlex.split(command_line(["id"], sudo="password")) == [
        "sudo", "-S", "-p", SUDO_PROMPT, "--", "id"]


def test_secret_env_is_masked_for_display():
    shown = command_line(["run"], env={"DB_PASSWORD": "hunter2", "MODE": "x"}, mask=True)
    assert "hunter2" not in shown and "DB_PASSWORD=****" in shown and "MODE=x" in shown


def test_bad_input():
    with pytest.raises(ValueError):
        command_line([])
    with pytest.raises(ValueError):
        command_line(["x"], env={"A B": "1"})


def test_command_error_message_has_host_command_code_and_tail():
    err = CommandError("old", "sudo -n -- apt-get install nope", 100,
                       "\n".join(f"line {i}" for i in range(30)) + "\nE: Unable to locate package nope\n")
    msg = str(err)
    assert msg.splitlines()[0] == "old: command failed (exit 100): sudo -n -- apt-get install nope"
    assert "E: Unable to locate package nope" in msg
    assert "line 5" not in msg                  # only the tail
    assert err.exit_code == 1


def test_hosts_failed_keeps_a_common_exit_code():
    e = HostsFailed({"a": AuthError("a: no"), "b": AuthError("b: no")})
    assert e.exit_code == 5 and "2 host(s) failed: a, b" in str(e)
    assert HostsFailed({"a": AuthError("x"), "b": UsageError("y")}).exit_code == 1
