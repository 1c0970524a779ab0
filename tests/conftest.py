"""Test-wide isolation: the user's ~/.ssh (config, known_hosts, keys) and any
DOCKMOVE_* settings of the shell never leak into a test."""
import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    saved = {k: os.environ.get(k) for k in ("HOME", "DOCKMOVE_INVENTORY",
                                            "DOCKMOVE_LAB_NAME", "DOCKMOVE_LAB_DIR",
                                            "SSH_AUTH_SOCK")}
    os.environ["HOME"] = str(home)
    for k in saved:
        if k != "HOME":
            os.environ.pop(k, None)
    yield home
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
