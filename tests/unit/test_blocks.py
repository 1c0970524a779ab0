"""The block-level final pass (migrate/blocks.py, migrate/blocks_host.py),
run for real between two local directories: the same tar, the same host
program and the same stream relay as between two hosts; only ssh is left out
(the lab tests in tests/integration/test_blocks.py go over it)."""
import hashlib
import json
import os
import subprocess

import pytest

from fleet.remote import CommandResult
from migrate import blocks
from migrate.stream import pipe
from migrate.transfer import send_data
from migrate.volumes import DataCopy

MIB = 1 << 20


class Local:
    """A host that is this machine (what Remote.run and Ends.stream do, without ssh)."""
    name = "here"

    def run(self, argv, *, sudo=False, check=True, stdin=None, **_):
        assert stdin is None or isinstance(stdin, bytes)      # as Remote.run takes it
        r = subprocess.run(argv, input=stdin, capture_output=True)
        res = CommandResult("here", " ".join(argv), r.returncode, r.stdout.decode(),
                            r.stderr.decode())
        assert res.ok or not check, res.stderr
        return res


class LocalEnds:
    src = dst = Local()

    def stream(self, send, receive, *, expected, say, what):
        return pipe(["bash", "-c", send], ["bash", "-c", receive], what=what)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cut_over(tmp_path, src, dst, change, *, live_change=None):
    """A first pass, `change` made (the source "runs"), the block sums,
    then the final pass; returns what the final pass sent."""
    copy = DataCopy("volume", "v", "/data", str(src))
    snap = str(tmp_path / "snaps" / "v.snar")
    ends = LocalEnds()
    send_data(ends, copy, str(dst), snapshot=snap, live=True, expected=None, say=print)
    change()
    summed = blocks.prepare(Local(), Local(), str(src), str(dst), snap)
    if live_change:
        live_change()
    sent = send_data(ends, copy, str(dst), snapshot=snap, live=False, expected=None,
                     say=print, by_blocks=bool(summed.files))
    return summed, sent


def same_tree(a, b):
    def walk(root):
        out = {}
        for top, dirs, files in os.walk(root):
            for n in dirs + files:
                p = os.path.join(top, n)
                st = os.lstat(p)
                out[os.path.relpath(p, root)] = (
                    st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns
                    if not os.path.isdir(p) else 0,
                    open(p, "rb").read() if os.path.isfile(p) and not os.path.islink(p) else None,
                    tuple(sorted((x, os.getxattr(p, x, follow_symlinks=False))
                                 for x in os.listxattr(p, follow_symlinks=False))))
        return out
    assert walk(a) == walk(b)


@pytest.fixture
def dirs(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "base" / "dir with space").mkdir(parents=True)
    return src, dst


def test_a_few_scattered_writes_to_a_large_file_send_only_their_blocks(tmp_path, dirs):
    src, dst = dirs
    db = src / "base" / "dir with space" / "16384 * [x]"
    db.write_bytes(os.urandom(32 * MIB))
    (src / "small").write_text("small")

    def change():
        with open(db, "r+b") as f:
            for i in range(10):                     # 10 pages of 4 KiB, far apart
                f.seek(i * 3 * MIB + 12345)
                f.write(os.urandom(4096))
        (src / "small").write_text("changed too")
        os.chmod(db, 0o640)
        os.setxattr(db, "user.note", b"kept")
        os.utime(db, ns=(1_000_000_000, 2_000_000_000))

    summed, sent = cut_over(tmp_path, src, dst, change)
    assert summed.files == 1 and summed.bytes == 32 * MIB
    assert sha(db) == sha(dst / "base" / "dir with space" / "16384 * [x]")
    same_tree(src, dst)
    # 10 writes touch at most 20 blocks of 64 KiB; the tar pass is the small file
    assert 10 * 64 * 1024 <= sent.blocks < 20 * 64 * 1024 + 64 * 1024
    assert sent.bytes - sent.blocks < 64 * 1024


def test_growth_shrink_holes_and_files_that_changed_kind(tmp_path, dirs):
    src, dst = dirs
    grows, shrinks, sparse = src / "grows", src / "shrinks", src / "sparse"
    grows.write_bytes(os.urandom(5 * MIB))
    shrinks.write_bytes(os.urandom(9 * MIB))
    sparse.write_bytes(os.urandom(8 * MIB))
    becomes_link = src / "becomes-link"
    becomes_link.write_bytes(os.urandom(5 * MIB))
    gone = src / "gone"
    gone.write_bytes(os.urandom(5 * MIB))

    def change():
        with open(grows, "ab") as f:
            f.write(os.urandom(MIB + 7))
        with open(shrinks, "r+b") as f:
            f.truncate(6 * MIB + 3)
        with open(sparse, "r+b") as f:
            f.seek(2 * MIB)
            f.write(bytes(2 * MIB))                 # zeros where data was
        becomes_link.touch()
        gone.touch()

    def after_summing():                            # the source changes it once more
        becomes_link.unlink()
        becomes_link.symlink_to("grows")
        gone.unlink()

    summed, sent = cut_over(tmp_path, src, dst, change, live_change=after_summing)
    assert summed.files == 5
    same_tree(src, dst)
    assert os.readlink(dst / "becomes-link") == "grows" and not (dst / "gone").exists()
    # the zeroed 2 MiB went as holes, not bytes, and the target stays sparse there
    assert sent.blocks < 2 * MIB
    assert os.stat(dst / "sparse").st_blocks * 512 <= 6 * MIB + 64 * 1024


def test_files_not_taken_by_blocks_go_whole(tmp_path, dirs):
    src, dst = dirs
    (src / "small").write_bytes(os.urandom(MIB))
    (src / "linked").write_bytes(os.urandom(5 * MIB))
    os.link(src / "linked", src / "linked-too")
    (src / "line\nbreak").write_bytes(os.urandom(5 * MIB))
    untouched = src / "untouched"
    untouched.write_bytes(os.urandom(5 * MIB))

    def change():
        for n in ("small", "linked", "line\nbreak"):
            with open(src / n, "r+b") as f:
                f.write(b"x")
    summed, sent = cut_over(tmp_path, src, dst, change)
    assert summed.files == 0 and sent.blocks == 0
    same_tree(src, dst)
    assert os.stat(dst / "linked").st_ino == os.stat(dst / "linked-too").st_ino


def test_the_target_refuses_a_file_changed_there_since_it_was_summed(tmp_path, dirs):
    src, dst = dirs
    db = src / "db"
    db.write_bytes(os.urandom(8 * MIB))

    def change():
        with open(db, "r+b") as f:
            f.write(b"new")

    def meddle():
        with open(dst / "db", "r+b") as f:
            f.seek(MIB)
            f.write(b"someone else")
    with pytest.raises(Exception) as e:
        cut_over(tmp_path, src, dst, change, live_change=meddle)
    assert "db: changed on this host since its blocks were summed; not patched" in str(e.value)


def test_the_writer_does_not_follow_a_symlink_out_of_its_directory(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "f").write_bytes(b"x" * 10)
    (root / "sub").symlink_to(outside)
    st = os.stat(outside / "f")
    stream = (json.dumps({"f": "sub/f", "ino": st.st_ino, "ctime": st.st_ctime_ns}) + "\n"
              + json.dumps({"o": 0, "n": 3}) + "\nabc"
              + json.dumps({"done": 1}) + "\n").encode()
    r = subprocess.run(blocks.argv("write", str(root)), input=stream, capture_output=True)
    assert r.returncode != 0 and b"sub/f: changed on this host" in r.stderr
    assert (outside / "f").read_bytes() == b"x" * 10
    for bad in ("../outside/f", "/etc/passwd", "a//b", "./f"):
        stream = (json.dumps({"f": bad, "ino": 0, "ctime": 0}) + "\n").encode()
        r = subprocess.run(blocks.argv("write", str(root)), input=stream, capture_output=True)
        assert r.returncode != 0
