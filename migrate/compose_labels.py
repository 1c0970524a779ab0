"""The labels compose puts on the containers, networks and volumes it makes,
by name, in one place: what migrate/ reads them for (a project's members and
order, its files, whether compose on the target keeps a container, the
compose file `inv record --compose` writes). `of()` reads a container's."""
from __future__ import annotations

from typing import Mapping

PREFIX = "com.docker.compose."              # every one of compose's own labels
PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
DEPENDS = "com.docker.compose.depends_on"   # compose 2 only
ONEOFF = "com.docker.compose.oneoff"        # "True" on `compose run` containers
HASH = "com.docker.compose.config-hash"
IMAGE = "com.docker.compose.image"          # compose 2: the id of the service's image
VERSION = "com.docker.compose.version"
WORKING_DIR = "com.docker.compose.project.working_dir"
CONFIG_FILES = "com.docker.compose.project.config_files"
ENV_FILES = "com.docker.compose.project.environment_file"


def of(container: Mapping) -> Mapping[str, str]:
    """A container's labels, from its `docker inspect`."""
    return (container.get("Config") or {}).get("Labels") or {}
