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


def host(name, driver="overlay2", tar=True, tools=("gzip", "zstd"), problem="", python=False):
    return HostFacts(name, {"ServerVersion": "20.10.24", "Driver": driver,
                            "DockerRootDir": "/var/lib/docker"}, tar, frozenset(tools), problem,
                     python)


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
    # the target container runs the source's reference, tagged on the original image
    assert p.image == p.spec.image == p.tag == "apache-test" and not p.commit
    assert "create apache-cont on new from apache-test (not started)" in [s.what for s in p.steps]
    # undo is said for every step that changes the target
    assert all(s.undo for s in p.steps if s.action in ("base_image", "create", "stop"))
    assert [s.live for s in p.steps if s.action == "layer"] == [True, False]


def test_no_commit_for_a_container_that_does_not_run_and_changed_nothing():
    idle = facts(target_driver="vfs", running=False, unchanged=True)
    p = decide(idle)
    assert not p.commit and p.image == "apache-test" and "commit" not in " ".join(titles(p))
    assert ("apache-cont does not run and has no changes of its own (docker diff is empty): "
            "its image goes as it is, no commit") in p.warnings
    assert decide(idle, commit=True).commit                        # asked for: a commit
    assert decide(facts(target_driver="vfs", running=False)).commit   # it changed something


def test_live_commit_to_another_storage_driver_commits_after_the_stop():
    p = decide(facts(target_driver="vfs"))
    assert p.layer is None and p.commit
    t = titles(p)
    assert t.index("image (source running)") < t.index("stop") \
        < t.index("commit (changes since)") < t.index("container") < t.index("start")
    assert "container layer (source running)" not in t
    # it runs the commit; the original name stays on the original image, and the output says so
    assert p.image == p.final == f"dockmove/apache-cont:{RUN}" and p.tag == "apache-test"
    assert ("apache-cont's changes come as a commit (old keeps containers in overlay2, new in "
            f"vfs: its layer cannot be copied): it runs on new as dockmove/apache-cont:{RUN}, "
            "and apache-test names its original image there") in p.warnings
    assert p.steps[-1].what.startswith("remove temporary tags; ")
    p = decide(facts(), commit=True)                  # asked for
    assert p.commit and p.layer is None and p.image == p.final
    assert any("changes come as a commit (asked with --commit)" in w for w in p.warnings)


def test_with_python_on_both_hosts_the_target_sums_blocks_before_the_stop():
    both = dict(source=host("old", python=True), target=host("new", python=True))
    p = decide(facts(**both))
    t = titles(p)
    assert t.index("container layer (source running)") < t.index("data (block sums)") \
        < t.index("stop") < t.index("data (changes since)")
    step = next(s for s in p.steps if s.action == "blocks")
    assert step.live and step.what == (
        "sum on new the blocks of the files of 4.0 MiB or more that changed during the first "
        "pass: after the stop only their changed blocks are sent")
    assert not any("Python" in w for w in p.warnings)
    assert "after the freeze only" in next(s.what for s in decide(facts(**both), cutover="none")
                                           .steps if s.action == "blocks")
    # one copy at all: nothing before a stop to sum
    assert "data (block sums)" not in titles(decide(facts(**both), cutover="offline"))


def test_without_python_on_a_host_the_plan_says_the_final_pass_sends_whole_files():
    p = decide(facts(source=host("old", python=True)))
    assert "data (block sums)" not in titles(p)
    assert ("new has no Python 3.8+: a large file that changes while the first pass runs (a "
            "database's) is sent whole again after the stop, not only its changed blocks; "
            "install python3 there for a shorter downtime") in p.warnings
    assert any(w.startswith("old and new have no Python 3.8+") for w in decide(facts()).warnings)
    assert not any("Python" in w for w in decide(facts(), cutover="offline").warnings)


def test_offline_stops_first_and_copies_the_layer_once():
    p = decide(facts(), cutover="offline")
    assert titles(p) == ["record", "stop", "image", "networks", "data", "container",
                         "container layer", "start", "verify", "finish"]
    assert p.layer is not None and p.stops and not p.live and p.image == "apache-test"
    assert not any(s.live for s in p.steps)
    p = decide(facts(target_driver="vfs"), cutover="offline")
    assert titles(p) == ["record", "stop", "image", "networks", "commit", "data", "container",
                         "start", "verify", "finish"]


def test_no_stop_with_data_freezes_the_source_for_the_last_pass_only():
    p = decide(facts("f-combo"), cutover="none")
    t = titles(p)
    assert t.index("data (source running)") < t.index("container layer (source running)") \
        < t.index("freeze") < t.index("data (changes since)") \
        < t.index("container layer (changes since)") < t.index("unpause") < t.index("start")
    assert "stop" not in t and not p.stops and p.frozen
    assert p.steps[-1].what.endswith("left running")
    t = titles(decide(facts("f-combo", target_driver="vfs"), cutover="none"))
    assert t.index("freeze") < t.index("snapshot") < t.index("data (changes since)") \
        < t.index("unpause") < t.index("image")


def test_no_stop_freezes_for_the_layer_and_without_data_or_layer_never_pauses():
    p = decide(facts(), cutover="none")
    assert "freeze" in titles(p) and p.frozen and "stop" not in titles(p)
    p = decide(facts(), cutover="none", mode="image")
    assert "freeze" not in titles(p) and not p.frozen and p.layer is None


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
        assert mode == "commit" and driver == "overlay2"
        assert [s.action for s in images] == ["base_image"]
    if mode == "export":
        assert "base_image" not in [s.action for s in p.steps]
        assert p.image == p.final and p.tag == ""
    else:
        assert p.tag == "apache-test" and [s.action for s in images][0] == "base_image"
        assert p.image == (p.final if p.commit else "apache-test")
        assert p.commit == (mode == "commit" and driver != "overlay2")
    # the container is created before the start, once
    assert [s.action for s in p.steps].count("create") == 1


def test_an_image_the_target_has_is_not_sent_again():
    (step,) = [s for s in decide(facts(target_has_image=True)).steps if s.action == "base_image"]
    assert step.what == "new has apache-cont's image already: nothing to send; tag it " \
                        "apache-test there"
    (step,) = [s for s in decide(facts()).steps if s.action == "base_image"]
    assert step.what.startswith("send the layers of apache-cont's image that new lacks")


def test_a_source_that_is_not_running_is_not_stopped():
    p = decide(facts(running=False))
    assert "stop" not in titles(p) and not p.stops and not p.frozen
    assert "container layer" in titles(p)       # copied once: it does not change
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


def test_what_a_run_removes_or_overwrites_is_named_for_the_question_before_it():
    existing = {"Name": "/f-combo", "State": {"Running": True}, "HostConfig": {}}
    f = facts("f-combo", existing=existing,
              target_volumes={"f-combo": TargetVolume("f-combo", "/t/x", ("f-combo",), True)})
    p = decide(f, replace=True, remove_source=True)
    assert p.overwrites == (
        "the container f-combo on old: removed once new passed verification (--remove-source)",
        f"the container f-combo on new: stopped and renamed f-combo.replaced-{RUN} (--replace)",
        "volume f-combo on new: the data it holds (--replace)")
    # an empty volume there, no container of the name: --replace overwrites nothing
    empty = facts("f-combo", target_volumes={"f-combo": TargetVolume("f-combo", "/t/x", (), False)})
    assert decide(empty, replace=True).overwrites == ()
    assert decide(facts()).overwrites == ()
    assert decide(facts(autoremove=True)).overwrites == (
        "the container apache-cont on old: it runs with --rm, so it is removed once new "
        "passed verification (no rollback then)",)
    assert decide(facts(autoremove=True), cutover="none").overwrites == ()  # --no-stop


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
    assert p.spec.name == "web2" and p.final == f"dockmove/web2:{RUN}" and p.image == "apache-test"
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
    (Options(mode="image", commit=True), "--commit goes with --mode commit, not --mode image"),
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


# --- fidelity: the image name, dependencies, export -----------------------------

def _with(f: Facts, config=None, host=None, **over) -> Facts:
    c = copy.deepcopy(dict(f.container))
    c["Config"] = dict(c["Config"], **(config or {}))
    c["HostConfig"] = dict(c["HostConfig"], **(host or {}))
    return dataclasses.replace(f, container=c, **over)


def test_a_tag_that_names_another_image_on_the_target_is_refused_unless_replace():
    f = facts(target_ref_id="sha256:" + "ab" * 32)
    assert refused(f) == ["new: the tag apache-test names another image there (abababababab); "
                          "pass --replace to point it at apache-cont's image (the other image "
                          "stays, by its id), or remove or retag it there"]
    p = decide(f, replace=True)
    assert p.tag == "apache-test" and p.tag_was == "sha256:" + "ab" * 32
    same = decide(facts(target_ref_id=facts().container["Image"]))
    assert same.tag == "apache-test" and same.tag_was is None


@pytest.mark.parametrize("short", [True, False])
def test_an_image_named_by_its_id_stays_named_so_and_is_not_tagged(short):
    f = facts()
    ref = f.container["Image"][7:19] if short else f.container["Image"]
    p = decide(_with(f, config={"Image": ref}))
    assert p.tag == "" and p.image == ref and p.spec.image == ref


def test_an_image_named_by_digest_runs_by_its_id_and_says_so():
    f = facts()
    p = decide(_with(f, config={"Image": "web@sha256:" + "cd" * 32}))
    assert p.tag == "" and p.image == f.container["Image"]
    assert any("named by digest" in w for w in p.warnings)


def test_each_dependency_is_named_and_a_missing_one_refused_before_anything_is_sent():
    from migrate.facts import Dependency
    f = facts(dependencies=(Dependency("db", ("--link",), True),
                            Dependency("data", ("--volumes-from", "--network container:"), False)))
    assert refused(f) == ["new: apache-cont depends on the container data (--volumes-from, "
                          "--network container:), which new does not have: move it first "
                          "(inv migrate data --to new)"]
    f = dataclasses.replace(f, dependencies=f.dependencies[:1])
    assert decide(f).preflight.endswith("; depends on: db (new has it))")


def test_a_namespace_shared_by_id_is_rendered_by_name():
    from migrate.facts import Dependency
    f = _with(facts(), host={"NetworkMode": "container:" + "7a" * 32,
                             "IpcMode": "container:" + "7a" * 32},
              dependencies=(Dependency("db", ("--network container:", "--ipc container:"), True,
                                       "7a" * 32),))
    argv = decide(f).spec.create_argv([])
    assert argv[argv.index("--network") + 1] == "container:db"
    assert argv[argv.index("--ipc") + 1] == "container:db"


def test_export_gives_the_stop_signal_and_healthcheck_at_create_and_checks_its_changes():
    f = facts()
    image = copy.deepcopy(dict(f.image))
    image["Config"]["StopSignal"] = "SIGQUIT"
    image["Config"]["Healthcheck"] = {"Test": ["CMD-SHELL", "true"], "Interval": 5000000000}
    c = copy.deepcopy(dict(f.container))
    c["Config"]["StopSignal"] = "SIGQUIT"
    c["Config"]["Healthcheck"] = image["Config"]["Healthcheck"]
    f = dataclasses.replace(f, image=image, container=c)
    assert "--stop-signal" not in decide(f).spec.options          # the image has it
    p = decide(f, mode="export")
    opts = list(p.spec.options)
    assert opts[opts.index("--stop-signal") + 1] == "SIGQUIT"
    assert opts[opts.index("--health-cmd") + 1] == "true"
    assert p.image == p.final


def test_import_changes_hold_only_what_import_takes():
    from migrate.overrides import change_problems, import_changes
    changes = import_changes({"Config": {"StopSignal": "SIGQUIT", "Cmd": ["x"], "Env": ["A=1"],
                                         "Healthcheck": {"Test": ["NONE"]}}})
    assert [c.split()[0] for c in changes] == ["ENV", "CMD"]
    assert change_problems(changes) == []
    assert change_problems(["STOPSIGNAL SIGQUIT"]) == [
        "docker import cannot take --change STOPSIGNAL (it takes only CMD, ENTRYPOINT, ENV, "
        "EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR); use --mode commit or image"]


def test_volumes_from_another_container_move_with_it_not_with_this_one():
    """--volumes-from data: data's volume is among this container's mounts;
    on a target where data was moved first it is used by data there. It is
    neither copied again nor refused as another's: it comes with data."""
    from migrate.facts import Dependency
    f = facts("f-combo")
    c = copy.deepcopy(dict(f.container))
    c["Mounts"] = list(c["Mounts"]) + [{"Type": "volume", "Name": "shared",
                                        "Source": "/v/shared/_data", "Destination": "/shared",
                                        "Driver": "local", "RW": True}]
    c["HostConfig"] = dict(c["HostConfig"], VolumesFrom=["data"])
    vols = dict(f.volumes, shared={"Name": "shared", "Driver": "local",
                                   "Mountpoint": "/v/shared/_data"})
    f = dataclasses.replace(
        f, container=c, volumes=vols,
        target_volumes={"shared": TargetVolume("shared", "/t/shared", ("data",), True)},
        dependencies=(Dependency("data", ("--volumes-from",), True, "", ("/shared",)),))
    p = decide(f)
    assert isinstance(p, Plan), p
    assert [x.name for x in p.data.copies] == ["f-combo"]
    assert "--volumes-from" in p.spec.run_argv() and "shared:/shared" not in " ".join(
        p.spec.run_argv())
    # without the dependency's word for it, the same mount is this one's own
    f = dataclasses.replace(f, dependencies=(Dependency("data", ("--volumes-from",), True),))
    assert any("volume shared is used by data there" in x for x in refused(f))


@pytest.mark.parametrize("mode", ["host", "container:db"])
def test_publish_for_a_container_without_a_network_of_its_own_is_refused(mode):
    f = _with(facts(), host={"NetworkMode": mode, "PortBindings": {}})
    problems = refused(f, publish=("9180:80",))
    assert any(f"--publish: apache-cont has no network of its own (--network {mode})" in x
               for x in problems), problems


def test_a_yes_holds_only_for_the_plans_it_was_given():
    from fleet.errors import PreflightError
    from migrate.execute import same_as_asked
    existing = {"Name": "/apache-cont", "State": {"Running": True}, "HostConfig": {}}
    asked = decide(facts(existing=existing), replace=True)
    same_as_asked([asked, asked], [decide(facts(existing=existing), replace=True)] * 2)
    with pytest.raises(PreflightError) as e:                 # the one to replace went away
        same_as_asked([asked], [decide(facts(), replace=True)])
    assert str(e.value) == ("the hosts changed while the question waited; nothing was changed, "
                            "run it again:\n- it would now remove or overwrite: nothing")
    with pytest.raises(PreflightError) as e:                 # a member of a group now refused
        same_as_asked([asked], decide(facts(taken_ports=frozenset({("tcp", 9080)}))))
    assert "\n- new: port 9080/tcp is taken" in str(e.value)
