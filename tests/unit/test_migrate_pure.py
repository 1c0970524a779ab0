"""The pure parts of migration over `docker inspect` outputs recorded on the
lab's Docker 20.10 (tests/unit/data/inspect), and the stream over real local
processes."""
import json
import shlex
from pathlib import Path

import pytest

from fleet.errors import UsageError
from fleet.inventory import parse_inventory
from fleet.ssh_cli import ssh_command
from migrate.execute import network_args
from migrate.overrides import apply, commit_changes, held_back_env, import_changes
from migrate.inspected import from_inspect
from migrate.spec import Mount, NetworkAttach, Port
from migrate.stream import StreamError, pipe, progress_line
from fleet.facts import parse_ss

INSPECT = Path(__file__).parent / "data" / "inspect"


def spec_of(name):
    d = json.loads((INSPECT / f"{name}.json").read_text())
    return from_inspect(d["container"], d["image"]), d


def test_seed_container_records_as_the_seed_ran_it():
    spec, _ = spec_of("apache-cont")
    assert spec.run_argv() == ["docker", "run", "--detach", "--name", "apache-cont",
                               "--hostname", "apache-host", "--publish", "9080:80", "apache-test"]


def test_networks_aliases_static_ip_and_extra_networks():
    spec, d = spec_of("f-net")
    assert spec.network == NetworkAttach("f-net", ("web", "www"), "172.30.5.10")
    assert spec.user_networks == ("f-net",)
    # the alias the engine adds itself is no alias given
    assert d["container"]["Id"][:12] not in spec.network.aliases


def test_healthcheck_entrypoint_and_combination():
    health, _ = spec_of("f-health")
    o = list(health.options)
    assert o[o.index("--health-cmd") + 1] == "test -e /etc/hostname"
    assert o[o.index("--health-interval") + 1] == "5s" and o[o.index("--health-retries") + 1] == "2"
    entry, _ = spec_of("f-entry")
    assert entry.entrypoint == "sleep" and entry.command == ("infinity",)
    assert entry.run_argv()[-4:] == ["--entrypoint", "sleep", "apache-test", "infinity"]
    combo, _ = spec_of("f-combo")
    text = shlex.join(combo.run_argv())
    for piece in ("--publish 18090:80", "--env MODE=prod", "--volume f-combo:/var/www/html",
                  "--restart always", "--label tier=web", "--hostname combo",
                  "--memory 268435456", "--cap-add SYS_PTRACE"):
        assert piece in text, piece
    assert combo.command == ()                       # the image's CMD is kept


def test_ports_mounts_and_log_options():
    ports, _ = spec_of("f-ports")
    assert [(p.proto, p.port) for p in ports.published()] == [
        ("tcp", 18081), ("udp", 18082), ("tcp", 18083), ("tcp", 18084)]
    assert Port("81", "udp", "127.0.0.1", "18082") in ports.ports
    assert "127.0.0.1:18082:81/udp" in ports.run_argv()
    mount, _ = spec_of("f-mount")
    assert mount.mounts == (Mount("volume", "/m", "f-mount"), Mount("tmpfs", "/t", tmpfs_size=1048576))
    assert "type=volume,source=f-mount,target=/m" in mount.run_argv()
    assert "type=tmpfs,target=/t,tmpfs-size=1048576" in mount.run_argv()
    log, _ = spec_of("f-log")
    assert ("--log-driver", "local") == log.host_options[log.host_options.index("--log-driver"):][:2]


def test_overrides():
    spec, _ = spec_of("apache-cont")
    moved = apply(spec, name="web2", publish=("9090:80",), env=("A=1", "A=2", "FROM_ENV"),
                  environ={"FROM_ENV": "x y"})
    assert moved.create_argv([])[:3] == ["docker", "create", "--name"] and moved.name == "web2"
    assert moved.ports == (Port("80", host_port="9090"),)
    assert "9090:80" in moved.run_argv() and "9080:80" not in moved.run_argv()
    assert moved.env == (("A", "2"), ("FROM_ENV", "x y"))
    with pytest.raises(UsageError):
        apply(spec, publish=("9090",))
    with pytest.raises(UsageError, match="NOVALUE is not set in this environment"):
        apply(spec, env=("NOVALUE",), environ={})
    with pytest.raises(UsageError) as e:
        apply(spec, env=("=hunter2",))
    assert "hunter2" not in str(e.value)


def test_env_and_labels_never_enter_the_create_argv():
    combo, _ = spec_of("f-combo")
    assert combo.env == (("MODE", "prod"),) and combo.labels == (("tier", "web"),)
    argv = combo.create_argv(["--env-file", "/d/env"])
    assert "--env" not in argv and "--label" not in argv and "MODE=prod" not in argv
    assert argv[:5] == ["docker", "create", "--name", "f-combo", "--env-file"]


def test_import_changes_restore_the_original_image_not_the_container():
    image = {"Config": {"Env": ["PATH=/usr/bin", 'TRICKY=$HOME "q" \\ end', "API_TOKEN=baked",
                                "DB_URL=mysql://u:pw@db/x"],
                        "Cmd": ["sh", "-c", "echo $X"], "Labels": {"a b": "c$d"},
                        "ExposedPorts": {"80/tcp": {}}, "WorkingDir": "/srv",
                        "User": "www-data", "StopSignal": "SIGWINCH", "Volumes": {"/data": {}}}}
    ch = import_changes(image)
    assert 'ENV TRICKY="\\$HOME \\"q\\" \\\\ end"' in ch
    assert 'CMD ["sh", "-c", "echo $X"]' in ch            # JSON form: no expansion
    assert 'LABEL "a b"="c\\$d"' in ch
    assert {"EXPOSE 80/tcp", "WORKDIR /srv", "USER www-data",
            'VOLUME ["/data"]', 'ENV PATH="/usr/bin"'} <= set(ch)
    # import refuses STOPSIGNAL (20.10): the container is given it at create (as_imported)
    assert not any(c.startswith("STOPSIGNAL") for c in ch)
    # secret-looking image ENV is no --change line (an argv): the container gets it
    assert not any("baked" in c or "pw" in c for c in ch)
    spec, _ = spec_of("apache-cont")
    spec = held_back_env(apply(spec, env=("API_TOKEN=mine",)), image)
    assert spec.env == (("API_TOKEN", "mine"), ("DB_URL", "mysql://u:pw@db/x"))
    # the same for secret-looking labels (second review: they were --change lines)
    image["Config"]["Labels"]["registry_password"] = "hunter2"
    ch = import_changes(image)
    assert not any("hunter2" in c for c in ch) and 'LABEL "a b"="c\\$d"' in ch
    spec, _ = spec_of("apache-cont")
    assert ("registry_password", "hunter2") in held_back_env(spec, image).labels


def test_commit_changes_take_the_given_values_out_of_the_image():
    container = {"Config": {"Env": ["PATH=/usr/bin", "MODE=prod", "DB_PWD=s3cr3t",
                                     "LEVEL=debug", "API_KEY=given"],
                            "Labels": {"tier": "web", "auth.basicauth.users": "a:hash",
                                       "kept": "same"}}}
    image = {"Config": {"Env": ["PATH=/usr/bin", "LEVEL=info", "API_KEY=baked"],
                        "Labels": {"kept": "same"}}}
    assert commit_changes(container, image) == [
        'ENV MODE=""', 'ENV DB_PWD=""', 'ENV LEVEL="info"', 'ENV API_KEY=""',
        'LABEL "auth.basicauth.users"=""', 'LABEL "tier"=""']
    assert commit_changes(image, image) == []


def test_parse_ss_and_network_args():
    ss = ("tcp   LISTEN 0 4096 0.0.0.0:9080 0.0.0.0:*\n"
          "tcp   LISTEN 0 128 [::]:22 [::]:*\n"
          "udp   UNCONN 0 0 127.0.0.1:18082 0.0.0.0:*\n")
    assert {(l.proto, l.port) for l in parse_ss(ss)} == {("tcp", 9080), ("tcp", 22), ("udp", 18082)}
    net = {"Driver": "bridge", "IPAM": {"Config": [{"Subnet": "172.30.5.0/24"}]},
           "Internal": True, "Labels": {"purpose": "x"}, "Options": {}}
    assert network_args(net) == ["--driver", "bridge", "--subnet", "172.30.5.0/24", "--internal",
                                 "--label", "purpose=x"]


def test_ssh_command_from_inventory_with_jump():
    inv = parse_inventory("""
hosts:
  bastion: {address: b.example.com, user: admin, port: 2222}
  app: {address: 10.0.0.5, user: root, identity_file: /k/id, jump: bastion, known_hosts: /k/kh}
""", Path("/inv/hosts.yaml"))
    with ssh_command(inv, inv.hosts["app"], "docker load") as argv:
        assert argv[0] == "ssh" and argv[-5:] == ["-l", "root", "--", "10.0.0.5", "docker load"]
        assert ["-i", "/k/id"] == argv[1:3] and "StrictHostKeyChecking=yes" in argv
        known = next(a for a in argv if a.startswith("UserKnownHostsFile="))
        assert Path(known.split("=", 1)[1]).read_text() == ""      # /k/kh: no such file
        proxy = next(a for a in argv if a.startswith("ProxyCommand="))
        assert "-p 2222" in proxy and "-l admin -- b.example.com" in proxy
        assert "-W '[10.0.0.5]:22'" in proxy


def test_pipe_moves_every_byte_between_real_processes(tmp_path):
    data = tmp_path / "data"
    data.write_bytes(bytes(range(256)) * 40000)
    out = tmp_path / "out"
    lines = []
    res = pipe(["cat", str(data)], ["sh", "-c", f"cat > {out}"], expected=data.stat().st_size,
               report=lines.append, every=0)
    assert res.bytes == data.stat().st_size and out.read_bytes() == data.read_bytes()
    assert lines and "in " in lines[-1]


def test_pipe_names_the_side_that_failed():
    with pytest.raises(StreamError, match=r"sending side failed \(exit 3\).*boom"):
        pipe(["sh", "-c", "echo some; echo boom >&2; exit 3"], ["cat"])
    with pytest.raises(StreamError, match=r"receiving side failed \(exit 4\).*full"):
        pipe(["sh", "-c", "head -c 3000000 /dev/zero"], ["sh", "-c", "head -c 10 >/dev/null; echo full >&2; exit 4"])


def test_progress_line():
    assert progress_line(50 << 20, 100 << 20, 10) == "50.0 MiB of ~100.0 MiB (50%), 5.0 MiB/s, ETA 10s"
    assert "ETA" not in progress_line(1 << 10, 100 << 20, 1)


def test_a_receiver_that_succeeds_before_the_end_lets_the_sender_finish():
    # tar stops reading at its end-of-archive blocks; the sender's padding must not
    # turn a good copy into "the sending side failed"
    res = pipe(["sh", "-c", "head -c 5000000 /dev/zero; exit 0"], ["head", "-c", "10"])
    assert res.read >= 10
    with pytest.raises(StreamError, match="the sending side failed \\(exit 5\\)"):
        pipe(["sh", "-c", "head -c 5000000 /dev/zero; exit 5"], ["head", "-c", "10"])


def test_a_stream_that_is_not_a_tar_is_named_so():
    from migrate.layers import Selector, plan_layers
    from migrate.stream import tar_relay
    relay = tar_relay(Selector(plan_layers(["sha256:" + "a" * 64], {"sha256:" + "a" * 64})))
    with pytest.raises(StreamError, match=r"the stream is not the tar expected \(the stream "
                                          r"ended inside a header\)"):
        pipe(["printf", "not a tar"], ["cat"], relay=relay)
