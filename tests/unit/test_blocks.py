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
    source = target = Local()       # as the inventory names them

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
                     say=print, summed=summed.names)
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


def clock_past(path, scratch):
    """Return once the filesystem's clock has moved past `path`'s ctime.
    Its timestamps are coarse (a tick of a few ms): a marker made in the same
    tick as a file's last change counts that file as changed since, rightly
    (the change may have come after it), so a file meant to be untouched
    must be older than the marker by a tick."""
    probe = scratch / ".clock"
    try:
        while True:
            probe.write_bytes(b"")
            if os.stat(probe).st_ctime_ns > os.stat(path).st_ctime_ns:
                return
    finally:
        probe.unlink(missing_ok=True)


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
    grows, shrinks, zeroed, holed = src / "grows", src / "shrinks", src / "zeroed", src / "holed"
    grows.write_bytes(os.urandom(5 * MIB))
    shrinks.write_bytes(os.urandom(9 * MIB))
    zeroed.write_bytes(os.urandom(8 * MIB))
    holed.write_bytes(os.urandom(8 * MIB))
    becomes_link = src / "becomes-link"
    becomes_link.write_bytes(os.urandom(5 * MIB))
    gone = src / "gone"
    gone.write_bytes(os.urandom(5 * MIB))

    def change():
        with open(grows, "ab") as f:
            f.write(os.urandom(MIB + 7))
        with open(shrinks, "r+b") as f:
            f.truncate(6 * MIB + 3)
        with open(zeroed, "r+b") as f:             # zeros written: allocated (a WAL file's)
            f.seek(2 * MIB)
            f.write(bytes(2 * MIB))
        with open(holed, "r+b") as f:              # a hole from 2 MiB on, then 1 byte
            f.truncate(2 * MIB)
            f.seek(8 * MIB)
            f.write(b"x")
        becomes_link.touch()
        gone.touch()

    def after_summing():                            # the source changes it once more
        becomes_link.unlink()
        becomes_link.symlink_to("grows")
        gone.unlink()

    summed, sent = cut_over(tmp_path, src, dst, change, live_change=after_summing)
    assert summed.files == 6
    same_tree(src, dst)
    assert os.readlink(dst / "becomes-link") == "grows" and not (dst / "gone").exists()
    # zeros went as a note, not bytes; allocated where the source has them allocated,
    # a hole where it has one (as tar --sparse keeps them)
    assert sent.blocks < 2 * MIB
    assert os.stat(dst / "zeroed").st_blocks * 512 >= 8 * MIB
    assert os.stat(dst / "holed").st_blocks * 512 <= 2 * MIB + 128 * 1024


def test_names_tar_would_read_otherwise_are_left_to_tar(tmp_path, dirs):
    """tar drops the trailing blanks of an exclude line: "big " would exclude
    "big" instead (a hostile reviewer's find)."""
    src, dst = dirs
    for n in ("big", "big ", "big\t", "-big", "b*g", "big\\"):
        (src / n).write_bytes(os.urandom(5 * MIB))

    def change():
        for n in ("big", "big ", "big\t", "-big", "b*g", "big\\"):
            with open(src / n, "r+b") as f:
                f.seek(MIB)
                f.write(os.urandom(100))
    summed, sent = cut_over(tmp_path, src, dst, change)
    assert summed.names == {"big", "-big", "b*g", "big\\"}
    same_tree(src, dst)
    assert not sent.whole


def test_files_not_taken_by_blocks_go_whole(tmp_path, dirs):
    src, dst = dirs
    (src / "small").write_bytes(os.urandom(MIB))
    (src / "linked").write_bytes(os.urandom(5 * MIB))
    os.link(src / "linked", src / "linked-too")
    (src / "line\nbreak").write_bytes(os.urandom(5 * MIB))
    untouched = src / "untouched"
    untouched.write_bytes(os.urandom(5 * MIB))
    clock_past(untouched, tmp_path)

    def change():
        for n in ("small", "linked", "line\nbreak"):
            with open(src / n, "r+b") as f:
                f.write(b"x")
    summed, sent = cut_over(tmp_path, src, dst, change)
    assert summed.files == 0 and sent.blocks == 0
    same_tree(src, dst)
    assert os.stat(dst / "linked").st_ino == os.stat(dst / "linked-too").st_ino


def test_a_file_changed_on_the_target_since_it_was_summed_is_sent_whole(tmp_path, dirs):
    """Not patched (its sums no longer say what it holds), not a failure
    after the stop either: tar sends it whole."""
    src, dst = dirs
    db, other = src / "db", src / "other"
    db.write_bytes(os.urandom(8 * MIB))
    other.write_bytes(os.urandom(8 * MIB))

    def change():
        for f in (db, other):
            with open(f, "r+b") as h:
                h.write(b"new")

    def meddle():
        with open(dst / "db", "r+b") as f:
            f.seek(MIB)
            f.write(b"someone else")
    summed, sent = cut_over(tmp_path, src, dst, change, live_change=meddle)
    assert summed.names == {"db", "other"} and sent.whole == ("db",)
    same_tree(src, dst)


def test_the_writer_does_not_follow_a_symlink_out_of_its_directory(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "f").write_bytes(b"x" * 10)
    (root / "sub").symlink_to(outside)
    os.mkfifo(root / "fifo")
    st = os.stat(outside / "f")
    stream = b"".join(
        (json.dumps({"f": name, "ino": st.st_ino, "ctime": st.st_ctime_ns}) + "\n"
         + json.dumps({"o": 0, "n": 3}) + "\nabc"
         + json.dumps({"end": 1, "size": 3, "uid": 0, "gid": 0, "mode": 0o777, "atime": 0,
                       "mtime": 0, "xattrs": {}}) + "\n").encode()
        for name in ("sub/f", "fifo")) + b'{"done": 2}\n'
    r = subprocess.run(blocks.argv("write", str(root)), input=stream, capture_output=True,
                       timeout=30)
    assert r.returncode == 0 and json.loads(r.stdout) == {"refused": ["sub/f", "fifo"]}
    assert (outside / "f").read_bytes() == b"x" * 10
    # and the controller takes no name from the target that it did not ask to patch
    assert blocks.refused(b'{"refused": ["../../etc/shadow", "db"]}', frozenset({"db"})) == ["db"]
    for bad in ("../outside/f", "/etc/passwd", "a//b", "./f"):
        stream = (json.dumps({"f": bad, "ino": 0, "ctime": 0}) + "\n").encode()
        r = subprocess.run(blocks.argv("write", str(root)), input=stream, capture_output=True)
        assert r.returncode != 0


def test_a_file_that_gets_shorter_while_read_is_read_to_that_point_only(tmp_path, monkeypatch):
    """Blocks are read on several threads, a stretch each: where one comes
    back short (the file was cut meanwhile), nothing after it counts, or
    block numbers would no longer match their offsets."""
    from migrate import blocks_host
    path = tmp_path / "f"
    path.write_bytes(os.urandom(16 * MIB))
    real = os.pread

    def cut_at_5_mib(fd, n, offset):
        if offset == 5 * MIB:
            return real(fd, n, offset)[:1000]
        return real(fd, n, offset)
    monkeypatch.setattr(blocks_host.os, "pread", cut_at_5_mib)
    fd = os.open(path, os.O_RDONLY)
    try:
        got = [(offset, len(data)) for offset, data, _ in blocks_host.blocks(fd, 16 * MIB, 1 << 16)]
    finally:
        os.close(fd)
    assert all(o == p + n for (p, n), (o, _) in zip(got, got[1:]))
    assert got[-1] == (5 * MIB, 1000)


def test_a_writer_that_says_nothing_about_what_it_patched_fails_the_stream():
    """Without its answer the target may hold stale files tar left out: the
    pass fails (and the run is undone) rather than pass as copied."""
    from migrate.stream import StreamError
    for answer in (b"", b"Traceback (most recent call last): ...", b'{"refused": "db"}'):
        with pytest.raises(StreamError) as e:
            blocks.refused(answer, frozenset({"db"}))
        assert "the target's block writer gave no answer on what it patched" in str(e.value)
