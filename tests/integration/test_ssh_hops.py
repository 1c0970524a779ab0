"""SSH trust on every hop, against real sshd: a lab whose host `inner` only
`new` can reach (its own network; this machine gets no answer from it), jump
hosts from the inventory and from ssh_config, known_hosts in awkward places,
and `hosts.trust` facing a server that hides the key type it is known by."""
import hashlib
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from fleet.inventory import load_inventory
from fleet.remote import Remote
from fleet.ssh_cli import Masters, known_hosts_value, ssh_command
from migrate.stream import pipe

from .conftest import lab_name, make_lab

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def hop(tmp_path_factory):
    return make_lab(lab_name("-hop"), tmp_path_factory, hop=True)


def key_lines(hop, host: str) -> list[str]:
    """The lab's known_hosts lines of one host (its real keys)."""
    ip = hop.addresses[host]
    return [l for l in hop.cfg.known_hosts_path.read_text().splitlines()
            if l.split()[0] == ip]


def fingerprint(line: str) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", "-"], input=line, capture_output=True,
                         text=True, check=True).stdout
    return out.split()[1]


def ed25519(hop, host: str) -> str:
    return next(l for l in key_lines(hop, host) if " ssh-ed25519 " in l)


def write_known(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(l + "\n" for l in lines))
    return path


def write_inventory(path: Path, hosts: dict, settings: dict | None = None) -> Path:
    path.write_text(yaml.safe_dump({"settings": settings or {}, "hosts": hosts}))
    return path


def lab_host(hop, host: str, **fields) -> dict:
    """An inventory entry as the lab's, with absolute paths; `fields` win."""
    entry = {"address": hop.addresses[host], "user": "admin",
             "identity_file": str(hop.cfg.key_path)}
    entry.update(fields)
    return {k: v for k, v in entry.items() if v is not None}


def run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, **kw)


def run_on(inv, host, command: str) -> subprocess.CompletedProcess:
    """`command` on `host` through the streams' ssh."""
    with ssh_command(inv, host, command) as argv:
        return run(argv)


def rows(out: str) -> dict[str, str]:
    return {l.split()[0]: l for l in out.splitlines()[2:] if l.strip()}


def test_inner_is_reachable_only_through_new(hop, tmp_path):
    """The lab's second hop is real: direct, this machine gets no answer."""
    out = hop.inv("hosts", "--host", "inner,inner-root")
    assert out.returncode == 0, out.stderr
    assert "Debian GNU/Linux 12" in rows(out.stdout)["inner"]
    direct = write_inventory(tmp_path / "hosts.yaml",
                             {"inner": lab_host(hop, "inner", known_hosts=str(hop.cfg.known_hosts_path))},
                             {"connect_timeout": 3})
    out = hop.inv("hosts", "--host", "inner", inventory=direct)
    assert out.returncode == 3 and "no answer within 3s" in out.stderr


def test_stream_reaches_inner_through_the_inventory_jump(hop):
    inv = hop.inventory
    data = "".join(f"line {i}\n" for i in range(100000)).encode()
    with ssh_command(inv, inv.hosts["old"], "seq -f 'line %g' 0 99999") as source, \
            ssh_command(inv, inv.hosts["inner"], "cat > /tmp/hop-data") as target:
        res = pipe(source, target, expected=len(data))
    assert res.bytes == len(data)
    got = hop.sh("inner", "sha256sum < /tmp/hop-data").split()[0]
    assert got == hashlib.sha256(data).hexdigest()


def test_unknown_inventory_jump_key_is_refused_on_both_sides(hop, tmp_path):
    kh = write_known(tmp_path / "kh", key_lines(hop, "inner"))      # inner known, new not
    path = write_inventory(tmp_path / "hosts.yaml", {
        "new": lab_host(hop, "new", known_hosts=str(kh)),
        "inner": lab_host(hop, "inner", known_hosts=str(kh), jump="new")})
    out = hop.inv("hosts", "--host", "inner", inventory=path)
    assert out.returncode == 4, out.stderr
    new_fp = fingerprint(ed25519(hop, "new"))
    assert f"host key of {hop.addresses['new']} is not known: ssh-ed25519 {new_fp}" in out.stderr
    assert "jump host new" in out.stderr
    inv = load_inventory(path)
    ssh = run_on(inv, inv.hosts["inner"], "hostname")
    assert ssh.returncode == 255 and "Host key verification failed" in ssh.stderr


def test_a_runs_streams_share_one_master_per_host_that_ends_with_the_run(hop, tmp_path):
    """Through the jump to inner: the first stream starts a master of ours
    (its socket in a 0700 folder), the next is its mux client (no second
    handshake), and the end of the run ends the master."""
    inv = hop.inventory
    with Masters() as masters:
        with ssh_command(inv, inv.hosts["inner"], "hostname", masters=masters) as argv:
            first = run(argv)
        sock = masters.sockets["inner"]
        assert first.returncode == 0 and sock, first.stderr
        assert stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode) == 0o700
        with ssh_command(inv, inv.hosts["inner"], "hostname", masters=masters) as argv:
            second = run(["ssh", "-v", *argv[1:]])
        assert second.returncode == 0 and second.stdout == first.stdout
        assert "mux_client_request_session" in second.stderr          # a client of it
        assert "Authenticated to" not in second.stderr             # no handshake of its own
        folder = os.path.dirname(sock)
        master = re.escape(sock) + r" \[mux\]"                      # its process title
        assert run(["pgrep", "-f", master]).returncode == 0
    assert not os.path.exists(folder)
    left = run(["pgrep", "-f", master])
    assert left.returncode == 1, left.stdout                       # no master left running


def test_a_master_that_ended_is_started_again_and_odd_folders_work(hop, request, monkeypatch):
    """A master ends by itself after a minute without streams: the next
    stream starts another. A temporary folder whose path holds % and a
    blank (OpenSSH expands % in ControlPath) works, and is cleaned up."""
    odd = Path(tempfile.mkdtemp(prefix="a%h b", dir="/tmp"))       # short: a socket's path
    monkeypatch.setattr(tempfile, "tempdir", str(odd))
    request.addfinalizer(lambda: shutil.rmtree(odd, ignore_errors=True))
    inv = hop.inventory
    with Masters() as masters:
        with ssh_command(inv, inv.hosts["old"], "hostname", masters=masters) as argv:
            assert run(argv).stdout.strip() == "old"
        first = masters.sockets["old"]
        assert first and first.startswith(str(odd))
        run(["ssh", "-F", "/dev/null", "-o", "ControlPath=" + known_hosts_value([first]),
             "-O", "exit", "x"])                                    # as its ControlPersist would
        assert not os.path.exists(first)
        with ssh_command(inv, inv.hosts["old"], "hostname", masters=masters) as argv:
            assert run(argv).stdout.strip() == "old"
        second = masters.sockets["old"]
        assert second and second != first and os.path.exists(second)
        master = re.escape(second) + r" \[mux\]"
        assert run(["pgrep", "-f", master]).returncode == 0
    assert run(["pgrep", "-f", master]).returncode == 1
    assert os.listdir(odd) == []


def test_a_master_that_cannot_verify_its_host_is_not_shared(hop, tmp_path):
    """A key we do not know stops the master as it stops a stream: the
    stream then connects on its own and is refused the same way."""
    kh = write_known(tmp_path / "kh", key_lines(hop, "new"))        # old's key unknown
    path = write_inventory(tmp_path / "hosts.yaml", {"old": lab_host(hop, "old", known_hosts=str(kh))})
    inv = load_inventory(path)
    with Masters() as masters:
        with ssh_command(inv, inv.hosts["old"], "hostname", masters=masters) as argv:
            ssh = run(argv)
        assert masters.sockets["old"] is None
        assert not any(a.startswith("ControlPath=/") for a in argv)
    assert ssh.returncode == 255 and "Host key verification failed" in ssh.stderr


def test_masters_warmed_while_the_run_reads_serve_its_streams(hop, tmp_path):
    """warm() starts the masters without waiting (a run reads its hosts
    meanwhile); the first stream waits for its master and is its client.
    A master warmed for a host whose key we do not know is not shared, and
    the stream is refused as before. One still connecting when the run
    ends is ended with it."""
    inv = hop.inventory
    with Masters() as masters:
        masters.warm(inv, [inv.hosts["old"], inv.hosts["inner"]])
        assert set(masters.pending) == {"old", "inner"}              # not waited for
        with ssh_command(inv, inv.hosts["inner"], "hostname", masters=masters) as argv:
            ssh = run(["ssh", "-v", *argv[1:]])
        assert ssh.returncode == 0 and ssh.stdout.strip() == "inner", ssh.stderr
        assert "mux_client_request_session" in ssh.stderr            # the warmed master's client
        sock = masters.sockets["inner"]
        assert sock and os.path.exists(sock) and "inner" not in masters.pending
        assert "old" in masters.pending                               # never used by a stream
    assert not os.path.exists(os.path.dirname(sock))
    assert run(["pgrep", "-f", re.escape(os.path.dirname(sock))]).returncode == 1  # old's too

    # a warmed master that ends before the first stream (ControlPersist's idle
    # end, e.g. a long confirmation) is replaced by the stream, not given up
    with Masters() as masters:
        masters.warm(inv, [inv.hosts["old"]])
        first, proc = masters.pending["old"][0], masters.pending["old"][1]
        assert proc.wait(timeout=30) == 0                            # through, in the background
        run(["ssh", "-F", "/dev/null", "-o", "ControlPath=" + known_hosts_value([first]),
             "-O", "exit", "x"])
        deadline = time.monotonic() + 10                             # it removes its socket
        while os.path.exists(first) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(first)
        with ssh_command(inv, inv.hosts["old"], "hostname", masters=masters) as argv:
            assert run(argv).stdout.strip() == "old"
        second = masters.sockets["old"]
        assert second and second != first and os.path.exists(second)

    kh = write_known(tmp_path / "kh", key_lines(hop, "new"))        # old's key unknown
    path = write_inventory(tmp_path / "hosts.yaml", {"old": lab_host(hop, "old", known_hosts=str(kh))})
    bad = load_inventory(path)
    with Masters() as masters:
        masters.warm(bad, [bad.hosts["old"]])
        with ssh_command(bad, bad.hosts["old"], "hostname", masters=masters) as argv:
            ssh = run(argv)
        assert masters.sockets["old"] is None
    assert ssh.returncode == 255 and "Host key verification failed" in ssh.stderr


def test_the_python_connections_send_small_packets_at_once(hop):
    """TCP_NODELAY on every hop's socket (else each command waits for a
    delayed ACK, bench: 50 ms against 12 ms a command); through the jump,
    the jump host's socket carries the inner host's commands."""
    inv = hop.inventory
    for name, jump in (("old", None), ("inner", "new")):
        remote = Remote(inv, inv.hosts[name])
        try:
            assert remote.run(["hostname"]).stdout.strip() == name
            conn = remote.conn.gateway if jump else remote.conn
            sock = conn.client.get_transport().sock
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1, name
        finally:
            remote.close()


def ssh_config_jump(hop, home: Path) -> Path:
    """~/.ssh/config in `home`: inner-alias through ProxyJump bastion (= new)."""
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    cfg = home / ".ssh" / "config"
    cfg.write_text(f"Host inner-alias\n  HostName {hop.addresses['inner']}\n"
                   f"  ProxyJump bastion\n"
                   f"Host bastion\n  HostName {hop.addresses['new']}\n"
                   f"Host *\n  User admin\n  IdentityFile {hop.cfg.key_path}\n")
    return cfg


def test_ssh_config_proxyjump_checks_the_bastion_key(hop, tmp_path, monkeypatch):
    home = tmp_path / "home"
    ssh_config_jump(hop, home)
    kh = write_known(tmp_path / "kh", key_lines(hop, "inner"))      # the bastion is not known
    path = write_inventory(tmp_path / "hosts.yaml",
                           {"inner-cfg": {"address": "inner-alias", "known_hosts": str(kh)}})
    env = {"HOME": str(home)}
    out = hop.inv("hosts", "--host", "inner-cfg", inventory=path, env=env)
    assert out.returncode == 4, out.stdout + out.stderr
    new_fp = fingerprint(ed25519(hop, "new"))
    assert f"host key of {hop.addresses['new']} is not known: ssh-ed25519 {new_fp}" in out.stderr
    assert "inv hosts.trust bastion --fingerprint" in out.stderr
    monkeypatch.setenv("HOME", str(home))
    inv = load_inventory(path)
    ssh = run_on(inv, inv.hosts["inner-cfg"], "hostname")
    assert ssh.returncode == 255 and "Host key verification failed" in ssh.stderr

    trusted = hop.inv("hosts.trust", "bastion", "--fingerprint", new_fp, inventory=path, env=env)
    assert trusted.returncode == 0, trusted.stderr
    assert f"recorded in {home / '.ssh/known_hosts'}" in trusted.stdout
    out = hop.inv("hosts", "--host", "inner-cfg", inventory=path, env=env)
    assert out.returncode == 0, out.stderr
    assert "Debian GNU/Linux 12" in rows(out.stdout)["inner-cfg"]
    ssh = run_on(inv, inv.hosts["inner-cfg"], "hostname")
    assert ssh.returncode == 0, ssh.stderr
    assert ssh.stdout.strip() == "inner"


def test_known_hosts_path_with_space_and_percent_on_both_sides(hop, tmp_path, monkeypatch):
    odd = write_known(tmp_path / "known hosts 100%d" / "kh #1", key_lines(hop, "old"))
    path = write_inventory(tmp_path / "hosts.yaml",
                           {"old": lab_host(hop, "old", known_hosts=str(odd))})
    out = hop.inv("hosts", "--host", "old", inventory=path)
    assert out.returncode == 0, out.stderr
    inv = load_inventory(path)
    ssh = run_on(inv, inv.hosts["old"], "hostname")
    assert ssh.returncode == 0, ssh.stderr
    assert ssh.stdout.strip() == "old"


def test_user_known_hosts_file_of_ssh_config_counts_on_both_sides(hop, tmp_path, monkeypatch):
    home = tmp_path / "home"
    odd = write_known(tmp_path / "from config" / "known hosts", key_lines(hop, "old"))
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(
        f'Host {hop.addresses["old"]}\n  UserKnownHostsFile "{odd}"\n')
    path = write_inventory(tmp_path / "hosts.yaml", {"old": lab_host(hop, "old")})
    out = hop.inv("hosts", "--host", "old", inventory=path, env={"HOME": str(home)})
    assert out.returncode == 0, out.stderr
    monkeypatch.setenv("HOME", str(home))
    inv = load_inventory(path)
    ssh = run_on(inv, inv.hosts["old"], "hostname")
    assert ssh.returncode == 0, ssh.stderr
    assert ssh.stdout.strip() == "old"


@pytest.fixture
def rsa_only_sshd(hop):
    """A second sshd on new, port 2222, that offers only its RSA host key."""
    hop.sh("new", "/usr/sbin/sshd -p 2222 -o HostKey=/etc/ssh/ssh_host_rsa_key "
                  "-o PidFile=/run/sshd-rsa-only.pid")
    yield 2222
    hop.sh("new", "kill $(cat /run/sshd-rsa-only.pid)")


def test_trust_refuses_a_key_of_another_type_than_the_known_one(hop, tmp_path, rsa_only_sshd):
    """known_hosts knows the host by its ed25519 key; a server offering only
    RSA (a man in the middle without that key) must not get its key recorded."""
    ip = hop.addresses["new"]
    ed = ed25519(hop, "new").split(None, 1)[1]
    kh = write_known(tmp_path / "kh", [f"[{ip}]:{rsa_only_sshd} {ed}"])
    path = write_inventory(tmp_path / "hosts.yaml",
                           {"rsa-only": lab_host(hop, "new", port=rsa_only_sshd, known_hosts=str(kh))})
    before = kh.read_text()
    out = hop.inv("hosts.trust", "rsa-only", "--yes", inventory=path)
    assert out.returncode == 4, out.stdout + out.stderr
    assert f"ssh-ed25519 {fingerprint(ed25519(hop, 'new'))}" in out.stderr
    assert "does not offer" in out.stderr and "ssh-rsa" in out.stderr
    assert kh.read_text() == before


def test_trust_looks_the_host_up_like_ssh(hop, tmp_path):
    """An ssh_config alias is trusted under its HostName; a host behind a jump
    host is asked through it (the jump host's key checked)."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(f"Host old-alias\n  HostName {hop.addresses['old']}\n")
    kh = write_known(tmp_path / "kh", key_lines(hop, "new"))        # only the bastion known
    path = write_inventory(tmp_path / "hosts.yaml", {
        "aliased": lab_host(hop, "old", address="old-alias", known_hosts=str(kh)),
        "new": lab_host(hop, "new", known_hosts=str(kh)),
        "inner": lab_host(hop, "inner", known_hosts=str(kh), jump="new")})
    env = {"HOME": str(home)}
    old_fp = fingerprint(ed25519(hop, "old"))
    out = hop.inv("hosts.trust", "aliased", "--fingerprint", old_fp, inventory=path, env=env)
    assert out.returncode == 0, out.stderr
    assert f"{hop.addresses['old']} ssh-ed25519 " in kh.read_text()
    inner_fp = fingerprint(ed25519(hop, "inner"))
    out = hop.inv("hosts.trust", "inner", "--fingerprint", inner_fp, inventory=path, env=env)
    assert out.returncode == 0, out.stderr
    assert f"{hop.addresses['inner']} ssh-ed25519 " in kh.read_text()
    out = hop.inv("hosts", "--host", "aliased,inner", inventory=path, env=env)
    assert out.returncode == 0, out.stderr

    unknown_bastion = write_known(tmp_path / "kh2", [])
    path2 = write_inventory(tmp_path / "hosts2.yaml", {
        "new": lab_host(hop, "new", known_hosts=str(unknown_bastion)),
        "inner": lab_host(hop, "inner", known_hosts=str(unknown_bastion), jump="new")})
    out = hop.inv("hosts.trust", "inner", "--yes", inventory=path2, env=env)
    assert out.returncode == 4, out.stderr
    new_fp = fingerprint(ed25519(hop, "new"))
    assert f"host key of {hop.addresses['new']} is not known: ssh-ed25519 {new_fp}" in out.stderr
    assert unknown_bastion.read_text() == ""


def test_revoked_and_certificate_lines_of_known_hosts(hop, tmp_path):
    """A @cert-authority line or a line that is no key is skipped (no
    traceback); a @revoked key is refused by both sides, even where a line
    lists it as the host's."""
    other_ca = ed25519(hop, "inner").split(None, 1)[1]
    ok = write_known(tmp_path / "ok", ["# comment", f"@cert-authority * {other_ca}",
                                       "not a key line", *key_lines(hop, "old")])
    path = write_inventory(tmp_path / "hosts.yaml",
                           {"old": lab_host(hop, "old", known_hosts=str(ok))})
    out = hop.inv("hosts", "--host", "old", inventory=path)
    assert out.returncode == 0, out.stderr
    revoked_line = "@revoked " + ed25519(hop, "old")
    bad = write_known(tmp_path / "revoked", [revoked_line, ed25519(hop, "old")])
    path = write_inventory(tmp_path / "hosts.yaml",
                           {"old": lab_host(hop, "old", known_hosts=str(bad))})
    out = hop.inv("hosts", "--host", "old", inventory=path)
    assert out.returncode == 4, out.stderr
    assert f"is REVOKED (a @revoked line of known_hosts): ssh-ed25519 " \
           f"{fingerprint(ed25519(hop, 'old'))}" in out.stderr
    inv = load_inventory(path)
    ssh = run_on(inv, inv.hosts["old"], "hostname")
    assert ssh.returncode == 255 and "REVOKED" in ssh.stderr
    out = hop.inv("hosts.trust", "old", "--yes", inventory=path)
    assert out.returncode == 4 and "REVOKED" in out.stderr


def random_ed25519() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    return Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def test_a_stale_key_in_the_host_file_is_refused_by_both_sides(hop, tmp_path):
    """The host's own file has a stale key for old's address (a reused IP);
    the inventory's shared file has the real one. The first file that knows
    the host decides, on both sides: the stream refuses it as the checks do."""
    ip = hop.addresses["old"]
    own = write_known(tmp_path / "own", [f"{ip} {random_ed25519()}"])
    shared = write_known(tmp_path / "shared", key_lines(hop, "old"))
    path = write_inventory(tmp_path / "hosts.yaml",
                           {"old": lab_host(hop, "old", known_hosts=str(own))},
                           {"known_hosts": [str(shared)]})
    out = hop.inv("hosts", "--host", "old", inventory=path)
    assert out.returncode == 4 and "HOST KEY CHANGED" in out.stderr, out.stderr
    inv = load_inventory(path)
    ssh = run_on(inv, inv.hosts["old"], "hostname")
    assert ssh.returncode == 255 and "Host key verification failed" in ssh.stderr, ssh.stderr


def test_a_key_of_another_type_in_a_later_file_does_not_count(hop, tmp_path, rsa_only_sshd):
    """The host's own file knows it by ed25519; a less specific file still has
    an RSA key for its name (the key a former machine of that address had, in
    an attacker's hands now: here the RSA-only server). Neither side takes it."""
    ip = hop.addresses["new"]
    name = f"[{ip}]:{rsa_only_sshd}"
    own = write_known(tmp_path / "own", [f"{name} {ed25519(hop, 'new').split(None, 1)[1]}"])
    rsa = next(l for l in key_lines(hop, "new") if " ssh-rsa " in l)
    shared = write_known(tmp_path / "shared", [f"{name} {rsa.split(None, 1)[1]}"])
    path = write_inventory(tmp_path / "hosts.yaml",
                           {"rsa-only": lab_host(hop, "new", port=rsa_only_sshd,
                                                 known_hosts=str(own))},
                           {"known_hosts": [str(shared)]})
    out = hop.inv("hosts", "--host", "rsa-only", inventory=path)
    assert out.returncode == 4 and "HOST KEY CHANGED" in out.stderr, out.stdout + out.stderr
    inv = load_inventory(path)
    ssh = run_on(inv, inv.hosts["rsa-only"], "hostname")
    assert ssh.returncode == 255 and "Host key verification failed" in ssh.stderr, ssh.stderr


def test_trusting_a_proxyjump_alias_heeds_the_file_of_the_host_behind_it(
        hop, tmp_path, rsa_only_sshd):
    """bastion-rsa is a ProxyJump alias for new:2222, known by its ed25519 key
    in the known_hosts file of the host behind it. A server there offering
    only RSA (a man in the middle without that key) must not get its key
    recorded in ~/.ssh/known_hosts by `hosts.trust bastion-rsa --yes`."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(
        f"Host inner-alias\n  HostName {hop.addresses['inner']}\n  ProxyJump bastion-rsa\n"
        f"Host bastion-rsa\n  HostName {hop.addresses['new']}\n  Port {rsa_only_sshd}\n"
        f"Host *\n  User admin\n  IdentityFile {hop.cfg.key_path}\n")
    ed = ed25519(hop, "new").split(None, 1)[1]
    kh = write_known(tmp_path / "kh", [f"[{hop.addresses['new']}]:{rsa_only_sshd} {ed}",
                                       *key_lines(hop, "inner")])
    path = write_inventory(tmp_path / "hosts.yaml",
                           {"inner-cfg": {"address": "inner-alias", "known_hosts": str(kh)}})
    out = hop.inv("hosts.trust", "bastion-rsa", "--yes", inventory=path, env={"HOME": str(home)})
    assert out.returncode == 4, out.stdout + out.stderr
    assert f"ssh-ed25519 {fingerprint(ed25519(hop, 'new'))}" in out.stderr
    assert "does not offer" in out.stderr and "ssh-rsa" in out.stderr and str(kh) in out.stderr
    assert not (home / ".ssh" / "known_hosts").exists()


@pytest.fixture
def master_to_new(hop, tmp_path):
    """A ControlMaster connection to `new`, its socket where an ssh_config's
    ControlPath points (in /tmp another local user may have put it there)."""
    sock = tmp_path / "cm"
    start = subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(hop.cfg.key_path),
         "-o", f"UserKnownHostsFile={hop.cfg.known_hosts_path}",
         "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
         "-M", "-S", str(sock), "-f", "-N", f"admin@{hop.addresses['new']}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        timeout=60)
    assert start.returncode == 0 and sock.exists()
    yield sock
    subprocess.run(["ssh", "-S", str(sock), "-O", "exit", "x"], capture_output=True, timeout=30)


def test_the_stream_never_rides_a_shared_connection(hop, tmp_path, master_to_new):
    """ssh_config's ControlPath names a master connection (to `new`): a mux
    client would send the stream meant for `old` down it, with none of our
    checks. The stream opens its own connection, to old."""
    cfg = tmp_path / "ssh_config"
    cfg.write_text(f"Host *\n  ControlMaster auto\n  ControlPath {master_to_new}\n"
                   "  ForwardAgent yes\n")
    path = write_inventory(tmp_path / "hosts.yaml",
                           {"old": lab_host(hop, "old", known_hosts=str(hop.cfg.known_hosts_path))},
                           {"ssh_config": str(cfg)})
    inv = load_inventory(path)
    ssh = run_on(inv, inv.hosts["old"], "hostname")
    assert ssh.returncode == 0, ssh.stderr
    assert ssh.stdout.strip() == "old"
    with Masters() as masters:             # a run's own master: ours, to old, not that one
        with ssh_command(inv, inv.hosts["old"], "hostname", masters=masters) as argv:
            ssh = run(argv)
        assert masters.sockets["old"] and masters.sockets["old"] != str(master_to_new)
    assert ssh.returncode == 0 and ssh.stdout.strip() == "old", ssh.stderr
