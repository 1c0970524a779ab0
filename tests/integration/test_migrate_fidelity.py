"""Fidelity: containers created with one family of `docker run` options each
(and some combinations) are migrated, then compared field by field (a
normalized `docker inspect`: Config, HostConfig, networks) between source and
target. Each is also checked for its image name (the target container runs
the source's reference, and that tag names the same image there) and, where
its root filesystem is writable, for a file written into it on the source.
Runs on the migrate tests' lab, after them (file order)."""
import copy
import json
import shlex

import pytest

from .test_migrate import inspect, mlab, ready  # noqa: F401 (the same lab)

pytestmark = pytest.mark.lab

SLEEP = "sleep infinity"
# (name, options, command[, image]); the image is the seed's apache-test unless given
CASES = [
    ("f-ports", "-p 18081:80 -p 127.0.0.1:18082:81/udp -p 18083-18084:83-84", SLEEP),
    ("f-publish-all", "-P --expose 7000", SLEEP),
    ("f-expose", "--expose 7001 --expose 7002/udp", SLEEP),
    ("f-env", "-e A=1 -e 'B=two words' -e APACHE_RUN_USER=root -e EMPTY=", SLEEP),
    ("f-volume", "-v f-vol:/data -v f-ro:/ro:ro", SLEEP),
    ("f-bind", "-v /tmp:/host-tmp:ro -v /etc/hostname:/etc/host-name:ro", SLEEP),
    ("f-anon", "-v /anon", SLEEP),
    ("f-mount", "--mount type=volume,src=f-mount,dst=/m --mount type=tmpfs,dst=/t,tmpfs-size=1m", SLEEP),
    ("f-tmpfs", "--tmpfs /run/x:rw,size=64m --tmpfs /scratch", SLEEP),
    ("f-restart", "--restart on-failure:3", SLEEP),
    ("f-restart2", "--restart unless-stopped", SLEEP),
    ("f-net", "--network f-net --network-alias web --network-alias www --ip 172.30.5.10", SLEEP),
    ("f-net2", "--network f-net --network-alias two", SLEEP),          # + f-net2 connected below
    ("f-host-net", "--network host", SLEEP),
    ("f-none-net", "--network none", SLEEP),
    ("f-hostname", "-h custom --domainname example.org", SLEEP),
    ("f-user", "-u 33:33 -w /tmp", SLEEP),
    ("f-entry", "--entrypoint sleep", "infinity"),
    ("f-cmd", "", "sleep 1000000"),
    ("f-labels", "--label a=1 --label 'b=x y' --label empty=", SLEEP),
    ("f-log", "--log-driver local --log-opt max-size=10m", SLEEP),
    ("f-log-opts", "--log-opt max-file=3 --log-opt max-size=1m", SLEEP),
    ("f-caps", "--cap-add NET_ADMIN --cap-drop MKNOD --cap-drop CHOWN", SLEEP),
    ("f-device", "--device /dev/null:/dev/mynull:r", SLEEP),
    ("f-ulimit", "--ulimit nofile=1024:2048 --ulimit nproc=512:1024", SLEEP),
    ("f-memory", "--memory 128m --memory-reservation 64m", SLEEP),
    ("f-swap", "--memory 64m --memory-swap 256m", SLEEP),
    ("f-cpu", "--cpus 0.5 --cpu-shares 512 --cpuset-cpus 0", SLEEP),
    ("f-pids", "--pids-limit 100 --oom-score-adj 100", SLEEP),
    ("f-hosts", "--add-host db:10.0.0.5 --add-host 'cache:10.0.0.6'", SLEEP),
    ("f-dns", "--dns 192.0.2.53 --dns-search example.org --dns-option ndots:2", SLEEP),
    ("f-init", "--init", SLEEP),
    ("f-secopt", "--security-opt no-new-privileges", SLEEP),
    ("f-sysctl", "--sysctl net.ipv4.ip_unprivileged_port_start=80", SLEEP),
    ("f-shm", "--shm-size 128m", SLEEP),
    ("f-stop", "--stop-signal SIGUSR1 --stop-timeout 20", SLEEP),
    ("f-health", "--health-cmd 'test -e /etc/hostname' --health-interval 5s --health-timeout 3s "
                 "--health-retries 2 --health-start-period 1s", SLEEP),
    ("f-nohealth", "--no-healthcheck", SLEEP),
    ("f-readonly", "--read-only", SLEEP),
    ("f-tty", "-t -i", SLEEP),
    ("f-modes", "--ipc shareable --uts host", SLEEP),
    ("f-pid", "--pid host", SLEEP),
    ("f-groups", "--group-add 44 --group-add 100", SLEEP),
    ("f-combo", "-p 18090:80 -e MODE=prod -v f-combo:/var/www/html --restart always "
                "--label tier=web -h combo --memory 256m --cap-add SYS_PTRACE", ""),
    ("f-tagged", "", SLEEP, "fid/web:1.0"),
    ("f-by-id", "", SLEEP, "$(docker image inspect --format {{.Id}} apache-test | cut -c8-19)"),
    ("f-mac", "--mac-address 02:42:ac:11:00:99", SLEEP),
    ("f-env-bare", "-e BARE_UNSET -e SET=1", SLEEP),
    # they depend on f-cmd, migrated before them
    ("f-netcont", "--network container:f-cmd", SLEEP),
    ("f-link", "--link f-cmd:db", SLEEP),
    ("f-volfrom", "--volumes-from f-cmd", SLEEP),
]
READ_ONLY = {"f-readonly"}
PROOF = "/fidelity-proof"
SETUP = ("unset BARE_UNSET; docker tag apache-test fid/web:1.0 && "
         "docker network create --subnet 172.30.5.0/24 --label purpose=fidelity f-net >/dev/null && "
         "docker network create --internal f-net2 >/dev/null && " +
         " && ".join(f"docker create --name {n} {c[1]} {(c[3:] or ['apache-test'])[0]} {c[2]} >/dev/null"
                     for c in CASES for n in c[:1]) +
         " && docker network connect --alias second f-net2 f-net2 && "
         + " && ".join(f"docker start {c[0]} >/dev/null" for c in CASES)
         + " && " + " && ".join(f"docker exec -u 0 {c[0]} sh -c 'echo {c[0]} > {PROOF}'"
                                for c in CASES if c[0] not in READ_ONLY))


@pytest.fixture(scope="module")
def fidelity(ready):  # noqa: F811
    ready.sh("old", SETUP)
    return ready


# fields the engines' APIs report differently (old: 20.10, API 1.41; new: 26,
# API 1.45) for the same container: not what the container was given
GONE_IN_1_42 = ("KernelMemory", "KernelMemoryTCP")      # removed, were 0 unless set
NEWER_MASKED = ("/sys/devices/virtual/powercap",)       # masked by default since 25


def api_neutral(host):
    host = dict(host)
    for key in GONE_IN_1_42:
        if not host.get(key):
            host.pop(key, None)                          # a value given still counts
    for key, value in list(host.items()):
        if value in ([], {}):
            host[key] = None                             # 1.45 says [] where 1.41 said null
    if host.get("NetworkMode") == "default":
        host["NetworkMode"] = "bridge"                   # 1.44 names the default network
    if host.get("MaskedPaths"):
        host["MaskedPaths"] = [p for p in host["MaskedPaths"] if p not in NEWER_MASKED]
    return host


def normalized(c):
    c = copy.deepcopy(c)
    cfg, host = c["Config"], c["HostConfig"]
    cfg["Env"] = sorted(cfg["Env"] or [])       # the engine merges env through a map
    host["Binds"] = sorted(host["Binds"] or [])  # and -v through a map: no order
    if cfg.get("Hostname") == c["Id"][:12] or host.get("NetworkMode") == "host" \
            or host.get("UTSMode") == "host" or host.get("NetworkMode", "").startswith("container:"):
        cfg.pop("Hostname")                     # derived from the id, or the host's own
    nets = {}
    for name, n in (c["NetworkSettings"].get("Networks") or {}).items():
        nets[name] = {"Aliases": sorted(a for a in (n.get("Aliases") or [])
                                        if not c["Id"].startswith(a)),
                      "IPAMConfig": n.get("IPAMConfig") or None}
    return {"Config": cfg, "HostConfig": api_neutral(host), "Networks": nets,
            "Path": c["Path"], "Args": c["Args"]}


def image_id(lab, host, ref):
    return lab.sh(host, f"docker image inspect --format '{{{{.Id}}}}' {shlex.quote(ref)}").strip()


def by_name(lab, host, c):
    """container:ID (as the engine keeps a shared namespace) as container:NAME."""
    c = copy.deepcopy(c)
    for key in ("NetworkMode", "IpcMode", "PidMode"):
        mode = c["HostConfig"].get(key) or ""
        if mode.startswith("container:"):
            c["HostConfig"][key] = "container:" + inspect(lab, host, mode[10:])["Name"].lstrip("/")
    return c


def assert_same(name, src, dst):
    a, b = normalized(src), normalized(dst)
    for part in a:
        assert b[part] == a[part], f"{name}: {part} differs:\n{json.dumps(a[part], indent=1, sort_keys=True)}\n" \
                                   f"vs\n{json.dumps(b[part], indent=1, sort_keys=True)}"


def assert_proof(lab, name):
    """The file written into the container on the source is in it on the target."""
    assert lab.sh("new", f"docker cp {name}:{PROOF} - | tar -xO").strip() == name


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_migrated_container_equals_its_source(fidelity, name, tmp_path):
    out = fidelity.inv("migrate", name, "--to", "new", "--no-port-check",
                       "--empty-volumes", "--no-stop", "--settle", "1",   # about its config, not uptime
                       "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    src, dst = inspect(fidelity, "old", name), inspect(fidelity, "new", name)
    assert_same(name, by_name(fidelity, "old", src), by_name(fidelity, "new", dst))
    # the image name is the source's, and means the same image there
    ref = src["Config"]["Image"]
    assert dst["Config"]["Image"] == ref and dst["Image"] == src["Image"]
    assert image_id(fidelity, "new", ref) == src["Image"]
    assert f"{name} runs on new as {ref}" in out.stdout
    if src["Config"].get("MacAddress"):
        (s,), (d,) = (x["NetworkSettings"]["Networks"].values() for x in (src, dst))
        assert d["MacAddress"] == s["MacAddress"] == src["Config"]["MacAddress"]
    if name not in READ_ONLY:
        assert_proof(fidelity, name)


def test_user_networks_are_created_like_the_sources(fidelity):
    src = json.loads(fidelity.sh("old", "docker network inspect f-net f-net2"))
    dst = json.loads(fidelity.sh("new", "docker network inspect f-net f-net2"))
    for s, d in zip(src, dst):
        for key in ("Driver", "Internal", "Attachable", "Labels", "Options"):
            assert d[key] == s[key], key
        assert d["IPAM"]["Config"][0].get("Subnet") == s["IPAM"]["Config"][0].get("Subnet") \
            or s["Name"] == "f-net2"


def test_quoting_of_every_case_round_trips_through_record(fidelity):
    """`inv record` prints a command a shell reads back into the same words."""
    out = fidelity.inv("record", "f-env", "--host", "old")
    words = shlex.split(out.stdout)
    assert "B=two words" in words and "EMPTY=" in words


def test_a_missing_dependency_is_refused_before_anything_is_sent(fidelity, tmp_path):
    fidelity.sh("old", "docker run -d --name f-lonely apache-test sleep infinity >/dev/null && "
                       "docker run -d --name f-needs --link f-lonely:x --volumes-from f-lonely "
                       "apache-test sleep infinity >/dev/null")
    before = fidelity.sh("new", "docker ps -a --format '{{.Names}}' | sort; docker images -q | sort")
    out = fidelity.inv("migrate", "f-needs", "--to", "new", "--records", str(tmp_path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert ("new: f-needs depends on the container f-lonely (--link, --volumes-from), which new "
            "does not have: move it first (inv migrate f-lonely --to new)") in out.stderr
    assert fidelity.sh("new", "docker ps -a --format '{{.Names}}' | sort; "
                              "docker images -q | sort") == before
    ok = fidelity.inv("migrate", "f-link", "--to", "new", "--dry-run", "--replace",
                      "--records", str(tmp_path))
    assert "depends on: f-cmd (new has it)" in ok.stdout, ok.stdout + ok.stderr


def test_volumes_from_a_container_moved_first_come_with_it(fidelity, tmp_path):
    """The data container goes first, with its volume; the one that has its
    volumes (--volumes-from) follows and finds them there, data and all."""
    fidelity.sh("old", "docker run -d --name vf-data -v vf-vol:/shared apache-test sh -c "
                       "'echo kept > /shared/f; exec sleep infinity' >/dev/null && "
                       "docker run -d --name vf-app --volumes-from vf-data apache-test "
                       "sleep infinity >/dev/null")
    for name in ("vf-data", "vf-app"):
        out = fidelity.inv("migrate", name, "--to", "new", "--no-port-check", "--settle", "1",
                           "--records", str(tmp_path))
        assert out.returncode == 0, out.stdout + out.stderr
    assert "depends on: vf-data (new has it)" in out.stdout
    assert "vf-vol" not in "".join(l for l in out.stdout.splitlines() if "] data" in l)
    assert fidelity.sh("new", "docker exec vf-app cat /shared/f").strip() == "kept"


def test_a_tag_that_means_another_image_on_the_target_needs_replace(fidelity, tmp_path):
    fidelity.sh("old", "docker tag apache-test fid/clash:1 && "
                       "docker run -d --name f-clash fid/clash:1 sleep infinity >/dev/null")
    fidelity.sh("new", "tar cf - -T /dev/null | docker import - fid/clash:1 >/dev/null")  # another image
    theirs = image_id(fidelity, "new", "fid/clash:1")
    out = fidelity.inv("migrate", "f-clash", "--to", "new", "--records", str(tmp_path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert (f"new: the tag fid/clash:1 names another image there ({theirs[7:19]}); pass --replace "
            "to point it at f-clash's image") in out.stderr
    assert image_id(fidelity, "new", "fid/clash:1") == theirs
    # the tag it moves is named first, and without a terminal that needs --yes
    out = fidelity.inv("migrate", "f-clash", "--to", "new", "--replace", "--records", str(tmp_path))
    assert out.returncode == 2 and (f"- the tag fid/clash:1 on new: it names image {theirs[7:19]} "
                                    "(kept by its id) now (--replace)") in out.stderr, out.stderr
    assert image_id(fidelity, "new", "fid/clash:1") == theirs
    out = fidelity.inv("migrate", "f-clash", "--to", "new", "--replace", "--yes",
                       "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    src = inspect(fidelity, "old", "f-clash")
    assert image_id(fidelity, "new", "fid/clash:1") == src["Image"]
    assert inspect(fidelity, "new", "f-clash")["Config"]["Image"] == "fid/clash:1"


def test_offline_copies_the_containers_layer_into_the_original_image(fidelity, tmp_path):
    fidelity.sh("old", "docker run -d --name f-offline fid/web:1.0 sleep infinity >/dev/null && "
                       f"docker exec f-offline sh -c 'echo f-offline > {PROOF}'")
    out = fidelity.inv("migrate", "f-offline", "--to", "new", "--offline", "--no-port-check",
                       "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "container layer" in out.stdout and "committed" not in out.stdout
    dst = inspect(fidelity, "new", "f-offline")
    assert dst["Config"]["Image"] == "fid/web:1.0"
    assert_proof(fidelity, "f-offline")


def test_export_mode_gives_what_import_cannot_take_at_create(fidelity, tmp_path):
    fidelity.sh("old", "printf 'FROM apache-test\\nSTOPSIGNAL SIGQUIT\\nHEALTHCHECK --interval=5s "
                       "CMD true\\n' | docker build -q -t fid/sig - >/dev/null && "
                       "docker run -d --name f-export fid/sig sleep infinity >/dev/null && "
                       f"docker exec f-export sh -c 'echo f-export > {PROOF}'")
    out = fidelity.inv("migrate", "f-export", "--to", "new", "--mode", "export", "--no-port-check",
                       "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    src, dst = inspect(fidelity, "old", "f-export"), inspect(fidelity, "new", "f-export")
    for key in ("StopSignal", "Healthcheck", "Cmd", "Env", "Entrypoint", "WorkingDir"):
        assert dst["Config"].get(key) == src["Config"].get(key), key
    assert dst["Config"]["Image"].startswith("dockmove/f-export:")
    assert f"f-export runs on new as {dst['Config']['Image']}" in out.stdout
    assert_proof(fidelity, "f-export")
