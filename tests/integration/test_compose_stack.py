"""The lab's compose stack (`inv lab.up --stack`): the project `shop` that
Debian 12's docker-compose 1.29 started on `old` (PostgreSQL 15 with its data
in the named volume shop_dbdata, a web app on 9090 that reaches it as `db` on
the project network), moved with `inv migrate shop --project --to new` while
rows are being written. On a lab of its own with the stack; `new` is
provisioned once."""
import html
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from .conftest import inspect, lab_name, make_lab

pytestmark = pytest.mark.lab

SEED_ROWS = ["apples", "pears", "plums"]
CONTAINERS = ("shop_db_1", "shop_web_1")      # compose v1's names: PROJECT_SERVICE_N


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """The migration's records, for the rollback after it."""
    return tmp_path_factory.mktemp("records")


@pytest.fixture(scope="module")
def clab(tmp_path_factory):
    lab = make_lab(lab_name("-cmp"), tmp_path_factory, stack=True, extra=1)
    out = lab.inv("provision", "--host", "new")
    assert out.returncode == 0, out.stdout + out.stderr
    return lab


def page(lab, host: str) -> tuple[int, str]:
    url = f"http://{lab.addresses[host]}:9090/"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:                    # refused, reset: no answer at all
        return 0, str(e)


def add_row(address: str, item: str) -> int:
    """Add a row through the shop's web app, as a user would: its id, once
    the app answered `added ID` (committed)."""
    data = urllib.parse.urlencode({"item": item}).encode()
    with urllib.request.urlopen(f"http://{address}:9090/rows", data=data, timeout=3) as r:
        return int(r.read().decode().split()[1])


def rows(text: str) -> list[tuple[int, str]]:
    """The shop page's rows: (id, item), as the page lists them."""
    return [(int(i), html.unescape(item)) for i, item in re.findall(r"<li>(\d+) (.*?)</li>", text)]


class Writer(threading.Thread):
    """Adds a row through old's web app every 0.2 s, as a user would, and
    keeps the rows the app acknowledged (`added ID`: committed) and the ones
    it sent without an answer."""

    def __init__(self, address: str):
        super().__init__(daemon=True)
        self.address = address
        self.acked: list[tuple[int, str]] = []
        self.tried: list[str] = []
        self.stop = threading.Event()

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            item = f"written-{n}"
            self.tried.append(item)
            try:
                self.acked.append((add_row(self.address, item), item))
            except (OSError, ValueError, IndexError):   # refused, 503, cut off: not acknowledged
                pass
            self.stop.wait(0.2)                            # the pace of the writes

    def wait_for_acks(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            assert time.monotonic() < deadline, f"the shop acknowledged {self.acked} only"
            time.sleep(0.1)


def test_old_runs_the_shop_started_by_debian_12s_compose_and_up_again_keeps_it(clab):
    old = clab.sh("old", "docker-compose version --short; cd /srv/shop && "
                         "docker-compose ps --services --filter status=running | sort; "
                         "ls -A; stat -c %a .env")
    assert old.split() == ["1.29.2", "db", "web", ".env", "docker-compose.yml", "600"], old
    assert inspect(clab, "old", "shop_db_1")["State"]["Health"]["Status"] == "healthy"
    status, text = page(clab, "old")
    assert status == 200 and [item for _, item in rows(text)] == SEED_ROWS, text
    ids = {c: inspect(clab, "old", c)["Id"] for c in CONTAINERS}

    again = clab.inv("lab.up", "--stack")
    assert again.returncode == 0, again.stdout + again.stderr
    assert ("lab: old runs the compose project shop (docker-compose 1.29, /srv/shop): "
            "db (PostgreSQL 15, volume shop_dbdata) and web on 9090") in again.stdout
    assert {c: inspect(clab, "old", c)["Id"] for c in CONTAINERS} == ids
    assert rows(page(clab, "old")[1]) == rows(text)             # no row added twice


def test_the_shop_moves_with_one_cut_over_and_keeps_every_acknowledged_row(clab, records):
    before = rows(page(clab, "old")[1])
    assert [item for _, item in before] == SEED_ROWS
    writer = Writer(clab.addresses["old"])
    writer.start()
    copying = {}
    try:
        writer.wait_for_acks(3)
        out = clab.inv_until(
            "migrate", "shop", "--project", "--to", "new", "--records", str(records),
            when=lambda line: "(source running)" in line,
            then=lambda proc: copying.setdefault("acked", len(writer.acked)), timeout=600)
    finally:
        writer.stop.set()
        writer.join(timeout=10)
    assert out.returncode == 0, out.stdout + out.stderr
    # compose v1 labels no depends_on: the order comes from the project's file
    assert "order: shop_db_1 -> shop_web_1" in out.stdout, out.stdout
    lines = out.stdout.splitlines()
    stops = [line for line in lines if "stop: shop_" in line]
    assert [s.split("] ")[1].split(":")[0].strip() for s in stops] == ["shop_web_1", "shop_db_1"], stops
    for line in stops:      # web ends on SIGTERM, PostgreSQL on SIGINT (fast shutdown)
        assert "did not exit on its stop signal" not in line, line
    assert "downtime" in lines[-1] and "for the group (shop_db_1 " in lines[-1], lines[-1]
    # rows were acknowledged after the copy had begun, before the sources stopped
    assert "acked" in copying, out.stdout
    assert len(writer.acked) > copying["acked"], (copying, writer.acked)

    # the page on new: the rows old showed, and every row old acknowledged
    status, text = page(clab, "new")
    assert status == 200, text
    on_new = rows(text)
    missing = [r for r in before + writer.acked if r not in on_new]
    assert not missing, f"acknowledged on old, not on new: {missing}\nnew's page:\n{text}"
    # and nothing else: a row sent while old stopped may have been committed unanswered
    unknown = [r for r in on_new if r not in before + writer.acked and r[1] not in writer.tried]
    assert not unknown, unknown
    assert inspect(clab, "new", "shop_db_1")["State"]["Health"]["Status"] == "healthy"
    for name in CONTAINERS:
        assert not inspect(clab, "old", name)["State"]["Running"], name
    refused = clab.container("old").exec_run(["curl", "-s", "http://127.0.0.1:9090/"])
    assert refused.exit_code == 7, refused          # curl: could not connect (nothing there)

    # compose v2 (Docker CE's plugin) on new lists the project compose v1 started
    ps = clab.sh("new", "cd /srv/shop && docker compose -p shop ps --format "
                        "'{{.Service}} {{.State}}' 2>/dev/null | sort")
    assert ps.splitlines() == ["db running", "web running"], ps
    # and takes the containers as its own: `up -d` there recreates nothing
    # (a recreate would throw away the container layers that were copied)
    for name in CONTAINERS:
        assert re.search(rf"\] compose: .*{name}: compose on new \(v?2[^)]*\) takes it as "
                         "its own: its config-hash, image labels set for new's compose",
                         out.stdout), out.stdout
    ids = {c: inspect(clab, "new", c)["Id"] for c in CONTAINERS}
    up = clab.sh("new", "cd /srv/shop && docker compose up -d 2>&1")
    assert {c: inspect(clab, "new", c)["Id"] for c in CONTAINERS} == ids, up
    assert "Recreate" not in up, up
    assert rows(page(clab, "new")[1]) == on_new


def test_the_shop_goes_back_to_old_with_its_rows(clab, records):
    """After the move (the test above): `--rollback` of the two containers;
    old serves the rows it had, a row added on new since stays there."""
    before = rows(page(clab, "new")[1])
    assert add_row(clab.addresses["new"], "added-on-new") > before[-1][0]
    back = clab.inv("migrate", "shop", "--project", "--rollback", "--records", str(records))
    assert back.returncode == 0, back.stdout + back.stderr
    assert back.stdout.index("shop_db_1: back from new") < back.stdout.index("shop_web_1: back from")
    assert back.stdout.count("Data written on new since the cut-over was not copied back.") == 2
    for name in CONTAINERS:
        assert inspect(clab, "old", name)["State"]["Running"], name
        assert not inspect(clab, "new", name)["State"]["Running"], name
    deadline = time.monotonic() + 30
    while (answer := page(clab, "old"))[0] != 200:     # db may still be starting
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)
    assert rows(answer[1]) == before, answer[1]


def test_compose_on_new_finds_the_moved_project_in_its_folder(clab):
    """What the move left on new: the project's files, so that `docker
    compose` there finds the project from its folder, as on old."""
    there = clab.sh("new", "ls -A /srv/shop; stat -c %a /srv/shop/.env")
    assert there.split() == [".env", "docker-compose.yml", "600"], (
        "migrate --project did not copy the compose file: compose 1.29 labels it relative to "
        "the working dir (com.docker.compose.project.config_files=docker-compose.yml), and "
        "migrate/project_files.named() keeps absolute paths only; /srv/shop on new holds:\n"
        + there)
    ps = clab.sh("new", "cd /srv/shop && docker compose ps -a --format '{{.Service}}' "
                        "2>/dev/null | sort")
    assert ps.split() == ["db", "web"], ps


def test_the_compose_file_of_record_brings_the_shop_up_on_a_third_host(clab):
    """`inv record shop --compose --project` on old: the file brings up the
    same stack (new, empty data) on node1, where web reaches db by its
    service name."""
    import shlex
    import subprocess
    out = clab.inv("record", "shop", "--compose", "--project", "--host", "old",
                   "--show-secrets")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "com.docker.compose" not in out.stdout, out.stdout      # compose's own labels left
    import yaml
    services = yaml.safe_load(out.stdout)["services"]
    assert "db" in services["web"]["depends_on"], out.stdout      # compose 1: from its file
    provision = clab.inv("provision", "--host", "node1")
    assert provision.returncode == 0, provision.stdout + provision.stderr
    copy = subprocess.run(f"docker exec {clab.container('old').name} docker save shop-app:1 | "
                          f"docker exec -i {clab.container('node1').name} docker load",
                          shell=True, capture_output=True, text=True, timeout=600)
    assert copy.returncode == 0, copy.stderr
    clab.sh("node1", f"mkdir -p /srv/shop3 && printf '%s' {shlex.quote(out.stdout)} > "
                     "/srv/shop3/docker-compose.yml")
    up = clab.sh("node1", "cd /srv/shop3 && docker compose up -d --wait 2>&1")
    assert "Healthy" in up or "Started" in up, up
    deadline = time.monotonic() + 60
    while (answer := page(clab, "node1"))[0] != 200:
        assert time.monotonic() < deadline, answer
        time.sleep(0.5)
    db = inspect(clab, "node1", "shop_db_1")
    assert db["State"]["Health"]["Status"] == "healthy"
    assert "shop_dbdata" in [m.get("Name") for m in db["Mounts"]]


def test_all_of_old_moves_in_a_valid_order(clab, records):
    """`inv migrate old --all`: the seed's containers and the shop, after
    the rollback above (new's stopped copies of the shop removed first: a
    name taken there is refused)."""
    clab.sh("new", "docker rm -f shop_db_1 shop_web_1 >/dev/null && "
                   "docker volume rm shop_dbdata >/dev/null")
    out = clab.inv("migrate", "old", "--all", "--to", "new", "--records", str(records))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "(every container of old)" in out.stdout
    order = next(line for line in out.stdout.splitlines() if "order: " in line)
    moved = order.split("order: ")[1].split(" (")[0].split(" -> ")
    assert sorted(moved) == ["apache-cont", "data-cont", "shop_db_1", "shop_web_1"], order
    assert moved.index("shop_db_1") < moved.index("shop_web_1"), order
    for name in moved:
        assert inspect(clab, "new", name)["State"]["Running"], name
        assert not inspect(clab, "old", name)["State"]["Running"], name
    assert "apples" in page(clab, "new")[1]
    check = clab.inv("verify-port", "9080", "--host", "new", "--expect", "Docker Custom Page")
    assert check.returncode == 0, check.stdout + check.stderr
