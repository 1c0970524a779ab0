"""The env and label files for docker create (migrate/envfile.py): what goes
in a file line, what through docker's own environment, what is refused; and
the shell that exports values to docker, run for real."""
import os
import stat
import subprocess

from migrate import envfile
from migrate.envfile import EXPORTS, fits_a_line, given, problems
from migrate.volumes import DataCopy, send_command, snapshot_dir_command, snapshot_path

HOSTILE = "it's \"quoted\" $(touch /tmp/pwned) `id`; two  spaces\nnewline ünï ✓"


def test_one_line_values_go_in_the_env_file_in_order():
    g = given([("B", "two words, 'q' $(x)"), ("A", ""), ("C", "  lead")], [("tier", "web")])
    assert g.env_file == "B=two words, 'q' $(x)\nA=\nC=  lead\n"
    assert g.label_file == "tier=web\n" and g.exports == "" and g.inline_labels == ()
    assert g.argv("/t/d") == ["--env-file", "/t/d/env", "--label-file", "/t/d/labels"]
    assert g.command(["docker", "create"], "/t/d") == ["docker", "create"]


def test_what_no_line_can_carry():
    for name, value in [("A", "x\ny"), ("A", "x\r"), ("A B", "x"), ("#A", "x"), (" A", "x"),
                        ("A", "x" * 70000), ("", "x")]:
        assert not fits_a_line(name, value), (name, value)
    assert fits_a_line("A", "x\ty = \u00e9") and fits_a_line("a.b-c", "")


def test_a_multiline_value_reaches_docker_through_its_environment(tmp_path):
    g = given([("PLAIN", "p"), ("HOSTILE", HOSTILE)], [("note", HOSTILE)])
    assert g.env_file == "PLAIN=p\nHOSTILE\n"          # a bare name: docker reads $HOSTILE
    assert g.inline_labels == (f"note={HOSTILE}",)     # a label has no such way: said so
    assert g.argv("/d") == ["--env-file", "/d/env", "--label", f"note={HOSTILE}"]
    (tmp_path / EXPORTS).write_text(g.exports)
    cmd = g.command(["sh", "-c", 'printf %s "$HOSTILE"'], str(tmp_path))
    assert HOSTILE not in " ".join(cmd)
    out = subprocess.run(cmd, capture_output=True, env={"PATH": os.environ["PATH"]})
    assert out.stdout.decode() == HOSTILE and not os.path.exists("/tmp/pwned")


def test_a_bare_name_stays_bare_and_unset_in_dockers_environment(tmp_path):
    g = given([("BARE", None), ("HOSTILE", HOSTILE)], [])
    assert g.env_file == "HOSTILE\n" and g.unset == ("BARE",)   # the CLI drops a bare unset line
    assert g.argv("/d") == ["--env-file", "/d/env", "--env", "BARE"]   # a name, no value
    (tmp_path / EXPORTS).write_text(g.exports)
    probe = ["sh", "-c", 'echo "${BARE-unset}"; printf %s "$HOSTILE"']
    cmd = g.command(probe, str(tmp_path))
    out = subprocess.run(cmd, capture_output=True,
                         env={"PATH": os.environ["PATH"], "BARE": "from-sudo's-env"})
    assert out.stdout.decode() == "unset\n" + HOSTILE
    assert given([("BARE", None)], []).command(["docker"], "/d") == ["env", "-u", "BARE", "docker"]
    assert problems([("BARE", None), ("PATH", None), ("A B", None)]) == [
        f"env {n}: the container holds it by name only (unset), which reaches docker create "
        "only as a name unset in docker's own environment, and that name is no shell name or "
        "one docker (or the shell) reads; set a value with --env" for n in ("PATH", "A B")]


def test_names_that_would_change_how_docker_runs_are_refused():
    assert problems([("HOSTILE", HOSTILE), ("A", "1"), ("PATH", "/bin")]) == []
    found = problems([("PATH", "a\nb"), ("DOCKER_HOST", "a\nb"), ("LD_PRELOAD", "a\nb"),
                      ("http_proxy", "a\nb"), ("not-a-name", "a\nb")])
    assert len(found) == 5
    assert "env PATH: its value holds a line break" in found[0]
    assert "no shell name" in found[4]
    assert not any("a\nb" in p for p in found)


def test_no_files_no_folder():
    class NoHost:
        def run(self, *a, **k):
            raise AssertionError("no command for nothing to write")
    with envfile.on_target(NoHost(), {}) as folder:
        assert folder == ""


def test_snapshot_folder_is_unique_and_private(tmp_path):
    cmd = snapshot_dir_command("20261130094722").replace("/var/lib/dockmove/migrate",
                                                         str(tmp_path / "m"))
    one = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, check=True).stdout.strip()
    two = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, check=True).stdout.strip()
    assert one != two and os.path.basename(one).startswith("20261130094722.")
    for p in (tmp_path / "m", one):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o700
    # the snapshot file is written 0600 whatever the umask of the shell
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("x")
    snap = snapshot_path(one, DataCopy("volume", "v", "/d", str(data)))
    subprocess.run(["sh", "-c", f"umask 000; {send_command(DataCopy('volume', 'v', '/d', str(data)), snapshot=snap, live=True)} >/dev/null"],
                   check=True)
    assert stat.S_IMODE(os.stat(snap).st_mode) == 0o600
