"""The lab's host images, built once and cached in the outer engine.

    rootfs         debootstrap (minbase, Debian 12 bookworm), imported
    rootfs-trixie  the same for Debian 13 trixie
    host           rootfs + sshd, sudo, users, lab-init  (files/host.Dockerfile)
    host-trixie    rootfs-trixie + systemd as PID 1, sshd, cron and journald
                   as units, sudo, users            (files/host-trixie.Dockerfile)
    apache         rootfs + apache2, exported as the seed's image (files/apache.Dockerfile)
    old            host + Debian's docker.io & co. + that export (files/old.Dockerfile)
    stack          rootfs + PostgreSQL 15, python3-psycopg2 and the shop's two
                   programs, exported as its image (files/stack.Dockerfile)
    old-stack      old + Debian's docker-compose 1.29, that export and the
                   shop's compose project (files/old-stack.Dockerfile)
    repo           stand-ins for Docker's apt repository (docker-ce & co. rebuilt
                   from Debian 13's packages) and a credential-helper release,
                   served over HTTP                  (files/repo.Dockerfile)

The last two are built only for a lab with the stack (`inv lab.up --stack`).
Each tag carries a hash of its recipe (and of its parents'), so a changed recipe
builds anew and an unchanged one is reused; `rebuild` forces it.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import docker
from docker.errors import BuildError, ImageNotFound

from fleet.errors import DockmoveError

from .config import NEW_SUITE, OLD_SUITE, PASSWORD_USER_PASSWORD, LabConfig

FILES = Path(__file__).resolve().parent / "files"
REPO = "dockmove-lab"
IMAGE_LABEL = "dockmove.lab.image"
DEBOOTSTRAP = ["debootstrap", "--variant=minbase"]

Log = Callable[[str], None]


class LabError(DockmoveError):
    pass


@dataclass(frozen=True)
class Recipe:
    role: str
    parents: tuple[str, ...]
    files: tuple[str, ...]
    suite: str = ""          # a root filesystem: the Debian release debootstrap makes
    stack: bool = False      # wanted only by a lab with the stack

    def digest(self, parent_digests: dict[str, str]) -> str:
        h = hashlib.sha256(self.role.encode())
        for p in self.parents:
            h.update(parent_digests[p].encode())
        for f in self.files:
            h.update(f.encode() + b"\0" + (FILES / f).read_bytes())
        if self.suite:
            h.update(" ".join(DEBOOTSTRAP + [self.suite]).encode())
        return h.hexdigest()[:12]


RECIPES = (
    Recipe("rootfs", (), (), suite=OLD_SUITE),
    Recipe("rootfs-trixie", (), (), suite=NEW_SUITE),
    Recipe("host", ("rootfs",), ("host.Dockerfile", "lab-init", "docker-default")),
    Recipe("host-trixie", ("rootfs-trixie",), ("host-trixie.Dockerfile", "lab-boot")),
    Recipe("apache", ("rootfs",), ("apache.Dockerfile",)),
    Recipe("old", ("host", "apache"), ("old.Dockerfile",)),
    Recipe("repo", ("rootfs",), ("repo.Dockerfile", "build-repo.sh")),
    Recipe("stack", ("rootfs",), ("stack.Dockerfile", "shop-db", "shop-web"), stack=True),
    Recipe("old-stack", ("old", "stack"),
           ("old-stack.Dockerfile", "shop-compose.yml", "shop.env"), stack=True),
)
# a recipe whose build context holds another image's filesystem, as one tar
# file: role -> (that image's role, the file's name)
EXPORTS = {"old": ("apache", "apache-rootfs.tar"), "old-stack": ("stack", "stack-rootfs.tar")}


def image_tags() -> dict[str, str]:
    """role -> `dockmove-lab/ROLE:HASH` for the recipes as they are now."""
    digests: dict[str, str] = {}
    for r in RECIPES:
        digests[r.role] = r.digest(digests)
    return {role: f"{REPO}/{role}:{d}" for role, d in digests.items()}


def _exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except ImageNotFound:
        return False


def ensure_images(client: docker.DockerClient, cfg: LabConfig, *,
                  rebuild: bool = False, log: Log = print) -> dict[str, str]:
    tags = image_tags()
    for recipe in RECIPES:
        if recipe.stack and not cfg.stack:
            continue
        tag = tags[recipe.role]
        if _exists(client, tag) and not rebuild:
            continue
        log(f"lab: building image {tag}")
        if recipe.suite:
            _build_rootfs(client, cfg, recipe, tag, log)
        else:
            _build_dockerfile(client, recipe, tags, tag)
    return tags


def _labels(role: str) -> dict[str, str]:
    return {IMAGE_LABEL: role}


def _build_rootfs(client: docker.DockerClient, cfg: LabConfig, recipe: Recipe, tag: str,
                  log: Log) -> None:
    if os.geteuid() != 0:
        raise LabError("lab: building the lab's root filesystem needs root (debootstrap)")
    if not shutil.which("debootstrap"):
        raise LabError("lab: debootstrap is not installed: apt-get install debootstrap "
                       "(./bootstrap installs everything the lab needs)")
    with tempfile.TemporaryDirectory(prefix="dockmove-rootfs-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "root"
        log(f"lab: debootstrap {recipe.suite} from {cfg.mirror} (about a minute)")
        proc = subprocess.run(DEBOOTSTRAP + [recipe.suite, str(root), cfg.mirror],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
            raise LabError(f"lab: debootstrap failed (exit {proc.returncode}); is "
                           f"{cfg.mirror} reachable? Set DOCKMOVE_LAB_MIRROR to "
                           f"another Debian mirror.\n{tail}")
        for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (root / sub).glob("*"):
                if entry.is_file():
                    entry.unlink()
        tarball = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf",
                        str(tarball), "."], check=True)
        repo, _, version = tag.partition(":")
        client.api.import_image_from_file(
            str(tarball), repository=repo, tag=version,
            changes=[f"LABEL {IMAGE_LABEL}={recipe.role}", 'CMD ["/bin/bash"]'])


def _build_dockerfile(client: docker.DockerClient, recipe: Recipe,
                      tags: dict[str, str], tag: str) -> None:
    with tempfile.TemporaryDirectory(prefix="dockmove-build-", dir="/var/tmp") as tmp:
        ctx = Path(tmp)
        for f in recipe.files:
            shutil.copy2(FILES / f, ctx / f)
        if recipe.role in EXPORTS:
            source, name = EXPORTS[recipe.role]
            _export_rootfs(client, tags[source], ctx / name)
        dockerfile = next(f for f in recipe.files if f.endswith(".Dockerfile"))
        base = tags[recipe.parents[0]]
        try:
            client.images.build(
                path=str(ctx), dockerfile=dockerfile, tag=tag, rm=True,
                forcerm=True, pull=False, labels=_labels(recipe.role),
                buildargs={"BASE": base, "OPS_PASSWORD": PASSWORD_USER_PASSWORD})
        except BuildError as e:
            lines = [str(c.get("stream") or c.get("error") or "").rstrip()
                     for c in e.build_log]
            tail = "\n".join(l for l in lines if l)[-3000:]
            raise LabError(f"lab: building {tag} failed: {e.msg}\n{tail}") from None


def _export_rootfs(client: docker.DockerClient, image: str, dest: Path) -> None:
    """The filesystem of `image` as one tar file (what `docker import` takes)."""
    container = client.containers.create(image, command=["true"])
    try:
        with open(dest, "wb") as f:
            for chunk in container.export():
                f.write(chunk)
    finally:
        container.remove(force=True)


def cached_images(client: docker.DockerClient) -> list[str]:
    """The lab's cached images, by tag (by id where untagged)."""
    return [tag for image in client.images.list(filters={"label": IMAGE_LABEL})
            for tag in image.tags or [image.id]]


def remove_images(client: docker.DockerClient, log: Log = print) -> None:
    for tag in cached_images(client):
        log(f"lab: removing image {tag}")
        try:
            client.images.remove(tag, force=True)
        except ImageNotFound:
            pass
