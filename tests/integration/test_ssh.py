"""The SSH layer against real sshd: host keys, logins, sudo, quoting, and the
message and exit code a user gets for each bad input."""
import shutil
import subprocess

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fleet.errors import AuthError
from fleet.inventory import load_inventory
from fleet.remote import Remote
from lab.config import PASSWORD_USER, PASSWORD_USER_PASSWORD

pytestmark = pytest.mark.lab

HOSTILE = ["it's", 'say "hi"', "$(touch /tmp/pwned)", "`id`", "a;b", "two  spaces",
           "line1\nline2", "ünïcødé ✓", "", "*", "$HOME"]


def write_inventory(lab, tmp_path, **overrides):
    """The lab's inventory with `old`'s entry changed."""
    data = yaml.safe_load(lab.cfg.inventory_path.read_text())
    for name, host in data["hosts"].items():
        for key in ("identity_file", "known_hosts"):
            host[key] = str(lab.cfg.state_dir / host[key])
    data["hosts"]["old"].update(overrides)
    path = tmp_path / "hosts.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_inv_hosts_shows_both_hosts_as_root_and_sudo_user(lab):
    out = lab.inv("hosts")
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line for line in out.stdout.splitlines()[2:]}
    assert set(rows) == {"old", "old-root", "new", "new-root"}
    for name in ("old", "old-root"):
        assert "Debian GNU/Linux 12 (bookworm)" in rows[name] and "20.10" in rows[name]
    for name in ("new", "new-root"):
        assert rows[name].rstrip().endswith("none")
    assert " admin " in rows["old"] and " ok " in rows["old"]
    assert " root " in rows["new-root"]


def test_hostile_arguments_arrive_literally(lab):
    inv = lab.inventory
    with Remote(inv, inv.hosts["old"]) as r:
        out = r.run(["printf", "%s\\0", *HOSTILE]).stdout
        assert out.split("\0")[:-1] == HOSTILE
        as_root = r.run(["sh", "-c", 'id -u; printf %s "$V"'], sudo=True,
                        env={"V": HOSTILE[2] + "\n" + HOSTILE[1]}).stdout
        assert as_root == "0\n" + HOSTILE[2] + "\n" + HOSTILE[1]
        assert r.run(["test", "-e", "/tmp/pwned"], check=False).exit_code == 1


def test_failed_command_names_host_command_code_and_stderr(lab):
    inv = lab.inventory
    with Remote(inv, inv.hosts["old"]) as r, pytest.raises(Exception) as e:
        r.run(["ls", "/no/such dir"])
    msg = str(e.value)
    assert msg.startswith("old: command failed (exit 2): ls '/no/such dir'")
    assert "No such file or directory" in msg


def test_sudo_with_password_from_environment(lab, tmp_path, monkeypatch):
    path = write_inventory(lab, tmp_path, user=PASSWORD_USER,
                           sudo={"password_env": "LAB_OPS_PW"})
    inv = load_inventory(path)
    monkeypatch.setenv("LAB_OPS_PW", PASSWORD_USER_PASSWORD)
    with Remote(inv, inv.hosts["old"]) as r:
        assert r.run(["id", "-u"], sudo=True).stdout == "0\n"
    monkeypatch.setenv("LAB_OPS_PW", "wrong")
    with Remote(inv, inv.hosts["old"]) as r, pytest.raises(AuthError) as e:
        r.run(["id", "-u"], sudo=True)
    assert "sudo refused the password from $LAB_OPS_PW for ops" in str(e.value)


def test_passwordless_sudo_missing_is_an_auth_error(lab, tmp_path):
    path = write_inventory(lab, tmp_path, user=PASSWORD_USER, sudo="passwordless")
    out = lab.inv("hosts", "--host", "old", inventory=path)
    assert out.returncode == 0                      # reachable; sudo is reported
    assert "no: sudo needs a password for ops" in out.stdout


def test_unknown_host_key_is_refused_then_trusted(lab, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    path = write_inventory(lab, tmp_path, known_hosts=str(empty))
    out = lab.inv("hosts", "--host", "old", inventory=path)
    assert out.returncode == 4
    assert f"old: host key of {lab.addresses['old']} is not known: ssh-ed25519 SHA256:" in out.stderr
    fp = out.stderr.split("--fingerprint ")[1].split()[0]
    real = subprocess.run(["ssh-keygen", "-lf", "-"], input=lab.cfg.known_hosts_path.read_text()
                          .splitlines()[0], capture_output=True, text=True).stdout
    assert fp in real                                # the fingerprint shown is the host's

    wrong = lab.inv("hosts.trust", "old", "--fingerprint", "SHA256:" + "A" * 43, inventory=path)
    assert wrong.returncode == 4 and "not the expected" in wrong.stderr
    assert empty.read_text() == ""
    unasked = lab.inv("hosts.trust", "old", inventory=path)   # no tty, no --yes: refused
    assert unasked.returncode == 2 and empty.read_text() == ""

    ok = lab.inv("hosts.trust", "old", "--fingerprint", fp, inventory=path)
    assert ok.returncode == 0 and f"recorded in {empty}" in ok.stdout
    assert lab.inv("hosts", "--host", "old", inventory=path).returncode == 0
    again = lab.inv("hosts.trust", "old", "--yes", inventory=path)
    assert "already in" in again.stdout and len(empty.read_text().splitlines()) == 1


def test_changed_host_key_is_refused(lab, tmp_path):
    other = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    kh = tmp_path / "known_hosts"
    kh.write_text(f"{lab.addresses['old']} {other}\n")
    path = write_inventory(lab, tmp_path, known_hosts=str(kh))
    out = lab.inv("hosts", "--host", "old", inventory=path)
    assert out.returncode == 4 and "HOST KEY CHANGED" in out.stderr
    refused = lab.inv("hosts.trust", "old", "--yes", inventory=path)
    assert refused.returncode == 4 and "Not replacing it" in refused.stderr


def test_wrong_key_is_refused_login(lab, tmp_path):
    key = tmp_path / "stranger"
    key.write_text(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()).decode())
    key.chmod(0o600)
    path = write_inventory(lab, tmp_path, identity_file=str(key))
    out = lab.inv("hosts", "--host", "old", inventory=path)
    assert out.returncode == 5
    assert "ssh login refused" in out.stderr and str(key) in out.stderr


def test_unreachable_host(lab, tmp_path):
    path = write_inventory(lab, tmp_path, address="127.0.0.1", port=1)
    out = lab.inv("hosts", "--host", "old", inventory=path)
    assert out.returncode == 3
    assert "connection refused: nothing listens on that port" in out.stderr
    assert "FAILED (connect)" in out.stdout


def test_one_failing_host_does_not_hide_the_others(lab, tmp_path):
    path = write_inventory(lab, tmp_path, address="127.0.0.1", port=1)
    out = lab.inv("hosts", "--host", "old,new", inventory=path)
    assert out.returncode == 3
    assert "1 host(s) failed: old" in out.stderr
    assert any(l.startswith("new ") and "Debian" in l for l in out.stdout.splitlines())


def test_bad_inventory_and_names(lab, tmp_path):
    out = lab.inv("hosts", "--host", "nosuch")
    assert out.returncode == 2
    assert "unknown host 'nosuch'" in out.stderr and "new, new-root, old, old-root" in out.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("hosts:\n  old:\n    address: [1.2.3.4\n")
    out = lab.inv("hosts", inventory=bad)
    assert out.returncode == 2 and f"{bad}: line " in out.stderr and "malformed YAML" in out.stderr
    bad.write_text("hosts:\n  old:\n    user: admin\n")
    out = lab.inv("hosts", inventory=bad)
    assert out.returncode == 2 and f"{bad}: hosts.old: missing field 'address'" in out.stderr
    out = lab.inv("hosts", inventory=tmp_path / "absent.yaml")
    assert out.returncode == 2 and "inv lab.up" in out.stderr


def test_openssh_reaches_hosts_with_the_lab_config(lab):
    """The lab's ssh_config works with plain OpenSSH and strict host keys."""
    assert shutil.which("ssh")
    out = subprocess.run(["ssh", "-F", str(lab.cfg.ssh_config_path), "-o", "BatchMode=yes",
                          "new", "hostname"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "new"
