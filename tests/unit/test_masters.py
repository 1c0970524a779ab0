"""fleet/ssh_cli.Masters with this machine's real OpenSSH client, against a
loopback listener that accepts connections and never says a word (a host
still connecting): what a run leaves behind when it ends meanwhile."""
import os
import socket
import time
from pathlib import Path

import pytest

from fleet.inventory import parse_inventory
from fleet.ssh_cli import Masters


@pytest.fixture
def silent_host(tmp_path, monkeypatch):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)                   # connections complete in the backlog; no banner comes
    port = listener.getsockname()[1]
    (tmp_path / "kh").write_text("")
    text = (f"hosts:\n  quiet:\n    address: 127.0.0.1\n    port: {port}\n"
            f"    user: root\n    known_hosts: {tmp_path / 'kh'}\n"
            "settings:\n  connect_timeout: 30\n")
    temp = tmp_path / "t"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    yield parse_inventory(text, tmp_path / "hosts.yaml"), temp
    listener.close()


def test_a_master_still_connecting_when_the_run_ends_is_ended_with_its_files(silent_host):
    inv, temp = silent_host
    masters = Masters()
    masters.warm(inv, [inv.hosts["quiet"]])
    _sock, proc, _stack, _deadline = masters.pending["quiet"]
    known = [p for p in temp.iterdir() if p.name.startswith("dockmove-known-hosts-")]
    assert len(known) == 1 and (known[0] / "hop0").exists()      # the master's known_hosts
    assert proc.poll() is None                                    # still connecting
    started = time.monotonic()
    masters.close()
    assert time.monotonic() - started < 5                         # not its 30 s timeout
    assert proc.poll() is not None
    assert os.listdir(temp) == []                                 # known_hosts and sockets gone
    assert masters.socket(inv, inv.hosts["quiet"]) is None        # closed: no new master


def test_a_warmed_master_that_cannot_connect_leaves_the_stream_to_itself(silent_host, tmp_path):
    inv, temp = silent_host
    text = (tmp_path / "hosts.yaml")
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()                                                  # nothing listens there now
    inv2 = parse_inventory(f"hosts:\n  gone:\n    address: 127.0.0.1\n    port: {port}\n"
                           f"    known_hosts: {tmp_path / 'kh'}\n", text)
    with Masters() as masters:
        masters.warm(inv2, [inv2.hosts["gone"]])
        assert masters.socket(inv2, inv2.hosts["gone"]) is None
        assert masters.sockets["gone"] is None                    # not tried again per stream
    assert os.listdir(temp) == []
