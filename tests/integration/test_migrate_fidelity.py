"""Fidelity: containers created with one family of `docker run` options each
(and some combinations) are migrated, then compared field by field (a
normalized `docker inspect`: Config, HostConfig, networks) between source and
target. Runs on the migrate tests' lab, after them (file order)."""
import copy
import json
import shlex

import pytest

from .test_migrate import inspect, mlab, ready  # noqa: F401 (the same lab)

pytestmark = pytest.mark.lab

SLEEP = "sleep infinity"
# (name, options, command); every container runs the seed's apache-test image
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
]
SETUP = ("docker network create --subnet 172.30.5.0/24 --label purpose=fidelity f-net >/dev/null && "
         "docker network create --internal f-net2 >/dev/null && " +
         " && ".join(f"docker create --name {n} {o} apache-test {c} >/dev/null" for n, o, c in CASES) +
         " && docker network connect --alias second f-net2 f-net2 && "
         + " && ".join(f"docker start {n} >/dev/null" for n, _, _ in CASES))


@pytest.fixture(scope="module")
def fidelity(ready):  # noqa: F811
    ready.sh("old", SETUP)
    return ready


def normalized(c):
    c = copy.deepcopy(c)
    cfg, host = c["Config"], c["HostConfig"]
    cfg.pop("Image")
    cfg["Env"] = sorted(cfg["Env"] or [])       # the engine merges env through a map
    host["Binds"] = sorted(host["Binds"] or [])  # and -v through a map: no order
    if cfg.get("Hostname") == c["Id"][:12] or host.get("NetworkMode") == "host" \
            or host.get("UTSMode") == "host":
        cfg.pop("Hostname")                     # derived from the id, or the host's own
    nets = {}
    for name, n in (c["NetworkSettings"].get("Networks") or {}).items():
        nets[name] = {"Aliases": sorted(a for a in (n.get("Aliases") or [])
                                        if not c["Id"].startswith(a)),
                      "IPAMConfig": n.get("IPAMConfig") or None}
    return {"Config": cfg, "HostConfig": api_neutral(host), "Networks": nets,
            "Path": c["Path"], "Args": c["Args"]}


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


@pytest.mark.parametrize("name", [n for n, _, _ in CASES])
def test_migrated_container_equals_its_source(fidelity, name, tmp_path):
    out = fidelity.inv("migrate", name, "--to", "new", "--mode", "image", "--no-port-check",
                       "--empty-volumes", "--no-stop", "--settle", "1",   # about its config, not uptime
                       "--records", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    src, dst = inspect(fidelity, "old", name), inspect(fidelity, "new", name)
    a, b = normalized(src), normalized(dst)
    for part in a:
        assert b[part] == a[part], f"{name}: {part} differs:\n{json.dumps(a[part], indent=1, sort_keys=True)}\n" \
                                   f"vs\n{json.dumps(b[part], indent=1, sort_keys=True)}"


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
