"""Several containers planned together (migrate/group.py) over recorded facts:
their order, what each plan takes from the ones before it, and where the
group's one cut-over cuts each plan."""
import copy
import dataclasses

from migrate.facts import Dependency
from migrate.group import order, needs, phases, plan_group
from migrate.options import Options
from migrate.plan import Refused

from test_migrate_plan import RUN, facts


def member(name, *, links=(), labels=None, volumes=(), network=None, port=None, deps=()):
    """apache-cont's recorded facts, as another container."""
    f = facts()
    c = copy.deepcopy(dict(f.container))
    c["Name"] = "/" + name
    c["Config"]["Labels"] = dict(labels or {})
    c["HostConfig"]["Links"] = [f"/{d}:/{name}/{d}" for d in links] or None
    c["HostConfig"]["PortBindings"] = (
        {"80/tcp": [{"HostIp": "", "HostPort": str(port)}]} if port else {})
    c["HostConfig"]["Binds"] = [f"{v}:/{v}" for v in volumes] or None
    c["Mounts"] = [{"Type": "volume", "Name": v, "Source": f"/var/lib/docker/volumes/{v}/_data",
                    "Destination": f"/{v}", "Driver": "local", "RW": True} for v in volumes]
    vols = {v: {"Name": v, "Driver": "local", "Mountpoint": f"/var/lib/docker/volumes/{v}/_data",
                "Options": None, "Labels": None} for v in volumes}
    nets = {}
    if network:
        c["HostConfig"]["NetworkMode"] = network
        c["NetworkSettings"]["Networks"] = {network: {}}
        nets = {network: {"Name": network, "Driver": "bridge"}}
    return dataclasses.replace(
        f, container=c, volumes=vols, networks=nets, target_name=name,
        sizes={v["Mountpoint"]: 4096 for v in vols.values()},
        dependencies=tuple(Dependency(d, ("--link",), False) for d in (*links, *deps)))


def group(*members, given=None, **opts):
    by_name = {m.name: m for m in members}
    return plan_group(Options(**opts), by_name, given or list(by_name), RUN, {})


def test_a_container_starts_after_what_it_links_to_whatever_the_order_given():
    g = group(member("web", links=["db"]), member("db"), member("cache"))
    assert g.order == ("db", "web", "cache")
    assert g.needs == {"web": ("db",), "db": (), "cache": ()}


def test_compose_depends_on_orders_by_service_within_the_project():
    labels = {"com.docker.compose.project": "shop"}
    web = member("shop-web-1", labels={**labels, "com.docker.compose.service": "web",
                                       "com.docker.compose.depends_on":
                                           "db:service_started:false,redis:service_healthy:true"})
    db = member("shop-db-1", labels={**labels, "com.docker.compose.service": "db"})
    other = member("else-db-1", labels={"com.docker.compose.project": "else",
                                        "com.docker.compose.service": "redis"})
    assert needs({f.name: f for f in (web, db, other)})["shop-web-1"] == ("shop-db-1",)
    assert group(web, db, other).order == ("shop-db-1", "shop-web-1", "else-db-1")


def test_containers_that_need_each_other_are_refused_with_the_cycle():
    assert order(["a", "b"], {"a": ["b"], "b": ["a"]}) == (
        "these containers need each other, so none can start first: a needs b, b needs a; "
        "move them separately, or undo the dependency")
    r = group(member("a", links=["b"]), member("b", links=["a"]))
    assert isinstance(r, Refused) and "a needs b, b needs a" in r.problems[0]


def test_a_dependency_in_the_group_is_not_missing_one_outside_is_named():
    g = group(member("web", links=["db"]), member("db"))
    assert not isinstance(g, Refused)
    r = group(member("web", links=["db", "mail"]), member("db"))
    assert isinstance(r, Refused)
    assert r.problems == ("web: new: web depends on the container mail (--link), which new "
                          "does not have: move it first (inv migrate mail --to new)",)


def test_a_network_is_created_once_and_a_shared_volume_copied_once():
    g = group(member("web", links=["db"], network="shop", volumes=["shared", "webdata"]),
              member("db", network="shop", volumes=["shared"]))
    db, web = g.plans
    assert db.missing_networks == ("shop",) and web.missing_networks == ()
    assert [c.name for c in db.data.copies] == ["shared"]
    assert [c.name for c in web.data.copies] == ["webdata"]
    assert "--volume shared:/shared" in web.run_line()        # mounted all the same


def test_two_members_that_publish_the_same_port_are_refused():
    r = group(member("a", port=9080), member("b", port=9080))
    assert isinstance(r, Refused)
    assert r.problems == ("b and a both publish port 9080/tcp on every address of the target: "
                          "only one can have it (--publish with one of them alone)",)


def test_each_plan_is_cut_where_the_group_cut_over_interleaves_it():
    g = group(member("web", links=["db"]), member("db"))
    cut = phases(g.plans[0].steps)
    assert [s.title for s in cut.before] == [
        "record", "image (source running)", "data (source running)", "networks", "container",
        "container layer (source running)"]
    assert [s.action for s in cut.stop] == ["stop"]
    assert [s.title for s in cut.after] == ["data (changes since)",
                                            "container layer (changes since)", "start"]
    assert [s.action for s in cut.verify + cut.finish] == ["verify", "finish"]
    offline = phases(group(member("a"), member("b"), cutover="offline").plans[0].steps)
    assert [s.action for s in offline.before] == ["record"]
    assert [s.action for s in offline.after][-3:] == ["create", "layer", "start"]


def _stopped(f):
    return dataclasses.replace(f, container={**f.container, "State": {
        **f.container["State"], "Running": False, "Status": "exited"}})


def test_a_stopped_member_is_copied_around_the_stops_and_left_stopped():
    """A data container the running web takes its volume from: its data
    gets a first pass while web runs and what web changed since after web
    stopped; nothing of its own to stop, nothing to start."""
    web = member("web", deps=["data"])
    web = dataclasses.replace(web, dependencies=(
        Dependency("data", ("--volumes-from",), False, lends=("/shared",)),))
    g = group(web, _stopped(member("data", volumes=["shared"])))
    assert g.order == ("data", "web")
    data, web_plan = g.plans
    assert [c.name for c in data.data.copies] == ["shared"]
    assert web_plan.data.copies == ()           # borrowed from data, as it mounts it
    cut = phases(data.steps)
    assert [s.title for s in cut.before] == [
        "record", "image (first pass)", "data (first pass)", "networks", "container",
        "container layer (first pass)"]
    assert [(s.action, s.what) for s in cut.stop] == [
        ("stay", "nothing to stop: data is not running on old")]
    assert [s.title for s in cut.after] == ["data (changes since)",
                                            "container layer (changes since)"]
    assert [s.what for s in cut.verify] == [
        "check that data is on new, created and not started, as data is on old"]
    assert cut.finish[0].what == "finish: data kept as it is (it was not running)"[8:]
    offline = phases(group(web, _stopped(member("data", volumes=["shared"])),
                           cutover="offline").plans[0].steps)
    assert [s.action for s in offline.before] == ["record"]
    assert [s.action for s in offline.stop] == ["stay"]
    assert [s.action for s in offline.after][-2:] == ["create", "layer"]


def test_a_stopped_container_moved_alone_is_started_there_as_before():
    from migrate.plan import plan
    alone = plan(Options(), _stopped(member("data")), RUN, {})
    assert [s.action for s in alone.steps][-3:] == ["start", "verify", "finish"]
    assert "stay" not in [s.action for s in alone.steps]


def test_the_group_needs_its_images_and_volumes_once_on_the_target_disk():
    size = int(member("a").image["Size"])
    free = 3 * size                 # each alone needs 2x its image; the two 4x; shared, 2x
    a, b = (dataclasses.replace(member(n), free_bytes=free) for n in ("a", "b"))
    assert not isinstance(group(a, b), Refused)         # one image, shared
    other = dataclasses.replace(b, container={**b.container, "Image": "sha256:" + "b" * 64})
    r = group(a, other)
    assert isinstance(r, Refused)
    assert r.problems[0].startswith(f"new: {free >> 20} MiB free for the group, whose images and "
                                    f"volumes need about {(4 * size) >> 20} MiB there")


def test_stops_come_in_waves_dependents_first_the_independent_together():
    from migrate.group import stop_waves
    assert stop_waves(("db", "web", "cache"), {"web": ("db",)}) == (("cache", "web"), ("db",))
    assert stop_waves(("a", "b", "c"), {}) == (("c", "b", "a"),)
    assert stop_waves(("db", "api", "web"), {"api": ("db",), "web": ("api", "db")}) == (
        ("web",), ("api",), ("db",))


def test_compose_1_containers_are_ordered_by_the_depends_on_of_their_files():
    labels = {"com.docker.compose.project": "shop"}
    web = member("shop_web_1", labels={**labels, "com.docker.compose.service": "web"})
    db = member("shop_db_1", labels={**labels, "com.docker.compose.service": "db"})
    assert group(web, db).order == ("shop_web_1", "shop_db_1")     # as given: no label
    declared = {("shop", "web"): ("db",)}
    assert needs({f.name: f for f in (web, db)}, declared)["shop_web_1"] == ("shop_db_1",)
    g = plan_group(Options(), {f.name: f for f in (web, db)}, ["shop_web_1", "shop_db_1"],
                   RUN, {}, declared)
    assert g.order == ("shop_db_1", "shop_web_1")
