"""What the target holds at a path, read by the real shell commands on this
machine (migrate/hostfs.py, migrate/project_files.py): a symlink is never
taken for an empty or absent path."""
import os

from migrate.hostfs import nonempty
from migrate.project_files import _sums

from test_blocks import Local


def test_a_bind_path_is_judged_where_its_symlink_points(tmp_path):
    full, empty = tmp_path / "full", tmp_path / "empty"
    full.mkdir()
    empty.mkdir()
    (full / "db.sqlite").write_text("data")
    os.symlink(full, tmp_path / "to-full")
    os.symlink(empty, tmp_path / "to-empty")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    here = Local()
    assert nonempty(here, str(full)) and not nonempty(here, str(empty))
    assert nonempty(here, str(tmp_path / "to-full"))          # was: empty, and then overwritten
    assert not nonempty(here, str(tmp_path / "to-empty"))
    assert nonempty(here, str(tmp_path / "dangling"))         # the copy would replace it
    assert not nonempty(here, str(tmp_path / "absent"))


def test_a_project_file_is_absent_on_the_target_only_when_nothing_is_there(tmp_path):
    f = tmp_path / "docker-compose.yml"
    f.write_text("services: {}\n")
    os.symlink(f, tmp_path / "linked.yml")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling.yml")
    (tmp_path / "folder.yml").mkdir()
    paths = tuple(str(tmp_path / n) for n in ("docker-compose.yml", "linked.yml", "dangling.yml",
                                              "folder.yml", "absent.yml"))
    target = _sums(Local(), paths, occupied=True)
    assert len(target[paths[0]]) == 64
    assert [target[p] for p in paths[1:]] == ["occupied", "occupied", "occupied", None]
    source = _sums(Local(), paths)                          # the source's: regular files only
    assert [source[p] for p in paths[1:]] == [None, None, None, None]


def test_docker_diff_is_read_to_its_first_byte_and_a_failure_counts_as_changes(tmp_path):
    import subprocess
    from migrate.facts import DIFF_FIRST_BYTE, no_changes

    def said(body):
        fake = tmp_path / "docker"                        # the engine's answer, injected
        fake.write_text(f"#!/bin/bash\n{body}\n")
        fake.chmod(0o755)
        return subprocess.run(["bash", "-c", DIFF_FIRST_BYTE, "bash", "abc"], text=True,
                              capture_output=True,
                              env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}).stdout
    assert no_changes(said("exit 0"))                                        # nothing changed
    assert not no_changes(said("printf 'C /etc\\nA /etc/x\\n'"))
    assert not no_changes(said("yes 'A /big/file' | head -c 10000000"))     # cut at one byte
    assert not no_changes(said("echo 'Error: No such container' >&2; exit 1"))
