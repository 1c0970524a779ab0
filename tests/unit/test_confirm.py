"""Asking before a run removes or overwrites (fleet/confirm.py): the real
question under a pseudo-terminal, the refusal without one."""
import os
import pty
import sys
import textwrap

import pytest

from fleet.confirm import confirmer
from fleet.errors import UsageError

ITEMS = ["volume db on new: the data it holds (--replace)"]


def test_without_a_terminal_nothing_goes_on_unless_yes(monkeypatch):
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    with pytest.raises(UsageError) as e:
        confirmer(yes=False)("migrate db to new", ITEMS)
    assert e.value.exit_code == 2
    assert str(e.value) == ("migrate db to new, which removes or overwrites:\n"
                            "- volume db on new: the data it holds (--replace)\n"
                            "there is no terminal to ask in: add --yes to go on; "
                            "nothing was changed")
    confirmer(yes=True)("migrate db to new", ITEMS)
    confirmer(yes=False)("migrate db to new", [])       # nothing to lose: nothing asked


ASKER = textwrap.dedent("""
    import select, sys
    from fleet.confirm import Declined, confirmer
    from fleet.errors import UsageError
    select.select([sys.stdin], [], [])      # keys typed ahead are waiting: then the question
    if "hidden" in sys.argv:                # the question would go where nobody sees it
        sys.stderr = open("/dev/null", "w")
    try:
        confirmer(yes=False)("migrate db to new", ["volume db on new: the data it holds"])
    except Declined as e:
        print(f"declined: {e} ({e.exit_code})")
    except UsageError as e:
        print(f"refused: {e}")
    else:
        print("went on")
""")


@pytest.mark.parametrize("answer, said", [(b"y\n", "went on"), (b"\n", "declined: not confirmed:"
                                                                  " nothing was changed (1)"),
                                          (b"no\n", "declined")])
def test_in_a_terminal_the_question_is_asked_and_defaults_to_no(answer, said):
    assert said in asked(answer)


def test_nobody_sees_the_question_with_stderr_elsewhere_so_it_is_not_asked():
    assert "refused: migrate db to new" in asked(b"y\n", "hidden", question=False)


def asked(answer, *extra, question=True):
    """What a terminal shows of a confirmation, `answer` typed after keys
    typed ahead ("y")."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        os.execv(sys.executable, [sys.executable, "-c", ASKER, *extra])
    os.write(fd, b"y\n")                    # typed ahead, before the question: not an answer
    screen = b""
    while question and b"[y/N]" not in screen:
        screen += os.read(fd, 1024)
    if question:
        assert b"- volume db on new: the data it holds" in screen
        os.write(fd, answer)
    try:
        while chunk := os.read(fd, 1024):
            screen += chunk
    except OSError:                         # EIO: the child closed the terminal
        pass
    os.waitpid(pid, 0)
    return screen.decode()
