"""The migration plan over recorded facts (`docker inspect` of containers and
images on the lab's Docker 20.10, tests/unit/data/inspect), the way
test_provision_plan.py tests provisioning: which steps, in which order, and
which problems, for every mode x cut-over x storage driver and the cases a
host can present (name taken, --replace, --rm, volumes, ports, tools), all
without a lab."""
import copy
import dataclasses
import json
from pathlib import Path

import pytest

from fleet.errors import UsageError
from migrate.facts import Facts, HostFacts, TargetVolume
from migrate.options import Options, check, cutover
from migrate.plan import Plan, Refused, plan

INSPECT = Path(__file__).parent / "data" / "inspect"
GIB = 1 << 30
RUN = "20261130120000"


def recorded(name):
    d = json.loads((INSPECT / f"{name}.json").read_text())
    return d["container"], d["image"]


def host(name, driver="overlay2", tar=True, tools=("gzip", "zstd"), problem=""):
    return HostFacts(name, {"ServerVersion": "20.10.24", "Driver": driver,
                            "DockerRootDir": "/var/lib/docker"}, tar, frozenset(tools), problem)


def facts(name="apache-cont", *, running=True, autoremove=False, target_driver="overlay2",
          **over) -> Facts:
    c, image = recorded(name)
    c = copy.deepcopy(c)
    c["State"]["Running"] = running
    c["HostConfig"]["AutoRemove"] = autoremove
    vols = {m["Name"]: {"Name": m["Name"], "Driver": "local", "Mountpoint": m["Source"],
                        "Options": None, "Labels": None}
            for m in c.get("Mounts") or [] if m["Type"] == "volume"}
    base = dict(source=host("old"), target=host("new", driver=target_driver), container=c,
                image=image, volumes=vols, bind_kinds={},
                sizes={v["Mountpoint"]: 4096 for v in vols.values()},
                networks={n: {"Name": n, "Driver": "bridge"} for n in
                          ([c["HostConfig"]["NetworkMode"]]
                           if c["HostConfig"]["NetworkMode"] not in ("default", "bridge") else [])},
                source_filters=True, existing=None, taken_ports=frozenset({("tcp", 22)}),
                target_volumes={}, target_paths_with_data=frozenset(),
                target_networks=frozenset(), target_has_image=False,
                target_chains=frozenset(), free_bytes=10 * GIB, target_name=name)
    base.update(over)
    return Facts(**base)


def decide(f: Facts, **opts) -> Plan | Refused:
    return plan(Options(**opts), f, RUN, {"FROM_HERE": "v"})


def titles(p: Plan) -> list[str]:
    return [s.title for s in p.steps]


def refused(f: Facts, **opts) -> list[str]:
    r = decide(f, **opts)
    assert isinstance(r, Refused), titles(r)
    return list(r.problems)


# --- the shape of each cut-over ---------------------------------------------

def test_live_commit_on_overlay2_copies_the_containers_layer_like_a_volume():
    p = decide(facts())
    assert titles(p) == [
        "record", "image (source running)", "data (source running)", "networks", "container",
        "container layer (source running)", "stop", "data (changes since)",
        "container layer (changes since)", "start", "verify", "finish"]
    assert p.layer is not None and p.layer.source_path.endswith("/diff")
    assert p.live and p.stops and not p.frozen
    assert p.final == f"dockmove/apache-cont:{RUN}"
    # undo is said for every step that changes the target
    assert all(s.undo for s in p.steps if s.action in ("base_image", "create", "stop"))
    assert [s.live for s in p.steps if s.action == "layer"] == [True, False]


def test_live_commit_to_another_storage_driver_commits_after_the_stop():
    p = decide(facts(target_driver="vfs"))
    assert p.layer is None
    t = titles(p)
    assert t.index("stop") < t.index("image (changes since)") < t.index("container") \
        < t.index("start")
    assert "container layer (source running)" not in t


def test_offline_stops_first_and_copies_once():
    p = decide(facts(), cutover="offline")
    assert titles(p) == ["record", "stop", "networks", "image", "data", "container", "start",
                         "verify", "finish"]
    assert p.layer is None and p.stops and not p.live


def test_no_stop_with_data_freezes_the_source_for_the_last_pass_only():
    p = decide(facts("f-combo"), cutover="none")
    t = titles(p)
    assert t.index("data (source running)") < t.index("freeze") < t.index("snapshot") \
        < t.index("data (changes since)") < t.index("unpause") < t.index("image")
    assert "stop" not in t and not p.stops and p.frozen
    assert p.steps[-1].what.endswith("left running")


def test_no_stop_without_data_copies_once_and_never_pauses():
    p = decide(facts(), cutover="none")
    assert "freeze" not in titles(p) and "stop" not in titles(p) and not p.frozen


@pytest.mark.parametrize("mode", ["commit", "image", "export"])
@pytest.mark.parametrize("cut", ["live", "offline", "none"])
@pytest.mark.parametrize("driver", ["overlay2", "vfs"])
def test_every_mode_cutover_and_driver_ends_with_create_start_verify_finish(mode, cut, driver):
    p = decide(facts("f-combo", target_driver=driver), mode=mode, cutover=cut)
    t = titles(p)
    assert t[0] == "record" and t[-3:] == ["start", "verify", "finish"]
    assert t.count("stop") == (1 if cut != "none" else 0)
    # one way the image arrives: a base image plus the layer, or one image step
    images = [s for s in p.steps if s.action in ("image", "send_snapshot", "base_image")]
    assert images
    if p.layer:
        assert mode == "commit" and cut == "live" and driver == "overlay2"
        assert [s.action for s in images] == ["base_image"]
    if mode == "export":
        assert "base_image" not in [s.action for s in p.steps]
    # the container is created before the start, once
    assert [s.action for s in p.steps].count("create") == 1


def test_an_image_the_target_has_is_not_sent_again():
    (step,) = [s for s in decide(facts(target_has_image=True)).steps if s.action == "base_image"]
    assert step.what == "new has apache-cont's image already: nothing to send"
    (step,) = [s for s in decide(facts()).steps if s.action == "base_image"]
    assert step.what.startswith("send the layers of apache-cont's image that new lacks")


def test_a_source_that_is_not_running_is_not_stopped():
    p = decide(facts(running=False))
    assert "stop" not in titles(p) and not p.stops and p.layer is None
    assert p.steps[-1].what.endswith("apache-cont kept as it is (it was not running)")


def test_a_rm_source_is_paused_not_stopped():
    p = decide(facts(autoremove=True))
    assert "pause" in titles(p) and "stop" not in titles(p)
    (pause,) = [s for s in p.steps if s.action == "pause"]
    assert "a stop would delete it and its anonymous volumes" in pause.what
    assert pause.undo.startswith("unpause")


# --- problems: all of them at once, each with what to do ----------------------

def test_a_taken_name_is_refused_with_the_way_out():
    f = facts(existing={"Name": "/apache-cont", "State": {"Running": True}, "HostConfig": {}})
    assert any("a container named 'apache-cont' exists; pass --name NEW, or --replace" in x
               for x in refused(f))


def test_replace_frees_the_existing_containers_ports_and_name():
    existing = {"Name": "/apache-cont", "State": {"Running": True},
                "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "9080"}]}}}
    f = facts(existing=existing, taken_ports=frozenset({("tcp", 9080)}))
    assert any("port 9080/tcp is taken" in x for x in refused(f, name=None, replace=False))
    p = decide(f, replace=True)
    assert isinstance(p, Plan)


def test_replace_refuses_an_existing_rm_container():
    f = facts(existing={"Name": "/apache-cont", "State": {"Running": True},
                        "HostConfig": {"AutoRemove": True}})
    assert any("runs with --rm: --replace would stop it" in x for x in refused(f, replace=True))


def test_a_taken_port_names_the_option_that_moves_it():
    f = facts(taken_ports=frozenset({("tcp", 9080)}))
    assert refused(f) == ["new: port 9080/tcp is taken; pass --publish NEW:CONTAINER to use "
                          "another host port"]
    assert isinstance(decide(f, publish=("9180:80",)), Plan)


def test_a_volume_that_holds_data_on_the_target_needs_replace():
    f = facts("f-combo", target_volumes={"f-combo": TargetVolume("f-combo", "/t/f-combo",
                                                                  (), True)})
    assert refused(f) == ["new: volume f-combo exists and holds data; pass --replace to "
                          "overwrite it with the source's data"]
    p = decide(f, replace=True)
    assert p.target_paths["f-combo"] == "/t/f-combo" and "f-combo" in p.existing_volumes


def test_a_volume_used_by_another_container_there_is_refused_even_with_replace():
    f = facts("f-combo", target_volumes={"f-combo": TargetVolume("f-combo", "/t/x",
                                                                  ("other",), False)})
    assert any("volume f-combo is used by other there" in x for x in refused(f, replace=True))


def test_replace_stops_the_container_that_uses_a_volume_the_copy_overwrites():
    existing = {"Name": "/f-combo", "State": {"Running": True}, "HostConfig": {}}
    f = facts("f-combo", existing=existing,
              target_volumes={"f-combo": TargetVolume("f-combo", "/t/x", ("f-combo",), True)},
              taken_ports=frozenset())
    p = decide(f, replace=True)
    assert p.replaced_uses == ("f-combo",)
    assert titles(p)[1] == "replace"


def test_every_problem_is_listed_at_once():
    f = facts("f-combo", target=host("new", tar=False, tools=()),
              taken_ports=frozenset({("tcp", 18090)}), free_bytes=1,
              existing={"Name": "/f-combo", "State": {}, "HostConfig": {}})
    problems = refused(f, compress="zstd")
    assert len(problems) >= 5
    assert any("a container named" in x for x in problems)
    assert any("needs GNU tar there" in x for x in problems)
    assert any("MiB free in /var/lib/docker" in x for x in problems)
    assert any("--compress zstd needs zstd there" in x for x in problems)
    assert any("port 18090/tcp is taken" in x for x in problems)


def test_a_host_that_cannot_stream_as_root_is_a_problem():
    f = facts(source=host("old", problem="old: streaming images needs root or passwordless sudo"))
    assert refused(f) == ["old: streaming images needs root or passwordless sudo"]


def test_overrides_change_the_spec_not_the_facts():
    f = facts()
    p = decide(f, name="web2", publish=("9180:80",), env=("LEVEL=debug", "FROM_HERE"))
    assert p.spec.name == "web2" and p.final == f"dockmove/web2:{RUN}"
    assert [(x.port, x.inner) for x in p.spec.published()] == [(9180, "80/tcp")]
    assert ("LEVEL", "debug") in p.spec.env and ("FROM_HERE", "v") in p.spec.env
    assert f.container["Name"] == "/apache-cont"     # the facts are untouched


def test_a_missing_network_is_created_and_undone():
    p = decide(facts("f-net"))
    assert p.missing_networks == ("f-net",)
    (net,) = [s for s in p.steps if s.action == "networks"]
    assert net.what == "create networks: f-net" and net.undo
    p = decide(facts("f-net", target_networks=frozenset({"f-net"})))
    assert p.missing_networks == () and [s.what for s in p.steps
                                         if s.action == "networks"] == ["no network to create"]


def test_facts_are_frozen():
    f = facts()
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.existing = {}
    with pytest.raises(TypeError):
        f.container["Name"] = "x"


# --- options ----------------------------------------------------------------

@pytest.mark.parametrize("opts, words", [
    (Options(mode="copy"), "--mode 'copy': expected one of commit, image, export"),
    (Options(compress="xz"), "--compress 'xz': expected none, gzip or zstd"),
    (Options(remove_source=True, cutover="none"), "--remove-source and --no-stop contradict"),
    (Options(json_report=Path("/no/such/dir/r.json")), "its folder does not exist"),
])
def test_option_checks_are_usage_errors(opts, words):
    with pytest.raises(UsageError, match=words):
        check(opts)


def test_cutover_from_the_flags():
    assert cutover(True, False) == "live" and cutover(True, True) == "offline"
    assert cutover(False, False) == "none"
    with pytest.raises(UsageError, match="--offline and --no-stop contradict"):
        cutover(False, True)


# --- volume cases -------------------------------------------------------------

def _with_bind(f: Facts, **over) -> Facts:
    c = copy.deepcopy(dict(f.container))
    c["Mounts"] = list(c.get("Mounts") or []) + [
        {"Type": "bind", "Source": "/srv/site", "Destination": "/site", "RW": True}]
    c["HostConfig"] = dict(c["HostConfig"], Binds=["/srv/site:/site"])
    return dataclasses.replace(f, container=c, **over)


def test_a_bind_mount_is_named_not_copied_unless_asked():
    p = decide(_with_bind(facts()))
    assert any("bind mount /srv/site -> /site is not copied (--copy-binds copies it)" in w
               for w in p.warnings)
    assert p.data.copies == ()
    p = decide(_with_bind(facts(), bind_kinds={"/srv/site": "dir"}), copy_binds=True)
    assert [c.label for c in p.data.copies] == ["bind /srv/site"]
    assert p.target_paths["/srv/site"] == "/srv/site"


def test_a_copied_bind_path_that_holds_data_on_the_target_needs_replace():
    f = _with_bind(facts(), bind_kinds={"/srv/site": "dir"},
                   target_paths_with_data=frozenset({"/srv/site"}))
    assert refused(f, copy_binds=True) == [
        "new: /srv/site exists and is not empty; pass --replace to overwrite it with the "
        "source's (--copy-binds)"]
    assert isinstance(decide(f, copy_binds=True, replace=True), Plan)


def test_empty_volumes_creates_them_without_their_data():
    p = decide(facts("f-mount"), empty_volumes=True)
    assert p.data.copies == () and [c.name for c in p.data.empty] == ["f-mount"]
    assert [s.what for s in p.steps if s.action == "data"] == [
        "copy its data while it runs: none; created empty (--empty-volumes): volume f-mount",
        "copy what changed in its data since: none; created empty (--empty-volumes): "
        "volume f-mount"]


def test_a_volume_on_another_driver_is_refused_with_the_way_out():
    f = facts("f-mount")
    vols = {k: dict(v, Driver="nfs-driver") for k, v in f.volumes.items()}
    (problem,) = refused(dataclasses.replace(f, volumes=vols))
    assert "uses driver nfs-driver" in problem and "pass --empty-volumes" in problem
