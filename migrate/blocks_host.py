"""The block-level final pass, as the program that runs on the two hosts
(Python 3.8+, standard library only; sent as `python3 -c BOOT CODE MODE ...`
by migrate/blocks.py, which owns when and why).

A large file that changed during the first pass (a database's data file,
rewritten a few pages at a time) is not sent whole again after the stop:
the target sums the blocks of the copy it has, the source sums its own and
sends only the blocks whose sums differ. The target never trusts a block it
did not sum itself: a file changed there since is refused, not patched.

Modes (ROOT is the copied directory on that host; paths are relative to it
and opened one component at a time without following symlinks):

  scan ROOT MARKER MIN        source, before the stop: JSON list of the
                              regular files (one link, MIN bytes or more)
                              changed since MARKER was made (ctime)
  sum ROOT < paths            target, before the stop: JSON of each file's
                              size, inode, ctime, block size and block sums
  keep ROOT STATE EXCLUDE     source, after the stop: writes EXCLUDE, the
                              files of STATE still regular with one link, as
                              GNU tar exclude lines ("./path"); tar's final
                              pass leaves them to `send`
  send ROOT STATE EXCLUDE     source: the changed blocks of those files, and
                              their size, owner, mode, times and xattrs
  write ROOT < stream         target: applies them
"""
import hashlib
import json
import os
import stat
import sys

BLOCK = 1 << 16              # 64 KiB: a 4 KiB page write re-sends at most 64 KiB
MAX_BLOCKS = 1 << 18         # a larger file gets larger blocks: sums stay <= 8 MiB of text
SUM_CHARS = 32               # sha256, first 128 bits, as hex
CHUNK = 1 << 20
GROUP = 4 << 20              # read and summed as one piece of work


def block_size(size):
    block = BLOCK
    while size > block * MAX_BLOCKS:
        block *= 2
    return block


def digest(data):
    return hashlib.sha256(data).hexdigest()[:SUM_CHARS]


def parts(rel):
    names = rel.split("/")
    if not rel or any(n in ("", ".", "..") for n in names):
        raise ValueError("not a plain relative path: %r" % rel)
    return names


def open_under(root, rel, flags):
    """The regular file with one link at `root`/`rel`, or None: no component
    of `rel` a symlink, and nothing else opened (a FIFO or a device could
    act on being opened, as root)."""
    names = parts(rel)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in names[:-1]:
            nxt = os.open(name.encode("utf-8"), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                          dir_fd=fd)
            os.close(fd)
            fd = nxt
        last = names[-1].encode("utf-8")
        st = os.stat(last, dir_fd=fd, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            return None
        f = os.open(last, flags | os.O_NOFOLLOW | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC,
                    dir_fd=fd)
    finally:
        os.close(fd)
    now = os.fstat(f)
    if (now.st_ino, now.st_dev) != (st.st_ino, st.st_dev) or not stat.S_ISREG(now.st_mode):
        os.close(f)                     # swapped between the look and the open
        return None
    return f


def open_file(root, rel, flags):
    """open_under, None where the path cannot be walked."""
    try:
        return open_under(root, rel, flags)
    except OSError:
        return None


def _read_and_sum(fd, start, end, block):
    out = []
    offset = start
    while offset < end:
        want = min(block, end - offset)
        data = os.pread(fd, want, offset)
        if data:
            out.append((offset, data, digest(data)))
        if len(data) < want:            # the end of the file, where it is now
            break
        offset += len(data)
    return out


def blocks(fd, size, block):
    """(offset, bytes, sum) of each block of the file, in order. Read and
    summed on as many threads as the host has cores (up to 4: pread and
    sha256 let go of the GIL), a few 4 MiB stretches ahead at most."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor
    workers = max(1, min(4, os.cpu_count() or 1))
    stretch = max(block, GROUP - GROUP % block)
    with ThreadPoolExecutor(workers) as pool:
        pending = deque()
        starts = iter(range(0, size, stretch))
        for start in starts:
            pending.append((start, pool.submit(_read_and_sum, fd, start,
                                               min(size, start + stretch), block)))
            if len(pending) > 2 * workers:
                break
        while pending:
            start, done = pending.popleft()
            part = done.result()
            yield from part
            got = sum(len(d) for _, d, _ in part)
            if got < min(size, start + stretch) - start:    # the file got shorter: stop there
                for _, later in pending:
                    later.cancel()
                return
            nxt = next(starts, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(_read_and_sum, fd, nxt,
                                                 min(size, nxt + stretch), block)))


def scan(root, marker, least):
    since = os.stat(marker).st_mtime_ns
    found = []
    top_b = os.fsencode(root)
    for top, dirs, files, dirfd in os.fwalk(top_b):     # never through a symlink
        for name in files:
            try:                        # names that are not UTF-8 text go whole, by tar
                rel = os.path.relpath(os.path.join(top, name), top_b).decode("utf-8")
            except UnicodeDecodeError:
                continue
            # tar reads its exclude file by lines and drops a line's trailing blanks
            if "\n" in rel or rel[-1:].isspace():
                continue
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            except OSError:
                continue
            if (stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and st.st_size >= least
                    and st.st_ctime_ns >= since):
                found.append(rel)
    return found


def sums(root, rels):
    out = {}
    for rel in rels:
        fd = open_file(root, rel, os.O_RDONLY)
        if fd is None:
            continue
        try:
            st = os.fstat(fd)
            block = block_size(st.st_size)
            out[rel] = {"size": st.st_size, "ino": st.st_ino, "ctime": st.st_ctime_ns,
                        "block": block,
                        "sums": "".join(d for _, _, d in blocks(fd, st.st_size, block))}
        finally:
            os.close(fd)
    return out


def keep(root, state, exclude):
    with open(state, encoding="utf-8") as f:
        have = json.load(f)
    lines = []
    for rel in sorted(have):
        fd = open_file(root, rel, os.O_RDONLY)
        if fd is not None:
            os.close(fd)
            lines.append(b"./" + rel.encode("utf-8") + b"\n")
    fd = os.open(exclude, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.writelines(lines)


def xattrs(fd):
    """As tar reads them: a filesystem without them has none."""
    out = {}
    try:
        for name in os.listxattr(fd):
            out[name] = os.getxattr(fd, name).hex()
    except OSError:
        pass
    return out


def hole(fd, offset, length):
    """Whether the source has no data at all there (a hole, not zeros it
    allocated: those stay allocated, as tar --sparse keeps them)."""
    try:
        return os.lseek(fd, offset, os.SEEK_DATA) >= offset + length
    except OSError:                     # ENXIO: only a hole from here to the end
        return True


def frame(out, header, data=b""):
    out.write(json.dumps(header, sort_keys=True).encode() + b"\n")
    if data:
        out.write(data)


def send(root, state, exclude, out):
    with open(state, encoding="utf-8") as f:
        have = json.load(f)
    with open(exclude, "rb") as f:
        rels = [line[2:-1].decode("utf-8") for line in f if line.startswith(b"./")]
    for rel in rels:
        there = have[rel]
        fd = open_file(root, rel, os.O_RDONLY)
        if fd is None:
            raise SystemExit("%s: no longer a regular file with one link since the tar pass" % rel)
        try:
            st = os.fstat(fd)
            frame(out, {"f": rel, "ino": there["ino"], "ctime": there["ctime"]})
            block, theirs = there["block"], there["sums"]
            for offset, data, mine in blocks(fd, st.st_size, block):
                i = offset // block
                if theirs[i * SUM_CHARS:(i + 1) * SUM_CHARS] == mine \
                        and offset + len(data) <= there["size"]:
                    continue
                if data.count(0) == len(data):
                    frame(out, {"z": offset, "n": len(data),
                                "hole": hole(fd, offset, len(data))})
                else:
                    frame(out, {"o": offset, "n": len(data)}, data)
            frame(out, {"end": 1, "size": st.st_size, "uid": st.st_uid, "gid": st.st_gid,
                        "mode": stat.S_IMODE(st.st_mode), "atime": st.st_atime_ns,
                        "mtime": st.st_mtime_ns, "xattrs": xattrs(fd)})
        finally:
            os.close(fd)
    frame(out, {"done": len(rels)})
    out.flush()


def read_exactly(src, n):
    parts_ = []
    while n:
        data = src.read(min(n, CHUNK))
        if not data:
            raise SystemExit("the block stream ended early")
        parts_.append(data)
        n -= len(data)
    return b"".join(parts_)


def punch(fd, offset, length):
    """A hole where the source has one; zeros written where the
    filesystem cannot punch it."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.fallocate64         # 64-bit offsets on 32-bit hosts too
        call.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
        if call(fd, 0x01 | 0x02, offset, length) == 0:     # KEEP_SIZE | PUNCH_HOLE
            return
    except (ImportError, OSError, AttributeError):
        pass
    os.pwrite(fd, bytes(length), offset)


def set_xattrs(fd, wanted):
    """The source's xattrs (ACLs last, after the mode), as tar sets them:
    one the target refuses is left as it is; security.* names other than
    security.capability (SELinux labels) are the target's own."""
    for name in os.listxattr(fd):
        if name not in wanted and (not name.startswith("security.")
                                   or name == "security.capability"):
            try:
                os.removexattr(fd, name)
            except OSError:
                pass
    for name, value in sorted(wanted.items()):
        try:
            os.setxattr(fd, name, value)
        except OSError:
            pass


def finish(fd, h):
    os.ftruncate(fd, h["size"])
    os.fchown(fd, h["uid"], h["gid"])
    os.fchmod(fd, h["mode"])
    set_xattrs(fd, {k: bytes.fromhex(v) for k, v in h["xattrs"].items()})
    os.utime(fd, ns=(h["atime"], h["mtime"]))


def write(root, src):
    """Applies the stream; a file it cannot patch (changed here since it was
    summed, replaced, not writable) is left as it is and named in the JSON
    answer, for tar to send whole."""
    fd = None
    rel = ""
    refused = []
    while True:
        line = src.readline()
        if not line:
            raise SystemExit("the block stream ended early")
        h = json.loads(line)
        if "done" in h:
            json.dump({"refused": refused}, sys.stdout)
            return
        try:
            if "f" in h:
                rel = h["f"]
                fd = open_file(root, rel, os.O_WRONLY)
                st = os.fstat(fd) if fd is not None else None
                if st is None or st.st_ino != h["ino"] or st.st_ctime_ns != h["ctime"]:
                    raise OSError("changed since its blocks were summed")
            elif "o" in h:
                data = read_exactly(src, h["n"])
                if fd is not None:
                    os.pwrite(fd, data, h["o"])
            elif "z" in h:
                if fd is not None:
                    if h.get("hole"):
                        punch(fd, h["z"], h["n"])
                    else:
                        os.pwrite(fd, bytes(h["n"]), h["z"])
            elif "end" in h:
                if fd is not None:
                    finish(fd, h)
                    os.close(fd)
                    fd = None
        except OSError:
            if fd is not None:
                os.close(fd)
                fd = None
            if rel not in refused:
                refused.append(rel)


def main(argv):
    mode, root = argv[0], argv[1]
    if mode == "scan":
        json.dump(scan(root, argv[2], int(argv[3])), sys.stdout)
    elif mode == "sum":
        json.dump(sums(root, json.load(sys.stdin.buffer)), sys.stdout)
    elif mode == "keep":
        os.umask(0o077)
        keep(root, argv[2], argv[3])
    elif mode == "send":
        send(root, argv[2], argv[3], sys.stdout.buffer)
    elif mode == "write":
        write(root, sys.stdin.buffer)
    else:
        raise SystemExit("unknown mode %r" % mode)


if __name__ == "__main__":
    main(sys.argv[1:])
