from pathlib import Path

import pytest

from fleet.errors import InventoryError
from fleet.inventory import DOCKER_FINGERPRINT, load_inventory, parse_inventory

P = Path("/etc/dockmove/hosts.yaml")


def parse(text):
    return parse_inventory(text, P)


def error(text):
    with pytest.raises(InventoryError) as e:
        parse(text)
    return str(e.value)


def test_full_host_and_defaults():
    inv = parse("""
hosts:
  web1:
    address: 10.0.0.5
    user: admin
    port: 2222
    identity_file: keys/id
    sudo: {password_env: WEB1_PW}
    jump: bastion
    groups: [web, eu]
    known_hosts: kh
  bastion: {address: b.example.com, user: root}
""")
    h = inv.hosts["web1"]
    assert (h.address, h.user, h.port) == ("10.0.0.5", "admin", 2222)
    assert h.identity_file == "/etc/dockmove/keys/id"
    assert h.known_hosts == "/etc/dockmove/kh"
    assert (h.sudo.mode, h.sudo.password_env) == ("password", "WEB1_PW")
    assert h.groups == ("web", "eu") and h.jump == "bastion"
    assert inv.hosts["bastion"].sudo.mode == "none"        # root needs no sudo
    assert inv.groups() == {"web": ["web1"], "eu": ["web1"]}
    assert inv.settings.docker_repo.fingerprint == DOCKER_FINGERPRINT
    assert inv.settings.connect_timeout == 10


def test_non_root_user_defaults_to_passwordless_sudo():
    assert parse("hosts: {a: {address: x, user: bob}}").hosts["a"].sudo.mode == "passwordless"


def test_empty_file_is_an_empty_inventory():
    assert parse("").hosts == {}


def test_malformed_yaml_names_file_and_line():
    msg = error("hosts:\n  a:\n    address: [x\n  b: {\n")
    assert msg.startswith(f"{P}: line ")
    assert "malformed YAML" in msg


def test_unknown_field_names_host_and_suggests():
    msg = error("hosts:\n  old:\n    adress: 1.2.3.4\n")
    assert msg.startswith(f"{P}: hosts.old.adress: unknown field (did you mean 'address'?)")


def test_missing_address():
    assert error("hosts:\n  old: {user: x}\n") == f"{P}: hosts.old: missing field 'address'"


@pytest.mark.parametrize("text, where, want", [
    ("hosts: {old: {address: x, port: '22'}}", "hosts.old.port", "a whole number"),
    ("hosts: {old: {address: x, port: yes}}", "hosts.old.port", "a whole number"),
    ("hosts: {old: {address: 5}}", "hosts.old.address", "a string"),
    ("hosts: {old: {address: x, groups: [1]}}", "hosts.old.groups", "a string"),
    ("hosts: [a, b]", "hosts", "a mapping"),
    ("hosts: {old: {address: x, sudo: {}}}", "hosts.old.sudo", "password_env is required"),
])
def test_wrong_types(text, where, want):
    msg = error(text)
    assert msg.startswith(f"{P}: {where}: ")
    assert want in msg


def test_port_range_and_sudo_words():
    assert "not a port" in error("hosts: {old: {address: x, port: 70000}}")
    assert "expected none, passwordless" in error("hosts: {old: {address: x, sudo: always}}")


def test_settings_validation():
    assert "settings.default_source: no host named 'gone'" in error(
        "settings: {default_source: gone}\nhosts: {a: {address: x}}")
    assert "settings.docker_repo.fingerprnt: unknown field" in error(
        "settings: {docker_repo: {fingerprnt: x}}")
    assert "expected replace or remove" in error(
        "settings: {credential_helper: {action: burn}}")
    assert "unknown field" in error("setings: {}")


def test_group_may_not_shadow_a_host():
    assert "a group has the same name" in error(
        "hosts: {web: {address: x}, b: {address: y, groups: [web]}}")


def test_missing_file_says_how_to_get_one(tmp_path):
    with pytest.raises(InventoryError) as e:
        load_inventory(tmp_path / "nope.yaml")
    assert "inv lab.up" in str(e.value) and "--inventory" in str(e.value)


def test_example_inventory_is_valid():
    inv = load_inventory(Path(__file__).parents[2] / "hosts.yaml")
    assert {"old", "new", "bastion"} <= set(inv.hosts)
    assert inv.settings.default_source == "old"
