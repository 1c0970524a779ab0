"""The inventory (hosts.yaml): parsing, validation and the default settings.

Pure: `parse_inventory(text, path)` turns YAML text into frozen dataclasses or
raises InventoryError naming the file, the line or the host and field.
`load_inventory(path)` is the only function here that reads a file.

Layout of the file:

    settings:                       # all optional; defaults below
      default_source: old
      default_target: new
      known_hosts: [~/.ssh/known_hosts]     # extra files, besides ~/.ssh/known_hosts
      ssh_config: path              # read this instead of ~/.ssh/config and /etc/ssh/ssh_config
      connect_timeout: 10
      docker_repo: {base_url, key_url, fingerprint, channel}
      credential_helper: {url, sha256, action}
    hosts:
      old:
        address: 203.0.113.10       # required: IP, DNS name or ~/.ssh/config alias
        user: admin                 # default: ~/.ssh/config, else the local user
        port: 22
        identity_file: ~/.ssh/id_ed25519
        sudo: passwordless          # none | passwordless | {password_env: VAR}
        jump: bastion               # an inventory host or user@host:port
        groups: [web]
        known_hosts: path           # a known_hosts file for this host only
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import InventoryError

ENV_VAR = "DOCKMOVE_INVENTORY"
PROJECT_DIR = Path(__file__).resolve().parent.parent

DOCKER_FINGERPRINT = "9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88"


@dataclass(frozen=True)
class Sudo:
    mode: str = "passwordless"          # none | passwordless | password
    password_env: str | None = None


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    user: str | None = None
    port: int | None = None
    identity_file: str | None = None
    sudo: Sudo = Sudo()
    jump: str | None = None
    groups: tuple[str, ...] = ()
    known_hosts: str | None = None

    @property
    def label(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port and self.port != 22 else ""
        return f"{user}{self.address}{port}"


@dataclass(frozen=True)
class DockerRepo:
    base_url: str = "https://download.docker.com/linux"
    key_url: str = "https://download.docker.com/linux/{distro}/gpg"
    fingerprint: str = DOCKER_FINGERPRINT
    channel: str = "stable"


@dataclass(frozen=True)
class CredentialHelper:
    url: str = ""
    sha256: str = ""
    action: str = "replace"             # replace | remove


@dataclass(frozen=True)
class Settings:
    default_source: str | None = None
    default_target: str | None = None
    known_hosts: tuple[str, ...] = ()
    ssh_config: str | None = None       # instead of ~/.ssh/config + /etc/ssh/ssh_config
    connect_timeout: int = 10
    docker_repo: DockerRepo = DockerRepo()
    credential_helper: CredentialHelper = CredentialHelper()


@dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: dict[str, Host] = field(default_factory=dict)
    settings: Settings = Settings()

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for host in self.hosts.values():
            for g in host.groups:
                out.setdefault(g, []).append(host.name)
        return out


# --- validation helpers -------------------------------------------------

HOST_FIELDS = {"address", "user", "port", "identity_file", "sudo", "jump",
               "groups", "known_hosts"}
SETTINGS_FIELDS = {"default_source", "default_target", "known_hosts", "ssh_config",
                   "connect_timeout", "docker_repo", "credential_helper"}
TOP_FIELDS = {"settings", "hosts"}


def _where(path: Path, *keys: str) -> str:
    return f"{path}: {'.'.join(keys)}" if keys else str(path)


def _check_keys(data: dict, allowed: set[str], path: Path, *keys: str) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InventoryError(
                f"{_where(path, *keys, str(key))}: unknown field{hint}; "
                f"known fields: {', '.join(sorted(allowed))}")


def _typed(value: Any, kind: type | tuple, path: Path, *keys: str) -> Any:
    if kind is int and isinstance(value, bool):
        value = None  # YAML's yes/no are not numbers
    if value is None or not isinstance(value, kind):
        names = {str: "a string", int: "a whole number", dict: "a mapping",
                 list: "a list"}
        want = names.get(kind, getattr(kind, "__name__", str(kind)))
        raise InventoryError(
            f"{_where(path, *keys)}: expected {want}, got "
            f"{type(value).__name__} {value!r}")
    return value


def _opt(data: dict, key: str, kind: type, path: Path, *keys: str) -> Any:
    if key not in data:
        return None
    return _typed(data[key], kind, path, *keys, key)


def _str_list(value: Any, path: Path, *keys: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    items = _typed(value, list, path, *keys)
    return tuple(_typed(v, str, path, *keys) for v in items)


def _resolve_path(value: str | None, base: Path) -> str | None:
    if value is None:
        return None
    p = Path(os.path.expanduser(value))
    return str(p if p.is_absolute() else (base / p))


def _parse_sudo(value: Any, path: Path, name: str) -> Sudo:
    keys = ("hosts", name, "sudo")
    if isinstance(value, str):
        if value in ("none", "passwordless"):
            return Sudo(mode=value)
        raise InventoryError(
            f"{_where(path, *keys)}: expected none, passwordless or "
            f"{{password_env: VARIABLE}}, got {value!r}")
    data = _typed(value, dict, path, *keys)
    _check_keys(data, {"password_env"}, path, *keys)
    env = _opt(data, "password_env", str, path, *keys)
    if not env:
        raise InventoryError(f"{_where(path, *keys)}: password_env is required")
    return Sudo(mode="password", password_env=env)


def _parse_host(name: str, data: Any, path: Path) -> Host:
    data = _typed(data, dict, path, "hosts", name)
    _check_keys(data, HOST_FIELDS, path, "hosts", name)
    if "address" not in data:
        raise InventoryError(f"{_where(path, 'hosts', name)}: missing field 'address'")
    address = _typed(data["address"], str, path, "hosts", name, "address")
    port = _opt(data, "port", int, path, "hosts", name)
    if port is not None and not 1 <= port <= 65535:
        raise InventoryError(
            f"{_where(path, 'hosts', name, 'port')}: {port} is not a port (1-65535)")
    user = _opt(data, "user", str, path, "hosts", name)
    default_sudo = "none" if user == "root" else "passwordless"
    base = path.parent
    return Host(
        name=name,
        address=address,
        user=user,
        port=port,
        identity_file=_resolve_path(
            _opt(data, "identity_file", str, path, "hosts", name), base),
        sudo=_parse_sudo(data.get("sudo", default_sudo), path, name),
        jump=_opt(data, "jump", str, path, "hosts", name),
        groups=_str_list(data.get("groups", []), path, "hosts", name, "groups"),
        known_hosts=_resolve_path(
            _opt(data, "known_hosts", str, path, "hosts", name), base),
    )


def _section(data: dict, key: str, cls: type, path: Path) -> Any:
    if key not in data:
        return cls()
    section = _typed(data[key], dict, path, "settings", key)
    allowed = set(cls.__dataclass_fields__)
    _check_keys(section, allowed, path, "settings", key)
    values = {k: str(_typed(v, (str, int), path, "settings", key, k))
              for k, v in section.items()}
    return cls(**values)


def _parse_settings(data: Any, path: Path) -> Settings:
    data = _typed(data, dict, path, "settings")
    _check_keys(data, SETTINGS_FIELDS, path, "settings")
    timeout = _opt(data, "connect_timeout", int, path, "settings")
    helper = _section(data, "credential_helper", CredentialHelper, path)
    if helper.action not in ("replace", "remove"):
        raise InventoryError(
            f"{_where(path, 'settings', 'credential_helper', 'action')}: "
            f"expected replace or remove, got {helper.action!r}")
    return Settings(
        default_source=_opt(data, "default_source", str, path, "settings"),
        default_target=_opt(data, "default_target", str, path, "settings"),
        known_hosts=tuple(_resolve_path(p, path.parent) for p in _str_list(
            data.get("known_hosts", []), path, "settings", "known_hosts")),
        ssh_config=_resolve_path(_opt(data, "ssh_config", str, path, "settings"),
                                 path.parent),
        connect_timeout=timeout if timeout is not None else 10,
        docker_repo=_section(data, "docker_repo", DockerRepo, path),
        credential_helper=helper,
    )


def parse_inventory(text: str, path: Path) -> Inventory:
    """Parse and validate inventory text; `path` names it in errors and
    anchors relative paths (identity files, known_hosts)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise InventoryError(f"{path}:{where}: malformed YAML: {problem}") from None
    if data is None:
        data = {}
    data = _typed(data, dict, path)
    _check_keys(data, TOP_FIELDS, path)
    raw_hosts = data.get("hosts") or {}
    raw_hosts = _typed(raw_hosts, dict, path, "hosts")
    hosts = {str(n): _parse_host(str(n), h, path) for n, h in raw_hosts.items()}
    settings = _parse_settings(data.get("settings") or {}, path)
    for key in ("default_source", "default_target"):
        name = getattr(settings, key)
        if name is not None and name not in hosts:
            raise InventoryError(
                f"{_where(path, 'settings', key)}: no host named {name!r} "
                f"(known: {', '.join(sorted(hosts)) or 'none'})")
    for host in hosts.values():
        if host.name in {g for h in hosts.values() for g in h.groups}:
            raise InventoryError(
                f"{_where(path, 'hosts', host.name)}: a group has the same name")
    return Inventory(path=path, hosts=hosts, settings=settings)


def default_path(fallback: Path | None = None) -> Path | None:
    """$DOCKMOVE_INVENTORY, else `fallback` (the caller's default: tasks.py
    gives the lab's inventory)."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else fallback


def load_inventory(path: str | Path | None = None, *, fallback: Path | None = None) -> Inventory:
    """--inventory `path` wins; then `default_path(fallback)`."""
    chosen = Path(path) if path else default_path(fallback)
    try:
        if chosen is None:
            raise FileNotFoundError
        text = chosen.read_text()
    except FileNotFoundError:
        hint = ("run `inv lab.up` to create the lab and its inventory, or "
                f"pass --inventory PATH (or set {ENV_VAR}) for your own hosts; "
                f"{PROJECT_DIR / 'hosts.yaml'} is an example")
        where = f"at {chosen}" if chosen else "given"
        raise InventoryError(f"no inventory {where}: {hint}") from None
    except OSError as e:
        raise InventoryError(f"cannot read inventory {chosen}: {e.strerror}") from None
    return parse_inventory(text, chosen)
