"""`inv migrate` and `inv record` on real lab hosts (a lab of their own).
File order matters and each test says what it starts from: the first runs
before `new` has an engine; the fixture `ready` provisions it."""
import json
import re
import shlex
import urllib.request

import pytest

from .conftest import lab_name, make_lab

pytestmark = pytest.mark.lab

STATE = "docker ps -a --format '{{.Names}} {{.State}} {{.Image}}' | sort; docker images -q | sort; " \
        "docker network ls -q | sort; docker volume ls -q | sort"


@pytest.fixture(scope="module")
def mlab(tmp_path_factory):
    return make_lab(lab_name("-mig"), tmp_path_factory)


@pytest.fixture(scope="module")
def ready(mlab):
    out = mlab.inv("provision", "--host", "new")
    assert out.returncode == 0, out.stdout + out.stderr
    return mlab


@pytest.fixture(scope="module")
def seed_records(tmp_path_factory):
    """The seed migration's records, read again by verify-port."""
    return tmp_path_factory.mktemp("seed-records")


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def inspect(lab, host, name):
    return json.loads(lab.sh(host, f"docker inspect {name}"))[0]


def state(lab):
    return {h: lab.sh(h, STATE).split("\n") for h in ("old", "new")}


def test_target_without_engine_is_refused_before_anything_changes(mlab, tmp_path):
    before = mlab.sh("old", STATE)
    out = mlab.inv("migrate", "apache-cont", "--to", "new", "--records", str(tmp_path))
    assert out.returncode == 1
    assert "new: no Docker engine answers" in out.stderr
    assert "inv provision --host new" in out.stderr
    assert mlab.sh("old", STATE) == before and not list(tmp_path.iterdir())


def test_contradicting_or_malformed_options_are_refused_before_any_host_is_asked(mlab, tmp_path):
    cases = [
        (["--offline", "--no-stop"], "--offline and --no-stop contradict each other"),
        (["--remove-source", "--no-stop"], "--remove-source and --no-stop contradict each other"),
        (["--stop-timeout", "soon"], "--stop-timeout 'soon': expected a number of seconds"),
        (["--settle", "-1"], "--settle '-1': expected a number of seconds"),
        (["--json-report", str(tmp_path / "nowhere" / "r.json")],
         f"--json-report {tmp_path / 'nowhere' / 'r.json'}: its folder does not exist"),
    ]
    for args, words in cases:
        out = mlab.inv("migrate", "apache-cont", "--to", "new", *args, "--records", str(tmp_path))
        assert out.returncode == 2, out.stdout + out.stderr
        assert words in out.stderr, out.stderr
    assert not list(tmp_path.iterdir())


def test_record_prints_the_seed_command(ready):
    out = ready.inv("record", "apache-cont")
    assert out.returncode == 0, out.stderr
    missing = ready.inv("record", "nope")
    assert missing.returncode == 2 and "old: no container named 'nope'; there: " in missing.stderr
    assert out.stdout.strip() == ("docker run --detach --name apache-cont --hostname apache-host "
                                  "--publish 9080:80 apache-test")


def test_record_masks_secret_env_values(ready):
    ready.sh("old", "docker create --name secretive -e DB_PASSWORD='s3cr3t value' -e MODE=prod "
                    "apache-test sleep 1")
    masked = ready.inv("record", "secretive").stdout
    assert "DB_PASSWORD=****" in masked and "s3cr3t" not in masked and "MODE=prod" in masked
    shown = ready.inv("record", "secretive", "--show-secrets").stdout
    assert "'DB_PASSWORD=s3cr3t value'" in shown


def test_dry_run_changes_nothing(ready, tmp_path):
    before = state(ready)
    out = ready.inv("migrate", "apache-cont", "--to", "new", "--dry-run", "--records", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "dry run: nothing changed" in out.stdout and "preflight: ok" in out.stdout
    assert re.search(r"target command: docker run --detach --name apache-cont --hostname "
                     r"apache-host --publish 9080:80 apache-test$", out.stdout, re.M)
    assert state(ready) == before and not list(tmp_path.iterdir())


def one_document(out, task, ok=True):
    """stdout holds one JSON document and nothing else; the human lines, if
    any, went to stderr."""
    doc = json.loads(out.stdout)
    assert (doc["dockmove"], doc["task"], doc["ok"]) == (1, task, ok), doc
    return doc


def test_every_task_prints_one_json_document_with_json(ready, tmp_path):
    hosts = one_document(ready.inv("hosts", "--host", "old,new", "--json"), "hosts.list")
    assert [(h["name"], h["ssh"], h["sudo"]) for h in hosts["hosts"]] == [("old", "ok", "ok"),
                                                                           ("new", "ok", "ok")]
    assert hosts["hosts"][1]["docker"].startswith("26.")
    ports = one_document(ready.inv("ports", "--host", "old", "--json"), "ports")
    assert {"proto": "tcp", "address": "0.0.0.0", "port": 9080, "process": "docker-proxy",
            "container": "apache-cont"} in ports["hosts"]["old"]
    record = one_document(ready.inv("record", "apache-cont", "--json"), "record")
    assert record["command"].startswith("docker run --detach --name apache-cont ")
    prov = ready.inv("provision", "--host", "new", "--dry-run", "--json")
    doc = one_document(prov, "provision")
    assert doc["dry_run"] and doc["hosts"][0]["result"] == "planned"
    assert "new: [1/11]" in prov.stderr                     # every step still printed, on stderr
    before = state(ready)
    plan = ready.inv("migrate", "apache-cont", "--to", "new", "--dry-run", "--json",
                     "--records", str(tmp_path))
    doc = one_document(plan, "migrate")
    (p,) = doc["plans"]
    assert p["container"] == "apache-cont" and p["overwrites"] == [] and len(p["steps"]) > 5
    assert "migrate: preflight: ok" in plan.stderr and state(ready) == before
    # a failure: its document on stdout, its message on stderr, its exit code
    missing = ready.inv("record", "nope", "--json")
    assert missing.returncode == 2
    doc = one_document(missing, "record", ok=False)
    assert doc["exit_code"] == 2 and "old: no container named 'nope'" in doc["error"]
    assert "error: old: no container named 'nope'" in missing.stderr
    # a check that fails: the document says so, with the error stderr gives
    silent = ready.inv("verify-port", "9099", "--host", "new", "--timeout", "1", "--json")
    assert silent.returncode == 1
    doc = one_document(silent, "verify-port", ok=False)
    assert doc["exit_code"] == 1 and doc["error"].startswith("new:9099 failed: listener")
    assert f"error: {doc['error']}" in silent.stderr


def test_seed_scenario(ready, seed_records):
    tmp_path = seed_records
    src_images = ready.sh("old", "docker images -q | sort")
    out = ready.inv("migrate", "apache-cont", "--to", "new", "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    # live cut-over: the image went while the source ran, then the stop, then the changes
    steps = re.findall(r"^migrate: \[\d+\] ([^:]+):", out.stdout, re.M)
    assert steps.index("image (source running)") < steps.index("stop") \
        < steps.index("container layer (changes since)") < steps.index("start")
    downtime = float(re.search(r"downtime (\d+\.\d+)s", out.stdout).group(1))
    assert "apache-cont kept, stopped, on old" in out.stdout
    new = ready.addresses["new"]
    assert "Docker Custom Page" in fetch(f"http://{new}:9080/")
    src, dst = inspect(ready, "old", "apache-cont"), inspect(ready, "new", "apache-cont")
    assert dst["Config"]["Hostname"] == "apache-host"
    assert dst["Config"]["Env"] == src["Config"]["Env"]
    assert dst["Config"]["Cmd"] == ["apachectl", "-D", "FOREGROUND"]
    # the source is kept, stopped, unchanged: same image, no temporary tag left
    assert not src["State"]["Running"] and src["Image"] == dst["Image"]
    assert dst["Config"]["Image"] == src["Config"]["Image"] == "apache-test"
    assert ready.sh("old", "docker images -q | sort") == src_images
    assert "dockmove/" not in ready.sh("old", "docker images --format '{{.Repository}}'")
    (record,) = tmp_path.iterdir()
    assert oct(record.stat().st_mode & 0o777) == "0o600"
    data = json.loads(record.read_text())
    assert data["run_argv"][:3] == ["docker", "run", "--detach"]
    assert data["container_inspect"]["Id"] == src["Id"]
    assert data["outcome"] == "done" and data["result"]["downtime_s"] == pytest.approx(downtime, abs=0.01)
    assert "Docker Custom Page" in data["baseline"]["9080"]["body"]


def test_verify_port_compares_target_with_the_sources_recorded_answer(ready, seed_records):
    # the source is stopped now: the answer it gave before the stop is on record
    same = ready.inv("verify-port", "9080", "--records", str(seed_records))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "same status and body as the source before the migration" in same.stdout
    ready.sh("new", "docker exec apache-cont sh -c 'echo changed > /var/www/html/index.html'")
    try:
        out = ready.inv("verify-port", "9080", "--host", "new",
                        "--records", str(seed_records))
    finally:
        ready.sh("new", "docker exec apache-cont sh -c 'printf \"%s\\n\" "
                        "\"<html><body><h1>Docker Custom Page</h1></body></html>\" "
                        "> /var/www/html/index.html'")
    assert out.returncode == 1
    assert "compare   FAILED (content)" in out.stdout
    assert "differs from the source before the migration" in out.stdout
    assert "+changed" in out.stdout


def test_preflight_refusals_change_nothing(ready, tmp_path):
    before = state(ready)
    cases = [
        (["apache-cont"], 1, "a container named 'apache-cont' exists; pass --name NEW, or --replace"),
        (["apache-cont", "--name", "apache-two"], 1, "port 9080/tcp is taken; pass --publish"),
        (["no-such-thing"], 2, "old: no container named 'no-such-thing'; there: "),
    ]
    for args, code, words in cases:
        out = ready.inv("migrate", *args, "--to", "new", "--records", str(tmp_path))
        assert out.returncode == code, out.stdout
        assert words in out.stderr, out.stderr
        if code == 2:           # no plan is printed for what is not there
            assert "from old to new" not in out.stdout, out.stdout
    assert state(ready) == before and not list(tmp_path.iterdir())


def test_export_mode_restores_the_image_config(ready, tmp_path):
    out = ready.inv("migrate", "apache-cont", "--to", "new", "--mode", "export",
                    "--name", "apache-exp", "--publish", "9082:80", "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Docker Custom Page" in fetch(f"http://{ready.addresses['new']}:9082/")
    exp = inspect(ready, "new", "apache-exp")
    image = json.loads(ready.sh("new", f"docker image inspect {exp['Image']}"))[0]
    assert len(image["RootFS"]["Layers"]) == 1
    env = image["Config"]["Env"]
    assert "APACHE_RUN_USER=www-data" in env and "DEBCONF_NOWARNINGS=yes" in env
    assert image["Config"]["Cmd"] == ["apachectl", "-D", "FOREGROUND"]
    assert "80/tcp" in image["Config"]["ExposedPorts"]


def test_failure_after_preflight_undoes_everything_on_the_target(ready, tmp_path):
    # a real failure: this container's process ends at once, so it cannot be verified running
    ready.sh("old", "docker create --name quitter apache-test sh -c 'exit 3'")
    before = state(ready)
    out = ready.inv("migrate", "quitter", "--to", "new", "--records", str(tmp_path))
    assert out.returncode == 1
    assert "new: quitter exited (code 3) right after start" in out.stderr
    assert "new is as before; quitter on old untouched" in out.stderr
    assert "undone: container quitter on new" in out.stdout
    assert state(ready) == before


HOSTILE_ENV = "it's \"quoted\" $(touch /tmp/pwned) `id`; two  spaces\nnewline ünï ✓"


def test_hostile_values_survive_literally(ready, tmp_path):
    script = 'echo "$1"; sleep infinity'
    ready.sh("old", "docker create --name hostile "
                    f"-e HOSTILE={_q(HOSTILE_ENV)} --label {_q('note=' + HOSTILE_ENV)} "
                    f"apache-test sh -c {_q(script)} sh {_q(HOSTILE_ENV)} "
                    "&& docker start hostile")
    out = ready.inv("migrate", "hostile", "--to", "new", "--mode", "image", "--no-stop",
                    "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "hostile still runs on old: writes made there from now on stay there" in out.stdout
    src, dst = inspect(ready, "old", "hostile"), inspect(ready, "new", "hostile")
    assert src["State"]["Running"]
    assert f"HOSTILE={HOSTILE_ENV}" in dst["Config"]["Env"]
    assert dst["Config"]["Labels"]["note"] == HOSTILE_ENV
    assert dst["Config"]["Cmd"] == src["Config"]["Cmd"]
    assert dst["Args"] == src["Args"]
    assert ready.sh("new", "test -e /tmp/pwned && echo BAD || echo ok").strip() == "ok"


def _q(s):
    return shlex.quote(s)


def test_replace_keeps_the_old_container_aside_and_env_override(ready, tmp_path):
    out = ready.inv("migrate", "apache-cont", "--to", "new", "--replace", "--yes", "--env", "GREETING=hello world",
                    "--compress", "gzip", "--records", str(tmp_path), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    doc = one_document(out, "migrate")
    assert (doc["container"], doc["target"], doc["cutover"]) == ("apache-cont", "new", "live")
    # the source was stopped already (the seed scenario): no downtime to measure
    assert doc["downtime_s"] is None and doc["seconds"] > 0
    assert doc["record"].startswith(str(tmp_path))
    assert "migrate: done in" in out.stderr
    names = ready.sh("new", "docker ps -a --format '{{.Names}} {{.State}}'").split("\n")
    assert "apache-cont running" in names
    assert any(n.startswith("apache-cont.replaced-") and n.endswith(" exited") for n in names)
    assert "GREETING=hello world" in inspect(ready, "new", "apache-cont")["Config"]["Env"]
    assert "Docker Custom Page" in fetch(f"http://{ready.addresses['new']}:9080/")


def test_in_a_terminal_a_replace_is_asked_first_and_no_changes_nothing(ready, tmp_path):
    before = state(ready)
    code, frames, final = ready.inv_in_terminal(
        "migrate", "apache-cont", "--to", "new", "--replace", "--records", str(tmp_path),
        answer=("Go on? [y/N]", b"n\n"))
    assert code == 1, final
    assert ("migrate apache-cont to new, which removes or overwrites:\n"
            "- the container apache-cont on new: stopped and renamed apache-cont.replaced-"
            in final), final
    assert "error: not confirmed: nothing was changed" in final
    assert state(ready) == before and not list(tmp_path.iterdir())
    assert "Docker Custom Page" in fetch(f"http://{ready.addresses['new']}:9080/")
    # yes, but what was named changed while the question waited: read again, refused
    try:
        code, frames, final = ready.inv_in_terminal(
            "migrate", "apache-cont", "--to", "new", "--replace", "--records", str(tmp_path),
            answer=("Go on? [y/N]", b"y\n"),
            meanwhile=lambda: ready.sh("new", "docker rename apache-cont apache-cont-aside"))
        assert code == 1, final
        assert "the hosts changed while the question waited; nothing was changed" in final
        # the renamed one still holds the port: now a refusal of its own
        assert "- new: port 9080/tcp is taken; pass --publish" in final, final
        assert not list(tmp_path.iterdir())
    finally:
        ready.sh("new", "docker rename apache-cont-aside apache-cont")
    assert state(ready) == before


def test_failed_replace_puts_the_replaced_container_back_running(ready, tmp_path):
    # quitter (created above) exits at once: replacing apache-cont with it must fail
    before = ready.sh("new", "docker ps -a --format '{{.Names}} {{.State}}' | sort")
    out = ready.inv("migrate", "quitter", "--to", "new", "--name", "apache-cont", "--replace",
                    "--yes", "--records", str(tmp_path))
    assert out.returncode == 1
    assert "back as apache-cont, started again" in out.stdout
    assert ready.sh("new", "docker ps -a --format '{{.Names}} {{.State}}' | sort") == before
    assert "Docker Custom Page" in fetch(f"http://{ready.addresses['new']}:9080/")


def test_compression_tool_missing_is_a_preflight_error(ready, tmp_path):
    """Both lab hosts have zstd (the real path); here `new` loses it for a while."""
    before = state(ready)
    ready.sh("new", "mv /usr/bin/zstd /usr/bin/zstd.hidden-by-test")
    try:
        out = ready.inv("migrate", "data-cont", "--to", "new", "--compress", "zstd",
                        "--records", str(tmp_path))
    finally:
        ready.sh("new", "mv /usr/bin/zstd.hidden-by-test /usr/bin/zstd")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "--compress zstd needs zstd there" in out.stderr and "nothing was changed" in out.stderr
    assert state(ready) == before


def test_ctrl_c_during_the_stream_undoes_the_target(ready, tmp_path):
    import signal
    ready.sh("old", "docker run -d --name big apache-test sh -c "
                    "'head -c 300000000 /dev/urandom > /blob; sleep infinity' >/dev/null; "
                    "while [ $(docker exec big stat -c %s /blob 2>/dev/null || echo 0) -lt 300000000 ]; "
                    "do sleep 0.2; done")
    before = state(ready)
    # interrupt as a terminal would once the container exists on new: its layer
    # streams next (2 s or less here), then the source's 10 s stop; either way
    # before the run is done
    r = ready.inv_until("migrate", "big", "--to", "new", "--records", str(tmp_path),
                        when=lambda line: "] container: big created" in line,
                        then=signal.SIGINT, timeout=120)
    output, err = r.stdout, r.stderr
    assert r.returncode == 130, output + err
    assert "interrupted: undoing what this run changed" in output
    assert state(ready) == before
    assert "dockmove/" not in ready.sh("old", "docker images --format '{{.Repository}}'")


def _served(lab, host, port):
    """Wait (on the host itself) until its port serves HTTP."""
    lab.sh(host, f"for i in $(seq 150); do curl -sf -o /dev/null http://127.0.0.1:{port}/ "
                 "&& exit 0; sleep 0.1; done; exit 1")


def test_a_crash_loop_on_the_target_fails_and_the_source_is_not_removed(ready, tmp_path):
    # its config is on old only: on new it exits a second after each start, and
    # its restart policy starts it again; no port to check
    script = ("trap 'exit 0' TERM; echo checking /cfg; test -e /cfg/ok || "
              "{ echo 'no /cfg/ok: giving up'; sleep 1; exit 1; }; while :; do sleep 0.2; done")
    ready.sh("old", "mkdir -p /srv/crashy && touch /srv/crashy/ok && docker run -d --name crashy "
                    f"--restart always -v /srv/crashy:/cfg:ro apache-test sh -c {_q(script)} >/dev/null")
    before = state(ready)["new"]
    out = ready.inv("migrate", "crashy", "--to", "new", "--mode", "image", "--no-port-check",
                    "--remove-source", "--yes", "--records", str(tmp_path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "new: crashy does not stay up" in out.stderr, out.stderr
    assert "no /cfg/ok: giving up" in out.stderr            # its last log lines
    assert "crashy on old started again" in out.stderr
    assert "removed from old" not in out.stdout
    src = inspect(ready, "old", "crashy")                   # kept, and running again
    assert src["State"]["Running"] and not src["State"]["Restarting"]
    assert state(ready)["new"] == before


def test_a_port_that_did_not_answer_on_the_source_does_not_fail_the_run(ready, tmp_path):
    import time
    # 9093 serves; 9094 is published, but nothing listens behind it
    ready.sh("old", "docker run -d --name half-deaf -p 9093:80 -p 9094:8080 apache-test >/dev/null")
    _served(ready, "old", 9093)
    t0 = time.monotonic()
    out = ready.inv("migrate", "half-deaf", "--to", "new", "--mode", "image", "--stop-timeout", "1",
                    "--records", str(tmp_path))
    took = time.monotonic() - t0
    assert out.returncode == 0, out.stdout + out.stderr
    assert "port(s) 9093 answer from here" in out.stdout, out.stdout
    assert "port(s) 9094 did not answer on the source either (not required)" in out.stdout
    assert took < 60, f"took {took:.0f}s"                  # no wait for the silent port
    assert "It works" in fetch(f"http://{ready.addresses['new']}:9093/")


def test_a_port_published_on_loopback_is_verified_from_the_target_itself(ready, tmp_path):
    ready.sh("old", "docker run -d --name local-only -p 127.0.0.1:9092:80 apache-test >/dev/null")
    _served(ready, "old", 9092)
    out = ready.inv("migrate", "local-only", "--to", "new", "--mode", "image", "--stop-timeout", "1",
                    "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "port(s) 9092 answer on new itself" in out.stdout, out.stdout
    # the source's answer was recorded from old itself, and verify-port checks from new
    v = ready.inv("verify-port", "9092", "--host", "new", "--records", str(tmp_path))
    assert v.returncode == 0, v.stdout + v.stderr
    assert "from new itself: connected to 127.0.0.1:9092" in v.stdout
    assert "same status and body as the source before the migration" in v.stdout


def drawn(frames, pattern):
    """Some screen on the way had a line matching `pattern`."""
    return any(re.search(pattern, f, re.M) for f in frames)


def test_in_a_terminal_a_stream_shows_a_live_bar_that_gives_way_to_its_result(ready, tmp_path):
    ready.sh("old", "docker run --rm -v ttyvol:/data apache-test sh -c "
                    "'head -c 80000000 /dev/urandom > /data/blob' && "
                    "docker run -d --name tty-cont -v ttyvol:/data apache-test >/dev/null")
    code, frames, final = ready.inv_in_terminal("migrate", "tty-cont", "--to", "new", "--mode",
                                                "image", "--stop-timeout", "1", "--no-port-check",
                                                "--records", str(tmp_path))
    assert code == 0, final
    assert drawn(frames, r"^  migrate: volume ttyvol stream ━+.* MiB"), frames[-1]
    # the bar is gone from the final screen; the step lines and the result are there
    assert "━" not in final and "ttyvol stream" not in final, final
    assert re.search(r"^migrate: \[\d+\] data \(source running\): volume ttyvol", final, re.M), final
    assert re.search(r"^migrate: done in [\d.]+s: tty-cont runs on new", final, re.M), final
    # --quiet: the result, no step, no bar
    ready.sh("new", "docker rm -f tty-cont >/dev/null; docker volume rm ttyvol >/dev/null")
    ready.sh("old", "docker start tty-cont >/dev/null")
    code, frames, final = ready.inv_in_terminal("migrate", "tty-cont", "--to", "new", "--mode",
                                                "image", "--stop-timeout", "1", "--no-port-check",
                                                "--records", str(tmp_path), "--quiet")
    assert code == 0, final
    assert not drawn(frames, r"━|\] data"), final
    assert re.search(r"^migrate: done in [\d.]+s: tty-cont runs on new", final, re.M), final


def test_in_a_terminal_provisioning_several_hosts_shows_a_row_each_then_the_summary(ready):
    # new is provisioned already: its run changes nothing; old's dry run shows its plan
    code, frames, final = ready.inv_in_terminal("provision", "--host", "old", "--dry-run")
    assert code == 0 and "old: [1/" in final, final
    code, frames, final = ready.inv_in_terminal("provision", "--host", "new,new-root")
    assert code == 0, final
    assert drawn(frames, r"^HOST +NOW +TIME$") and drawn(frames, r"^new +\S.* \d+s$"), frames
    assert "new: [1/" not in final and "new-root: [1/" not in final, final   # not interleaved
    assert re.search(r"^new +no change", final, re.M), final
    assert re.search(r"^new-root +no change", final, re.M), final


def test_in_a_terminal_the_other_tasks_show_their_tables(ready, seed_records):
    for args, head, row in [
            (["hosts", "--host", "old,new"], r"^HOST +ADDRESS +USER +SSH", r"^new +\S+ +admin +ok"),
            (["ports", "--host", "new"], r"^PROTO +ADDRESS +PORT", r"^tcp +\S+ +22 +sshd"),
            (["record", "apache-cont"], r"^docker run --detach --name apache-cont", None),
            (["verify-port", "9080", "--records", str(seed_records)], r"^CHECK +RESULT +TIME",
             r"^tcp +ok")]:
        code, frames, final = ready.inv_in_terminal(*args)
        assert code == 0, final
        assert re.search(head, final, re.M), final
        assert row is None or re.search(row, final, re.M), final
