"""Several containers moved together (`inv migrate web,db`, `--project`): one
cut-over, dependencies first, one undo for the group, rollback of the group.
On a lab of their own; `new` is provisioned once."""
import json
import shlex

import pytest

from .conftest import STATE, inspect, provisioned_lab, start_refused, wait_for

pytestmark = pytest.mark.lab

# db: writes a row a second into its volume; web: serves what db wrote, through the link
DB = ("docker volume create shopdata >/dev/null && docker network create shopnet >/dev/null && "
      "docker run -d --name shop-db --network shopnet -v shopdata:/data apache-test "
      "sh -c 'trap \"exit 0\" TERM; i=0; while :; do i=$((i+1)); echo row$i >> /data/rows; "
      "sleep 1; done' >/dev/null")
WEB = ("docker run -d --name shop-web --network shopnet --link shop-db:db -p 9380:80 "
       "-v shopdata:/var/www/html/data:ro apache-test >/dev/null")


@pytest.fixture(scope="module")
def slab(tmp_path_factory):
    return provisioned_lab("-stk", tmp_path_factory)


def test_a_stack_moves_with_one_cut_over_fails_whole_and_rolls_back_whole(slab, tmp_path):
    slab.sh("old", DB)
    slab.sh("old", WEB)
    wait_for(slab, "old", "docker exec shop-db grep -q row3 /data/rows")
    before_new = slab.sh("new", STATE)

    # a failure once every source stopped: both are back, new is as before
    with start_refused(slab, "new"):
        out = slab.inv("migrate", "shop-web,shop-db", "--to", "new", "--records", str(tmp_path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "order: shop-db -> shop-web" in out.stdout, out.stdout
    assert "failed: undoing what this run changed, for every container of the group" in out.stdout
    assert ("error: migration of shop-db, shop-web failed; new is as before; shop-db on old "
            "started again, with its data as it was; shop-web on old started again, with its "
            "data as it was") in out.stderr, out.stderr
    for name in ("shop-db", "shop-web"):
        assert inspect(slab, "old", name)["State"]["Running"], name
    assert slab.sh("new", STATE) == before_new

    # the real move: dependencies first, dependents stopped first, one downtime
    out = slab.inv("migrate", "shop-web,shop-db", "--to", "new", "--records", str(tmp_path),
                   "--json-report", str(tmp_path / "group.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()

    def at(text):
        return next(i for i, line in enumerate(lines) if text in line)
    assert at("] shop-web: stop:") < at("] shop-db:  stop:")       # dependents first
    assert at("] shop-db:  start:") < at("] shop-web: start:")     # what they need first
    assert at("] shop-db:  stop:") < at("] shop-db:  data (changes since):")
    assert "downtime" in lines[-1] and "for the group (shop-db " in lines[-1], lines[-1]
    report = json.loads((tmp_path / "group.json").read_text())
    assert report["containers"] == ["shop-db", "shop-web"] and report["downtime_s"] > 0
    # every row written on old until its stop is on new
    last_old = slab.sh("old", "tail -n1 /var/lib/docker/volumes/shopdata/_data/rows").strip()
    rows_new = slab.sh("new", "cat /var/lib/docker/volumes/shopdata/_data/rows").split()
    assert last_old in rows_new
    for name in ("shop-db", "shop-web"):
        assert inspect(slab, "new", name)["State"]["Running"], name
        assert not inspect(slab, "old", name)["State"]["Running"], name
    wait_for(slab, "new", "curl -sf http://127.0.0.1:9380/data/rows | grep -q row1")
    assert "shopnet" in inspect(slab, "new", "shop-web")["NetworkSettings"]["Networks"]

    # a rollback that fails part way (shop-web's source is gone): shop-db, rolled
    # back first, goes forward again, so the stack is not split between hosts
    slab.sh("old", "docker rename shop-web shop-web-away")
    try:
        back = slab.inv("migrate", "shop-web,shop-db", "--rollback", "--records", str(tmp_path))
    finally:
        slab.sh("old", "docker rename shop-web-away shop-web")
    assert back.returncode == 1, back.stdout + back.stderr
    assert "rollback of shop-web failed: old: shop-web is gone" in back.stderr, back.stderr
    assert ("so shop-db, rolled back before it, went forward again: the group runs on the "
            "target") in back.stderr
    assert "forward again: shop-db runs on new, stopped on old" in back.stdout
    for name in ("shop-db", "shop-web"):
        assert inspect(slab, "new", name)["State"]["Running"], name
        assert not inspect(slab, "old", name)["State"]["Running"], name

    # back, as a group: the sources run again, the targets are stopped
    back = slab.inv("migrate", "shop-web,shop-db", "--rollback", "--records", str(tmp_path))
    assert back.returncode == 0, back.stdout + back.stderr
    assert back.stdout.index("shop-db: back from new") < back.stdout.index("shop-web: back from")
    for name in ("shop-db", "shop-web"):
        assert inspect(slab, "old", name)["State"]["Running"], name
        assert not inspect(slab, "new", name)["State"]["Running"], name


def test_a_group_names_what_it_needs_from_outside_and_changes_nothing(slab, tmp_path):
    slab.sh("old", "docker run -d --name lone-db apache-test sleep infinity >/dev/null && "
                   "docker run -d --name lone-web --link lone-db:db apache-test sleep infinity "
                   ">/dev/null && docker run -d --name lone-cache apache-test sleep infinity "
                   ">/dev/null")
    before = {h: slab.sh(h, STATE) for h in ("old", "new")}
    out = slab.inv("migrate", "lone-web,lone-cache", "--to", "new", "--records", str(tmp_path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert ("lone-web: new: lone-web depends on the container lone-db (--link), which new does "
            "not have: move it first (inv migrate lone-db --to new)") in out.stderr, out.stderr
    assert {h: slab.sh(h, STATE) for h in ("old", "new")} == before
    usage = slab.inv("migrate", "lone-web,lone-db", "--to", "new", "--name", "x")
    assert usage.returncode == 2 and "--name changes one container" in usage.stderr
    slab.sh("old", "docker rm -f lone-db lone-web lone-cache >/dev/null")


def test_ctrl_c_between_the_stops_starts_every_source_again(slab, tmp_path):
    """Interrupted once the first source stopped: the other stop ends (or
    never starts), then the whole group is undone."""
    import signal
    slab.sh("old", "docker run -d --name pair-db apache-test sleep infinity >/dev/null && "
                   "docker run -d --name pair-web --link pair-db:db apache-test sleep infinity "
                   ">/dev/null")
    before = {h: slab.sh(h, STATE) for h in ("old", "new")}
    r = slab.inv_until("migrate", "pair-web,pair-db", "--to", "new", "--stop-timeout", "2",
                       "--no-port-check", "--records", str(tmp_path),
                       when=lambda line: "] pair-web: stop:" in line, then=signal.SIGINT,
                       timeout=120)
    assert r.returncode == 130, r.stdout + r.stderr
    assert "interrupted: undoing what this run changed, for every container of the group" \
        in r.stdout
    assert "undone: pair-web started again on old" in r.stdout
    assert {h: slab.sh(h, STATE) for h in ("old", "new")} == before, r.stdout
    for name in ("pair-db", "pair-web"):
        assert inspect(slab, "old", name)["State"]["Running"], name
    slab.sh("old", "docker rm -f pair-db pair-web >/dev/null")


def test_a_stopped_data_container_moves_with_the_app_that_writes_to_it_and_stays_stopped(
        slab, tmp_path):
    """A data container (created, never started) and the app that takes its
    volume (--volumes-from) and writes to it: the data gets a first pass
    while the app runs and what the app wrote since after it stopped; the
    data container is created on new and left stopped, and a rollback
    leaves it stopped on old."""
    slab.sh("old", "docker create --name store -v storedata:/data apache-test true >/dev/null && "
                   "docker run -d --name app --volumes-from store apache-test sh -c 'trap "
                   "\"exit 0\" TERM; i=0; while :; do i=$((i+1)); echo row$i >> /data/rows; "
                   "sleep 0.2; done' >/dev/null")
    wait_for(slab, "old", "docker exec app grep -q row3 /data/rows")

    # the whole host, stopped ones left out: app needs what is left out
    out = slab.inv("migrate", "old", "--all", "--to", "new", "--dry-run")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "left out (not running): " in out.stdout and "store" in out.stdout, out.stdout
    assert ("app: new: app depends on the container store (--volumes-from), which new does "
            "not have: move it first (inv migrate store --to new)") in out.stderr, out.stderr
    plan = slab.inv("migrate", "old", "--all", "--include-stopped", "--to", "new", "--dry-run")
    assert "(every container of old)" in plan.stdout, plan.stdout + plan.stderr
    assert "left out" not in plan.stdout

    out = slab.inv("migrate", "app,store", "--to", "new", "--no-port-check",
                   "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()

    def at(text):
        return next(i for i, line in enumerate(lines) if text in line)
    assert "not running, so moved and left stopped there: store" in out.stdout
    assert "order: store -> app" in out.stdout
    assert "] store: stop: nothing to stop: store is not running on old" in out.stdout
    assert at("] app:   stop:") < at("] store: data (changes since):")
    assert ("] store: verify: store is on new, created, not started (store was not running "
            "on old)") in out.stdout, out.stdout
    last_old = slab.sh("old", "tail -n1 /var/lib/docker/volumes/storedata/_data/rows").strip()
    rows_new = slab.sh("new", "cat /var/lib/docker/volumes/storedata/_data/rows").split()
    assert last_old in rows_new, (last_old, rows_new[-3:])
    assert inspect(slab, "new", "store")["State"]["Status"] == "created"
    assert inspect(slab, "new", "app")["State"]["Running"]
    assert not inspect(slab, "old", "app")["State"]["Running"]
    assert inspect(slab, "old", "store")["State"]["Status"] == "created"

    back = slab.inv("migrate", "app,store", "--rollback", "--records", str(tmp_path))
    assert back.returncode == 0, back.stdout + back.stderr
    assert ("[2/3] source: store left stopped on old, as it was before the migration"
            in back.stdout), back.stdout
    assert inspect(slab, "old", "app")["State"]["Running"]
    assert inspect(slab, "old", "store")["State"]["Status"] == "created"
    assert not inspect(slab, "new", "app")["State"]["Running"]
    slab.sh("old", "docker rm -f app store >/dev/null")
    slab.sh("new", "docker rm -f app store >/dev/null")


def test_members_that_need_none_of_each_other_stop_together(slab, tmp_path):
    """Two containers that ignore their stop signal (sleep as PID 1), one
    needing neither: one stop command for both, so that the engine waits
    out their stop timeouts at the same time, not one after the other."""
    slab.sh("old", "docker run -d --name tw-a apache-test sleep infinity >/dev/null && "
                   "docker run -d --name tw-b apache-test sleep infinity >/dev/null")
    out = slab.inv("migrate", "tw-a,tw-b", "--to", "new", "--stop-timeout", "2",
                   "--no-port-check", "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    line = next(x for x in out.stdout.splitlines() if "] tw-b, tw-a: stop: " in x)
    assert ": stop: tw-b stopped on old after " in line and "; tw-a stopped on old after " in line
    assert line.count("the engine killed it after its stop timeout") == 2, line
    for name in ("tw-a", "tw-b"):
        assert inspect(slab, "new", name)["State"]["Running"], name
        assert not inspect(slab, "old", name)["State"]["Running"], name
    slab.sh("old", "docker rm -f tw-a tw-b >/dev/null")
    slab.sh("new", "docker rm -f tw-a tw-b >/dev/null")


COMPOSE = """services:
  db:
    image: apache-test
    command: sleep infinity
  web:
    image: apache-test
    command: sleep infinity
    depends_on: [db]
"""


def _compose_container(name, service, *, depends="", how="run -d"):
    labels = {"com.docker.compose.project": "shop2", "com.docker.compose.service": service,
              "com.docker.compose.oneoff": "False",
              "com.docker.compose.config-hash": f"{service}-hash",  # what compose ps looks for
              "com.docker.compose.project.working_dir": "/srv/shop2",
              "com.docker.compose.project.config_files": "/srv/shop2/docker-compose.yml"}
    if depends:
        labels["com.docker.compose.depends_on"] = depends
    flags = " ".join(f"--label {shlex.quote(f'{k}={v}')}" for k, v in labels.items())
    return f"docker {how} --name {name} {flags} apache-test sleep infinity >/dev/null"


def test_a_compose_project_moves_with_its_files_and_compose_finds_it(slab, tmp_path):
    slab.sh("old", f"mkdir -p /srv/shop2 && printf %s {shlex.quote(COMPOSE)} > "
                   "/srv/shop2/docker-compose.yml && echo SECRET_TAG=1 > /srv/shop2/.env && "
                   "chmod 600 /srv/shop2/.env")
    slab.sh("old", _compose_container("shop2-web-1", "web", depends="db:service_started:false"))
    slab.sh("old", _compose_container("shop2-db-1", "db"))
    slab.sh("old", _compose_container("shop2-init-1", "init", how="create"))   # not running
    # the target has another file at the compose file's path: refused, nothing changed
    slab.sh("new", "mkdir -p /srv/shop2 && echo 'services: {}' > /srv/shop2/docker-compose.yml")
    before = {h: slab.sh(h, STATE) for h in ("old", "new")}
    out = slab.inv("migrate", "shop2", "--project", "--to", "new", "--no-port-check",
                   "--stop-timeout", "1", "--records", str(tmp_path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert ("new: /srv/shop2/docker-compose.yml exists with other content; move it aside "
            "there") in out.stderr, out.stderr
    assert {h: slab.sh(h, STATE) for h in ("old", "new")} == before
    slab.sh("new", "rm -r /srv/shop2")

    out = slab.inv("migrate", "shop2", "--project", "--to", "new", "--no-port-check",
                   "--stop-timeout", "1", "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "left out (not running): shop2-init-1" in out.stdout
    assert "order: shop2-db-1 -> shop2-web-1" in out.stdout
    assert ("] project files: /srv/shop2/.env, /srv/shop2/docker-compose.yml copied to new"
            in out.stdout), out.stdout
    sums = "sha256sum /srv/shop2/.env /srv/shop2/docker-compose.yml; stat -c '%a %u' /srv/shop2/.env"
    assert slab.sh("new", sums) == slab.sh("old", sums)
    services = slab.sh("new", "cd /srv/shop2 && docker compose ps --format '{{.Service}}'")
    assert sorted(services.split()) == ["db", "web"], services
    slab.sh("old", "docker rm -f shop2-init-1 >/dev/null")
