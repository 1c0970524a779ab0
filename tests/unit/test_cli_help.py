"""What `inv --list` and `inv --help TASK` show, read from the real Invoke."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def inv(*args):
    r = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, capture_output=True,
                       text=True, stdin=subprocess.DEVNULL)
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
        "--records", "--json-report", "--json", "--inventory"]                # output


def test_every_task_has_a_first_line_that_stands_alone():
    listing = inv("--list")
    entries = re.findall(r"^  (\S+)(?: \(\S+\))?\s+(.*(?:\n {10,}.*)*)", listing, re.M)
    assert len(entries) == 10
    for name, text in entries:
        line = " ".join(text.split())
        assert line.endswith("."), (name, line)          # not cut mid-sentence
        assert len(line) <= 2 * 58, (name, line)
