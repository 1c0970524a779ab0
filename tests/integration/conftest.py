"""The integration tests' own lab (not the user's): built once per run.

These tests need what CI has: root, debootstrap and a running outer dockerd
(./bootstrap provides all three). Without them they fail, loudly; they are
never skipped.

Every lab the session starts is removed when it ends (DOCKMOVE_KEEP_LABS=1
keeps them, to look at after a run); a lab of the same name that an
interrupted run left is removed before one starts.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from fleet.inventory import Inventory, load_inventory
from lab.config import LabConfig
from lab.lab import down, up

ROOT = Path(__file__).parents[2]
# DOCKMOVE_TEST_LABS renames every test lab (several test runs side by side)
TEST_LAB = os.environ.get("DOCKMOVE_TEST_LABS", "dockmove-test")


def lab_name(suffix: str = "") -> str:
    """A test lab's name: `dockmove-test` (or $DOCKMOVE_TEST_LABS) + suffix."""
    return TEST_LAB + suffix


@dataclass
class Lab:
    cfg: LabConfig
    addresses: dict[str, str]

    def container(self, host: str):
        import docker
        return docker.from_env().containers.get(self.cfg.container(host))

    def sh(self, host: str, script: str) -> str:
        """Run `script` as root inside a lab host (test setup and checks).
        By `docker exec`, not the SDK's exec_run, which now and then returns
        an empty output for a command that printed (docker/docker-py#2042,
        #3332): a check then reads nothing (seen once in CI)."""
        done = subprocess.run(["docker", "exec", self.cfg.container(host), "sh", "-c", script],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        out = done.stdout.decode(errors="replace")
        assert done.returncode == 0, f"{host}: {script!r} exited {done.returncode}: {out}"
        return out

    @property
    def inventory(self) -> Inventory:
        return load_inventory(self.cfg.inventory_path)

    def inv(self, *args: str, inventory: Path | None = None, env: dict | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
        """Run `inv ARGS` as a user would, against this lab's inventory."""
        return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT,
                              env=self._env(inventory, env), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def _env(self, inventory: Path | None = None, env: dict | None = None) -> dict:
        return {**os.environ, "DOCKMOVE_INVENTORY": str(inventory or self.cfg.inventory_path),
                "DOCKMOVE_LAB_NAME": self.cfg.name, "DOCKMOVE_LAB_DIR": str(self.cfg.state_dir),
                # the lab as it was made: `inv lab.up` again keeps its hosts
                "DOCKMOVE_LAB_EXTRA": str(self.cfg.extra), "DOCKMOVE_LAB_HOP": str(int(self.cfg.hop)),
                "DOCKMOVE_LAB_STACK": str(int(self.cfg.stack)),
                "PYTHONUNBUFFERED": "1", **(env or {})}

    def inv_in_terminal(self, *args: str, cols: int = 120, rows: int = 40,
                        timeout: float = 600,
                        answer: tuple[str, bytes] | None = None,
                        meanwhile: Callable[[], object] = lambda: None,
                        ) -> tuple[int, list[str], str]:
        """Run `inv ARGS` in a pseudo-terminal of `cols` x `rows`, as a user
        at a terminal would, typing `answer[1]` once the screen shows
        `answer[0]` (after `meanwhile()`, what happens while the user
        reads); (exit code, the screens it showed on the way, its final
        screen), as a terminal shows them: pyte reads the escape sequences."""
        import fcntl
        import pty
        import select
        import struct
        import termios

        import pyte
        env = {**self._env(), "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
        env.pop("NO_COLOR", None)
        pid, fd = pty.fork()
        if pid == 0:                                    # the child: inv on the terminal
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "invoke", *args], env)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        screen = pyte.Screen(cols, rows)
        feed = pyte.ByteStream(screen)
        raw, frames = b"", []
        deadline = time.monotonic() + timeout
        status = None
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 1)
                if not ready:
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except OSError:                         # EIO: it closed the terminal
                    break
                if not chunk:
                    break
                raw += chunk
                feed.feed(chunk)
                frame = "\n".join(line.rstrip() for line in screen.display)
                if not frames or frames[-1] != frame:
                    frames.append(frame)
                if answer and answer[0] in frame:
                    meanwhile()
                    os.write(fd, answer[1])
                    answer = None
            else:
                raise AssertionError(f"inv {' '.join(args)} ran past {timeout:g} s:\n"
                                     + raw.decode(errors="replace"))
            _, status = os.waitpid(pid, 0)
        finally:
            if status is None:              # it ran too long, or `meanwhile` failed
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(fd)
        final = "\n".join(line.rstrip() for line in screen.display).strip("\n")
        return os.waitstatus_to_exitcode(status), frames, final

    def inv_until(self, *args: str, when: Callable[[str], bool],
                  then: Callable[[subprocess.Popen], object] | int,
                  timeout: float = 300) -> subprocess.CompletedProcess:
        """Run `inv ARGS` and, at the first line of its output for which
        `when(line)` holds, send it the signal `then` (or call `then(proc)`),
        as a terminal or an unlucky operator would; then let it finish.
        The output read so far and the rest come back as one stdout."""
        # PYTHONFAULTHANDLER: a run that hangs past `timeout` is aborted, and
        # where each of its threads waited is in the failure
        proc = subprocess.Popen([sys.executable, "-m", "invoke", *args], cwd=ROOT,
                                env={**self._env(), "PYTHONFAULTHANDLER": "1"},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if when(line):
                if callable(then):
                    then(proc)
                else:
                    proc.send_signal(then)
                break
        try:
            rest, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            rest, err = proc.communicate()
            raise AssertionError(f"inv {' '.join(args)} still ran {timeout:g} s after the "
                                 f"signal; its output:\n{''.join(seen) + rest}\n{err}") from None
        return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(seen) + rest, err)


# what a host holds, to compare before and after a run that must change nothing
STATE = "docker ps -a --format '{{.Names}} {{.State}} {{.Image}}' | sort; docker images -q | sort; " \
        "docker network ls -q | sort; docker volume ls -q | sort"
# `docker start` refuses on the host it is put on: a failure after the source stopped
FAIL_START = ("printf '#!/bin/sh\\n[ \"$1\" = start ] && { echo injected: start refused >&2; "
              "exit 1; }\\nexec /usr/bin/docker \"$@\"\\n' > /usr/local/bin/docker && "
              "chmod 755 /usr/local/bin/docker")


@contextlib.contextmanager
def start_refused(lab: "Lab", host: str):
    """`docker start` refuses on `host` while the block runs."""
    lab.sh(host, FAIL_START)
    try:
        yield
    finally:
        lab.sh(host, "rm -f /usr/local/bin/docker")


def inspect(lab: "Lab", host: str, name: str) -> dict:
    return json.loads(lab.sh(host, f"docker inspect {name}"))[0]


def wait_for(lab: "Lab", host: str, script: str, timeout: float = 60) -> None:
    """Until `script` succeeds on the host (a state to reach, not a time)."""
    deadline = time.monotonic() + timeout
    while lab.container(host).exec_run(["sh", "-c", script]).exit_code != 0:
        assert time.monotonic() < deadline, f"{host}: {script} never succeeded"
        time.sleep(0.2)


def provisioned_lab(suffix: str, tmp_path_factory, *, seed_image_on_new: bool = False) -> "Lab":
    """A lab of its own whose `new` runs Docker CE (provisioned once); with
    `seed_image_on_new`, the seed's image apache-test is there too (for
    containers made there by hand), sent over the lab's ssh."""
    lab = make_lab(lab_name(suffix), tmp_path_factory)
    out = lab.inv("provision", "--host", "new")
    assert out.returncode == 0, out.stdout + out.stderr
    if seed_image_on_new:
        send_image(lab, "apache-test")
    return lab


def send_image(lab: "Lab", image: str) -> None:
    """An image of old's on new too: `docker save | docker load` over the
    lab's ssh, as by hand."""
    cfg = lab.cfg.ssh_config_path
    subprocess.run(["bash", "-o", "pipefail", "-c",
                    f"ssh -F '{cfg}' old sudo -n docker save {image} | "
                    f"ssh -F '{cfg}' new sudo -n docker load -q"], check=True, timeout=300)


STARTED: dict[str, LabConfig] = {}      # the labs this session started, by name


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def make_lab(name: str, tmp_path_factory, **options) -> Lab:
    """A lab of its own, from nothing: what an earlier run left under this
    name is removed first; the session removes it at its end. `options` are
    LabConfig's (extra=N, hop=True)."""
    cfg = LabConfig(name=name, state_dir=tmp_path_factory.mktemp(name), **options)
    down(cfg, log=_log)
    STARTED[name] = cfg
    addresses = up(cfg, fresh=True, log=_log)
    return Lab(cfg, addresses)


@pytest.fixture(scope="session", autouse=True)
def remove_test_labs(request):
    """At the session's end, remove every lab it started, unless
    DOCKMOVE_KEEP_LABS=1."""
    yield
    if not STARTED:
        return
    names = ", ".join(sorted(STARTED))
    if os.environ.get("DOCKMOVE_KEEP_LABS") == "1":
        _say(request, f"test labs kept (DOCKMOVE_KEEP_LABS=1): {names}")
        return
    failed = []
    for cfg in STARTED.values():
        try:
            down(cfg, log=lambda m: None)
        except Exception as e:          # remove the others all the same
            failed.append(f"{cfg.name}: {e}")
    STARTED.clear()
    _say(request, f"test labs removed: {names}" + (f"; could not remove {failed}" if failed else ""))


def _say(request, message: str) -> None:
    """A line on the terminal, past pytest's capture."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{message}", file=sys.stderr)


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> Lab:
    """The shared lab; tests on it change nothing on its hosts."""
    return make_lab(lab_name(), tmp_path_factory)
