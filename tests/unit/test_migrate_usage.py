"""Usage errors of `inv migrate` and `inv record` for several containers
(--project, --all, --include-stopped, --rollback, --compose): exit code 2
and the message a user reads, before any host is reached (the inventory's
hosts answer nowhere)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture
def inv(tmp_path):
    hosts = tmp_path / "hosts.yaml"
    hosts.write_text("hosts:\n  old: {address: 127.0.0.1, port: 1}\n"
                     "  new: {address: 127.0.0.1, port: 1}\n")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "invoke", *args, "--inventory", str(hosts)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
    return run


@pytest.mark.parametrize("args, message", [
    (("migrate", "shop", "--project", "--all"), "error: --project or --all, not both"),
    (("migrate", "web", "--include-stopped"),
     "error: --include-stopped goes with --project or --all (containers named are moved "
     "whether they run or not)"),
    (("migrate", "old,new", "--all"),
     "error: --project and --all take one name (the project's, the host's), not old,new"),
    (("migrate", "old", "--all", "--rollback"),
     "error: --rollback goes by the containers' names (inv migrate web,db --rollback) or a "
     "compose project's (inv migrate PROJECT --project --rollback)"),
    (("migrate", "old", "--all", "--from", "new", "--to", "new"),
     "error: --all moves every container of the host named (old); --from new names another"),
    (("record", "web,db"),
     "error: several containers or a project go into one compose file: add --compose "
     "(inv record web,db --compose)"),
])
def test_usage_errors_say_what_to_do_and_exit_2(inv, args, message):
    out = inv(*args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_a_project_rollback_without_a_migration_on_record_is_a_usage_error(inv, tmp_path):
    out = inv("migrate", "shop", "--project", "--rollback", "--records", str(tmp_path / "r"))
    assert out.returncode == 2, out.stdout + out.stderr
    assert (f"error: no migration of the compose project 'shop' in force on record in "
            f"{tmp_path / 'r'}/") in out.stderr, out.stderr
