"""`inv record`: what recreates containers, read from a host. The `docker
run` line of one container (migrate/inspected.py, migrate/spec.py), or the
compose file of several or of a compose project (migrate/compose_file.py),
with the inspect outputs of their images, networks and named volumes."""
from __future__ import annotations

from typing import Callable, Sequence

from fleet.remote import Remote

from . import engine as eng
from .compose_file import build, named_volumes, render as render_yaml
from .facts import user_networks
from .inspected import from_inspect
from .spec import render


def run_line(remote: Remote, name: str, mask: bool = True) -> str:
    """The `docker run` command that recreates the container `name`."""
    log_driver = eng.engine_info(remote).get("LoggingDriver", "json-file")
    spec = from_inspect(*eng.container_and_image(remote, name), log_driver)
    return render(spec.run_argv(), mask=mask)


def compose_text(remote: Remote, names: Sequence[str], project: str | None = None,
                 mask: bool = True, note: Callable[[str], None] = lambda line: None) -> str:
    """The compose file of the containers `names`, or of every container of
    the compose project `project`; `note` gets each line on what it cannot say."""
    from .group_run import project_members          # heavy: the migration's modules

    log_driver = eng.engine_info(remote).get("LoggingDriver", "json-file")
    if project:
        names = project_members(remote, project)
    members = [_with_depends(remote, c, i, note) for c, i in
               (eng.container_and_image(remote, n) for n in names)]
    networks = _inspected(remote, "network", (n for c, _ in members for n in user_networks(c)))
    volumes = _inspected(remote, "volume", (v for c, _ in members for v in named_volumes(c)))
    built = build(members, networks, volumes=volumes, default_log_driver=log_driver,
                  project=project)
    for line in built.notes:
        note(line)
    return render_yaml(built, mask=mask)


def _with_depends(remote: Remote, container: dict, image: dict, note: Callable[[str], None]):
    """A compose 1 container carries no depends_on label: the one its
    project's files give (as this host's compose reads them) is added to
    the inspect read here, so that the file has it too."""
    from .compose_adopt import depends_on
    from .compose_labels import DEPENDS, PROJECT, SERVICE
    labels = (container.get("Config") or {}).get("Labels") or {}
    if not labels.get(PROJECT) or DEPENDS in labels:
        return container, image
    deps, why = depends_on(remote, labels)
    if why:
        note(f"{labels.get(SERVICE)}: compose on {remote.name} could not read its depends_on "
             f"({why}): only links and shared volumes give it one")
        return container, image
    wanted = ",".join(f"{d}:service_started:false" for d in deps.get(labels.get(SERVICE), ()))
    config = {**container["Config"], "Labels": {**labels, DEPENDS: wanted}}
    return {**container, "Config": config}, image


def _inspected(remote: Remote, kind: str, names) -> dict[str, dict]:
    """`docker KIND inspect` of each name, by name; those not there left out."""
    return {n: info for n in dict.fromkeys(names)
            if (info := eng.inspect(remote, kind, n)) is not None}
