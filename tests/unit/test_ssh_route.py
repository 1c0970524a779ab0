"""Every hop to a host, as both sides see it: the Fabric connections and the
OpenSSH command lines of the streams. No network: OpenSSH's own `ssh -G`
says what a command line means to it."""
import os
import shlex
import subprocess
import tempfile
from pathlib import Path

import paramiko
import pytest
from fabric import Connection

from fleet.connection import connection_for
from fleet.errors import UsageError
from fleet.hostkeys import RefuseUnknownKey
from fleet.inventory import Host, parse_inventory
from fleet.route import route
from fleet.ssh_cli import command_line, known_hosts_value, ssh_command
from fleet.sshconfig import endpoint, parse_ssh_config, read_ssh_config, split_args


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
    jump_key = public_key()
    (home / "kh").write_text(f"[bastion.example]:2222 {jump_key}\n")
    inv = inventory(f"hosts:\n  app: {{address: app, user: root, known_hosts: {home}/kh}}\n",
                    home)
    with ssh_command(inv, inv.hosts["app"]) as argv:
        cfg = effective(argv)
        assert "proxyjump" not in cfg, "OpenSSH would open the jump itself, with its own policy"
        assert cfg["hostname"] == "10.9.9.9"
        jump = effective(proxy_argv(cfg))
        assert (jump["hostname"], jump["port"], jump["user"]) == ("bastion.example", "2222",
                                                                  "admin")
        assert jump["stricthostkeychecking"] == "true"
        assert jump["hostkeyalias"] == "[bastion.example]:2222"
        assert jump["globalknownhostsfile"] == "/dev/null"
        assert Path(jump["userknownhostsfile"]).read_text() == \
            f"[bastion.example]:2222 {jump_key}\n"


def test_stream_honours_user_known_hosts_file_of_ssh_config(home):
    key = public_key()
    (home / "from-config").write_text(f"10.9.9.9 {key}\n")
    ssh_config(home, "Host app\n  HostName 10.9.9.9\n  UserKnownHostsFile ~/from-config\n")
    inv = inventory("hosts:\n  app: {address: app, user: root}\n", home)
    with ssh_command(inv, inv.hosts["app"]) as argv:
        cfg = effective(argv)
        assert Path(cfg["userknownhostsfile"]).read_text() == f"10.9.9.9 {key}\n"
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
    with ssh_command(inv, inv.hosts["app"]) as argv:
        assert argv[argv.index("-F") + 1] == str(tmp_path / "my config")
        cfg = effective(argv)
    assert (cfg["hostname"], cfg["user"]) == ("10.7.7.7", "deploy")
    missing = inventory("settings: {ssh_config: nope}\nhosts:\n  app: {address: app}\n", tmp_path)
    with pytest.raises(UsageError, match="settings.ssh_config: no such file"):
        connection_for(missing, missing.hosts["app"])


def test_three_hops_keep_every_percent_and_blank(home, monkeypatch):
    """Each ProxyCommand level is read (and %-expanded) once more by OpenSSH:
    a temporary folder with a blank and a % reaches every level intact."""
    odd = home / "tmp 100%d"
    odd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(odd))
    ssh_config(home, "Host app\n  ProxyJump a,b\n")
    inv = inventory("hosts:\n  app: {address: app}\n", home)
    with ssh_command(inv, inv.hosts["app"]) as argv:
        cfg = effective(argv)
        levels = [cfg]
        while "proxycommand" in cfg:
            cfg = effective(proxy_argv(cfg))
            levels.append(cfg)
        assert [c["hostname"] for c in levels] == ["app", "b", "a"]
        files = [Path(c["userknownhostsfile"]) for c in levels]
        assert [f.name for f in files] == ["hop2", "hop1", "hop0"]
        assert all(f.parent.parent == odd and f.is_file() for f in files)
        for c in levels:
            assert c["stricthostkeychecking"] == "true" and c["globalknownhostsfile"] == "/dev/null"


def test_the_known_hosts_files_of_a_stream_are_private_and_go_with_it(home):
    ssh_config(home, "Host app\n  ProxyJump b\n")
    inv = inventory("hosts:\n  app: {address: app}\n", home)
    with pytest.raises(RuntimeError), ssh_command(inv, inv.hosts["app"]) as argv:
        path = Path(effective(argv)["userknownhostsfile"])
        folder = path.parent
        assert folder.stat().st_mode & 0o777 == 0o700
        assert sorted(p.name for p in folder.iterdir()) == ["hop0", "hop1"]
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in folder.iterdir())
        raise RuntimeError("the stream failed")
    assert not folder.exists()


def test_known_keys_skip_markers_and_junk_and_the_first_file_that_knows_a_host_wins(tmp_path):
    from fleet.hostkeys import known_keys
    a, b, r, rsa = public_key(), public_key(), public_key(), public_key("rsa")
    first = tmp_path / "first"
    first.write_text(f"@cert-authority *.example {a}\nnot a key\n10.0.0.1 {a}\n@revoked * {r}\n")
    second = tmp_path / "second"
    second.write_text(f"10.0.0.1 {b}\n10.0.0.1 {rsa}\n10.0.0.2 {r}\n10.0.0.3 {b}\n"
                      f"{paramiko.HostKeys.hash_host('10.0.0.4')} {rsa}\n")
    files = [str(first), str(tmp_path / "missing"), str(second)]

    def keys(name):
        known = known_keys(files, name)
        return known.file, [f"{k.get_name()} {k.get_base64()}" for k in known.keys]
    # the first file knows 10.0.0.1: the later file's keys (ed25519, rsa) do not count
    assert keys("10.0.0.1") == (str(first), [" ".join(a.split()[:2])])
    assert keys("10.0.0.2") == (None, [])                     # revoked: never a known key
    assert keys("10.0.0.3") == (str(second), [" ".join(b.split()[:2])])
    assert keys("10.0.0.4") == (str(second), [" ".join(rsa.split()[:2])])   # hashed name
    assert [k.get_base64() for k in known_keys(files, "x").revoked] == [r.split()[1]]


# --- hostile review: every hop's ssh is ours alone ---------------------------

HOSTILE_SSH_CONFIG = """\
Host *
  ControlMaster auto
  ControlPath /tmp/cm-%r@%h:%p
  ControlPersist yes
  ForwardAgent yes
  ForwardX11 yes
  PermitLocalCommand yes
  LocalCommand touch /tmp/pwned
  LocalForward 9999 localhost:22
  RemoteForward 9998 localhost:22
  DynamicForward 9997
  Tunnel yes
  RequestTTY force
"""


def every_level(argv: list[str]) -> list[dict[str, str]]:
    """`ssh -G` of the command line and of each ProxyCommand inside it."""
    levels = [effective(argv)]
    while "proxycommand" in levels[-1]:
        levels.append(effective(proxy_argv(levels[-1])))
    return levels


def test_stream_ssh_shares_no_connection_agent_or_forwarding_from_ssh_config(tmp_path, home):
    """A ControlMaster connection (a mux client skips every check of ours),
    the agent, X11, port forwards, a LocalCommand, a tty on a binary stream:
    ssh_config asks for all of them on every hop; none may be used."""
    cfg = tmp_path / "ssh_config"
    cfg.write_text("Host app\n  ProxyJump a,b\n" + HOSTILE_SSH_CONFIG)
    inv = inventory(f"settings: {{ssh_config: '{cfg}'}}\nhosts:\n  app: {{address: app}}\n",
                    tmp_path)
    with ssh_command(inv, inv.hosts["app"], "true") as argv:
        levels = every_level(argv)
    assert [c["hostname"] for c in levels] == ["app", "b", "a"]
    for c in levels:
        assert c["controlmaster"] == "false" and "controlpath" not in c, c.get("controlpath")
        assert c["forwardagent"] == "no" and c["forwardx11"] == "no"
        assert c["clearallforwardings"] == "yes" and c["tunnel"] == "false"
        assert not {"localforward", "remoteforward", "dynamicforward"} & set(c)
        assert c["permitlocalcommand"] == "no"
        assert c["requesttty"] == "false"


def test_a_shared_stream_uses_our_master_on_the_last_hop_only(tmp_path, home):
    """The run's own master (fleet/ssh_cli.Masters) on the last hop, whatever
    ssh_config asks; the jump hops share nothing."""
    cfg = tmp_path / "ssh_config"
    cfg.write_text("Host app\n  ProxyJump a,b\n" + HOSTILE_SSH_CONFIG)
    inv = inventory(f"settings: {{ssh_config: '{cfg}'}}\nhosts:\n  app: {{address: app}}\n",
                    tmp_path)
    ours = tmp_path / "run folder" / "0"
    hops = route(inv, inv.hosts["app"], read_ssh_config(inv.settings))
    for master, wanted in (("no", "false"), ("yes", "true")):
        argv = command_line(hops, ["kh"] * len(hops), inv.settings, "true",
                            control=(master, str(ours)))
        levels = every_level(argv)
        assert levels[0]["controlmaster"] == wanted
        assert levels[0]["controlpath"] == str(ours)
        assert levels[0].get("controlpersist") == ("60" if master == "yes" else "no")
        for c in levels[1:]:
            assert c["controlmaster"] == "false" and "controlpath" not in c


# --- hostile review: known_hosts read alike on both sides ---------------------

def public_key(kind: str = "ed25519") -> str:
    """A fresh public key, as `type base64`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    private = {"ed25519": lambda: ed25519.Ed25519PrivateKey.generate(),
               "ecdsa": lambda: ec.generate_private_key(ec.SECP256R1()),
               "rsa": lambda: rsa.generate_private_key(65537, 2048)}[kind]()
    return private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def test_a_revoked_line_separated_by_tabs_revokes(tmp_path):
    from fleet.hostkeys import known_keys
    key, other, odd = public_key(), public_key(), public_key()
    kh = tmp_path / "kh"
    kh.write_text(f"@revoked\t*\t{key.replace(' ', chr(9))}\n"
                  f"10.0.0.1 {key}\n"
                  f"10.0.0.2  \t {other}\n"             # blanks of any kind between fields
                  f"@bogus 10.0.0.3 {odd}\n"            # an unknown marker: no line at all
                  f"@revokedx * {other}\n")
    known = known_keys([str(kh)], "10.0.0.1")
    assert [k.get_base64() for k in known.revoked] == [key.split()[1]]
    assert known.keys == ()
    assert [k.get_base64() for k in known_keys([str(kh)], "10.0.0.2").keys] == [other.split()[1]]
    assert known_keys([str(kh)], "10.0.0.3").keys == ()


def openssh_accepts(cfg: dict[str, str]) -> set[str]:
    """The keys (`type base64`) OpenSSH takes for the host of an `ssh -G`
    output: what its own lookup (`ssh-keygen -F`) finds under HostKeyAlias in
    the known_hosts files it would read, less the revoked ones; a
    @cert-authority line (any certificate it signed passes) as `CA ...`."""
    files = [f for f in split_args(cfg["userknownhostsfile"])
             + split_args(cfg["globalknownhostsfile"]) if Path(f).is_file()]
    keys, revoked = set(), set()
    for f in files:
        out = subprocess.run(["ssh-keygen", "-F", cfg["hostkeyalias"], "-f", f],
                             capture_output=True, text=True, timeout=10)
        marker = ""
        for line in out.stdout.splitlines():
            if line.startswith("# Host "):
                marker = line.split()[-1] if line.split()[-1] in ("CA", "REVOKED") else ""
                continue
            words = line.split()
            key = " ".join(words[2:4] if words[0].startswith("@") else words[1:3])
            if marker == "REVOKED":
                revoked.add(key)
            else:
                keys.add(("CA " if marker == "CA" else "") + key)
    return keys - revoked


def python_accepts(conn) -> set[str]:
    """The keys (`type base64`) the Python side takes: paramiko compares the
    server's key with the one its host keys have for that type and name."""
    found = conn.client.get_host_keys().lookup(conn.hop.key_name) or {}
    return {f"{t} {found[t].get_base64()}" for t in set(found.keys())}


def test_both_sides_accept_exactly_the_same_keys_when_files_disagree(tmp_path, home):
    """The host's own file knows it by K1; ~/.ssh/known_hosts still has a
    stale key of the same and of another type (a reused IP), a wildcard line
    and a CA: both sides take K1, and nothing else."""
    k1, stale, stale_rsa, wild, ca, gone = (public_key(), public_key(), public_key("rsa"),
                                            public_key("ecdsa"), public_key(), public_key())
    own = tmp_path / "own"
    own.write_text(f"10.9.9.9 {k1}\n@revoked * {gone}\n")
    (home / ".ssh" / "known_hosts").write_text(
        f"10.9.9.9 {stale}\n10.9.9.9 {stale_rsa}\n10.9.9.* {wild}\n"
        f"@cert-authority * {ca}\n10.9.9.9 {gone}\n")
    inv = inventory(f"hosts:\n  app: {{address: 10.9.9.9, known_hosts: '{own}'}}\n", home)
    host = inv.hosts["app"]
    python = python_accepts(connection_for(inv, host))
    with ssh_command(inv, host, "true") as argv:
        openssh = openssh_accepts(effective(argv))
    assert python == openssh == {" ".join(k1.split()[:2])}


# --- hostile review: a user or host name is never an option of ssh ------------

def ssh_g(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(["ssh", "-G", *argv[1:]], capture_output=True, text=True,
                          timeout=10, stdin=subprocess.DEVNULL)


def test_a_user_starting_with_a_dash_is_never_an_option_of_ssh(tmp_path):
    """An inventory user (or an ad hoc one that got past the parser) such as
    `-oPKCS11Provider=/tmp/evil.so` must reach ssh as a user name, on every
    hop, never as an option (that one makes ssh load a library here). This
    OpenSSH refuses such a name itself; older ones take it as the name."""
    evil = "-oPKCS11Provider=/tmp/evil.so"
    cfg = tmp_path / "ssh_config"
    cfg.write_text("")
    inv = inventory(f"settings: {{ssh_config: '{cfg}'}}\nhosts:\n"
                    f"  j: {{address: j.example, user: '{evil}'}}\n"
                    f"  app: {{address: app.example, user: '{evil}', jump: j}}\n", tmp_path)
    with ssh_command(inv, inv.hosts["app"], "true") as argv:
        proxy = next(a for a in argv if a.startswith("ProxyCommand="))
        jump = shlex.split(proxy.split("=", 1)[1].replace("%%", "%"))
        for level in (argv, jump):
            out = ssh_g(level)
            if out.returncode == 0:
                got = dict(l.split(" ", 1) for l in out.stdout.splitlines() if " " in l)
                assert got["user"] == evil and got.get("pkcs11provider", "none") == "none"
            else:
                assert "remote username contains invalid characters" in out.stderr, out.stderr


def test_trust_of_a_jump_alias_sees_the_files_of_the_hosts_behind_it(tmp_path, home):
    from fleet.trust import other_views
    ed, rsa = public_key(), public_key("rsa")
    (tmp_path / "kh").write_text(f"[10.0.0.9]:2222 {ed}\n")
    (home / ".ssh" / "known_hosts").write_text(f"[10.0.0.9]:2222 {rsa}\n")
    ssh_config(home, "Host app\n  ProxyJump bastion\n"
                     "Host bastion\n  HostName 10.0.0.9\n  Port 2222\n")
    inv = inventory(f"hosts:\n  app: {{address: app, known_hosts: '{tmp_path}/kh'}}\n"
                    "  broken: {address: x, jump: nowhere}\n", home)
    config = parse_ssh_config((home / ".ssh" / "config").read_text())
    alias = route(inv, Host(name="bastion", address="bastion"), config)[-1]
    assert alias.known_hosts[0] == str(home / ".ssh/known_hosts")     # its own: RSA
    views = other_views(inv, config, alias)
    assert [(v.file, [k.get_name() for k in v.keys]) for v in views] == \
        [(f"{tmp_path}/kh", ["ssh-ed25519"])]


def test_control_sockets_get_a_folder_with_room_for_their_names(tmp_path, monkeypatch):
    """A unix socket's path holds 107 bytes: under a long TMPDIR, or one
    OpenSSH would expand (`${`), the masters' folder goes to /tmp (private
    all the same)."""
    from fleet.ssh_cli import SOCKET_ROOM, private_folder
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    deep.mkdir(parents=True)
    odd = Path(tempfile.mkdtemp(prefix="${HOME}", dir="/tmp"))
    try:
        for where in (deep, odd):
            monkeypatch.setattr(tempfile, "tempdir", str(where))
            folder = private_folder()
            try:
                assert folder.startswith("/tmp/dockmove-ssh-") and len(folder) <= SOCKET_ROOM
                assert os.stat(folder).st_mode & 0o777 == 0o700
            finally:
                os.rmdir(folder)
            assert os.listdir(where) == []
    finally:
        os.rmdir(odd)
