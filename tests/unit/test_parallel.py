"""Multi-host runs interrupted by Ctrl-C: no host that had not begun is started,
the running ones are told to stop and are waited for, every outcome is kept."""
import _thread
import threading

from fleet.errors import HostsFailed, Interrupted, NotStarted
from fleet.parallel import raise_if_failed, run_each


def test_ctrl_c_starts_no_new_host_and_keeps_every_outcome():
    cancel = threading.Event()
    began = []

    def one(name):
        began.append(name)
        if name == "a":
            _thread.interrupt_main()             # Ctrl-C while host a runs
            assert cancel.wait(10), "cancel was not set"
            raise Interrupted("a: interrupted before step 3/11")
        return name

    outcomes = run_each(["a", "b", "c"], one, workers=1, cancel=cancel)
    assert began == ["a"]
    assert isinstance(outcomes["a"].error, Interrupted)
    assert all(isinstance(outcomes[n].error, NotStarted) for n in ("b", "c"))
    assert "b: not started (interrupted before its turn): unchanged" == str(outcomes["b"].error)
    try:
        raise_if_failed(outcomes)
    except HostsFailed as e:
        assert e.exit_code == 130
        assert "interrupted: 3 host(s) not finished: a, b, c" in str(e)
    else:
        raise AssertionError("no error raised")


def test_without_ctrl_c_every_host_runs():
    outcomes = run_each(["a", "b", "c"], str.upper, workers=2, cancel=threading.Event())
    assert {k: o.value for k, o in outcomes.items()} == {"a": "A", "b": "B", "c": "C"}


def test_foreign_errors_become_one_line_and_an_exit_code():
    import socket

    import paramiko
    from invoke import Exit

    import tasks

    def fails(e):
        @tasks._handled
        def task():
            raise e
        try:
            task()
        except Exit as x:
            return x.code, x.message
        raise AssertionError("no Exit")

    code, msg = fails(paramiko.SSHException("Error reading SSH protocol banner"))
    assert code == 3 and msg.startswith("error: the ssh connection failed: SSHException: "
                                        "Error reading SSH protocol banner")
    code, msg = fails(socket.timeout("timed out"))
    assert code == 3 and "\n" not in msg
    code, msg = fails(FileNotFoundError(2, "No such file or directory", "/x/report.json"))
    assert (code, msg) == (1, "error: No such file or directory (/x/report.json)")
    code, msg = fails(KeyError("Mounts"))
    assert code == 1 and msg.startswith("error: unexpected KeyError: 'Mounts' (a bug")


def test_bad_numbers_for_provision_are_usage_errors_not_tracebacks(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).parents[2]
    for args, words in ((["--lock-timeout", "x"], "--lock-timeout 'x': expected a number of seconds"),
                        (["--parallel", "0"], "--parallel '0': expected a number of hosts (1 or more)")):
        out = subprocess.run([sys.executable, "-m", "invoke", "provision", "--host", "new", *args],
                             cwd=root, capture_output=True, text=True, timeout=60,
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
        assert out.returncode == 2, out.stderr
        assert words in out.stderr and "Traceback" not in out.stderr
