"""What `inv --list` and `inv --help TASK` show, read from the real Invoke."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def inv(*args):
    r = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, capture_output=True,
                       text=True, stdin=subprocess.DEVNULL,
                       env={**os.environ, "DOCKMOVE_INVENTORY": str(ROOT / "hosts.yaml")})
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_migrate_lists_its_options_as_a_user_reads_them():
    options = inv("--help", "migrate").split("\nOptions:\n")[1]
    flags = re.findall(r"^  (--(?:\[no-\])?[a-z-]+)", options, re.M)
    assert flags == [
        "--container", "--project", "--all", "--include-stopped",           # what
        "--to", "--from", "--name", "--publish", "--env",                   # where
        "--mode", "--[no-]stop", "--offline", "--commit", "--compress", "--settle",
        "--stop-timeout", "--[no-]port-check", "--empty-volumes", "--copy-binds",  # how
        "--dry-run", "--replace", "--remove-source", "--yes", "--rollback",  # safety
        "--records", "--json-report", "--quiet", "--json", "--inventory"]     # output


def test_every_task_has_a_first_line_that_stands_alone():
    listing = inv("--list")
    entries = re.findall(r"^  (\S+)(?: \(\S+\))?\s+(.*(?:\n {10,}.*)*)", listing, re.M)
    assert len(entries) == 11
    for name, text in entries:
        line = " ".join(text.split())
        assert line.endswith("."), (name, line)          # not cut mid-sentence
        assert len(line) <= 2 * 58, (name, line)


def complete(*words):
    """What bash offers after `inv WORDS` with the script `inv completion`
    prints sourced (the last word is the one being completed)."""
    script = (f"source <({sys.executable} -m invoke completion); "
              f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; "
              "_dockmove_inv; printf '%s\\n' \"${COMPREPLY[@]}\"")
    shim = ROOT / ".venv" / "bin" / "inv"
    r = subprocess.run(["bash", "-c", script.replace("COMP_WORDS=('inv'", f"COMP_WORDS=('{shim}'")],
                       cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "DOCKMOVE_INVENTORY": str(ROOT / "hosts.yaml")})
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_bash_completes_tasks_options_and_the_inventorys_host_names():
    assert complete("inv", "mig") == ["migrate"]
    assert complete("inv", "migrate", "--dry") == ["--dry-run"]
    assert complete("inv", "migrate", "web", "--to", "") == ["old", "new", "bastion", "web"]
    assert complete("inv", "provision", "--host", "b") == ["bastion"]
