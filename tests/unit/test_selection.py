from pathlib import Path

import pytest

from fleet.errors import UnknownHostError, UsageError
from fleet.inventory import parse_inventory
from fleet.selection import parse_adhoc, resolve_jump, select

INV = parse_inventory("""
hosts:
  old: {address: 10.0.0.1, groups: [lab]}
  new: {address: 10.0.0.2, groups: [lab, fresh]}
  solo: {address: s.example.com, jump: old}
""", Path("inv.yaml"))


def names(spec, **kw):
    return [h.name for h in select(INV, spec, **kw)]


def test_names_groups_all_and_order():
    assert names("new,old") == ["new", "old"]
    assert names("lab") == ["old", "new"]
    assert names("fresh,lab") == ["new", "old"]
    assert names("all") == ["old", "new", "solo"]
    assert names("old, old ,") == ["old"]


def test_default_is_used_when_empty():
    assert names(None, default="new") == ["new"]
    with pytest.raises(UsageError, match="no host given"):
        select(INV, None)


def test_unknown_name_lists_known_ones():
    with pytest.raises(UnknownHostError) as e:
        select(INV, "olld")
    assert "unknown host 'olld' in inv.yaml" in str(e.value)
    assert "new, old, solo (groups: fresh, lab)" in str(e.value)


@pytest.mark.parametrize("spec, user, address, port", [
    ("root@10.1.2.3:2222", "root", "10.1.2.3", 2222),
    ("host.example.com", None, "host.example.com", None),
    ("deploy@box", "deploy", "box", None),
    ("[::1]:2200", None, "::1", 2200),
    ("me@[fe80::1]", "me", "fe80::1", None),
])
def test_adhoc(spec, user, address, port):
    h = parse_adhoc(spec)
    assert (h.user, h.address, h.port) == (user, address, port)
    assert h.sudo.mode == ("none" if user == "root" else "passwordless")


def test_adhoc_in_selection_and_bad_ports():
    assert names("old,admin@1.2.3.4") == ["old", "admin@1.2.3.4"]
    with pytest.raises(UsageError, match="not a port"):
        parse_adhoc("a@b:99999")
    with pytest.raises(UsageError, match="cannot read host"):
        parse_adhoc("a@b@c")


def test_jump_resolution():
    assert resolve_jump(INV, INV.hosts["solo"]).name == "old"
    assert resolve_jump(INV, INV.hosts["old"]) is None


@pytest.mark.parametrize("spec", ["-oProxyCommand=touch${IFS}/tmp/x@h.x", "-x@h.x",
                                  "admin@-oProxyCommand=x", "-h.x:22", "a@-h.x",
                                  ])
def test_adhoc_user_or_host_starting_with_a_dash_is_refused(spec):
    """It would become an option of ssh (argv injection)."""
    with pytest.raises(UsageError, match="must not start with '-'|cannot read host") as e:
        select(INV, f"old,{spec}")
    assert repr(spec) in str(e.value)
    with pytest.raises(UsageError):
        parse_adhoc(spec)


def test_inv_refuses_a_dashed_target_before_connecting(tmp_path):
    import subprocess
    import sys
    inv = tmp_path / "hosts.yaml"
    inv.write_text("hosts:\n  old: {address: 127.0.0.1, port: 1}\n")
    evil = "-oProxyCommand=touch${IFS}/tmp/pwned-dockmove@h.x"
    out = subprocess.run([sys.executable, "-m", "invoke", "migrate", "web", "--inventory",
                          str(inv), "--from", "old", "--to", evil],
                         cwd=Path(__file__).parents[2], capture_output=True, text=True,
                         timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 2, out.stderr
    assert f"host {evil!r}: the user must not start with '-'" in out.stderr
    assert "Traceback" not in out.stderr
