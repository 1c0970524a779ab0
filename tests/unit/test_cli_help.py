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


def complete(*words, cwd=ROOT, inventory=ROOT / "hosts.yaml"):
    """What bash offers after `inv WORDS` with the script `inv completion`
    prints sourced (the last word is the one being completed)."""
    import shlex
    shim = ROOT / ".venv" / "bin" / "inv"
    typed = [str(shim), *words[1:]]
    made = inv("completion")                            # as the README has it: from here
    script = (f"{made}\ntype _dockmove_inv >/dev/null || exit 9; "
              f"COMP_WORDS=({' '.join(shlex.quote(w) for w in typed)}); "
              f"COMP_CWORD={len(words) - 1}; _dockmove_inv; "
              "printf '%s\\n' \"${COMPREPLY[@]}\"")
    r = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True,
                       env={**os.environ, "DOCKMOVE_INVENTORY": str(inventory)})
    assert r.returncode == 0, r.stderr
    return [w for w in r.stdout.split("\n") if w]


def test_bash_completes_tasks_options_and_the_inventorys_host_names():
    assert complete("inv", "mig") == ["migrate"]
    assert complete("inv", "migrate", "--dry") == ["--dry-run"]
    assert complete("inv", "migrate", "web", "--to", "") == ["old", "new", "bastion", "web"]
    assert complete("inv", "provision", "--host", "b") == ["bastion"]


def test_completion_expands_and_runs_nothing_and_stays_in_this_project(tmp_path):
    trap = tmp_path / "pwned"
    hostile = tmp_path / "hosts.yaml"
    hostile.write_text(
        "hosts:\n  web1:\n    address: 192.0.2.1\n"
        f"    groups: ['$(touch {trap})', '*', '`touch {trap}`']\n")
    got = complete("inv", "migrate", "x", "--to", "", inventory=hostile)
    assert got == ["web1", f"$(touch {trap})", "*", f"`touch {trap}`"]
    assert not trap.exists()
    # --inventory on the line is the one read
    assert complete("inv", "hosts", "--inventory", str(hostile), "--host", "w") == ["web1"]
    # elsewhere, another project's tasks: no host task of ours (nor theirs) is run
    (tmp_path / "tasks.py").write_text("from invoke import task\n\n@task\ndef hosts(c, names=False):\n"
                                       f"    open({str(trap)!r}, 'w')\n")
    assert complete("inv", "deploy", "--host", "", cwd=tmp_path) == []
    assert not trap.exists()


def test_a_failed_run_over_hosts_prints_one_json_document_with_its_error():
    import json
    for task in (["hosts", "--host"], ["provision", "--host"]):
        r = subprocess.run([sys.executable, "-m", "invoke", *task,
                            "root@127.0.0.1:1,nobody@127.0.0.1:2", "--json"], cwd=ROOT,
                           capture_output=True, text=True, stdin=subprocess.DEVNULL,
                           env={**os.environ, "DOCKMOVE_INVENTORY": str(ROOT / "hosts.yaml")})
        doc = json.loads(r.stdout)                          # one document, nothing else
        assert r.returncode == doc["exit_code"] == 3, r.stdout + r.stderr
        assert doc["ok"] is False and doc["error"].startswith("2 host(s) failed:"), doc
        assert [h.get("error", "")[:16] for h in doc["hosts"]] == ["root@127.0.0.1:1",
                                                                  "nobody@127.0.0.1"]
        assert "connection refused" in r.stderr
