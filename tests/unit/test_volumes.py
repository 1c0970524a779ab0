"""Which data a migration copies, how anonymous volumes keep their names, and
the tar commands (run for real against local directories)."""
import os
import subprocess

from migrate.spec import RunSpec, Volume
from migrate.transfer import uses_containerd_store
from migrate.volumes import (DataCopy, container_layer, pin_volume_names, plan_data,
                             receive_command, send_command)

ANON = "a" * 64


def _container(*mounts):
    return {"Name": "/web", "Id": "c" * 64, "Mounts": list(mounts),
            "GraphDriver": {"Name": "overlay2", "Data": {"UpperDir": "/var/lib/docker/overlay2/x/diff"}}}


def test_local_volumes_are_copied_other_drivers_refused_binds_warned():
    c = _container(
        {"Type": "volume", "Name": "data", "Destination": "/data", "Driver": "local"},
        {"Type": "volume", "Name": "nfs", "Destination": "/nfs", "Driver": "local"},
        {"Type": "bind", "Source": "/srv/conf", "Destination": "/conf"})
    vols = {"data": {"Driver": "local", "Mountpoint": "/v/data/_data", "Labels": {"b": "2", "a": "1"}},
            "nfs": {"Driver": "local", "Mountpoint": "/v/nfs/_data",
                    "Options": {"type": "nfs", "device": ":/export"}}}
    plan = plan_data(c, vols, copy_binds=False, empty_volumes=False)
    assert [x.name for x in plan.copies] == ["data"]
    assert plan.copies[0].create_args() == ["volume", "create", "--driver", "local",
                                            "--label", "a=1", "--label", "b=2", "--", "data"]
    assert "volume nfs (/nfs) uses driver local with options device=:/export,type=nfs" in plan.problems[0]
    assert "bind mount /srv/conf -> /conf is not copied (--copy-binds copies it)" in plan.warnings[0]
    binds = plan_data(c, vols, copy_binds=True, empty_volumes=False,
                      bind_kinds={"/srv/conf": "file"})
    assert [(x.kind, x.name, x.is_file) for x in binds.copies] == [
        ("volume", "data", False), ("bind", "/srv/conf", True)]
    empty = plan_data(c, vols, copy_binds=False, empty_volumes=True)
    assert not empty.copies and not empty.problems and len(empty.empty) == 2


def test_anonymous_volumes_get_their_name_on_the_target():
    c = _container({"Type": "volume", "Name": ANON, "Destination": "/anon"},
                   {"Type": "volume", "Name": "b" * 64, "Destination": "/declared"},
                   {"Type": "volume", "Name": "named", "Destination": "/n"})
    plan = plan_data(c, {ANON: {"Mountpoint": "/m1"}, "b" * 64: {"Mountpoint": "/m2"},
                         "named": {"Mountpoint": "/m3"}}, copy_binds=False, empty_volumes=False)
    spec = RunSpec("web", "img", mounts=(Volume("/anon"), Volume("/n", "named")))
    pinned = pin_volume_names(spec, plan)
    assert pinned.mounts == (Volume("/anon", ANON), Volume("/n", "named"),
                             Volume("/declared", "b" * 64))
    assert pinned.run_argv()[5:] == ["--volume", f"{ANON}:/anon", "--volume", "named:/n",
                                     "--volume", f"{'b' * 64}:/declared", "img"]
    empty = plan_data(c, {}, copy_binds=False, empty_volumes=True)
    assert pin_volume_names(spec, empty) == spec


def test_the_container_layer_is_copied_only_between_overlay2_engines():
    assert container_layer(_container(), "overlay2").source_path == "/var/lib/docker/overlay2/x/diff"
    assert container_layer(_container(), "btrfs") is None
    assert container_layer({**_container(), "GraphDriver": {"Name": "devicemapper"}}, "overlay2") is None


def test_containerd_image_store_is_recognised_from_docker_info():
    assert uses_containerd_store({"DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]]})
    assert not uses_containerd_store({"DriverStatus": [["Backing Filesystem", "extfs"]]})


def test_tar_commands_copy_hostile_names_and_mirror_deletions(tmp_path):
    src = tmp_path / "it's a $(dir)"
    dst = tmp_path / "target `x`"
    (src / "sub dir").mkdir(parents=True)
    (src / "sub dir" / "a\nb").write_text("newline name")
    (src / "gone").write_text("x")
    os.link(src / "gone", src / "hard")
    copy = DataCopy("volume", "v", "/data", str(src))
    snap = str(tmp_path / "snap" / "v.snar")

    def run(live):
        send = subprocess.Popen(["sh", "-c", send_command(copy, snapshot=snap, live=live)],
                                stdout=subprocess.PIPE)
        subprocess.run(["sh", "-c", receive_command(copy, str(dst))], stdin=send.stdout, check=True)
        send.stdout.close()
        assert send.wait() == 0
    run(live=True)
    assert (dst / "sub dir" / "a\nb").read_text() == "newline name"
    assert os.stat(dst / "gone").st_ino == os.stat(dst / "hard").st_ino
    (src / "gone").unlink()
    (src / "new").write_text("y")
    run(live=False)
    assert sorted(os.listdir(dst)) == ["hard", "new", "sub dir"]
