"""A Fabric Connection for an inventory host, with host keys verified.

Building one never touches the network (Fabric connects lazily). ~/.ssh/config
is honoured (HostName, User, Port, IdentityFile, UserKnownHostsFile); what the
inventory sets wins over it. `open_connection` connects and turns every way a
connection can fail into one of the project's errors.
"""
from __future__ import annotations

import errno
import socket

import paramiko
from fabric import Config, Connection

from .errors import AuthError, ConnectError, DockmoveError, HostKeyError
from .hostkeys import RefuseUnknownKey, changed_key_error, known_hosts_files
from .inventory import Host, Inventory, Settings


def build_connection(host: Host, settings: Settings,
                     gateway: Connection | None = None) -> Connection:
    config = Config()
    kwargs: dict = {}
    if host.identity_file:
        kwargs["key_filename"] = [host.identity_file]
    conn = Connection(
        host=host.address,
        user=host.user,
        port=host.port,
        config=config,
        connect_timeout=settings.connect_timeout,
        connect_kwargs=kwargs,
        gateway=gateway,
    )
    ssh_files = conn.ssh_config.get("userknownhostsfile", "")
    files = known_hosts_files(host, settings, tuple(ssh_files.split()))
    client = conn.client
    for f in files:
        try:
            client.load_system_host_keys(f)
        except OSError:
            pass  # a missing file holds no keys
    client.set_missing_host_key_policy(RefuseUnknownKey(host, files))
    return conn


def connection_for(inventory: Inventory, host: Host) -> Connection:
    from .selection import resolve_jump
    jump = resolve_jump(inventory, host)
    gateway = None
    if jump is not None:
        if jump.name == host.name:
            raise DockmoveError(f"{host.name}: jump host is the host itself")
        gateway = connection_for(inventory, jump)
    return build_connection(host, inventory.settings, gateway)


def open_connection(host: Host, conn: Connection) -> None:
    """Connect now; raise ConnectError, HostKeyError or AuthError."""
    where = f"{host.name} ({conn.user}@{conn.host}:{conn.port})"
    try:
        conn.open()
    except (HostKeyError, DockmoveError):
        raise
    except paramiko.BadHostKeyException as e:
        raise changed_key_error(host, e) from None
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
    except OSError as e:
        raise ConnectError(f"{where}: cannot connect: "
                           f"{e.strerror or e}; {_os_hint(e)}") from None
    except paramiko.SSHException as e:
        raise ConnectError(f"{where}: ssh handshake failed: {e}; is an ssh "
                           "server listening on that port?") from None


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
