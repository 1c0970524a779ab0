"""`inv record --compose`: two linked containers on old, written as a compose
file that `docker compose config` accepts on new (compose v2) and that brings
up there the same containers (env, ports, network alias and IP, the volume's
own name, healthcheck, ulimit, the link); and a compose project made on new,
written back with --project and brought up again from that file under the
same volume and network names. On a lab of its own; `new` is provisioned once
and given the seed's image."""
import shlex

import pytest
import yaml

from migrate.inspected import link_arg

from .conftest import inspect, provisioned_lab, wait_for

pytestmark = pytest.mark.lab

TRICKY = "it's \"quoted\"\nline two $(id) ${HOME} `x` $$ end"
HEALTH = "--health-cmd 'test -d /var/www || exit 1' --health-interval 5s --health-retries 2"
DB = ("docker network create --subnet 172.31.77.0/24 cfnet >/dev/null && "
      "docker volume create --label keep=1 cfdata >/dev/null && "
      "docker run -d --name cf-db --network cfnet --ip 172.31.77.10 --network-alias database "
      f"-v cfdata:/data -e DB_PASSWORD=s3cret -e TRICKY={shlex.quote(TRICKY)} {HEALTH} "
      "--ulimit nofile=1024:2048 --restart unless-stopped apache-test >/dev/null")
WEB = ("docker run -d --name cf-web --network cfnet --link cf-db:db --volumes-from cf-db:ro "
       "-p 9480:80 -p 127.0.0.1:9481:80 -p 9482:82/udp "
       f"-e TRICKY={shlex.quote(TRICKY)} -e PLAIN=1 {HEALTH} apache-test >/dev/null")


@pytest.fixture(scope="module")
def clab(tmp_path_factory):
    return provisioned_lab("-cf", tmp_path_factory, seed_image_on_new=True)


def _what_matters(c: dict) -> dict:
    host, config = c["HostConfig"], c["Config"]
    net = c["NetworkSettings"]["Networks"]["cfnet"]
    return {
        "env": sorted(e for e in config["Env"] if e.split("=")[0] in ("TRICKY", "PLAIN",
                                                                       "DB_PASSWORD")),
        "ports": {k: sorted((b["HostIp"], b["HostPort"]) for b in v)
                  for k, v in (host["PortBindings"] or {}).items()},
        "ip": (net.get("IPAMConfig") or {}).get("IPv4Address"),
        "aliases": "database" in (net.get("Aliases") or []),
        "volumes": sorted((m["Type"], m.get("Name"), m["Destination"], m["RW"])
                          for m in c["Mounts"]),
        "health": config.get("Healthcheck"),
        "ulimits": host.get("Ulimits"),
        "restart": host["RestartPolicy"]["Name"] or "no",
        # compose adds links of its own (cf-db:cf-db-1, ...): the one given is there
        "link": "cf-db:db" in {link_arg(link, "") for link in
                               (host.get("Links") or []) + (net.get("Links") or [])},
    }


def test_a_compose_file_recreates_the_containers_on_another_host(clab, tmp_path):
    clab.sh("old", DB)
    clab.sh("old", WEB)
    before = {n: _what_matters(inspect(clab, "old", n)) for n in ("cf-db", "cf-web")}

    masked = clab.inv("record", "cf-web,cf-db", "--compose")
    assert masked.returncode == 0, masked.stdout + masked.stderr
    assert "s3cret" not in masked.stdout and "DB_PASSWORD: '****'" in masked.stdout
    out = clab.inv("record", "cf-web,cf-db", "--compose", "--show-secrets")
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "external" not in text and "com.docker.compose" not in text
    (tmp_path / "compose.yml").write_text(text)

    clab.sh("new", f"mkdir -p /srv/cf && printf %s {shlex.quote(text)} > /srv/cf/compose.yml")
    config = clab.sh("new", "docker compose -f /srv/cf/compose.yml -p cf config 2>&1")
    assert "cf-db" in config and "cf-web" in config
    try:
        clab.sh("new", "docker compose -f /srv/cf/compose.yml -p cf up -d 2>&1")
        wait_for(clab, "new", "! docker inspect -f '{{.State.Health.Status}}' cf-web cf-db "
                              "| grep -q starting", timeout=60)
        assert clab.sh("new", "docker inspect -f '{{.State.Health.Status}}' cf-web cf-db"
                       ).split() == ["healthy", "healthy"]
        after = {n: _what_matters(inspect(clab, "new", n)) for n in ("cf-db", "cf-web")}
        for name, matters in before.items():
            for key, value in matters.items():
                assert after[name][key] == value, (name, key, text)
        # the volume and the network have their own names, not the project's
        assert clab.sh("new", "docker volume ls -q").split() == ["cfdata"]
        assert clab.sh("new", "docker volume inspect -f '{{.Labels.keep}}' cfdata").strip() == "1"
        assert "cfnet" in clab.sh("new", "docker network ls --format '{{.Name}}'").split()
        assert clab.sh("new", "docker exec cf-web getent hosts db").split()[0] == "172.31.77.10"
    finally:
        clab.sh("new", "docker compose -f /srv/cf/compose.yml -p cf down -v 2>&1 || true")
        clab.sh("old", "docker rm -f cf-web cf-db >/dev/null; docker network rm cfnet "
                       ">/dev/null; docker volume rm cfdata >/dev/null; true")


def test_an_unknown_container_is_a_usage_error(clab):
    out = clab.inv("record", "nosuch,apache-cont", "--compose")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "no container named 'nosuch'" in out.stderr and "Traceback" not in out.stderr


PROJECT = """services:
  db:
    image: apache-test
    volumes: [data:/data]
    healthcheck: {test: ["CMD-SHELL", "true"], interval: 2s}
  web:
    image: apache-test
    ports: ["9490:80"]
    depends_on: {db: {condition: service_healthy}}
    environment: {GREETING: "a $$dollar"}
volumes:
  data: {}
"""


def test_a_compose_project_is_written_back_with_its_real_names(clab):
    compose = "docker compose -f /srv/shopc/compose.yml -p shopc"
    clab.sh("new", f"mkdir -p /srv/shopc /srv/rec && printf %s {shlex.quote(PROJECT)} "
                   f"> /srv/shopc/compose.yml && {compose} up -d --wait 2>&1 && "
                   f"{compose} run -d --name shopc-oneoff web sleep 300 2>&1")
    try:
        out = clab.inv("record", "shopc", "--compose", "--project", "--host", "new")
        assert out.returncode == 0, out.stdout + out.stderr
        doc = yaml.safe_load(out.stdout)
        assert doc["name"] == "shopc" and sorted(doc["services"]) == ["db", "web"]
        assert "oneoff" not in out.stdout and "com.docker.compose" not in out.stdout
        assert doc["volumes"] == {"shopc_data": {"name": "shopc_data"}}
        assert doc["networks"]["shopc_default"]["name"] == "shopc_default"
        web = doc["services"]["web"]
        assert web["depends_on"] == {"db": {"condition": "service_healthy"}}
        assert web["environment"] == {"GREETING": "a $$dollar"}

        # the project recreated from the file: the same volume, not shopc_shopc_data
        clab.sh("new", f"printf %s {shlex.quote(out.stdout)} > /srv/rec/compose.yml && "
                       f"docker rm -f shopc-oneoff >/dev/null && {compose} down 2>&1 && "
                       "docker compose -f /srv/rec/compose.yml config >/dev/null && "
                       "docker compose -f /srv/rec/compose.yml up -d --wait 2>&1")
        assert clab.sh("new", "docker volume ls -q").split() == ["shopc_data"]
        db = inspect(clab, "new", "shopc-db-1")
        assert [m["Name"] for m in db["Mounts"]] == ["shopc_data"]
        assert db["Config"]["Labels"]["com.docker.compose.project"] == "shopc"
        assert "GREETING=a $dollar" in inspect(clab, "new", "shopc-web-1")["Config"]["Env"]
    finally:
        clab.sh("new", "docker rm -f shopc-oneoff shopc-web-1 shopc-db-1 >/dev/null 2>&1; "
                       "docker network rm shopc_default >/dev/null 2>&1; "
                       "docker volume rm shopc_data >/dev/null 2>&1; true")
