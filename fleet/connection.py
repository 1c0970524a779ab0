"""Fabric Connections for an inventory host and every hop on the way to it,
with host keys verified on each.

Building one never touches the network (Fabric connects lazily). The way is
fleet/route.py's: every jump host, from the inventory or from ssh_config's
ProxyJump, is a Connection built here with the same policy (RefuseUnknownKey)
and its own known_hosts files; Fabric never opens a gateway of its own (it
would accept an unknown key). ssh_config is the one fleet/sshconfig.py read;
what the inventory sets wins over it. `open_connection` connects, hop by hop,
and turns every way a connection can fail into one of the project's errors,
naming the hop that failed.
"""
from __future__ import annotations

import errno
import socket

import paramiko
from fabric import Config, Connection

from .errors import AuthError, ConnectError, DockmoveError, HostKeyError
from .hostkeys import (KnownKeys, RefuseUnknownKey, changed_key_error, is_revoked,
                       known_keys, revoked_error)
from .inventory import Host, Inventory, Settings
from .route import Hop, route
from .runner import PatientRemote
from .sshconfig import read_ssh_config


class HopConnection(Connection):
    """A Connection that knows its hop, and closes its gateways with it."""

    # declared here, so that Fabric's config proxy leaves them alone
    hop: Hop | None = None
    known: KnownKeys | None = None      # the keys that count for the hop, and the revoked ones

    def close(self) -> None:
        super().close()
        if isinstance(self.gateway, Connection):
            self.gateway.close()


def build_connection(hop: Hop, settings: Settings, ssh_config: paramiko.SSHConfig,
                     gateway: Connection | None = None) -> HopConnection:
    """One hop's connection; `gateway` is the previous hop's (None: the
    ProxyCommand of ssh_config if there is one, else straight there)."""
    host, ep = hop.host, hop.endpoint
    kwargs: dict = {}
    if host.identity_file:
        kwargs["key_filename"] = [host.identity_file]
    conn = HopConnection(
        host=host.address,
        user=ep.user,
        port=ep.port,
        config=Config(ssh_config=ssh_config, overrides={"runners": {"remote": PatientRemote}}),
        connect_timeout=settings.connect_timeout,
        connect_kwargs=kwargs,
        gateway=gateway if gateway is not None else (hop.proxy_command or False),
    )
    conn.hop = hop
    files = list(hop.known_hosts)
    conn.known = known_keys(files, hop.key_name)
    host_keys = conn.client.get_host_keys()     # paramiko looks up [HostName]:port there
    for key in conn.known.keys:
        host_keys.add(hop.key_name, key.get_name(), key)
    conn.client.set_missing_host_key_policy(
        RefuseUnknownKey(host, files, conn.known.revoked))
    return conn


def connect_route(hops: tuple[Hop, ...], settings: Settings,
                  ssh_config: paramiko.SSHConfig) -> HopConnection:
    """The last hop's connection, each hop the gateway of the next."""
    conn = None
    for hop in hops:
        conn = build_connection(hop, settings, ssh_config, conn)
    assert conn is not None
    return conn


def connection_for(inventory: Inventory, host: Host) -> HopConnection:
    config = read_ssh_config(inventory.settings)
    return connect_route(route(inventory, host, config), inventory.settings, config)


def open_connection(host: Host, conn: Connection) -> None:
    """Connect now, the jump hosts first; raise ConnectError, HostKeyError or
    AuthError naming the hop that failed."""
    gateway = conn.gateway
    if isinstance(gateway, Connection) and not gateway.is_connected:
        open_jump(host, gateway)
    hop = getattr(conn, "hop", None)
    where = f"{host.name} ({conn.user}@{conn.host}:{conn.port})"
    try:
        conn.open()
    except (HostKeyError, DockmoveError):
        raise
    except paramiko.BadHostKeyException as e:
        known = getattr(conn, "known", None)
        if known and is_revoked(e.key, known.revoked):
            raise revoked_error(host.name, e.hostname, e.key) from None
        key_name = hop.key_name if hop else str(conn.host)
        raise changed_key_error(host.name, key_name, e) from None
    except paramiko.AuthenticationException as e:
        key = host.identity_file or "the keys of ssh-agent and ~/.ssh"
        raise AuthError(
            f"{where}: ssh login refused ({e}); tried {key}. Check the user "
            f"and identity_file in the inventory, and that the key is in the "
            f"user's ~/.ssh/authorized_keys on the host") from None
    except socket.gaierror as e:
        raise ConnectError(f"{where}: cannot resolve {conn.host!r}: {e.strerror}; "
                           "check the address in the inventory") from None
    except (socket.timeout, TimeoutError):
        raise ConnectError(
            f"{where}: no answer within {conn.connect_timeout}s (host down, or a "
            "firewall drops the traffic); check the address and port") from None
    except paramiko.ssh_exception.NoValidConnectionsError as e:
        raise ConnectError(f"{where}: {_refused(e)}") from None
    except paramiko.ChannelException as e:
        raise ConnectError(f"{where}: the jump host could not open a connection "
                           f"to it: {e.text} (code {e.code}); check the address "
                           "and port, and that the jump host can reach them") from None
    except OSError as e:
        raise ConnectError(f"{where}: cannot connect: "
                           f"{e.strerror or e}; {_os_hint(e)}") from None
    except paramiko.SSHException as e:
        raise ConnectError(f"{where}: ssh handshake failed: {e}; is an ssh "
                           "server listening on that port?") from None
    no_delay(conn)


def no_delay(conn: Connection) -> None:
    """TCP_NODELAY on the connection's socket, as OpenSSH sets it: without
    it each command's small packets wait for the peer's delayed ACK (50 ms
    a command on the lab, 12 ms with it). A jump's inner connection rides
    a channel; its jump host's socket is set when that one opens."""
    transport = conn.client.get_transport() if conn.client else None
    sock = getattr(transport, "sock", None)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass                        # slower, not wrong


def open_jump(host: Host, gateway: Connection) -> None:
    """Open `gateway`, a jump host on the way to `host` (and the hops before
    it); an error names `host` and the jump host."""
    hop = getattr(gateway, "hop", None)
    try:
        open_connection(hop.host if hop else host, gateway)
    except DockmoveError as e:
        name = hop.host.name if hop else str(gateway.host)
        why = f" ({hop.via})" if hop and hop.via else ""
        raise _same_kind(e, f"{host.name}: through the jump host {name}{why}: "
                            f"{e.message}") from None


def _same_kind(e: DockmoveError, message: str) -> DockmoveError:
    """`e`'s kind (and exit code) with another message."""
    try:
        return type(e)(message)
    except TypeError:
        out = DockmoveError(message)
        out.exit_code = e.exit_code
        return out


def _refused(e: paramiko.ssh_exception.NoValidConnectionsError) -> str:
    codes = {err.errno for err in e.errors.values()}
    if codes == {errno.ECONNREFUSED}:
        return ("connection refused: nothing listens on that port (is sshd "
                "running? is the port right?)")
    return f"cannot connect: {e}"


def _os_hint(e: OSError) -> str:
    if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "no route to the host: is it up, and is the address right?"
    return "check the address and port in the inventory"
