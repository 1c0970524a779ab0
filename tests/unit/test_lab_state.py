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
