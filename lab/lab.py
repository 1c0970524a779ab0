"""`inv lab.up`, `lab.status`, `lab.down`: the lab as a whole."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import docker
from docker.errors import DockerException

from fleet.confirm import Confirm
from fleet.terminal import table as render

from . import hosts as lh
from .config import HOST_LABEL, HostSpec, LabConfig
from .images import IMAGE_LABEL, LabError, cached_images, ensure_images, remove_images
from .state import ensure_key, remove_state, repo_settings, write_state

Log = Callable[[str], None]
FILES = lh.__file__.rsplit("/", 1)[0] + "/files"
SEED = FILES + "/seed-old.sh"
SEED_STACK = FILES + "/seed-stack.sh"


def outer_engine() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=300)
        client.ping()
        return client
    except DockerException as e:
        raise LabError(
            "lab: this machine's Docker engine does not answer "
            f"({e.__class__.__name__}: {str(e)[:200]}).\n"
            "  Start it (./bootstrap does: it installs docker.io and runs dockerd), "
            "or set DOCKER_HOST.") from None


def _env(container) -> dict[str, str]:
    pairs = (e.partition("=") for e in container.attrs["Config"]["Env"] or [])
    return {k: v for k, _, v in pairs}


def _ensure_host(client, cfg: LabConfig, spec: HostSpec, image: str, pubkey: str,
                 fresh: bool, log: Log):
    container = lh.find_host(client, cfg, spec.name)
    if container is not None:
        reason = ""
        if fresh:
            reason = "--fresh"
        elif _env(container).get("LAB_AUTHORIZED_KEY") != pubkey:
            reason = "the lab key changed"
        if reason:
            log(f"lab: recreating {spec.name} ({reason})")
            container.remove(force=True)
            try:
                client.volumes.get(cfg.volume(spec.name)).remove(force=True)
            except docker.errors.NotFound:
                pass
            container = None
    if container is None:
        log(f"lab: creating host {spec.name} from {image}")
        return lh.create_host(client, cfg, spec, image, pubkey)
    role = (container.image.labels or {}).get(IMAGE_LABEL)
    if role == "old-stack" != spec.image:
        log(f"lab: {spec.name} has the stack (`inv lab.up --stack` keeps seeding it; "
            "`inv lab.up --fresh` recreates it without)")
    elif container.image.tags and image not in container.image.tags:
        log(f"lab: {spec.name} runs an older image ({container.image.tags[0]}); "
            "`inv lab.up --fresh` recreates it from the current one")
    if container.status != "running":
        log(f"lab: starting host {spec.name}")
        container.start()
    else:
        log(f"lab: host {spec.name} is running")
    return container


def _seed(container, spec: HostSpec, log: Log) -> None:
    lh.wait_for_engine(container)
    _run_seed(container, SEED)
    log("lab: old holds apache-test, apache-cont on 9080, app-data in data-cont on 9081")
    if spec.image != "old-stack":
        return
    role = (container.image.labels or {}).get(IMAGE_LABEL)
    if role != spec.image:
        raise LabError(f"lab: {container.name} was made without the stack (image "
                       f"{role or '?'}); `inv lab.up --stack --fresh` makes it anew "
                       "(its state is lost)")
    _run_seed(container, SEED_STACK)
    log("lab: old runs the compose project shop (docker-compose 1.29, /srv/shop): "
        "db (PostgreSQL 15, volume shop_dbdata) and web on 9090")


def _run_seed(container, path: str) -> None:
    code, out = lh.exec_ok(container, ["bash", "-c", open(path).read()])
    if code != 0:
        raise LabError(f"lab: seeding {container.name} failed ({path.rsplit('/', 1)[1]}, "
                       f"exit {code}):\n{out}")


def up(cfg: LabConfig, *, rebuild: bool = False, fresh: bool = False,
       log: Log = print) -> dict[str, str]:
    """Build what is missing, start the hosts, seed `old`, write the state.
    Returns host name -> address."""
    client = outer_engine()
    tags = ensure_images(client, cfg, rebuild=rebuild, log=log)
    pubkey = ensure_key(cfg)
    lh.ensure_network(client, cfg)
    bastions = {s.behind: s.name for s in cfg.hosts if s.behind}
    if bastions:
        lh.ensure_network(client, cfg, cfg.hop_network, internal=True)
    repo = lh.ensure_repo(client, cfg, tags["repo"], fresh or rebuild, log)
    containers = {s.name: _ensure_host(client, cfg, s, tags[s.image], pubkey,
                                       fresh or rebuild, log) for s in cfg.hosts}
    for bastion in bastions:
        lh.join_network(client, containers[bastion], cfg.hop_network, bastion)
    addresses: dict[str, str] = {}
    keys: dict[str, list[str]] = {}
    for spec in cfg.hosts:
        c = containers[spec.name]
        ip = _address(c, cfg.network_of(spec))
        if spec.behind:
            lh.wait_for_ssh_inside(c)
            lh.confine(c, _address(containers[spec.behind], cfg.hop_network))
        else:
            lh.wait_for_ssh(c, ip)
        if spec.systemd:
            lh.wait_for_boot(c)
        addresses[spec.name] = ip
        keys[ip] = lh.host_public_keys(c)
        if spec.seed:
            _seed(c, spec, log)
    repo_ip = _address(repo, cfg.network)
    jumps = {s.name: s.behind for s in cfg.hosts if s.behind}
    write_state(cfg, addresses, keys, repo_settings(repo_ip, lh.repo_facts(repo)), jumps)
    log(f"lab: up; inventory {cfg.inventory_path}")
    log(render(["HOST", "ADDRESS", "SSH"],
               [[n, a, f"ssh -F {cfg.ssh_config_path} {n}"] for n, a in addresses.items()]))
    return addresses


def _address(container, network: str) -> str:
    ip = lh.address(container, network)
    if not ip:
        raise LabError(f"lab: {container.name} has no address on {network}")
    return ip


@dataclass(frozen=True)
class HostStatus:
    name: str
    container: str
    state: str
    address: str
    image: str
    engine: str


def status(cfg: LabConfig) -> list[HostStatus]:
    client = outer_engine()
    out = []
    known = {s.name for s in cfg.hosts} | {"repo"}
    found = sorted(c.labels.get(HOST_LABEL, "") for c in lh.lab_containers(client, cfg))
    extra = [HostSpec(n, "host") for n in found if n and n not in known]
    for spec in cfg.hosts + tuple(extra):
        c = lh.find_host(client, cfg, spec.name)
        if c is None:
            out.append(HostStatus(spec.name, cfg.container(spec.name), "absent", "", "", ""))
            continue
        running = c.status == "running"
        engine = (lh.engine_version(c) or "none") if running else ""
        ip = lh.address(c, cfg.network) or lh.address(c, cfg.hop_network) or ""
        out.append(HostStatus(spec.name, c.name, c.status, ip,
                              (c.image.tags or [c.image.short_id])[0], engine))
    repo = lh.find_host(client, cfg, "repo")
    if repo is not None:
        out.append(HostStatus("repo", repo.name, repo.status, lh.address(repo, cfg.network) or "",
                              (repo.image.tags or [repo.image.short_id])[0], "(web server)"))
    return out


def render_status(rows: list[HostStatus]) -> str:
    return render(["HOST", "CONTAINER", "STATE", "ADDRESS", "IMAGE", "ENGINE"],
                  [[r.name, r.container, r.state, r.address, r.image, r.engine]
                   for r in rows])


def down(cfg: LabConfig, *, images: bool = False, log: Log = print,
         confirm: Confirm = lambda doing, items: False) -> None:
    """Remove the lab's hosts, volumes and network (`confirm` is asked
    about them first), its state, and with `images` the cached images."""
    client = outer_engine()
    cached = [f"cached image {t}" for t in cached_images(client)] if images else []
    confirm(f"lab.down removes the lab {cfg.name}", lh.lab_objects(client, cfg) + cached)
    lh.remove_lab_objects(client, cfg, log)
    remove_state(cfg)
    if images:
        remove_images(client, log)
    log(f"lab: {cfg.name} is down")
