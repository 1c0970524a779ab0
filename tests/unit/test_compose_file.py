"""`inv record --compose`: inspect dicts -> a compose file (migrate/compose_file.py)."""
import copy
import json
from pathlib import Path

import pytest
import yaml

from migrate.compose_file import build, render, service_name

DATA = Path(__file__).parent / "data" / "inspect"


def member(name="apache-cont", config=None, host=None, nets=None, iconf=None, labels=None):
    d = copy.deepcopy(json.loads((DATA / "apache-cont.json").read_text()))
    c, image = d["container"], d["image"]
    c["Name"] = f"/{name}"
    c["Id"] = f"{name}0123456789"
    c["Config"].update(config or {})
    c["Config"]["Labels"] = {**(c["Config"].get("Labels") or {}), **(labels or {})}
    c["HostConfig"].update(host or {})
    if nets is not None:
        c["NetworkSettings"]["Networks"] = nets
    image["Config"].update(iconf or {})
    return c, image


def doc(*members, networks=None, mask=True, **kw):
    text = render(build(members, networks or {}, **kw), mask=mask)
    return yaml.safe_load(text), text


def test_the_seed_container_gives_what_it_was_given_and_no_image_default():
    d, _ = doc(member())
    svc = d["services"]["apache-cont"]
    assert svc["image"] == "apache-test" and svc["container_name"] == "apache-cont"
    assert svc["hostname"] == "apache-host" and svc["ports"] == ["9080:80"]
    assert svc["network_mode"] == "bridge"          # the default bridge, not a project network
    for key in ("environment", "labels", "user", "working_dir", "command", "entrypoint",
                "expose", "healthcheck", "volumes", "restart", "logging", "mac_address"):
        assert key not in svc, key


def test_image_defaults_are_left_out_and_changes_kept():
    c, image = member(config={"Env": ["A=1", "IMG=same", "IMG2=changed"], "User": "www",
                              "WorkingDir": "/srv", "Cmd": ["sleep", "9"],
                              "Labels": {"from.image": "x", "mine": "y"}},
                      iconf={"Env": ["IMG=same", "IMG2=orig"], "Labels": {"from.image": "x"}})
    svc = doc((c, image))[0]["services"]["apache-cont"]
    assert svc["environment"] == {"A": "1", "IMG2": "changed"}
    assert svc["labels"] == {"mine": "y"}
    assert svc["user"] == "www" and svc["working_dir"] == "/srv"
    assert svc["command"] == ["sleep", "9"] and "entrypoint" not in svc


def test_a_generated_hostname_is_not_pinned():
    c, image = member(config={"Hostname": "apache-con"})    # the id's prefix
    assert "hostname" not in doc((c, image))[0]["services"]["apache-cont"]


def test_every_port_binding_is_kept():
    c, image = member(host={"PortBindings": {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}, {"HostIp": "127.0.0.1", "HostPort": "8081"}],
        "53/udp": [{"HostIp": "::1", "HostPort": "5353"}],
        "7000-7001/tcp": [{"HostIp": "", "HostPort": "17000-17001"}],
        "9000/tcp": [{"HostIp": "", "HostPort": ""}]}},
        config={"ExposedPorts": {"80/tcp": {}, "6000/tcp": {}}})
    svc = doc((c, image))[0]["services"]["apache-cont"]
    assert sorted(svc["ports"]) == sorted(["8080:80", "127.0.0.1:8081:80", "[::1]:5353:53/udp",
                                           "17000-17001:7000-7001", "9000"])
    assert svc["expose"] == ["6000/tcp"]


def test_links_volumes_from_and_shared_namespaces_become_service_references():
    db = member("db", labels={"com.docker.compose.service": "database"},
                host={"Binds": ["dbdata:/data", "/srv/db:/srv/db:z", "/anon"]})
    web = member("web", host={"Links": ["/db:/web/dbalias"], "VolumesFrom": ["db:ro"],
                              "IpcMode": "container:db", "NetworkMode": "container:db0123456789"})
    d, text = doc(db, web)
    svc = d["services"]["web"]
    assert svc["links"] == ["database:dbalias"]
    # compose (2.26) drops the mode of volumes_from: the volumes it shares by
    # name are also mounted read-only, over it; its anonymous ones are said
    assert svc["volumes_from"] == ["database"]
    assert svc["volumes"] == ["dbdata:/data:ro", "/srv/db:/srv/db:ro,z"]
    assert svc["ipc"] == "service:database" and svc["network_mode"] == "service:database"
    assert svc["depends_on"] == ["database"]
    assert "outside" not in text and "web: --volumes-from db:ro" in text and "/anon" in text


def test_a_reference_outside_the_file_stays_a_container_and_is_said():
    web = member("web", host={"Links": ["/cache:/web/c"], "VolumesFrom": ["data"],
                              "PidMode": "container:data"})
    built = build([web], {})
    svc = built.doc["services"]["web"]
    assert svc["external_links"] == ["cache:c"] and "links" not in svc
    assert svc["volumes_from"] == ["container:data"] and svc["pid"] == "container:data"
    assert "depends_on" not in svc
    assert any("cache" in n and "outside" in n for n in built.notes)
    assert any("data" in n and "outside" in n for n in built.notes)
    text = render(built)
    assert "# web: " in text and yaml.safe_load(text)["services"]["web"] == svc


def test_compose_labels_are_not_copied_and_the_service_label_names_the_service():
    c, image = member("proj-web-1", labels={
        "com.docker.compose.project": "proj", "com.docker.compose.service": "web",
        "com.docker.compose.config-hash": "abc", "keep.me": "1"})
    d, _ = doc((c, image), project="proj")
    assert d["name"] == "proj"
    svc = d["services"]["web"]
    assert svc["container_name"] == "proj-web-1" and svc["labels"] == {"keep.me": "1"}


def test_service_names_are_sanitised_and_unique():
    assert service_name("My.App_1") == "my.app_1"
    assert service_name("we b/x") == "we-b-x"
    d, _ = doc(member("a", labels={"com.docker.compose.service": "web"}),
               member("b", labels={"com.docker.compose.service": "web"}))
    assert sorted(d["services"]) == ["web", "web-2"]


def test_volumes_named_binds_and_anonymous():
    c, image = member(host={"Binds": ["data:/data:ro", "/srv/x:/x", "/anon"],
                            "Mounts": [{"Type": "volume", "Source": "m", "Target": "/m",
                                        "VolumeOptions": {"NoCopy": True,
                                                          "Labels": {"l": "v"}}},
                                       {"Type": "tmpfs", "Target": "/t",
                                        "TmpfsOptions": {"SizeBytes": 1048576}}],
                            "Tmpfs": {"/run": "size=1m"}},
                      config={"Volumes": {"/anon2": {}}})
    d, _ = doc((c, image))
    svc = d["services"]["apache-cont"]
    assert svc["volumes"][:3] == ["data:/data:ro", "/srv/x:/x", "/anon"]
    assert {"type": "volume", "source": "m", "target": "/m", "volume": {"nocopy": True}} \
        in svc["volumes"]
    assert {"type": "tmpfs", "target": "/t", "tmpfs": {"size": 1048576}} in svc["volumes"]
    assert "/anon2" in svc["volumes"]                  # anonymous stays anonymous
    assert svc["tmpfs"] == ["/run:size=1m"]
    assert d["volumes"] == {"data": {"name": "data"}, "m": {"name": "m", "labels": {"l": "v"}}}


def test_user_networks_keep_aliases_addresses_and_their_real_names():
    nets = {"shop": {"Aliases": ["apache-cont", "apache-cont0", "shop-alias"],
                     "IPAMConfig": {"IPv4Address": "10.9.0.5", "IPv6Address": ""}},
            "other": {"Aliases": None, "IPAMConfig": None}}
    c, image = member(host={"NetworkMode": "shop"}, nets=nets,
                      config={"MacAddress": "02:42:ac:11:00:99"})
    shop = {"Name": "shop", "Driver": "bridge", "Internal": True,
            "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.9.0.0/24",
                                                      "Gateway": "10.9.0.1"}]},
            "Options": {}, "Labels": {"com.docker.compose.network": "shop", "team": "a"}}
    d, _ = doc((c, image), networks={"shop": shop})
    svc = d["services"]["apache-cont"]
    assert svc["networks"] == {"shop": {"aliases": ["shop-alias"], "ipv4_address": "10.9.0.5"},
                               "other": None}
    assert svc["mac_address"] == "02:42:ac:11:00:99" and "network_mode" not in svc
    assert d["networks"]["shop"] == {"name": "shop", "driver": "bridge", "internal": True,
                                     "ipam": {"config": [{"subnet": "10.9.0.0/24",
                                                          "gateway": "10.9.0.1"}]},
                                     "labels": {"team": "a"}}
    assert d["networks"]["other"] == {"name": "other"}
    assert "external" not in str(d)


def test_host_options_are_kept():
    c, image = member(host={
        "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
        "LogConfig": {"Type": "syslog", "Config": {"tag": "x"}},
        "CapAdd": ["NET_ADMIN"], "CapDrop": ["MKNOD"], "Privileged": True,
        "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n",
                     "CgroupPermissions": "rwm"}],
        "Memory": 268435456, "NanoCpus": 1500000000, "PidsLimit": 100,
        "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048},
                    {"Name": "nproc", "Soft": 50, "Hard": 50}],
        "Sysctls": {"net.core.somaxconn": "1024"}, "Dns": ["192.0.2.53"],
        "DnsSearch": ["example.org"], "DnsOptions": ["ndots:2"], "ExtraHosts": ["h:10.0.0.1"],
        "Init": True, "SecurityOpt": ["no-new-privileges"], "ReadonlyRootfs": True,
        "ShmSize": 128 * 1024 * 1024, "GroupAdd": ["audio"]},
        config={"StopSignal": "SIGINT", "StopTimeout": 30, "Domainname": "example.org"})
    svc = doc((c, image))[0]["services"]["apache-cont"]
    assert svc["restart"] == "on-failure:3"
    assert svc["logging"] == {"driver": "syslog", "options": {"tag": "x"}}
    assert svc["cap_add"] == ["NET_ADMIN"] and svc["cap_drop"] == ["MKNOD"]
    assert svc["privileged"] is True and svc["devices"] == ["/dev/null:/dev/n"]
    assert svc["mem_limit"] == 268435456 and svc["cpus"] == 1.5 and svc["pids_limit"] == 100
    assert svc["ulimits"] == {"nofile": {"soft": 1024, "hard": 2048}, "nproc": 50}
    assert svc["sysctls"] == {"net.core.somaxconn": "1024"}
    assert svc["dns"] == ["192.0.2.53"] and svc["dns_search"] == ["example.org"]
    assert svc["dns_opt"] == ["ndots:2"] and svc["extra_hosts"] == ["h:10.0.0.1"]
    assert svc["init"] is True and svc["security_opt"] == ["no-new-privileges"]
    assert svc["read_only"] is True and svc["shm_size"] == 128 * 1024 * 1024
    assert svc["group_add"] == ["audio"] and svc["domainname"] == "example.org"
    assert svc["stop_signal"] == "SIGINT" and svc["stop_grace_period"] == "30s"


def test_healthcheck_given_at_run_time_and_not_the_images():
    hc = {"Test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], "Interval": 5 * 10**9,
          "Timeout": 2 * 10**9, "Retries": 3}
    svc = doc(member(config={"Healthcheck": hc}))[0]["services"]["apache-cont"]
    assert svc["healthcheck"] == {"test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
                                  "interval": "5s", "timeout": "2s", "retries": 3}
    same = doc(member(config={"Healthcheck": hc}, iconf={"Healthcheck": hc}))[0]
    assert "healthcheck" not in same["services"]["apache-cont"]
    off = doc(member(config={"Healthcheck": {"Test": ["NONE"]}}))[0]
    assert off["services"]["apache-cont"]["healthcheck"] == {"disable": True}


TRICKY = "it's \"quoted\"\nsecond line $(rm -rf /) `x` ${HOME} $$ end"


def test_dollars_are_escaped_and_tricky_values_round_trip():
    d, text = doc(member(config={"Env": [f"TRICKY={TRICKY}", "BARE"],
                                 "Cmd": ["sh", "-c", "echo $HOME"]}))
    svc = d["services"]["apache-cont"]
    assert svc["environment"]["TRICKY"] == TRICKY.replace("$", "$$")
    assert svc["environment"]["BARE"] is None
    assert svc["command"] == ["sh", "-c", "echo $$HOME"]
    # what compose makes of it (`$$` -> `$`) is the value the container had
    assert svc["environment"]["TRICKY"].replace("$$", "$") == TRICKY


def test_secrets_are_masked_unless_shown():
    c, image = member(config={"Env": ["DB_PASSWORD=hunter2", "URL=postgres://u:pw@h/db",
                                      "PLAIN=ok"]},
                      labels={"api.token": "t0k"})
    masked = doc((c, image))[0]["services"]["apache-cont"]
    assert masked["environment"] == {"DB_PASSWORD": "****", "URL": "postgres://u:****@h/db",
                                     "PLAIN": "ok"}
    assert masked["labels"] == {"api.token": "****"}
    shown = doc((c, image), mask=False)[0]["services"]["apache-cont"]
    assert shown["environment"]["DB_PASSWORD"] == "hunter2"
    assert shown["labels"] == {"api.token": "t0k"}


def test_the_record_output_is_unchanged_by_the_shared_helpers():
    from migrate.inspected import from_inspect
    from migrate.spec import render as render_argv
    c, image = member(config={"Healthcheck": {"Test": ["CMD", "true"], "Interval": 1500000000}},
                      host={"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2},
                            "Links": ["/db:/apache-cont/d"]})
    line = render_argv(from_inspect(c, image).run_argv())
    assert "--hostname apache-host" in line and "--restart on-failure:2" in line
    assert "--health-interval 1500ms" in line and "--link db:d" in line


def test_no_member_is_refused():
    from fleet.errors import UsageError
    with pytest.raises(UsageError):
        build([], {})


def test_a_projects_depends_on_label_comes_back_with_its_conditions():
    labels = {"com.docker.compose.project": "shop"}
    db = member("shop-db-1", labels={**labels, "com.docker.compose.service": "db"})
    cache = member("shop-cache-1", labels={**labels, "com.docker.compose.service": "cache"})
    web = member("shop-web-1", labels={
        **labels, "com.docker.compose.service": "web",
        "com.docker.compose.depends_on": "db:service_healthy:true,cache:service_started:false,"
                                         "gone:service_started:false"})
    svc = doc(db, cache, web)[0]["services"]["web"]
    assert svc["depends_on"] == {"db": {"condition": "service_healthy", "restart": True},
                                 "cache": {"condition": "service_started"}}
    plain = member("shop-web-1", labels={**labels, "com.docker.compose.service": "web",
                                         "com.docker.compose.depends_on":
                                             "db:service_started:false"})
    assert doc(db, plain)[0]["services"]["web"]["depends_on"] == ["db"]


def test_an_entrypoint_reset_is_sent_as_the_cli_sends_it():
    # `docker run --entrypoint ""` sends [""]: the image's entrypoint is reset
    svc = doc(member(config={"Entrypoint": [""], "Cmd": ["sleep", "9"]},
                     iconf={"Entrypoint": ["/init"]}))[0]["services"]["apache-cont"]
    assert svc["entrypoint"] == [""] and svc["command"] == ["sleep", "9"]
    svc = doc(member(config={"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hi"]}))[0]
    assert svc["services"]["apache-cont"]["entrypoint"] == ["/bin/sh", "-c"]
    assert svc["services"]["apache-cont"]["command"] == ["echo hi"]


def test_named_volumes_keep_their_driver_options_and_labels_but_compose_s():
    c, image = member(host={"Binds": ["nfsdata:/data"]})
    nfs = {"Name": "nfsdata", "Driver": "local",
           "Options": {"type": "nfs", "o": "addr=10.0.0.1,password=pw", "device": ":/x"},
           "Labels": {"com.docker.compose.volume": "nfsdata", "team": "a"}}
    d, text = doc((c, image), volumes={"nfsdata": nfs})
    assert d["volumes"]["nfsdata"] == {"name": "nfsdata",
                                       "driver_opts": {"device": ":/x",
                                                       "o": "addr=10.0.0.1,password=****",
                                                       "type": "nfs"},
                                       "labels": {"team": "a"}}
    assert text.startswith("# secrets are shown as ****")


def test_a_file_without_secrets_has_no_masking_comment():
    assert not doc(member())[1].startswith("#")


def test_the_named_volumes_to_inspect_are_the_ones_given_by_name():
    from migrate.compose_file import named_volumes
    c, _ = member(host={"Binds": ["data:/data:ro", "/srv/x:/x", "/anon"],
                        "Mounts": [{"Type": "volume", "Source": "m", "Target": "/m"},
                                   {"Type": "volume", "Target": "/a"},
                                   {"Type": "bind", "Source": "/b", "Target": "/b"}]})
    assert named_volumes(c) == ["data", "m"]
