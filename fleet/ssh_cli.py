"""OpenSSH command lines for an inventory host, for data streams that must go
through ssh processes rather than a Python relay (docker save | docker load).

They follow the same way and trust as the Fabric connections
(fleet/route.py): every hop is an ssh process of ours, chained by
ProxyCommand (`ssh ... -W host:port jump`). Each checks the server's key
strictly against a known_hosts file of its own, holding exactly the keys the
Python side accepts for that hop (fleet/hostkeys.known_keys) under the name
the Python side looks up (HostKeyAlias), and no other file: no global file,
no DNS keys, no KnownHostsCommand, no learning of new keys
(UpdateHostKeys=no). `ssh_command` writes those files (0600, in a 0700
folder of its own) and removes them when its block ends, whatever happens.

Every hop's ssh is ours alone: no connection shared with anything but our
own (a ControlMaster of ssh_config's, whose mux client would skip all of
these checks, is never used); no agent or X11 forwarding, no
port forwarding or tunnel, no LocalCommand, no tty on a binary stream; the
ProxyJump and ProxyCommand of any config off, so OpenSSH never opens a hop of
its own. The user goes with -l and the destination after `--`: a name
starting with '-' is never an option. What the Fabric side takes from
ssh_config (HostName, Port, User, IdentityFile, the jumps) is passed
explicitly, as fleet/sshconfig.py read it; the rest of OpenSSH's own config
(ciphers, ...) applies as usual, and with `settings.ssh_config` that file
(-F).

A run's streams share one connection per host (`Masters`): the first
stream to a host starts a master of ours, made with every check above, its
control socket in a 0700 folder of the run's own; the streams after it are
its mux clients, so they skip the handshake (about 0.2 s each on the lab),
not a check. The master ends when the run's block ends (and by itself after
a minute without a stream, should this process be killed; the next stream
then starts another); where it cannot start, each stream connects on its own
as before. Its messages go to a log beside its socket, which a failed
stream's error quotes.

Paths are written the way OpenSSH reads its options: `%` doubled (tokens),
quoted where they hold a blank or a quote, and once more for each
ProxyCommand level.
"""
from __future__ import annotations

import contextlib
import functools
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterable, Iterator

from . import signals
from .hostkeys import known_hosts_lines, known_keys
from .inventory import Host, Inventory, Settings
from .route import Hop, route
from .sshconfig import read_ssh_config

# On every hop, whatever ssh_config says (each option known to OpenSSH 5.9+).
OURS_ALONE = ("ControlMaster=no", "ControlPath=none", "ForwardAgent=no", "ForwardX11=no",
              "ClearAllForwardings=yes", "PermitLocalCommand=no", "RequestTTY=no")


PERSIST_S = 60          # a master left without streams ends after this long


class Masters:
    """One OpenSSH master connection per host for a run's streams (see the
    module's docstring); a context manager that ends them."""

    def __init__(self) -> None:
        self.folder: str | None = None
        self.sockets: dict[str, str | None] = {}    # host name -> socket (None: not shared)
        self.started: list[str] = []                # every socket a master was asked to make
        self.pending: dict[str, tuple[str, subprocess.Popen, contextlib.ExitStack, float]] = {}
        self.closed = False

    def __enter__(self) -> "Masters":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def warm(self, inventory: Inventory, hosts: Iterable[Host]) -> None:
        """Start the masters of `hosts` now and do not wait for them: they
        connect while the run reads its hosts, and the first stream finds
        them up (socket() waits for one still connecting)."""
        for host in hosts:
            if not self.closed and host.name not in self.sockets \
                    and host.name not in self.pending:
                with signals.held():            # a Ctrl-C here leaves no ssh unowned
                    launched = self._launch(inventory, host)
                    if launched is None:
                        self.sockets[host.name] = None
                    else:
                        self.pending[host.name] = launched

    def socket(self, inventory: Inventory, host: Host) -> str | None:
        """The control socket of `host`'s master, started now if need be (or
        again, where the last one ended after a minute without a stream);
        None where it cannot start (the stream then connects on its own)."""
        if self.closed:
            return None
        if host.name in self.pending:
            sock = self._wait(host, *self.pending.pop(host.name))
            if sock is None or os.path.exists(sock):    # else it ended (idle): start another
                self.sockets[host.name] = sock
        sock = self.sockets.get(host.name, "")
        if host.name not in self.sockets or (sock and not os.path.exists(sock)):
            launched = self._launch(inventory, host)
            sock = None if launched is None else self._wait(host, *launched)
            self.sockets[host.name] = sock = sock if sock and os.path.exists(sock) else None
        return sock

    def log(self, host: Host) -> str:
        """What the master to `host` said (why it dropped a connection, say)."""
        sock = self.sockets.get(host.name)
        try:
            return Path(f"{sock}.log").read_text(errors="replace").strip()[-400:] if sock else ""
        except OSError:
            return ""

    def _launch(self, inventory: Inventory, host: Host
                ) -> tuple[str, subprocess.Popen, contextlib.ExitStack, float] | None:
        """The master's ssh started (its known_hosts files live in the
        returned stack until it is waited for)."""
        if self.folder is None:
            self.folder = private_folder()
            if self.folder is None:
                return None
        sock = os.path.join(self.folder, str(len(self.started)))
        self.started.append(sock)
        stack = contextlib.ExitStack()
        try:
            argv = stack.enter_context(_argv(inventory, host, "true", control=("yes", sock)))
            # -E: the master's messages go to a file of its own, also once it is
            # in the background (OpenSSH points its stderr at /dev/null then)
            argv = [argv[0], "-E", f"{sock}.log", *argv[1:]]
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
        except BaseException:
            stack.close()
            raise
        return sock, proc, stack, time.monotonic() + inventory.settings.connect_timeout + 10

    def _wait(self, host: Host, sock: str, proc: subprocess.Popen,
              stack: contextlib.ExitStack, deadline: float) -> str | None:
        """The master's socket once its ssh is through (exit 0); None where
        it could not connect (the stream then connects on its own and is
        refused or not the same way). The socket may be gone by now: a
        warmed master that connected and ended since (socket() says)."""
        with stack:
            try:
                with signals.doing(f"the ssh connection to {host.name}"), \
                        signals.on_interrupt(lambda: _kill(proc)):
                    code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill(proc)
                return None
            except BaseException:
                _kill(proc)
                raise
        return sock if code == 0 else None

    def close(self) -> None:
        """End every master (each asked to exit over its socket), remove the
        folder; not cut short by a signal."""
        self.closed = True
        with signals.held():
            for _sock, proc, stack, _deadline in self.pending.values():
                _kill(proc)
                stack.close()
            self.pending.clear()
            for sock in self.started:
                if os.path.exists(sock):
                    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                        subprocess.run(["ssh", "-F", "/dev/null", "-o",
                                        "ControlPath=" + _config_word(_percent(sock)),
                                        "-O", "exit", "dockmove"], stdin=subprocess.DEVNULL,
                                       capture_output=True, timeout=10)
            if self.folder:
                shutil.rmtree(self.folder, ignore_errors=True)


SOCKET_ROOM = 70        # a unix socket's path holds 107 bytes; OpenSSH adds 17 while it binds


def private_folder() -> str | None:
    """A new 0700 folder for control sockets: in the temporary folder, or in
    /tmp where that path leaves no room for a socket's name or OpenSSH would
    read it as another path (`${` expands); None where neither will do."""
    def fits(path: str) -> bool:
        return len(path) <= SOCKET_ROOM and "${" not in path
    folder = tempfile.mkdtemp(prefix="dockmove-ssh-")
    if not fits(folder) and os.path.isdir("/tmp"):
        os.rmdir(folder)
        folder = tempfile.mkdtemp(prefix="dockmove-ssh-", dir="/tmp")
    if not fits(folder):
        os.rmdir(folder)
        return None
    return folder


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, 9)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@contextlib.contextmanager
def ssh_command(inventory: Inventory, host: Host, command: str | None = None,
                *, batch: bool = True, masters: Masters | None = None) -> Iterator[list[str]]:
    """The ssh argv running `command` on `host`, good inside the with block:
    the known_hosts files it names live as long as the block. With `masters`,
    over the run's master connection to the host (`Masters`)."""
    sock = masters.socket(inventory, host) if masters else None
    with _argv(inventory, host, command, batch=batch,
               control=("no", sock) if sock else None) as argv:
        yield argv


@contextlib.contextmanager
def _argv(inventory: Inventory, host: Host, command: str | None, *, batch: bool = True,
          control: tuple[str, str] | None = None) -> Iterator[list[str]]:
    settings = inventory.settings
    hops = route(inventory, host, read_ssh_config(settings))
    with tempfile.TemporaryDirectory(prefix="dockmove-known-hosts-") as folder:
        files = [_write(Path(folder) / f"hop{i}", hop) for i, hop in enumerate(hops)]
        yield command_line(hops, files, settings, command, batch=batch, control=control)


def _write(path: Path, hop: Hop) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(known_hosts_lines(known_keys(hop.known_hosts, hop.key_name)))
    return str(path)


def command_line(hops: tuple[Hop, ...], known_hosts: list[str], settings: Settings,
             command: str | None = None, *, batch: bool = True,
             control: tuple[str, str] | None = None) -> list[str]:
    """The command line for these hops, each checking keys against its file
    of `known_hosts` (pure). `control`: (ControlMaster, ControlPath) of the
    last hop, a master of ours ("yes") or its client ("no"); every other
    hop, and every hop without it, shares nothing."""
    first = hops[0].proxy_command
    proxy = _percent(first) if first else None
    for hop, kh, nxt in zip(hops, known_hosts, hops[1:]):
        ep = nxt.endpoint
        forward = _percent(f"[{ep.hostname}]:{ep.port}")
        proxy = _percent(shlex.join(["ssh", *_options(hop, kh, settings, batch, proxy),
                                     "-W", forward, *_target(hop)]))
    argv = ["ssh", *_options(hops[-1], known_hosts[-1], settings, batch, proxy, control),
            *_target(hops[-1])]
    if command is not None:
        argv.append(command)
    return argv


def _target(hop: Hop) -> list[str]:
    """The user and the destination, neither ever read as an option."""
    return ["-l", hop.endpoint.user, "--", hop.host.address]


def _options(hop: Hop, known_hosts: str, settings: Settings, batch: bool,
             proxy: str | None, control: tuple[str, str] | None = None) -> list[str]:
    ep = hop.endpoint
    opts = []
    if hop.host.identity_file:
        opts += ["-i", _percent(hop.host.identity_file), "-o", "IdentitiesOnly=yes"]
    for key in ep.identity_files:
        opts += ["-i", _percent(key)]
    if settings.ssh_config:
        opts += ["-F", settings.ssh_config]
    opts += ["-p", str(ep.port), "-o", "HostName=" + _percent(ep.hostname)]
    opts += ["-o", "UserKnownHostsFile=" + known_hosts_value([known_hosts]),
             "-o", "GlobalKnownHostsFile=/dev/null",
             "-o", "StrictHostKeyChecking=yes",
             "-o", "HostKeyAlias=" + hop.key_name,
             "-o", "CheckHostIP=no", "-o", "UpdateHostKeys=no",
             "-o", "VerifyHostKeyDNS=no"]
    if ep.known_hosts_command or openssh_version() >= (8, 5):
        opts += ["-o", "KnownHostsCommand=none"]     # (an option since OpenSSH 8.5)
    opts += ["-o", "ProxyCommand=" + proxy] if proxy else ["-o", "ProxyJump=none"]
    if control:                 # the first value of an option counts: ours come first
        master, path = control
        opts += ["-o", f"ControlMaster={master}",
                 "-o", "ControlPath=" + _config_word(_percent(path))]
        opts += ["-o", f"ControlPersist={PERSIST_S if master == 'yes' else 'no'}"]
    for option in OURS_ALONE:
        opts += ["-o", option]
    opts += ["-o", f"ConnectTimeout={settings.connect_timeout}",
             "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"]
    if batch:
        opts += ["-o", "BatchMode=yes"]
    return opts


@functools.cache
def openssh_version() -> tuple[int, int]:
    """This machine's OpenSSH client version, (0, 0) when unknown."""
    try:
        out = subprocess.run(["ssh", "-V"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return (0, 0)
    m = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stderr + out.stdout)
    return (int(m[1]), int(m[2])) if m else (0, 0)


def known_hosts_value(files: tuple[str, ...] | list[str]) -> str:
    """The files as one UserKnownHostsFile value that OpenSSH splits back
    into the same paths."""
    return " ".join(_config_word(_percent(f)) for f in files)


def _percent(text: str) -> str:
    return text.replace("%", "%%")


def _config_word(word: str) -> str:
    """`word` as one word of an ssh_config line (OpenSSH's argv_split)."""
    escaped = "".join("\\" + c if c in "\\\"'" else c for c in word)
    if not word or any(c in " \t" for c in word) or word.startswith("#"):
        return f'"{escaped}"'
    return escaped
