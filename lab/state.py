"""What the lab writes for its users in its state folder (.lab/): the client
key, known_hosts with the hosts' real keys, the inventory the tasks use by
default, and an ssh_config for plain `ssh -F .lab/ssh_config old`."""
from __future__ import annotations

import os
from pathlib import Path

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .config import SUDO_USER, LabConfig


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def ensure_key(cfg: LabConfig) -> str:
    """The lab's client key (created once); returns its public line."""
    priv = cfg.key_path
    pub = priv.with_suffix(".pub")
    if not priv.exists():
        key = Ed25519PrivateKey.generate()
        _write_private(priv, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption()).decode())
        line = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
        pub.write_text(f"{line} dockmove-lab\n")
    return pub.read_text().strip()


def known_hosts_text(keys: dict[str, list[str]]) -> str:
    """address -> ["TYPE BASE64", ...] as known_hosts lines."""
    return "".join(f"{addr} {k}\n" for addr, lines in keys.items() for k in lines)


def repo_settings(repo_ip: str, facts: dict) -> dict:
    """Inventory settings that point provisioning at the lab's stand-ins."""
    base = f"http://{repo_ip}"
    return {
        "docker_repo": {"base_url": f"{base}/linux",
                        "key_url": f"{base}/linux/{{distro}}/gpg",
                        "fingerprint": facts["fingerprint"], "channel": "stable"},
        "credential_helper": {"url": base + facts["helper_path"],
                              "sha256": facts["helper_sha256"], "action": "replace"},
    }


def inventory_data(cfg: LabConfig, addresses: dict[str, str],
                   extra_settings: dict | None = None,
                   jumps: dict[str, str] | None = None) -> dict:
    """`jumps`: host -> the lab host it is reached through."""
    hosts: dict[str, dict] = {}
    for name, ip in addresses.items():
        common = {"address": ip, "identity_file": cfg.key_path.name,
                  "known_hosts": cfg.known_hosts_path.name}
        if name in (jumps or {}):
            common["jump"] = jumps[name]
        hosts[name] = {**common, "user": SUDO_USER, "sudo": "passwordless",
                       "groups": ["lab"]}
        hosts[f"{name}-root"] = {**common, "user": "root", "groups": ["lab-root"]}
    settings = {"default_source": "old", "default_target": "new"}
    settings = {k: v for k, v in settings.items() if v in hosts}
    settings.update(extra_settings or {})
    return {"settings": settings, "hosts": hosts}


def ssh_config_text(cfg: LabConfig, addresses: dict[str, str],
                    jumps: dict[str, str] | None = None) -> str:
    out = [f"# written by `inv lab.up` for lab {cfg.name}\n"]
    for name, ip in addresses.items():
        jump = f"  ProxyJump {jumps[name]}\n" if name in (jumps or {}) else ""
        out.append(f"Host {name}\n  HostName {ip}\n  User {SUDO_USER}\n"
                   f"  IdentityFile {cfg.key_path}\n  IdentitiesOnly yes\n"
                   f"  UserKnownHostsFile {cfg.known_hosts_path}\n"
                   f"  StrictHostKeyChecking yes\n{jump}")
    return "\n".join(out)


def write_state(cfg: LabConfig, addresses: dict[str, str],
                host_keys: dict[str, list[str]], extra_settings: dict | None = None,
                jumps: dict[str, str] | None = None) -> None:
    _write_private(cfg.known_hosts_path, known_hosts_text(host_keys))
    header = (f"# The lab's inventory, written by `inv lab.up` (lab {cfg.name}).\n"
              "# Rewritten on every lab.up; for your own hosts use a copy of the\n"
              "# project's hosts.yaml with --inventory or DOCKMOVE_INVENTORY.\n")
    data = inventory_data(cfg, addresses, extra_settings, jumps)
    _write_private(cfg.inventory_path, header + yaml.safe_dump(data, sort_keys=False))
    _write_private(cfg.ssh_config_path, ssh_config_text(cfg, addresses, jumps))


def remove_state(cfg: LabConfig) -> None:
    for p in (cfg.inventory_path, cfg.known_hosts_path, cfg.ssh_config_path,
              cfg.key_path, cfg.key_path.with_suffix(".pub")):
        p.unlink(missing_ok=True)
