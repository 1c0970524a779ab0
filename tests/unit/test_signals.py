"""fleet/signals.py with real signals sent to this process: under
`deferred()` the first one is taken only at a safe point (never inside the
code that runs, as paramiko's locks need), its hooks run at once, a second one
comes at once; and migrate/stream.py's pipe lets the receiver end first."""
from __future__ import annotations

import os
import signal

import pytest

from fleet import signals
from migrate.stream import pipe, splice_all


def test_the_first_signal_waits_for_a_safe_point(capfd):
    done = []
    with pytest.raises(KeyboardInterrupt):
        with signals.deferred():
            with signals.doing("the command running on old"):
                signal.raise_signal(signal.SIGINT)
                done.append("the rest of the command's code ran")
            done.append("and the code after it, up to the checkpoint")
            signals.checkpoint()
            done.append("never")
    assert done == ["the rest of the command's code ran",
                    "and the code after it, up to the checkpoint"]
    assert ("interrupted: waiting for the command running on old to end, then undoing "
            "(Ctrl-C again to stop waiting)") in capfd.readouterr().err


def test_a_signal_after_the_last_checkpoint_is_not_raised_when_the_block_ends():
    # the run was verified: a late Ctrl-C does not undo it
    with signals.deferred():
        signal.raise_signal(signal.SIGINT)
    assert not signals.pending()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_signal_stops_a_wait_and_changes_nothing_elsewhere():
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with signals.deferred():
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)      # on its way to the undo: nothing
            reached.append(1)
            with signals.doing("the command running on old"):
                signal.raise_signal(signal.SIGINT)  # while waiting: at once
                reached.append(2)
    assert reached == [1]


def test_sigterm_is_taken_the_same_way_with_its_number(monkeypatch):
    monkeypatch.setattr(signals, "received", [])
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(signals.Signalled) as e:
        with signals.deferred():
            signal.raise_signal(signal.SIGTERM)
            signals.checkpoint()
    assert e.value.signum == signal.SIGTERM and signals.received == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) is before


def test_hooks_run_when_the_signal_comes_or_at_once_if_it_came(capfd):
    calls = []
    with pytest.raises(KeyboardInterrupt):
        with signals.deferred():
            with signals.on_interrupt(lambda: calls.append("first")):
                signal.raise_signal(signal.SIGINT)
                assert calls == ["first"]
            with signals.on_interrupt(lambda: calls.append("second")):
                assert calls == ["first", "second"]
            signals.checkpoint()
    assert calls == ["first", "second"]
    assert "interrupted: undoing after this step" in capfd.readouterr().err


def test_outside_deferred_a_signal_is_raised_where_it_lands():
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
    signals.checkpoint()        # nothing pending: a no-op


def test_held_drops_what_comes():
    with signals.held():
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_interrupted_stream_stops_its_sender_and_lets_the_receiver_end(tmp_path, capfd):
    """The sender never ends by itself; the interrupt comes with the first
    bytes. The sender is stopped, the receiver gets the end of its input
    and finishes what it does (here: writes its file), then the interrupt
    is raised."""
    finished = tmp_path / "receiver-finished"
    pid = tmp_path / "sender-pid"

    def relay(rfd, wfd, tick):
        def first_bytes(read, written):
            if not pending_sent:
                pending_sent.append(1)
                signal.raise_signal(signal.SIGINT)
            tick(read, written)
        return splice_all(rfd, wfd, first_bytes)
    pending_sent: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        with signals.deferred():
            pipe(["sh", "-c", f"echo $$ > {pid}; while :; do head -c 65536 /dev/zero; done"],
                 ["sh", "-c", f"cat >/dev/null; echo ok > {finished}"],
                 what="image stream", relay=relay)
    assert finished.read_text() == "ok\n"
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid.read_text()), 0)
    assert ("interrupted: waiting for the image stream's receiving side to end, then undoing"
            in capfd.readouterr().err)
