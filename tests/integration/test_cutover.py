"""Migration with data on real lab hosts (a lab of its own): volumes arrive
identical, only missing layers travel, the live cut-over loses no write,
rollback, and faults (stream cut, target engine stopped, target disk full,
each followed by a re-run that succeeds). File order matters: the last test
swaps the target engine's disk for a small one and puts it back."""
import io
import json
import re
import shlex
import signal
import tarfile
import urllib.request

import pytest

from .conftest import lab_name, make_lab, send_image

pytestmark = pytest.mark.lab

STATE = ("docker ps -a --format '{{.Names}} {{.State}} {{.Image}}' | sort; docker images -q | sort; "
         "docker network ls --format {{.Name}} | sort; docker volume ls -q | sort")
MP = "/var/lib/docker/volumes/{}/_data"
# a writer that exits on SIGTERM at once, so the cut-over is not held by a stop timeout
LOOP = "trap 'exit 0' TERM; {body} while :; do {step} sleep 0.1; done"
TICK = "i=\\$((i+1)); echo \\$i >> /data/ticks;"     # escaped for the lab host's shell


@pytest.fixture(scope="module")
def clab(tmp_path_factory):
    lab = make_lab(lab_name("-cut"), tmp_path_factory)
    out = lab.inv("provision", "--host", "new")
    assert out.returncode == 0, out.stdout + out.stderr
    return lab


def state(lab, host):
    return lab.sh(host, STATE)


def migrate(lab, tmp_path, *args, ok=True):
    report = tmp_path / "report.json"
    out = lab.inv("migrate", *args, "--to", "new", "--records", str(tmp_path / "records"),
                  "--json-report", str(report))
    if ok:
        assert out.returncode == 0, out.stdout + out.stderr
    return out, (json.loads(report.read_text()) if report.exists() else None)


def listing(lab, host, path):
    """Every entry with owner, mode, type, link count, link target, size, and
    each file's sha256."""
    return lab.sh(host, f"cd {path} && find . -printf '%p %U:%G %m %y %n %l %s\\n' | sort && "
                        "find . -type f -exec sha256sum {} + | sort")


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def _xattr_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo("./with-xattr")
        info.size = 6
        info.pax_headers = {"SCHILY.xattr.user.dockmove": "kept"}
        t.addfile(info, io.BytesIO(b"xattr\n"))
    outer = io.BytesIO()
    with tarfile.open(fileobj=outer, mode="w") as t:
        data = buf.getvalue()
        info = tarfile.TarInfo("xattr.tar")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return outer.getvalue()


def test_volume_data_arrives_identical_before_the_first_start(clab, tmp_path):
    clab.container("old").put_archive("/tmp", _xattr_tar())
    rich = MP.format("rich")
    clab.sh("old", f"""set -e
docker volume create --label team=web --label "note=it's \\$(x)" rich >/dev/null
cd {rich}
mkdir -p empty-dir private deep/er/still
printf 'index\\n' > index.html
ln index.html hard-link
ln -s index.html sym-link
ln -s /nowhere dangling
printf 'secret\\n' > private/note && chown -R 33:33 private && chmod 0750 private && chmod 0640 private/note
truncate -s 200M sparse && printf x | dd of=sparse bs=1 seek=100000000 conv=notrunc 2>/dev/null
printf 'odd name\\n' > "name with spaces \\$(and) 'quotes'"
tar --xattrs --xattrs-include='*' -xf /tmp/xattr.tar
docker run -d --name rich-cont -v rich:/data -v /anon apache-test sh -c \
  "echo start: \\$(cat /data/marker 2>/dev/null || echo none); {LOOP.format(body='', step='')}" >/dev/null
docker exec rich-cont sh -c 'echo anonymous > /anon/file; echo m1 > /data/marker'
""")
    anon = json.loads(clab.sh("old", "docker inspect rich-cont"))[0]["Mounts"]
    anon = next(m["Name"] for m in anon if m["Destination"] == "/anon")
    out, report = migrate(clab, tmp_path, "rich-cont", "--mode", "image")
    assert report["volume_sent_bytes"] > 0 and report["downtime_s"] > 0
    assert listing(clab, "new", rich) == listing(clab, "old", rich)
    # sparse stays sparse, the xattr came along, the labels too
    assert int(clab.sh("new", f"du -k {rich}/sparse").split()[0]) < 1024
    assert clab.sh("new", f"cd {rich} && tar --xattrs --xattrs-include='*' -cf - ./with-xattr "
                          "| grep -ac 'SCHILY.xattr.user.dockmove=kept'").strip() == "1"
    labels = json.loads(clab.sh("new", "docker volume inspect rich"))[0]["Labels"]
    assert labels == {"team": "web", "note": "it's $(x)"}
    # the anonymous volume kept its name and data; the target saw the data at its first start
    assert clab.sh("new", f"cat {MP.format(anon)}/file").strip() == "anonymous"
    assert clab.sh("new", "docker logs rich-cont 2>&1 | head -1").strip() == "start: m1"


def test_a_target_volume_holding_data_is_refused_without_replace(clab, tmp_path):
    clab.sh("old", "docker volume create busy >/dev/null && echo source > " + MP.format("busy") + "/f"
            " && docker run -d --name busy-cont -v busy:/data apache-test sh -c "
            f"\"{LOOP.format(body='', step='')}\" >/dev/null")
    clab.sh("new", "docker volume create busy >/dev/null && echo theirs > " + MP.format("busy") + "/g")
    before = state(clab, "new")
    out, _ = migrate(clab, tmp_path, "busy-cont", ok=False)
    assert out.returncode == 1
    assert "new: volume busy exists and holds data; pass --replace" in out.stderr
    assert state(clab, "new") == before
    out, _ = migrate(clab, tmp_path, "busy-cont", "--replace", "--yes")
    assert clab.sh("new", f"ls {MP.format('busy')}").split() == ["f"]


def test_bind_mounts_are_named_in_a_warning_or_copied_with_copy_binds(clab, tmp_path):
    conf = "/srv/app conf"
    clab.sh("old", f"mkdir -p '{conf}/sub' && echo 'port=1' > '{conf}/app.ini' && "
                   f"chown -R 33:33 '{conf}' && chmod 0750 '{conf}/sub' && "
                   f"docker run -d --name binder -v '{conf}:/conf' apache-test sh -c "
                   f"\"{LOOP.format(body='', step='')}\" >/dev/null")
    dry = clab.inv("migrate", "binder", "--to", "new", "--dry-run")
    assert f"warning: bind mount {conf} -> /conf is not copied (--copy-binds copies it)" in dry.stdout
    clab.sh("new", f"mkdir -p '{conf}' && echo theirs > '{conf}/other'")
    out, _ = migrate(clab, tmp_path, "binder", "--copy-binds", ok=False)
    assert out.returncode == 1
    assert f"new: {conf} exists and is not empty; pass --replace" in out.stderr
    migrate(clab, tmp_path, "binder", "--copy-binds", "--replace", "--yes")
    assert listing(clab, "new", f"'{conf}'") == listing(clab, "old", f"'{conf}'")
    assert clab.sh("new", "docker exec binder cat /conf/app.ini").strip() == "port=1"


def test_a_host_without_gnu_tar_is_refused_before_anything_changes(clab, tmp_path):
    clab.sh("old", "docker volume create tarless >/dev/null && echo x > " + MP.format("tarless") +
            "/f && docker create --name tarless-cont -v tarless:/data apache-test true >/dev/null")
    before = state(clab, "new")
    clab.sh("new", "mv /bin/tar /bin/tar.hidden")
    try:
        out, _ = migrate(clab, tmp_path, "tarless-cont", ok=False)
    finally:
        clab.sh("new", "mv /bin/tar.hidden /bin/tar")
    assert out.returncode == 1
    assert "new: copying volume data needs GNU tar there" in out.stderr
    assert "preflight failed, nothing was changed" in out.stderr
    assert state(clab, "new") == before


def test_a_second_container_on_the_same_base_sends_only_its_new_layers(clab, tmp_path):
    clab.sh("old", """set -e
for n in one two three; do
  docker run --name mk-$n apache-test sh -c "head -c 8000000 /dev/urandom > /$n" >/dev/null
  docker commit mk-$n layered-$n >/dev/null && docker rm mk-$n >/dev/null
  docker create --name layered-$n-cont layered-$n sleep infinity >/dev/null
done""")
    size = {n: json.loads(clab.sh("old", f"docker image inspect layered-{n}"))[0]["Size"]
            for n in ("one", "two", "three")}
    base = json.loads(clab.sh("old", "docker image inspect apache-test"))[0]["Size"]
    out, first = migrate(clab, tmp_path, "layered-one-cont", "--mode", "image")
    assert first["image_sent_bytes"] > size["one"] - base       # its own layer at least
    # old has python3: the layers new has never leave old
    out, second = migrate(clab, tmp_path, "layered-two-cont", "--mode", "image")
    assert "1 of 2 layers were on new already, left out on old" in out.stdout
    new_layer = size["two"] - base                              # 8 MB and a little
    assert new_layer <= second["image_sent_bytes"] < new_layer + 1024 * 1024
    assert second["image_bytes"] == size["two"]
    # without python3 there, the stream is trimmed on its way through this machine
    clab.sh("old", "mv /usr/bin/python3 /usr/bin/python3.hidden")
    try:
        out, third = migrate(clab, tmp_path, "layered-three-cont", "--mode", "image")
    finally:
        clab.sh("old", "mv /usr/bin/python3.hidden /usr/bin/python3")
    assert "1 of 2 layers were on new already, left out on the way" in out.stdout
    assert size["three"] - base <= third["image_sent_bytes"] < size["three"] - base + 1024 * 1024


def test_a_small_base_layer_is_sent_rather_than_filtered_out(clab, tmp_path):
    """Issue 18's case: the target has a small base (sleep and its
    libraries, about 2 MiB), the image adds 40 MiB. Leaving the base out
    would cost more (the filter's start on old) than sending it: every
    layer goes, the output says why, and the image arrives whole. The same
    base under the 40 MiB image, once new has that, is left out."""
    clab.sh("old", """set -e
d=$(mktemp -d); mkdir -p "$d/bin"; cp /usr/bin/sleep "$d/bin/sleep"
for lib in $(ldd /usr/bin/sleep | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
  cp --parents -L "$lib" "$d/"
done
tar -C "$d" -c . | docker import -c 'CMD ["/bin/sleep", "infinity"]' - tinybase >/dev/null
rm -rf "$d"
docker create --name mk-tiny tinybase >/dev/null
head -c 40000000 /dev/urandom > /tmp/top.bin && docker cp /tmp/top.bin mk-tiny:/top.bin
docker commit mk-tiny tinytop >/dev/null && docker rm mk-tiny >/dev/null && rm /tmp/top.bin
docker create --name tinytop-cont --stop-signal KILL tinytop >/dev/null
docker create --name mk-big tinytop >/dev/null
docker commit mk-big tinybig >/dev/null && docker rm mk-big >/dev/null""")
    send_image(clab, "tinybase")
    base = json.loads(clab.sh("old", "docker image inspect tinybase"))[0]["Size"]
    assert base < 3.5 * 2**20                                   # below the break-even alone
    size = json.loads(clab.sh("old", "docker image inspect tinytop"))[0]["Size"]
    out, report = migrate(clab, tmp_path, "tinytop-cont", "--mode", "image")
    assert re.search(r"the 1 layer\(s\) new has \([\d.]+ (KiB|MiB)\) take less time to send "
                     r"than the filter that would leave them out takes to start on old: "
                     r"sending every layer", out.stdout), out.stdout
    assert "(every layer sent)" in out.stdout
    assert report["image_sent_bytes"] >= size
    assert clab.sh("new", "docker image inspect -f '{{.Size}}' tinytop").strip() == str(size)
    # now new has tinytop (41 MiB): a container of an image on it leaves that out
    clab.sh("old", "docker create --name tinybig-cont --stop-signal KILL tinybig >/dev/null")
    out, report = migrate(clab, tmp_path, "tinybig-cont", "--mode", "image")
    assert "2 of 2 layers were on new already, left out on old" in out.stdout, out.stdout
    assert report["image_sent_bytes"] < 1024 * 1024


def test_live_cutover_loses_no_write_and_reports_the_downtime(clab, tmp_path):
    clab.sh("old", "docker run -d --name ticker -v ticks:/data apache-test sh -c "
                   f"\"{LOOP.format(body='i=0;', step=TICK)}\" "
                   ">/dev/null; until [ -s " + MP.format("ticks") + "/ticks ]; do sleep 0.1; done")
    out, report = migrate(clab, tmp_path, "ticker")
    downtime = float(re.search(r"downtime (\d+\.\d+)s", out.stdout).group(1))
    assert report["downtime_s"] == pytest.approx(downtime, abs=0.01) and downtime > 0
    steps = re.findall(r"^migrate: \[\d+\] ([^:]+):", out.stdout, re.M)
    assert steps.index("data (source running)") < steps.index("stop") < steps.index(
        "data (changes since)")
    source = clab.sh("old", f"cat {MP.format('ticks')}/ticks")
    target = clab.sh("new", f"cat {MP.format('ticks')}/ticks")
    written = source.split()
    assert len(written) > 5 and written == [str(i) for i in range(1, len(written) + 1)]
    assert target.startswith(source)                            # every write, in order
    assert json.loads(clab.sh("old", "docker inspect ticker"))[0]["State"]["Running"] is False


# a database's data file: 4 KiB pages rewritten at random offsets, five a second;
# made on the first start only
PAGES = ("trap 'exit 0' TERM; [ -e /data/db ] || { head -c 268435456 /dev/urandom > /data/db; "
         ": > /data/pages; }; "
         "while :; do n=\\$((\\$(od -An -N2 -tu2 /dev/urandom))); "
         "dd if=/dev/urandom of=/data/db bs=4096 count=1 seek=\\$n conv=notrunc 2>/dev/null; "
         "echo \\$n >> /data/pages; sleep 0.2; done")
PAGE_SUMS = ("import hashlib,sys; f=open(sys.argv[1],'rb'); "
             "print(' '.join(hashlib.sha256(b).hexdigest()[:16] "
             "for b in iter(lambda: f.read(4096), b'')))")


def test_a_large_file_rewritten_in_pages_sends_only_its_changed_blocks_after_the_stop(
        clab, tmp_path):
    clab.sh("old", f"docker run -d --name pages -v dbvol:/data apache-test sh -c "
                   f"\"{PAGES}\" >/dev/null; until [ -s {MP.format('dbvol')}/pages ]; "
                   "do sleep 0.1; done")
    out, report = migrate(clab, tmp_path, "pages")
    assert re.search(r"\] data \(block sums\): summed on new: volume dbvol: 1 file of "
                     r"256\.0 MiB \(", out.stdout), out.stdout
    after = re.search(r"\] data \(changes since\): volume dbvol (\d+\.\d) (KiB|MiB) "
                      r"\(([\d.]+ [KM]iB) of it changed blocks of 1 large file, 256\.0 MiB\)",
                      out.stdout)
    assert after, out.stdout
    sent = float(after.group(1)) * (1024 if after.group(2) == "KiB" else 1 << 20)
    assert 0 < sent < 0.05 * (256 << 20)          # under 5% of the file went after the stop
    # new runs on, writing: its file equals old's but for the pages written there since
    clab.sh("new", "docker stop -t 5 pages >/dev/null")
    old_log = clab.sh("old", f"cat {MP.format('dbvol')}/pages").split()
    new_log = clab.sh("new", f"cat {MP.format('dbvol')}/pages").split()
    assert new_log[:len(old_log)] == old_log and len(old_log) > 5
    since = {int(n) for n in new_log[len(old_log):]}
    sums = {h: clab.sh(h, f"python3 -c {shlex.quote(PAGE_SUMS)} {MP.format('dbvol')}/db").split()
            for h in ("old", "new")}
    assert len(sums["old"]) == len(sums["new"]) == 65536
    differ = {i for i, (a, b) in enumerate(zip(sums["old"], sums["new"])) if a != b}
    assert differ <= since, sorted(differ - since)[:5]


def test_rollback_returns_service_to_the_source_and_a_rerun_works(clab, tmp_path):
    old, new = clab.addresses["old"], clab.addresses["new"]
    migrate(clab, tmp_path, "data-cont")
    assert "Volume Page" in fetch(f"http://{new}:9081/")
    back = clab.inv("migrate", "data-cont", "--rollback", "--records", str(tmp_path / "records"))
    assert back.returncode == 0, back.stdout + back.stderr
    assert "rolled back: data-cont serves from old" in back.stdout
    assert "Volume Page" in fetch(f"http://{old}:9081/")
    assert json.loads(clab.sh("new", "docker inspect data-cont"))[0]["State"]["Running"] is False
    again, _ = migrate(clab, tmp_path, "data-cont", "--replace", "--yes")
    assert "Volume Page" in fetch(f"http://{new}:9081/")


def _bulk(lab):
    """A running container whose image (300 MB of random data on the seed's
    image) the target lacks: the target is emptied of containers and images."""
    lab.sh("new", "docker rm -f $(docker ps -aq) >/dev/null 2>&1; "
                  "docker rmi -f $(docker images -q) >/dev/null 2>&1; docker volume prune -f >/dev/null")
    lab.sh("old", "docker image inspect bulk-img >/dev/null 2>&1 || { docker run --name mk-bulk "
                  "apache-test sh -c 'head -c 300000000 /dev/urandom > /bulk' >/dev/null && "
                  "docker commit mk-bulk bulk-img >/dev/null && docker rm mk-bulk >/dev/null; }; "
                  "docker rm -f bulk >/dev/null 2>&1; "
                  f"docker run -d --name bulk bulk-img sh -c \"{LOOP.format(body='', step='')}\" >/dev/null")


def _migrate_with(lab, tmp_path, container, args, when, action):
    """Run `inv migrate` and do `action(proc)` at the first line of its output
    for which `when(line)` holds; return its exit code, stdout and stderr."""
    r = lab.inv_until("migrate", container, "--to", "new", "--records",
                      str(tmp_path / "records"), *args, when=when, then=action)
    return r.returncode, r.stdout, r.stderr


def streaming(line):
    return " of ~" in line and "MiB of" in line


def _fault_then_rerun(lab, tmp_path, action, words, repair=lambda: None, when=streaming):
    _bulk(lab)
    source_before, target_before = state(lab, "old"), state(lab, "new")
    code, out, err = _migrate_with(lab, tmp_path, "bulk", ["--mode", "image"], when, action)
    repair()
    assert code == 1, out + err
    assert words in err, err
    assert "new is as before; bulk on old untouched" in err, err
    assert state(lab, "new") == target_before                   # nothing left behind
    assert state(lab, "old") == source_before                   # the source runs as before
    out, _ = migrate(lab, tmp_path, "bulk", "--mode", "image")
    assert "bulk kept, stopped, on old" in out.stdout


def test_stream_cut_halfway_is_a_clear_error_and_nothing_is_left(clab, tmp_path):
    _fault_then_rerun(clab, tmp_path, lambda proc: clab.sh("new", "pkill -x docker"),
                      "image stream: the receiving side failed")


def _stop_target_engine_mid_stream(lab):
    """Hold the stream (the source's `docker save` client is frozen), stop the
    target's engine for good (its socket too: systemd would start it again at
    the next command) and let the stream go on into nothing, however fast the
    stream runs."""
    lab.sh("old", "pkill -STOP -x docker || true")      # none: ended, and the test fails
    try:
        lab.sh("new", "systemctl stop docker.socket docker.service")
    finally:
        lab.sh("old", "pkill -CONT -x docker")


def test_target_engine_stopped_midway(clab, tmp_path):
    # the engine stays down: the undo cannot see what the load left, and says
    # so rather than "new is as before"; once it is back, nothing was left
    _bulk(clab)
    source_before, target_before = state(clab, "old"), state(clab, "new")
    try:
        code, out, err = _migrate_with(clab, tmp_path, "bulk", ["--mode", "image"], streaming,
                                       lambda proc: _stop_target_engine_mid_stream(clab))
    finally:
        clab.sh("new", "systemctl start docker.socket docker.service; "
                       "until docker info >/dev/null 2>&1; do sleep 0.2; done")
    assert code == 1, out + err
    assert "image stream: the receiving side failed" in err, err
    assert "new is as before" not in err, err
    assert "on new, could not undo: image" in err, err
    assert "new cannot say whether it is there (Cannot connect to the Docker daemon" in out, out
    assert "once its engine answers: docker rmi -f sha256:" in out, out
    assert "bulk on old untouched" in err, err
    assert state(clab, "new") == target_before
    assert state(clab, "old") == source_before
    again, _ = migrate(clab, tmp_path, "bulk", "--mode", "image")
    assert "bulk kept, stopped, on old" in again.stdout


def test_ctrl_c_after_the_stop_starts_the_source_again(clab, tmp_path):
    for host in ("old", "new"):
        clab.sh(host, "docker rm -f ticker >/dev/null 2>&1; docker volume rm ticks >/dev/null 2>&1; true")
    clab.sh("old", "docker run -d --name ticker -v ticks:/data apache-test sh -c "
                   f"\"{LOOP.format(body='i=0;', step=TICK)}\" >/dev/null")
    target_before = state(clab, "new")
    code, output, err = _migrate_with(clab, tmp_path, "ticker", [],
                                      lambda line: "] stop: ticker stopped on old" in line,
                                      lambda proc: proc.send_signal(signal.SIGINT))
    assert code == 130, output + err
    assert "undone: ticker started again on old" in output
    assert json.loads(clab.sh("old", "docker inspect ticker"))[0]["State"]["Running"] is True
    assert state(clab, "new") == target_before


def test_target_disk_full_midway_then_a_rerun(clab, tmp_path):
    # the target engine gets a small disk of its own (tmpfs), filled right after preflight
    swap = ("service docker stop >/dev/null; {mount}; service docker start >/dev/null; "
            "until docker info >/dev/null 2>&1; do sleep 0.2; done")
    clab.sh("new", swap.format(mount="mount -t tmpfs -o size=1600m dockmove-small /var/lib/docker"))
    try:
        _fault_then_rerun(
            clab, tmp_path,
            lambda proc: clab.sh("new", "fallocate -l $(( $(df -Pk /var/lib/docker | awk "
                                        "'NR==2{print $4}') * 1024 - 150000000 )) "
                                        "/var/lib/docker/filler"),     # ~150 MB left
            "no space left on device", repair=lambda: clab.sh("new", "rm /var/lib/docker/filler"),
            when=lambda line: "preflight: ok" in line)
    finally:
        clab.sh("new", swap.format(mount="rm -f /var/lib/docker/filler; umount /var/lib/docker"))
