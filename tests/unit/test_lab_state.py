"""What the lab writes (pure): the inner host behind new, in the inventory
and in the ssh_config; LabConfig's hop option."""
import pytest
import yaml

from fleet.inventory import parse_inventory
from lab.config import LabConfig
from lab.state import inventory_data, ssh_config_text


def test_inner_is_reached_through_new(tmp_path):
    cfg = LabConfig(name="t", state_dir=tmp_path, hop=True)
    assert [s.name for s in cfg.hosts] == ["old", "new", "inner"]
    assert cfg.network_of(cfg.hosts[2]) == "t-hop-net" and cfg.network_of(cfg.hosts[1]) == "t-net"
    addresses = {"old": "10.0.0.2", "new": "10.0.0.3", "inner": "10.1.0.2"}
    data = inventory_data(cfg, addresses, jumps={"inner": "new"})
    assert data["hosts"]["inner"]["jump"] == data["hosts"]["inner-root"]["jump"] == "new"
    assert "jump" not in data["hosts"]["new"]
    inv = parse_inventory(yaml.safe_dump(data), tmp_path / "hosts.yaml")
    assert inv.hosts["inner"].jump == "new"
    text = ssh_config_text(cfg, addresses, jumps={"inner": "new"})
    inner = text.split("Host inner\n")[1]
    assert "HostName 10.1.0.2" in inner and "ProxyJump new" in inner
    assert "ProxyJump" not in text.split("Host inner\n")[0]


def test_hop_from_environment(monkeypatch):
    monkeypatch.setenv("DOCKMOVE_LAB_HOP", "1")
    assert LabConfig.from_env().hop
    monkeypatch.setenv("DOCKMOVE_LAB_HOP", "yes please")
    with pytest.raises(ValueError, match="DOCKMOVE_LAB_HOP"):
        LabConfig.from_env()
    monkeypatch.delenv("DOCKMOVE_LAB_HOP")
    assert not LabConfig.from_env().hop and "inner" not in [s.name for s in LabConfig().hosts]


def test_the_stack_is_on_request_only(monkeypatch):
    """Only a lab with the stack gives `old` the stack's image (compose 1.29,
    the shop project); the other labs neither build nor run it."""
    from lab.images import RECIPES, image_tags
    assert [(s.name, s.image) for s in LabConfig().hosts] == [("old", "old"), ("new", "host-trixie")]
    stacked = LabConfig(stack=True).hosts
    assert [(s.name, s.image, s.seed) for s in stacked] == [("old", "old-stack", True),
                                                            ("new", "host-trixie", False)]
    assert stacked[0].release == "bookworm" and not stacked[0].systemd
    assert {r.role for r in RECIPES if r.stack} == {"stack", "old-stack"}
    tags = image_tags()
    assert tags["old"] != tags["old-stack"] and tags["old-stack"].startswith("dockmove-lab/old-stack:")
    monkeypatch.setenv("DOCKMOVE_LAB_STACK", "1")
    assert LabConfig.from_env().stack
    monkeypatch.setenv("DOCKMOVE_LAB_STACK", "yes")
    with pytest.raises(ValueError, match="DOCKMOVE_LAB_STACK"):
        LabConfig.from_env()
