"""No secret in an argv, a log, an error message or an image; snapshot files
private and gone after every run. On a lab of its own, whose hosts log every
command sudo runs (sudo's own log file) and every docker command line (a
wrapper in front of the docker CLI: what /proc/PID/cmdline shows while it
runs). File order matters: each test says what it starts from."""
import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid

import pytest

from .conftest import ROOT, lab_name, make_lab

pytestmark = pytest.mark.lab

T = uuid.uuid4().hex[:10]
# the distinctive part of each value is what must appear nowhere
SECRET_ENV = {
    "DB_PWD": f"pwd-{T}",                                   # secret-looking name
    "APP_SETTING": f"plain-{T}",                            # innocent name, still private
    "DATABASE_URL": f"postgres://app:url-{T}@db/app",       # a URL's password
    "MULTI_SECRET": f"first line\nnl-{T} 'q' $(id)",        # no env-file line can hold it
}
SECRET_LABEL = ("traefik.http.middlewares.auth.basicauth.users", f"admin:hash-{T}")
TOKENS = [f"pwd-{T}", f"plain-{T}", f"url-{T}", f"nl-{T}", f"hash-{T}"]
MASKED_TOKENS = [f"pwd-{T}", f"url-{T}", f"hash-{T}"]     # the rule masks these when shown

ARGV_LOG = "/var/log/test-docker-argv.log"
SUDO_LOG = "/var/log/test-sudo.log"
WRAPPER = f"""#!/bin/sh
{{ printf 'ARGV'; for a in "$@"; do printf ' %s' "$a"; done; printf '\\n'; }} >> {ARGV_LOG}
prev=
for a in "$@"; do       # the files docker is given: their modes as it reads them
  case "$prev" in --env-file|--label-file) stat -c 'MODE %a %U %n' "${{a%/*}}" "$a";; esac
  prev=$a
done >> {ARGV_LOG} 2>&1
exec /usr/bin/docker "$@"
"""
SNAPSHOTS = "/var/lib/dockmove/migrate"


def _q(s):
    return shlex.quote(s)


@pytest.fixture(scope="module")
def slab(tmp_path_factory):
    lab = make_lab(lab_name("-sec"), tmp_path_factory)
    out = lab.inv("provision", "--host", "new")
    assert out.returncode == 0, out.stdout + out.stderr
    env = " ".join(f"-e {_q(k + '=' + v)}" for k, v in SECRET_ENV.items())
    lab.sh("old", f"docker create --name sec-app {env} "
                  f"--label {_q('='.join(SECRET_LABEL))} --label tier=web "
                  "-p 9090:80 apache-test >/dev/null && docker start sec-app >/dev/null")
    # from here on, every docker command line and every sudo command is logged
    for host in ("old", "new"):
        lab.sh(host, f"printf %s {_q(WRAPPER)} > /usr/local/bin/docker && "
                     "chmod 755 /usr/local/bin/docker && "
                     f"printf 'Defaults logfile={SUDO_LOG}\\nDefaults loglinelen=0\\n' "
                     "> /etc/sudoers.d/zz-test-log && chmod 440 /etc/sudoers.d/zz-test-log")
    return lab


def logs(lab, host):
    return lab.sh(host, f"cat {ARGV_LOG} {SUDO_LOG} 2>/dev/null || true")


def clear_logs(lab):
    for host in ("old", "new"):
        lab.sh(host, f"rm -f {ARGV_LOG} {SUDO_LOG}")


def env_dirs(text):
    """The private folders the run gave to --env-file / --label-file."""
    return {os.path.dirname(p) for p in re.findall(r"--(?:env|label)-file (\S+)", text)}


def assert_private_and_gone(lab):
    """The env and label files were 0600 in a 0700 folder while docker read
    them, and are gone now."""
    text = logs(lab, "new")
    dirs = env_dirs(text)
    assert dirs, "docker create got no --env-file"
    for d in dirs:
        assert f"MODE 700 admin {d}\n" in text and f"MODE 600 admin {d}/env\n" in text, text
        assert lab.sh("new", f"test -e {_q(d)} && echo left || echo gone").strip() == "gone"


def assert_no_secret_in_any_command_line(lab):
    for host in ("old", "new"):
        text = logs(lab, host)
        assert "docker" in text, f"{host}: the logs recorded nothing: {text!r}"
        for token in TOKENS:
            assert token not in text, f"{host}: {token} in a command line:\n" + "\n".join(
                l for l in text.splitlines() if token in l)


def image_config(lab, host, ref):
    return lab.sh(host, f"docker image inspect {_q(ref)}; docker history --no-trunc {_q(ref)}")


def migrate(lab, tmp_path, *args):
    return lab.inv("migrate", "sec-app", "--to", "new", "--records", str(tmp_path), *args)


def test_a_failing_create_shows_no_env_value_and_runs_none_in_an_argv(slab, tmp_path):
    clear_logs(slab)
    # an address no engine takes: docker create itself fails, after the copy
    out = migrate(slab, tmp_path, "--name", "sec-fail", "--publish", "999.0.0.1:9999:80",
                  "--no-stop")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "invalid ip address: 999.0.0.1" in out.stderr.lower() and "command failed" in out.stderr
    shown = out.stdout + out.stderr
    for token in MASKED_TOKENS:
        assert token not in shown, shown
    # the command in the error gives the env in a file, not in words
    failed = next(l for l in out.stderr.splitlines() if "command failed" in l)
    for token in TOKENS:
        assert token not in failed, failed
    assert_no_secret_in_any_command_line(slab)
    assert_private_and_gone(slab)         # removed even though create failed


def test_commit_mode_keeps_the_env_out_of_argv_and_out_of_the_image(slab, tmp_path):
    clear_logs(slab)
    out = migrate(slab, tmp_path, "--no-stop", "--commit")   # a docker commit of the running source
    assert out.returncode == 0, out.stdout + out.stderr
    for token in MASKED_TOKENS:
        assert token not in out.stdout + out.stderr
    dst = json.loads(slab.sh("new", "docker inspect sec-app"))[0]
    for k, v in SECRET_ENV.items():                      # the container has them, intact
        assert f"{k}={v}" in dst["Config"]["Env"]
    assert dst["Config"]["Labels"][SECRET_LABEL[0]] == SECRET_LABEL[1]
    image = re.search(r"runs on new as (dockmove/sec-app:\d+)", out.stdout).group(1)
    config = image_config(slab, "new", image)
    for token in TOKENS:
        assert token not in config, config
    assert_no_secret_in_any_command_line(slab)
    assert_private_and_gone(slab)


def test_export_mode_keeps_the_env_out_of_argv_and_out_of_the_image(slab, tmp_path):
    clear_logs(slab)
    out = migrate(slab, tmp_path, "--mode", "export", "--name", "sec-exp",
                  "--publish", "9091:80", "--no-stop")
    assert out.returncode == 0, out.stdout + out.stderr
    dst = json.loads(slab.sh("new", "docker inspect sec-exp"))[0]
    for k, v in SECRET_ENV.items():
        assert f"{k}={v}" in dst["Config"]["Env"]
    assert "APACHE_RUN_USER=www-data" in dst["Config"]["Env"]     # the image's own ENV
    config = image_config(slab, "new", dst["Image"])
    for token in TOKENS:
        assert token not in config, config
    assert "APACHE_RUN_USER=www-data" in config
    assert_no_secret_in_any_command_line(slab)
    assert_private_and_gone(slab)


# --- snapshot files of incremental copies, on the source ----------------------

def test_snapshot_files_are_private_during_the_run_and_gone_after_it(slab, tmp_path):
    # PID 1 of this container ignores SIGTERM: its stop waits --stop-timeout,
    # which holds the run after the copy made while it ran
    slab.sh("old", "docker run -d --name snar-app -v snar-vol:/data apache-test "
                   "sh -c 'echo hello > /data/f; sleep infinity' >/dev/null")
    env = {**os.environ, "DOCKMOVE_INVENTORY": str(slab.cfg.inventory_path),
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "migrate", "snar-app", "--to", "new",
                             "--stop-timeout", "20", "--no-port-check",
                             "--records", str(tmp_path)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if "] data (source running):" in line:
                break
        during = slab.sh("old", f"stat -c '%a %U %n' {SNAPSHOTS} {SNAPSHOTS}/* {SNAPSHOTS}/*/*")
        nobody = slab.sh("old", f"su -s /bin/sh nobody -c 'ls {SNAPSHOTS}' 2>&1 || true")
    finally:
        rest, err = proc.communicate(timeout=300)
    output = "".join(seen) + rest
    assert proc.returncode == 0, output + err
    lines = during.splitlines()
    assert lines[0] == f"700 root {SNAPSHOTS}", during
    # the run's folder 0700; in it the snapshot files and the block pass's
    # marker (volume-*.snar, .snar.start) 0600
    files = [l for l in lines[1:] if l.rsplit("/", 1)[-1].startswith(("volume-", "layer-"))]
    assert any(l.endswith(".snar") for l in files), during
    assert all(l.startswith("600 root ") for l in files), during
    assert all(l.startswith("700 root ") for l in lines[1:] if l not in files), during
    assert "Permission denied" in nobody
    assert slab.sh("old", f"ls -A {SNAPSHOTS}").strip() == ""


def test_a_failed_run_leaves_no_snapshot_file(slab, tmp_path):
    slab.sh("old", "docker create --name snar-quit -v snar-q:/data apache-test sh -c 'exit 3' "
                   ">/dev/null")
    out = slab.inv("migrate", "snar-quit", "--to", "new", "--records", str(tmp_path))
    assert out.returncode == 1
    assert "snar-quit exited (code 3) right after start" in out.stderr
    assert slab.sh("old", f"ls -A {SNAPSHOTS}").strip() == ""


def test_runs_share_no_snapshot_path(slab, tmp_path):
    # another run (or one that crashed) holds the paths a timestamp names
    now = time.time()
    stamps = [time.strftime("%Y%m%d%H%M%S", time.gmtime(now + i)) for i in range(-2, 300)]
    slab.sh("old", f"mkdir -p {SNAPSHOTS} && cd {SNAPSHOTS} && touch " + " ".join(stamps))
    try:
        slab.sh("old", "docker create --name snar-two -v snar-two:/data apache-test "
                       "sh -c 'echo two > /data/f; sleep infinity' >/dev/null")
        out = slab.inv("migrate", "snar-two", "--to", "new", "--no-port-check",
                       "--records", str(tmp_path))
        assert out.returncode == 0, out.stdout + out.stderr
        assert slab.sh("new", "docker exec snar-two cat /data/f").strip() == "two"
        left = set(slab.sh("old", f"ls -A {SNAPSHOTS}").split())
        assert left == set(stamps)          # the others' files untouched, ours gone
    finally:
        slab.sh("old", f"rm -rf {SNAPSHOTS}")

