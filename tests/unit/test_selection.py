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
