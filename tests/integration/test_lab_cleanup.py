"""The test session removes the labs it started (kept with DOCKMOVE_KEEP_LABS=1),
and a lab left by an interrupted run is removed before one of its name starts.
Proved on an inner pytest session whose labs are one labelled volume each (the
real `up` takes a minute; what is removed is the same: everything labelled
with the lab's name)."""
import os
import subprocess
import sys

import docker
import pytest

from lab.config import LABEL

from .conftest import ROOT, lab_name

INNER_CONFTEST = '''
import docker
import tests.integration.conftest as labs
from tests.integration.conftest import *  # noqa: F401,F403 (its fixtures: the finalizer under test)


def small_up(cfg, fresh=False, log=print):
    docker.from_env().volumes.create(cfg.volume("made"), labels={"dockmove.lab": cfg.name})
    return {}


labs.up = small_up
'''
INNER_TEST = '''
from tests.integration.conftest import make_lab


def test_starts_a_lab(tmp_path_factory):
    make_lab({name!r}, tmp_path_factory)
'''


def labelled(client, name):
    selector = {"label": f"{LABEL}={name}"}
    return sorted([c.name for c in client.containers.list(all=True, filters=selector)]
                  + [v.name for v in client.volumes.list(filters=selector)])


def inner_session(tmp_path, name, **env):
    (tmp_path / "conftest.py").write_text(INNER_CONFTEST)
    (tmp_path / "test_inner.py").write_text(INNER_TEST.format(name=name))
    full_env = {k: v for k, v in os.environ.items() if k != "DOCKMOVE_KEEP_LABS"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                          env={**full_env, "PYTHONPATH": str(ROOT), **env}, timeout=300)


@pytest.fixture
def leftover():
    """What an interrupted run left of a lab: a host container (created from
    a lab image, not started) and a volume, both labelled with its name."""
    client = docker.from_env()
    name = lab_name("-leftover")
    image = client.images.list(name="dockmove-lab/host")[0]
    labels = {LABEL: name}
    client.volumes.create(f"{name}-node9-docker", labels=labels)
    client.containers.create(image.id, name=f"{name}-node9", labels=labels)
    yield client, name
    for c in client.containers.list(all=True, filters={"label": f"{LABEL}={name}"}):
        c.remove(force=True)
    for v in client.volumes.list(filters={"label": f"{LABEL}={name}"}):
        v.remove(force=True)


def test_the_session_removes_its_labs_and_what_an_earlier_run_left(leftover, tmp_path):
    client, name = leftover
    assert labelled(client, name) == [f"{name}-node9", f"{name}-node9-docker"]
    out = inner_session(tmp_path, name)
    assert out.returncode == 0, out.stdout + out.stderr
    assert labelled(client, name) == []


def test_keep_labs_keeps_them_but_not_the_leftovers(leftover, tmp_path):
    client, name = leftover
    out = inner_session(tmp_path, name, DOCKMOVE_KEEP_LABS="1")
    assert out.returncode == 0, out.stdout + out.stderr
    assert labelled(client, name) == [f"{name}-made-docker"]
    assert f"kept (DOCKMOVE_KEEP_LABS=1): {name}" in out.stdout + out.stderr
