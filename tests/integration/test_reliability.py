"""Reliability promises of `inv migrate`, attacked the way an unlucky operator
would: `--rm` containers, restart policies that would start a second copy,
names the image store refuses, `--replace` over a volume in use, `--no-stop`
snapshots, and a killed run. On a lab of their own; `new` is provisioned once."""
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import (FAIL_START, ROOT, STATE, inspect, provisioned_lab, send_image,
                       start_refused, wait_for)

pytestmark = pytest.mark.lab

@pytest.fixture(scope="module")
def rlab(tmp_path_factory):
    # the seed's image on new too, for containers made there by hand
    return provisioned_lab("-rel", tmp_path_factory, seed_image_on_new=True)


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def test_a_rm_container_loses_nothing_when_the_cut_over_fails_and_goes_once_it_passed(rlab, tmp_path):
    rlab.sh("old", "docker run -d --rm --name eph -v /data -p 9280:80 apache-test sh -c "
                   "'echo precious > /data/f; exec apachectl -D FOREGROUND' >/dev/null")
    wait_for(rlab, "old", "docker exec eph cat /data/f")
    anon = [m["Name"] for m in inspect(rlab, "old", "eph")["Mounts"]][0]
    before_new = rlab.sh("new", STATE)
    rlab.sh("new", FAIL_START)
    try:
        for how in ([], ["--offline"]):
            out = rlab.inv("migrate", "eph", "--to", "new", *how, "--yes", "--records",
                           str(tmp_path))
            assert out.returncode == 1, (how, out.stdout + out.stderr)
            assert "paused on old, not stopped: it runs with --rm" in out.stdout, out.stdout
            assert "injected: start refused" in out.stderr
            assert "eph on old unpaused, with its data as it was" in out.stderr, out.stderr
            st = inspect(rlab, "old", "eph")["State"]
            assert st["Running"] and not st["Paused"], (how, st)
            assert rlab.sh("old", "docker exec eph cat /data/f").strip() == "precious"
            assert rlab.sh("new", STATE) == before_new, how
    finally:
        rlab.sh("new", "rm -f /usr/local/bin/docker")
    # its removal is named, and without a terminal needs --yes
    out = rlab.inv("migrate", "eph", "--to", "new", "--records", str(tmp_path))
    assert out.returncode == 2 and ("- the container eph on old: it runs with --rm, so it is "
                                    "removed once new passed verification") in out.stderr
    out = rlab.inv("migrate", "eph", "--to", "new", "--yes", "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert ("eph (--rm) removed from old now that new passed verification; rollback is not "
            f"possible; its anonymous volumes stay there: {anon}") in out.stdout
    assert "eph" not in rlab.sh("old", "docker ps -a --format '{{.Names}}'").split()
    assert anon in rlab.sh("old", "docker volume ls -q").split()     # not deleted with it
    assert rlab.sh("new", "docker exec eph cat /data/f").strip() == "precious"
    assert fetch(f"http://{rlab.addresses['new']}:9280/")
    back = rlab.inv("migrate", "eph", "--rollback", "--records", str(tmp_path))
    assert back.returncode == 1 and "eph ran with --rm on old" in back.stderr


def test_the_source_cannot_start_again_by_itself_until_rollback(rlab, tmp_path):
    rlab.sh("old", "docker run -d --name keeper --restart always -p 9281:80 apache-test >/dev/null")
    out = rlab.inv("migrate", "keeper", "--to", "new", "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert ("keeper's restart policy on old set from always to no, so it cannot start there "
            "again by itself (--rollback restores it)") in out.stdout
    assert inspect(rlab, "old", "keeper")["HostConfig"]["RestartPolicy"]["Name"] == "no"
    rec = json.loads(next(tmp_path.glob("*-keeper.json")).read_text())
    assert rec["source_restart_policy"]["Name"] == "always"
    # a rollback whose source does not start leaves the target serving
    rlab.sh("old", FAIL_START)
    try:
        back = rlab.inv("migrate", "keeper", "--rollback", "--records", str(tmp_path))
    finally:
        rlab.sh("old", "rm -f /usr/local/bin/docker")
    assert back.returncode == 1
    assert "rollback failed, so keeper was started again on new" in back.stderr, back.stderr
    assert inspect(rlab, "new", "keeper")["State"]["Running"]
    assert fetch(f"http://{rlab.addresses['new']}:9281/")
    back = rlab.inv("migrate", "keeper", "--rollback", "--records", str(tmp_path))
    assert back.returncode == 0, back.stdout + back.stderr
    assert "keeper started on old, its restart policy always restored" in back.stdout
    assert "its restart policy set from always to no" in back.stdout       # the target's
    c = inspect(rlab, "old", "keeper")
    assert c["HostConfig"]["RestartPolicy"]["Name"] == "always" and c["State"]["Running"]
    t = inspect(rlab, "new", "keeper")
    assert t["HostConfig"]["RestartPolicy"]["Name"] == "no" and not t["State"]["Running"]


def test_a_stopped_source_with_restart_always_cannot_come_back_either(rlab, tmp_path):
    """`always` starts even a stopped container when the engine starts."""
    rlab.sh("old", "docker create --name dormant --restart always apache-test >/dev/null")
    out = rlab.inv("migrate", "dormant", "--to", "new", "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "dormant's restart policy on old set from always to no" in out.stdout
    assert inspect(rlab, "old", "dormant")["HostConfig"]["RestartPolicy"]["Name"] == "no"


def test_every_valid_container_name_works(rlab, tmp_path):
    rlab.sh("old", "docker run -d --name My.App_2 apache-test >/dev/null")
    out = rlab.inv("migrate", "My.App_2", "--to", "new", "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert inspect(rlab, "new", "My.App_2")["Config"]["Image"] == "apache-test"
    out = rlab.inv("migrate", "My.App_2", "--to", "new", "--commit", "--replace", "--yes", "--no-port-check",
                   "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert inspect(rlab, "new", "My.App_2")["Config"]["Image"].startswith("dockmove/my-app-2:")


def test_replace_stops_the_container_that_uses_the_volume_first_and_refuses_anothers(rlab, tmp_path):
    rlab.sh("old", "docker run -d --name rep -v shared:/data apache-test sh -c "
                   "'echo source > /data/who; exec apachectl -D FOREGROUND' >/dev/null")
    rlab.sh("new", "docker run -d --name rep -v shared:/data --pull never apache-test sh -c "
                   "'echo target > /data/who; exec sleep 1d' >/dev/null")
    wait_for(rlab, "old", "docker exec rep cat /data/who")
    wait_for(rlab, "new", "docker exec rep cat /data/who")
    # no terminal to ask in and no --yes: what it would overwrite is named, nothing is done
    before = rlab.sh("new", STATE)
    out = rlab.inv("migrate", "rep", "--to", "new", "--replace", "--records", str(tmp_path))
    assert out.returncode == 2, out.stdout + out.stderr
    assert ("migrate rep to new, which removes or overwrites:\n"
            "- the container rep on new: stopped and renamed rep.replaced-") in out.stderr, out.stderr
    assert "- volume shared on new: the data it holds (--replace)" in out.stderr
    assert "there is no terminal to ask in: add --yes to go on; nothing was changed" in out.stderr
    assert rlab.sh("new", STATE) == before
    assert rlab.sh("new", "docker exec rep cat /data/who").strip() == "target"
    assert not list(tmp_path.glob("*.json"))                # not even a record
    out = rlab.inv("migrate", "rep", "--to", "new", "--replace", "--yes", "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    first_copy = next(i for i, l in enumerate(lines) if "] data" in l)
    stop = next(i for i, l in enumerate(lines) if "] replace: rep stopped on new: it uses shared" in l)
    assert stop < first_copy
    assert rlab.sh("new", "docker exec rep cat /data/who").strip() == "source"

    # a failed --replace never starts the replaced container on overwritten data
    rlab.sh("old", "docker run -d --name rep3 -v shared3:/data apache-test sh -c "
                   "'echo source > /data/who; exec apachectl -D FOREGROUND' >/dev/null")
    rlab.sh("new", "docker run -d --name rep3 -v shared3:/data --pull never apache-test sh -c "
                   "'echo target > /data/who; exec sleep 1d' >/dev/null")
    wait_for(rlab, "new", "docker exec rep3 cat /data/who")
    rlab.sh("new", FAIL_START)
    try:
        out = rlab.inv("migrate", "rep3", "--to", "new", "--replace", "--yes",
                       "--records", str(tmp_path))
    finally:
        rlab.sh("new", "rm -f /usr/local/bin/docker")
    assert out.returncode == 1
    assert ("note: rep3 on new stays stopped: the copy already overwrote shared3, which it "
            "uses; restore that data before you start it") in out.stdout, out.stdout
    assert not inspect(rlab, "new", "rep3")["State"]["Running"]
    assert inspect(rlab, "old", "rep3")["State"]["Running"]

    rlab.sh("old", "docker run -d --name rep2 -v busy:/data apache-test sh -c "
                   "'echo mine > /data/x; exec apachectl -D FOREGROUND' >/dev/null")
    rlab.sh("new", "docker run -d --name other -v busy:/data --pull never apache-test sh -c "
                   "'echo theirs > /data/x; exec sleep 1d' >/dev/null")
    wait_for(rlab, "new", "docker exec other cat /data/x")
    before = rlab.sh("new", STATE)
    out = rlab.inv("migrate", "rep2", "--to", "new", "--replace", "--records", str(tmp_path))
    assert out.returncode == 1
    assert "new: volume busy is used by other there" in out.stderr, out.stderr
    assert rlab.sh("new", STATE) == before
    assert rlab.sh("new", "docker exec other cat /data/x").strip() == "theirs"


@pytest.mark.parametrize("how", ["layer", "commit"])
def test_no_stop_takes_its_last_pass_frozen_and_leaves_the_source_running(rlab, tmp_path, how):
    name = f"snap-{how}"
    rlab.sh("old", f"docker run -d --name {name} -v {name}:/data apache-test sh -c "
                   "'while :; do date +%s%N >> /data/log; sleep 0.05; done' >/dev/null")
    wait_for(rlab, "old", f"docker exec {name} test -s /data/log")
    out = rlab.inv("migrate", name, "--to", "new", "--no-stop", "--records", str(tmp_path),
                   *(["--commit"] if how == "commit" else []))
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    # the container's changes are taken frozen: its layer's last pass, or a
    # commit; a commit's image is sent after the freeze, not during it
    keys = (f"] freeze: {name} paused on old for the last pass",
            "] container layer (changes since): " if how == "layer"
            else f"] snapshot: committed {name}",
            f"] unpause: {name} unpaused on old: it was frozen",
            *(["] image: "] if how == "commit" else []))
    at = {key: next((i for i, l in enumerate(lines) if key in l), None) for key in keys}
    assert None not in at.values(), (at, out.stdout)
    order = list(at.values())
    assert order == sorted(order), at
    assert "source frozen" in out.stdout
    st = inspect(rlab, "old", name)["State"]
    assert st["Running"] and not st["Paused"]


def test_sigterm_during_an_offline_volume_copy_undoes_like_ctrl_c(rlab, tmp_path):
    rlab.sh("old", "docker run -d --name bigvol -v bigdata:/data -p 9282:80 apache-test sh -c "
                   "'head -c 300000000 /dev/urandom > /data/blob && touch /data/done; "
                   "exec apachectl -D FOREGROUND' >/dev/null")
    wait_for(rlab, "old", "docker exec bigvol test -e /data/done", timeout=120)
    before = {h: rlab.sh(h, STATE) for h in ("old", "new")}
    # the image is there: the data copy (~2 s) starts now, the target
    # container's create and start come after
    r = rlab.inv_until("migrate", "bigvol", "--to", "new", "--offline", "--records",
                       str(tmp_path), when=lambda line: "] image" in line,
                       then=signal.SIGTERM, timeout=120)
    output, err = r.stdout, r.stderr
    assert r.returncode == 143, output + err
    assert "interrupted: undoing what this run changed" in output
    assert "interrupted (SIGTERM)" in err
    assert {h: rlab.sh(h, STATE) for h in ("old", "new")} == before
    assert "dockmove/" not in rlab.sh("old", "docker images --format '{{.Repository}}'")
    assert inspect(rlab, "old", "bigvol")["State"]["Running"]
    for host in ("old", "new"):                # no ssh of this run outlives it
        left = subprocess.run(["pgrep", "-af", f"@{rlab.addresses[host]}"],
                              capture_output=True, text=True).stdout
        assert left == "", left


def test_a_closed_terminal_undoes_like_ctrl_c(rlab, tmp_path):
    """The run's controlling terminal hangs up mid-copy (an ssh session that
    dropped): SIGHUP, and every later write to the terminal fails (EIO)."""
    import fcntl
    import pty
    import termios
    rlab.sh("old", "docker run -d --name hup -v hupdata:/data -p 9283:80 apache-test sh -c "
                   "'head -c 300000000 /dev/urandom > /data/blob && touch /data/done; "
                   "exec apachectl -D FOREGROUND' >/dev/null")
    wait_for(rlab, "old", "docker exec hup test -e /data/done", timeout=120)
    before = {h: rlab.sh(h, STATE) for h in ("old", "new")}
    master, slave = pty.openpty()
    env = {**os.environ, "DOCKMOVE_INVENTORY": str(rlab.cfg.inventory_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "migrate", "hup", "--to", "new",
                             "--offline", "--records", str(tmp_path)], cwd=ROOT, env=env,
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and b"] image" not in seen:   # the data copy starts
        seen += os.read(master, 4096)
    os.close(master)                                          # the terminal is gone
    assert proc.wait(timeout=180) == 129, seen.decode(errors="replace")
    assert {h: rlab.sh(h, STATE) for h in ("old", "new")} == before
    assert inspect(rlab, "old", "hup")["State"]["Running"]
    rec = json.loads(next(tmp_path.glob("*-hup.json")).read_text())
    assert rec["outcome"] == "interrupted"
    for host in ("old", "new"):
        left = subprocess.run(["pgrep", "-af", f"@{rlab.addresses[host]}"],
                              capture_output=True, text=True).stdout
        assert left == "", left


def _ctrl_c_during(lab, command, *args, after):
    """`inv migrate ARGS`; once the line `after` is out, Ctrl-C while
    `command` (say, "docker commit") runs on old; then wait there until it
    has ended (it goes on whatever the run does)."""
    pattern = shlex.quote(f"[{command[0]}]{command[1:]}")     # not this shell itself

    def while_it_runs(proc):
        wait_for(lab, "old", f"pgrep -f {pattern} >/dev/null")
        proc.send_signal(signal.SIGINT)
    r = lab.inv_until("migrate", *args, when=lambda line: after in line, then=while_it_runs,
                      timeout=180)
    wait_for(lab, "old", f"! pgrep -f {pattern} >/dev/null")
    return r


def test_ctrl_c_during_a_commit_leaves_no_image_behind(rlab, tmp_path):
    """A Ctrl-C that lands while `docker commit` runs on the source: the
    commit goes on there whatever we do; the undo must come after it and
    remove what it made, or the source keeps an image this run left."""
    rlab.sh("old", "docker run -d --name bigcommit apache-test sh -c "
                   "'head -c 300000000 /dev/urandom > /blob; touch /done; sleep infinity' "
                   ">/dev/null")
    wait_for(rlab, "old", "docker exec bigcommit test -e /done", timeout=120)
    before = {h: rlab.sh(h, STATE) for h in ("old", "new")}

    r = _ctrl_c_during(rlab, "docker commit", "bigcommit", "--to", "new", "--commit",
                       "--offline", "--stop-timeout", "1", "--no-port-check", "--records",
                       str(tmp_path), after="] stop: bigcommit stopped")
    assert r.returncode == 130, r.stdout + r.stderr
    assert "waiting for the command running on old to end" in r.stderr, r.stderr
    # the commit ended there, and it left nothing
    assert {h: rlab.sh(h, STATE) for h in ("old", "new")} == before, r.stdout
    assert "dockmove/" not in rlab.sh("old", "docker images --format '{{.Repository}}'")
    assert inspect(rlab, "old", "bigcommit")["State"]["Running"]


def test_ctrl_c_while_the_source_stops_waits_for_the_stop_then_starts_it_again(rlab, tmp_path):
    """A Ctrl-C that lands while `docker stop` runs on the source: the stop
    goes on there whatever we do, so the undo must come after it (a start sent
    while it still stops is a no-op, and the source would end stopped)."""
    # PID 1 (sh) ignores SIGTERM: the stop takes its whole --stop-timeout
    rlab.sh("old", "docker run -d --name slowstop apache-test sh -c 'sleep infinity' >/dev/null")
    before = {h: rlab.sh(h, STATE) for h in ("old", "new")}

    r = _ctrl_c_during(rlab, "docker stop", "slowstop", "--to", "new", "--stop-timeout", "8",
                       "--no-port-check", "--records", str(tmp_path),
                       after="] container layer (source running)")
    assert r.returncode == 130, r.stdout + r.stderr
    assert "waiting for the command running on old to end" in r.stderr, r.stderr
    assert "undone: slowstop started again on old" in r.stdout
    # the stop ended there, and the source runs
    assert inspect(rlab, "old", "slowstop")["State"]["Running"], r.stdout
    assert {h: rlab.sh(h, STATE) for h in ("old", "new")} == before


def test_a_failed_run_keeps_an_image_that_was_on_the_target_untagged(rlab, tmp_path):
    """The container's image is on the target already, under no name (a
    re-tag left it dangling). The run names it there; the undo must not
    delete it with its last tag, as `docker rmi` of that name would."""
    rlab.sh("old", "docker run --name mk-lonely apache-test sh -c 'echo mine > /mine' && "
                   "docker commit mk-lonely lonely:1 >/dev/null && docker rm mk-lonely >/dev/null && "
                   "docker run -d --name lonely lonely:1 sleep infinity >/dev/null")
    image = inspect(rlab, "old", "lonely")["Image"]
    send_image(rlab, "lonely:1")
    rlab.sh("new", "docker tag lonely:1 lonely-other && docker rmi lonely:1 >/dev/null && "
                   "docker tag apache-test lonely-other")
    assert rlab.sh("new", f"docker image inspect --format '{{{{json .RepoTags}}}}' {image}"
                   ).strip() == "[]"
    with start_refused(rlab, "new"):
        out = rlab.inv("migrate", "lonely", "--to", "new", "--records", str(tmp_path))
    rlab.sh("new", "docker rmi lonely-other >/dev/null")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "injected: start refused" in out.stderr
    assert (f"could not undo tag lonely:1 on new: kept: it is the only name of image "
            f"{image[7:19]}, which was on new before this run (untagged); `docker rmi lonely:1` "
            "there deletes that image") in out.stdout, out.stdout
    assert "could not undo: tag lonely:1 on new" in out.stderr
    assert rlab.sh("new", f"docker image inspect --format '{{{{.Id}}}}' {image}").strip() == image
    assert inspect(rlab, "old", "lonely")["State"]["Running"]
    rlab.sh("new", "docker rmi lonely:1 >/dev/null")
    rlab.sh("old", "docker rm -f lonely >/dev/null && docker rmi lonely:1 >/dev/null")


def test_a_second_ctrl_c_stops_waiting_for_a_command_that_hangs(rlab, tmp_path):
    """The first Ctrl-C waits for the command running on the host (here a
    `docker stop` with two minutes to go); the second stops waiting at once,
    and the run is undone. (The stop itself goes on there.)"""
    rlab.sh("old", "docker run -d --name hangstop apache-test sh -c 'sleep infinity' >/dev/null")
    before_new = rlab.sh("new", STATE)
    first = []

    def twice(proc):
        wait_for(rlab, "old", "pgrep -f '[d]ocker stop' >/dev/null")
        proc.send_signal(signal.SIGINT)
        for line in proc.stderr:            # the first was taken: it says so
            first.append(line)
            if "interrupted: waiting for the command running on old to end" in line:
                break
        proc.send_signal(signal.SIGINT)
    try:
        r = rlab.inv_until("migrate", "hangstop", "--to", "new", "--stop-timeout", "120",
                           "--no-port-check", "--records", str(tmp_path),
                           when=lambda line: "] container layer (source running)" in line,
                           then=twice, timeout=60)
    finally:
        rlab.sh("old", "docker rm -f hangstop >/dev/null")
    assert r.returncode == 130, r.stdout + r.stderr
    assert "(Ctrl-C again to stop waiting)" in "".join(first)
    assert "interrupted: undoing what this run changed" in r.stdout
    assert "undone: container hangstop on new" in r.stdout
    assert rlab.sh("new", STATE) == before_new
