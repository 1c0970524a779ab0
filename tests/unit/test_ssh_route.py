"""Every hop to a host, as both sides see it: the Fabric connections and the
OpenSSH command lines of the streams. No network: OpenSSH's own `ssh -G`
says what a command line means to it."""
import shlex
import subprocess
from pathlib import Path

import pytest
from fabric import Connection

from fleet.connection import connection_for
from fleet.errors import UsageError
from fleet.hostkeys import RefuseUnknownKey
from fleet.inventory import parse_inventory
from fleet.route import route
from fleet.ssh_cli import known_hosts_value, ssh_argv
from fleet.sshconfig import endpoint, parse_ssh_config, split_args


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


# --- the way to a host (fleet/route.py, fleet/sshconfig.py), pure ------------


def way(inv_text: str, config_text: str, name: str, where=Path("/inv")):
    inv = inventory(inv_text, where)
    return route(inv, inv.hosts[name], parse_ssh_config(config_text))


def test_inventory_jump_wins_over_ssh_config():
    hops = way("hosts:\n  b: {address: 10.0.0.1, user: ops}\n  app: {address: app, jump: b}\n",
               "Host app\n  HostName 10.9.9.9\n  ProxyJump elsewhere\n", "app")
    assert [h.host.name for h in hops] == ["b", "app"]
    assert hops[1].endpoint.hostname == "10.9.9.9" and "inventory" in hops[0].via


def test_proxyjump_chain_follows_ssh_rules():
    """ProxyJump a,b: a's own ProxyJump counts (c first), b's does not; the
    hop's user and port from the ProxyJump word win over its Host block."""
    hops = way("hosts:\n  app: {address: app, known_hosts: /k/kh}\n",
               "Host app\n  ProxyJump a,ops@b:2200\nHost a\n  ProxyJump c\n"
               "Host b\n  ProxyJump never\n  User root\n  Port 22\n  HostName 10.0.0.2\n",
               "app")
    assert [h.host.address for h in hops] == ["c", "a", "b", "app"]
    b = hops[2]
    assert (b.endpoint.user, b.endpoint.port, b.endpoint.hostname) == ("ops", 2200, "10.0.0.2")
    assert b.key_name == "[10.0.0.2]:2200"
    assert all(h.known_hosts[0] == "/k/kh" for h in hops)    # the host's own file counts on its way


def test_a_hop_naming_itself_is_ignored_and_a_loop_is_an_error():
    """`Host *` + ProxyJump bastion matches bastion too: it goes straight."""
    hops = way("hosts:\n  app: {address: app}\n", "Host *\n  ProxyJump bastion\n", "app")
    assert [h.host.address for h in hops] == ["bastion", "app"]
    with pytest.raises(UsageError, match="loop: .*app.* -> .*b.* -> .*app"):
        way("hosts:\n  app: {address: app}\n",
            "Host app\n  ProxyJump b\nHost b\n  ProxyJump app\n", "app")


def test_proxy_command_and_none():
    hops = way("hosts:\n  app: {address: app}\n",
               "Host app\n  ProxyCommand nc -x proxy %h %p\n", "app")
    assert len(hops) == 1 and hops[0].proxy_command == "nc -x proxy app 22"
    hops = way("hosts:\n  app: {address: app}\n",
               "Host app\n  ProxyJump none\nHost *\n  ProxyJump b\n", "app")
    assert [h.host.address for h in hops] == ["app"]


def test_known_hosts_files_of_ssh_config(home):
    cfg = parse_ssh_config(
        'Host app\n  HostName 10.9.9.9\n  Port 2222\n'
        '  UserKnownHostsFile "/a b/kh" ~/x\\ y /k/%h-%p-%%  # a comment\n'
        '  GlobalKnownHostsFile /etc/corp_known_hosts\n')
    inv = inventory("settings: {known_hosts: [/inv/kh]}\nhosts:\n  app: {address: app}\n", home)
    ep = endpoint(cfg, inv.hosts["app"])
    assert ep.user_known_hosts == ("/a b/kh", f"{home}/x y", "/k/10.9.9.9-2222-%")
    hop = route(inv, inv.hosts["app"], cfg)[0]
    assert hop.known_hosts == ("/a b/kh", f"{home}/x y", "/k/10.9.9.9-2222-%", "/inv/kh",
                               f"{home}/.ssh/known_hosts", "/etc/corp_known_hosts")
    with pytest.raises(UsageError, match="%z"):
        endpoint(parse_ssh_config("Host app\n  UserKnownHostsFile /k/%z\n"), inv.hosts["app"])


def test_split_args_reads_like_openssh():
    assert split_args('''"/a b" c\\ d 'e"f' g\\"h #rest''') == ["/a b", "c d", 'e"f', 'g"h']
    with pytest.raises(UsageError, match="unterminated quote"):
        split_args('"/a b')


def test_known_hosts_value_survives_openssh_reading():
    paths = ["/a b/kh", "/c/100%d", '/q"uo\'te', "#x", "/back\\slash"]
    value = known_hosts_value(paths)
    assert [p.replace("%%", "%") for p in split_args(value)] == paths


def test_settings_ssh_config_is_read_by_both_sides(tmp_path, home):
    (tmp_path / "my config").write_text("Host app\n  HostName 10.7.7.7\n  User deploy\n")
    ssh_config(home, "Host app\n  HostName 10.1.1.1\n")         # not read: the setting wins
    inv = inventory('settings: {ssh_config: "my config"}\nhosts:\n  app: {address: app}\n',
                    tmp_path)
    assert inv.settings.ssh_config == str(tmp_path / "my config")
    conn = connection_for(inv, inv.hosts["app"])
    assert (conn.host, conn.user) == ("10.7.7.7", "deploy")
    argv = ssh_argv(inv, inv.hosts["app"])
    assert argv[argv.index("-F") + 1] == str(tmp_path / "my config")
    cfg = effective(argv)
    assert (cfg["hostname"], cfg["user"]) == ("10.7.7.7", "deploy")
    missing = inventory("settings: {ssh_config: nope}\nhosts:\n  app: {address: app}\n", tmp_path)
    with pytest.raises(UsageError, match="settings.ssh_config: no such file"):
        connection_for(missing, missing.hosts["app"])


def test_three_hops_keep_every_percent_and_blank(home):
    """Each ProxyCommand level is read (and %-expanded) once more by OpenSSH."""
    odd = str(home / "kh 100%d")
    ssh_config(home, "Host app\n  ProxyJump a,b\n")
    inv = inventory(f"hosts:\n  app: {{address: app, known_hosts: '{odd}'}}\n", home)
    cfg = effective(ssh_argv(inv, inv.hosts["app"]))
    levels = []
    while "proxycommand" in cfg:
        cfg = effective(proxy_argv(cfg))
        levels.append(cfg)
    assert [c["hostname"] for c in levels] == ["b", "a"]
    for c in levels:
        assert c["userknownhostsfile"].startswith(odd + " ")
        assert c["stricthostkeychecking"] == "true" and c["globalknownhostsfile"] == "/dev/null"


def test_read_known_hosts_skips_markers_and_junk_and_keeps_order(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from fleet.hostkeys import read_known_hosts

    def pub():
        return Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    a, b, r = pub(), pub(), pub()
    first = tmp_path / "first"
    first.write_text(f"@cert-authority *.example {a}\nnot a key\n10.0.0.1 {a}\n@revoked * {r}\n")
    second = tmp_path / "second"
    second.write_text(f"10.0.0.1 {b}\n10.0.0.2 {r}\n10.0.0.3 {b}\n")
    known = read_known_hosts([str(first), str(tmp_path / "missing"), str(second)])
    assert known.keys.lookup("10.0.0.1")["ssh-ed25519"].get_base64() == a.split()[1]
    assert known.keys.lookup("10.0.0.2") is None            # revoked: never a known key
    assert known.keys.lookup("10.0.0.3")["ssh-ed25519"].get_base64() == b.split()[1]
    assert [k.get_base64() for k in known.revoked] == [r.split()[1]]
