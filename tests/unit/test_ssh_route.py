"""Every hop to a host, as both sides see it: the Fabric connections and the
OpenSSH command lines of the streams. No network: OpenSSH's own `ssh -G`
says what a command line means to it."""
import shlex
import subprocess
from pathlib import Path

import pytest
from fabric import Connection

from fleet.connection import connection_for
from fleet.hostkeys import RefuseUnknownKey
from fleet.inventory import parse_inventory
from fleet.ssh_cli import ssh_argv


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A HOME of the test's own, with ~/.ssh/config written by the test."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    return tmp_path


def ssh_config(home: Path, text: str) -> None:
    (home / ".ssh" / "config").write_text(text)


def inventory(text: str, where: Path):
    return parse_inventory(text, where / "hosts.yaml")


def effective(argv: list[str]) -> dict[str, str]:
    """What OpenSSH makes of a command line (`ssh -G`), key -> value."""
    assert argv[0] == "ssh"
    out = subprocess.run(["ssh", "-G", *argv[1:]], capture_output=True, text=True,
                         timeout=10, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    return dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)


def proxy_argv(cfg: dict[str, str]) -> list[str]:
    """The ProxyCommand OpenSSH would run, as argv (its %% unescaped), without -W."""
    words = shlex.split(cfg["proxycommand"].replace("%%", "%"))
    i = words.index("-W")
    return words[:i] + words[i + 2:]


CONFIG = """\
Host app
  HostName 10.9.9.9
  ProxyJump admin@bastion.example:2222
"""


def test_proxyjump_of_ssh_config_is_opened_with_our_policy(home):
    ssh_config(home, CONFIG)
    inv = inventory("hosts:\n  app: {address: app, user: root, known_hosts: /k/kh}\n", home)
    conn = connection_for(inv, inv.hosts["app"])
    gw = conn.gateway
    assert isinstance(gw, Connection), f"no gateway of ours: {gw!r}"
    assert (gw.host, gw.port, gw.user) == ("bastion.example", 2222, "admin")
    policy = gw.client._policy
    assert isinstance(policy, RefuseUnknownKey), f"the jump host's key policy is {policy!r}"
    assert "/k/kh" in policy.files and str(home / ".ssh/known_hosts") in policy.files


def test_stream_goes_through_the_ssh_config_jump_with_strict_keys(home):
    ssh_config(home, CONFIG)
    inv = inventory("hosts:\n  app: {address: app, user: root, known_hosts: /k/kh}\n", home)
    cfg = effective(ssh_argv(inv, inv.hosts["app"]))
    assert "proxyjump" not in cfg, "OpenSSH would open the jump itself, with its own policy"
    assert cfg["hostname"] == "10.9.9.9"
    jump = effective(proxy_argv(cfg))
    assert (jump["hostname"], jump["port"], jump["user"]) == ("bastion.example", "2222", "admin")
    assert jump["stricthostkeychecking"] == "true"
    assert "/k/kh" in jump["userknownhostsfile"].split()
    assert jump["hostkeyalias"] == "[bastion.example]:2222"


def test_stream_honours_user_known_hosts_file_of_ssh_config(home):
    ssh_config(home, "Host app\n  HostName 10.9.9.9\n  UserKnownHostsFile ~/from-config\n")
    inv = inventory("hosts:\n  app: {address: app, user: root}\n", home)
    cfg = effective(ssh_argv(inv, inv.hosts["app"]))
    assert str(home / "from-config") in cfg["userknownhostsfile"].split()
    assert cfg["stricthostkeychecking"] == "true"
