"""Whether compose on the target takes the moved containers as its own
(migrate/compose_adopt.py): pure decisions over what compose printed."""
from migrate.compose_adopt import (HASH, IMAGE, Hashes, Member, command, decide, parse,
                                   relabel)

LABELS = {"com.docker.compose.project": "shop", "com.docker.compose.service": "db",
          "com.docker.compose.project.working_dir": "/srv/shop",
          "com.docker.compose.project.config_files": "/srv/shop/docker-compose.yml,"
                                                     "/srv/shop/override.yml",
          "com.docker.compose.project.environment_file": "/srv/shop/prod.env",
          HASH: "v1hash"}
ID = "sha256:" + "a" * 64


def member(name="shop_db_1", **labels):
    return Member(name, {**LABELS, **labels}, ID, "")


def test_the_command_is_the_projects_own_files_in_its_working_directory():
    assert command(LABELS) == ("/srv/shop", [
        "-p", "shop", "-f", "/srv/shop/docker-compose.yml", "-f", "/srv/shop/override.yml",
        "--env-file", "/srv/shop/prod.env", "config", "--hash", "*"])
    assert command({**LABELS, "com.docker.compose.project.working_dir": "rel"}) is None


def test_parse_reads_one_service_and_hash_a_line():
    assert parse("db 1234\nweb 5678\n\nnoise here too\n") == {"db": "1234", "web": "5678"}


def test_a_container_its_files_describe_gets_the_targets_hash_and_image():
    a = decide([member()], Hashes("1.29.2", {"db": "v1hash"}), Hashes("2.26.1", {"db": "v2hash"}),
               "old", "new")
    assert a.labels == {"shop_db_1": {HASH: "v2hash", IMAGE: ID}}
    assert a.recreated == ()
    assert a.said == ("shop_db_1: compose on new (2.26.1) takes it as its own: its "
                      "config-hash, image labels set for new's compose (compose 1.29.2 on old "
                      "made it; its hash there matches)",)


def test_the_same_compose_on_both_changes_nothing():
    m = member(**{HASH: "h", IMAGE: ID})
    a = decide([m], Hashes("2.26.1", {"db": "h"}), Hashes("2.26.1", {"db": "h"}), "old", "new")
    assert a.labels == {} and a.said == ("shop_db_1: compose on new (2.26.1) takes it as its own",)


def test_a_container_its_files_no_longer_describe_is_left_and_said():
    a = decide([member()], Hashes("1.29.2", {"db": "edited"}), Hashes("2.26.1", {"db": "x"}),
               "old", "new")
    assert a.labels == {} and a.recreated == ("shop_db_1",)
    assert "would recreate it (compose on old gives another hash for it too" in a.said[0]
    none = decide([member()], Hashes(), Hashes("2.26.1", {"db": "x"}), "old", "new")
    assert none.labels == {} and "(no compose there)" in none.said[0]


def test_a_service_sharing_another_containers_network_is_said_to_be_recreated():
    m = Member("shop_side_1", {**LABELS, "com.docker.compose.service": "side"}, ID,
               "the network of another container")
    a = decide([m], Hashes("2", {"side": "v1hash"}), Hashes("2", {"side": "y"}), "old", "new")
    assert a.labels == {} and a.recreated == ("shop_side_1",)
    assert "shares the network of another container" in a.said[0]


def test_without_compose_on_the_target_nothing_is_checked_and_that_is_said():
    a = decide([member()], Hashes("1.29.2", {"db": "v1hash"}), Hashes(), "old", "new")
    assert a.labels == {} and a.said == (
        "compose is not on new: whether a later `docker compose up` there keeps these "
        "containers is not checked",)


def test_relabel_sets_in_place_and_adds_the_rest():
    assert relabel((("a", "1"), (HASH, "old")), {HASH: "new", IMAGE: ID}) == (
        ("a", "1"), (HASH, "new"), (IMAGE, ID))


def test_the_same_compose_giving_another_hash_there_or_files_missing_keeps_the_labels():
    same = decide([member()], Hashes("2.26.1", {"db": "v1hash"}),
                  Hashes("2.26.1", {"db": "other"}), "old", "new")
    assert same.labels == {} and same.recreated == ("shop_db_1",)
    assert "compose 2.26.1 on new gives another hash than the same compose on old" in same.said[0]
    gone = decide([member()], Hashes("1.29.2", {"db": "v1hash"}), Hashes("2.26.1", {"db": "x"}),
                  "old", "new", missing=("/srv/shop/override.yml",))
    assert gone.labels == {} and "new lacks files compose reads: /srv/shop/override.yml" \
        in gone.said[0]


def test_compose_1_writes_its_files_relative_to_the_working_directory():
    assert command({**LABELS, "com.docker.compose.project.config_files": "docker-compose.yml",
                    "com.docker.compose.project.environment_file": ""}) == (
        "/srv/shop", ["-p", "shop", "-f", "/srv/shop/docker-compose.yml", "config", "--hash", "*"])


def test_depends_on_read_from_the_config_compose_prints_list_or_mapping():
    from migrate.compose_adopt import parse_depends
    text = ("services:\n  db:\n    image: x\n  web:\n    depends_on:\n      db:\n"
            "        condition: service_started\n  side:\n    depends_on: [web, db]\n")
    assert parse_depends(text) == {"web": ("db",), "side": ("web", "db")}
    assert parse_depends("not: [valid") == {} and parse_depends("") == {}
