"""The typed run spec (migrate/spec.py): read from `docker inspect`, it renders
the same argv, word for word, as the argv-flattening code before it did
(tests/unit/data/spec/rendered.json, made by that code); ports, mounts and
networks are data, read by `published()` and changed by the overrides and the
volume pinning without any argv being parsed back."""
import json
import shlex
from pathlib import Path

import pytest

from fleet.errors import UsageError
from migrate.overrides import apply, parse_publish
from migrate.inspected import from_inspect
from migrate.spec import Mount, NetworkAttach, Port, Published, RunSpec, Tmpfs, Volume
from migrate.volumes import DataCopy, DataPlan, pin_volume_names

DATA = Path(__file__).parent / "data"
RENDERED = json.loads((DATA / "spec" / "rendered.json").read_text())
CASES = sorted(k for k in RENDERED if not k.startswith("_"))
GIVEN, IMAGE, NAME = ["--env-file", "/d/env"], "dockmove/x:1", "other"


def spec_of(case: str) -> RunSpec:
    entry = RENDERED[case]
    d = entry["inspect"]
    if isinstance(d, str):
        d = json.loads((DATA / "inspect" / f"{d}.json").read_text())
    return from_inspect(d["container"], d["image"], entry["default_log_driver"])


@pytest.mark.parametrize("case", CASES)
def test_the_argv_is_the_one_the_flattened_spec_rendered(case):
    spec, want = spec_of(case), RENDERED[case]
    assert spec.run_argv() == want["run_argv"]
    assert spec.create_argv(GIVEN, IMAGE, NAME) == want["create_argv"]
    assert list(spec.user_networks) == want["user_networks"]
    assert [[e.network, list(e.aliases), e.ipv4, e.ipv6] for e in spec.extra_networks] == want["extra"]
    assert [[p.proto, p.port, p.address, p.inner] for p in spec.published()] == want["published"]


def test_the_table_covers_every_kind_of_port_mount_and_network():
    ports = spec_of("ports")
    assert ports.publish_all and ports.expose == ("7000/tcp",)
    assert ports.ports == (Port("53", "udp", "10.0.0.5", "53"), Port("80", "tcp", "::1", "9093"),
                           Port("80", "tcp", "127.0.0.1", ""), Port("80", "tcp", "", "8000-8001"),
                           Port("81", "udp"), Port("82"), Port("90", "sctp", "", "9090"))
    mounts = spec_of("mounts").mounts
    assert mounts[:3] == (Volume("/conf", "/srv/conf", "ro"), Volume("/n", "named"),
                          Volume("/z", "/srv/z", "ro,Z"))
    assert mounts[3:5] == (Mount("bind", "/t1", "/a,b", readonly=True, propagation="rshared"),
                           Mount("volume", "/v", "vol", nocopy=True,
                                 volume_labels=(("a", 'x,"y"'), ("b", "2"))))
    assert mounts[6:] == (Mount("volume", "/nosrc"), Tmpfs("/run", "rw,size=64m"), Tmpfs("/tmp"),
                          Volume("/anon1"), Volume("/anon2"))
    net = spec_of("net-user")
    assert net.network == NetworkAttach("front", ("www",), "172.30.5.10", "fd00::10")
    assert net.network_mode == "front" and net.user_networks == ("front", "back")
    assert spec_of("net-container").user_networks == () and spec_of("net-host").network_mode == "host"
    assert spec_of("net-bridge-extra").network is None
    assert spec_of("f-entry").entrypoint == "sleep" and spec_of("health-none").entrypoint == ""


def test_published_ports_from_the_typed_data():
    spec = RunSpec("web", "img", publish_all=True, ports=(
        Port("80", host_port="9080"), Port("80", "tcp", "127.0.0.1", "9092"),
        Port("80", "tcp", "::1", "9093"), Port("53", "udp", "10.0.0.5", "53"),
        Port("80-81", host_port="8000-8001"), Port("80", host_port="7000-7001"),
        Port("7000"), Port("7001", "tcp", "127.0.0.1")))
    assert spec.published() == [
        Published("tcp", 9080, "", "80/tcp"), Published("tcp", 9092, "127.0.0.1", "80/tcp"),
        Published("tcp", 9093, "::1", "80/tcp"), Published("udp", 53, "10.0.0.5", "53/udp"),
        Published("tcp", 8000, "", "80/tcp"), Published("tcp", 8001, "", "81/tcp"),
        Published("tcp", 7000, "", "80/tcp"), Published("tcp", 7001, "", "80/tcp")]
    assert shlex.join(spec.run_argv()) == (
        "docker run --detach --name web --publish-all --publish 9080:80 --publish "
        "127.0.0.1:9092:80 --publish '[::1]:9093:80' --publish 10.0.0.5:53:53/udp --publish "
        "8000-8001:80-81 --publish 7000-7001:80 --publish 7000 --publish 127.0.0.1::7001 img")
    # ports the engine picks (-P, no host port) are not published with a fixed port
    assert RunSpec("web", "img", publish_all=True, ports=(Port("80"),)).published() == []


def test_a_publish_override_replaces_that_container_ports_bindings_as_data():
    spec = spec_of("ports")
    moved = apply(spec, name="web2", publish=("9191:80", "9292:81/udp", "127.0.0.1:9393:7000"))
    assert moved.name == "web2"
    # the three bindings of 80/tcp become the one asked for, in the first one's place
    assert moved.ports == (Port("53", "udp", "10.0.0.5", "53"), Port("80", "tcp", "", "9191"),
                           Port("81", "udp", "", "9292"), Port("82"),
                           Port("90", "sctp", "", "9090"), Port("7000", "tcp", "127.0.0.1", "9393"))
    assert [p.port for p in moved.published()] == [53, 9191, 9292, 9090, 9393]
    # 80/tcp is 80: an explicit /tcp replaces too (the string match kept both)
    assert apply(spec_of("apache-cont"), publish=("9090:80/tcp",)).ports == (Port("80", "tcp", "", "9090"),)
    # what is not a port changes nothing else
    assert moved.mounts == spec.mounts and moved.options == spec.options


@pytest.mark.parametrize("bad", ["9090", "abc:80", "80:abc", "9090:80/xyz", "70000:80", "9:8-7", ""])
def test_a_publish_that_is_no_port_is_a_usage_error(bad):
    with pytest.raises(UsageError) as e:
        apply(spec_of("apache-cont"), publish=(bad,))
    assert str(e.value) == f"--publish {bad!r}: expected HOST:CONTAINER[/udp]"


def test_a_users_publish_is_parsed_once_into_a_port():
    assert parse_publish("[::1]:9093:80") == Port("80", "tcp", "::1", "9093")
    assert parse_publish("127.0.0.1::53/udp") == Port("53", "udp", "127.0.0.1", "")
    assert parse_publish("8000-8001:80-81").value() == "8000-8001:80-81"


def _plan(*copies):
    return DataPlan(tuple(DataCopy("volume", n, dst, "/x") for n, dst in copies), (), (), ())


def test_pinning_names_anonymous_volumes_in_the_data():
    a, b, c = "a" * 64, "b" * 64, "c" * 64
    spec = spec_of("mounts")
    pinned = pin_volume_names(spec, _plan((a, "/anon1"), (b, "/img"), (c, "/nosrc"), ("vol", "/v")))
    assert pinned.mounts[-2:] == (Volume("/anon2"), Volume("/img", b))     # /img: the image's
    assert Volume("/anon1", a) in pinned.mounts and Volume("/anon1") not in pinned.mounts
    # an anonymous --mount gets its source (before, a second --volume on /nosrc was added)
    assert Mount("volume", "/nosrc", c) in pinned.mounts
    assert [m for m in pinned.mounts if getattr(m, "target", "") == "/nosrc"] == [Mount("volume", "/nosrc", c)]
    assert len(pinned.mounts) == len(spec.mounts) + 1          # "vol" is named already
    text = shlex.join(pinned.run_argv())
    assert f"--volume {a}:/anon1 --volume /anon2 --volume {b}:/img img:1" in text
    assert f"--mount type=volume,source={c},target=/nosrc" in text
    assert pinned.ports == spec.ports and pinned.options == spec.options


def _spec(config=None, host=None, nets=None, iconf=None):
    d = json.loads((DATA / "inspect" / "apache-cont.json").read_text())
    c, image = d["container"], d["image"]
    c["Config"].update(config or {})
    c["HostConfig"].update(host or {})
    if nets is not None:
        c["NetworkSettings"]["Networks"] = nets
    image["Config"].update(iconf or {})
    return from_inspect(c, image)


def test_a_bare_env_name_stays_bare():
    spec = _spec({"Env": ["BARE", "SET=1", "EMPTY="]})
    assert ("BARE", None) in spec.env and ("EMPTY", "") in spec.env
    argv = spec.run_argv()
    assert argv[argv.index("BARE") - 1] == "--env" and "EMPTY=" in argv


def test_a_user_set_mac_is_kept_on_the_first_network_not_with_a_shared_one():
    spec = _spec({"MacAddress": "02:42:ac:11:00:99"})
    argv = spec.create_argv([])
    assert argv[argv.index("--mac-address") + 1] == "02:42:ac:11:00:99"
    assert "--mac-address" not in _spec().create_argv([])          # generated: not pinned
    assert "--mac-address" not in _spec({"MacAddress": "02:42:ac:11:00:99"},
                                        {"NetworkMode": "host"}).create_argv([])


def test_a_shared_network_leaves_out_what_the_engine_refuses_with_it():
    spec = _spec({"Hostname": "other-host", "Domainname": "example.org",
                  "MacAddress": "02:42:ac:11:00:99", "ExposedPorts": {"7000/tcp": {}}},
                 {"NetworkMode": "container:db", "Dns": ["192.0.2.53"], "DnsSearch": ["x"],
                  "DnsOptions": ["ndots:2"], "ExtraHosts": ["a:10.0.0.1"], "PublishAllPorts": True,
                  "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "9080"}]}})
    argv = spec.create_argv([])
    for flag in ("--hostname", "--domainname", "--mac-address", "--dns", "--dns-search",
                 "--dns-option", "--add-host", "--publish", "--publish-all", "--expose"):
        assert flag not in argv, flag
    assert argv[argv.index("--network") + 1] == "container:db" and spec.published() == []


def test_dependencies_are_read_from_links_volumes_from_and_shared_namespaces():
    from migrate.inspected import depends_on
    d = json.loads((DATA / "inspect" / "apache-cont.json").read_text())["container"]
    d["HostConfig"].update({"Links": ["/db:/web/database", "/db:/web/db2"],
                            "VolumesFrom": ["data:ro"], "NetworkMode": "container:abc123",
                            "IpcMode": "container:data", "PidMode": ""})
    assert depends_on(d) == {"db": ("--link",), "data": ("--volumes-from", "--ipc container:"),
                             "abc123": ("--network container:",)}


def test_a_link_on_a_user_defined_network_is_kept_and_is_a_dependency():
    # the engine keeps --link with --network NET on the network's endpoint, not
    # in HostConfig.Links (which holds the default bridge's)
    from migrate.inspected import depends_on
    nets = {"shopnet": {"Links": ["shop-db:db"], "Aliases": None, "IPAMConfig": None},
            "other": {"Links": ["cache:c"], "Aliases": None, "IPAMConfig": None}}
    spec = _spec(host={"NetworkMode": "shopnet", "Links": None}, nets=nets)
    argv = spec.create_argv([])
    at = argv.index("--network")
    assert argv[at:at + 4] == ["--network", "shopnet", "--link", "shop-db:db"]
    assert spec.extra_networks[0].connect_args() == ["--link", "cache:c"]
    d = json.loads((DATA / "inspect" / "apache-cont.json").read_text())["container"]
    d["HostConfig"]["NetworkMode"] = "shopnet"
    d["NetworkSettings"]["Networks"] = nets
    assert depends_on(d) == {"shop-db": ("--link",), "cache": ("--link",)}
