"""How a remote command meets Ctrl-C (and SIGTERM, SIGHUP, which tasks.py
turns into the same interrupt).

Fabric's runner, without a pty, raises the interrupt at once and leaves the
command running on the host. What a run does next is its undo, and an undo
that races the command it undoes goes wrong: a `docker start` sent while a
`docker stop` still runs there is a no-op, and the container ends stopped.
So the first interrupt lets the running command end (it is said on stderr),
then is raised; a second one stops waiting, for a command that hangs.
Under fleet/signals.py's `deferred()` (a migration) the first never comes
here; the second does, and is raised at once.
"""
from __future__ import annotations

import sys

from fabric.runners import Remote

from . import signals


class PatientRemote(Remote):
    # invoke polls for the command's end every input_sleep (0.01 s): a wait
    # of 5 ms on average after every command, where a run has a hundred
    input_sleep = 0.001

    def run(self, command, **kwargs):
        self._interrupt: BaseException | None = None
        try:
            result = super().run(command, **kwargs)
        except Exception:
            if self._interrupt is not None:
                raise self._interrupt from None
            raise
        if self._interrupt is not None:
            raise self._interrupt
        return result

    def send_interrupt(self, interrupt):
        if self._interrupt is not None or signals.pending():    # the second: stop waiting
            # invoke joins its output readers without a timeout, and they read
            # until the command ends: closed here, they end now
            try:
                self.kill()
            except Exception:
                pass
            raise interrupt
        self._interrupt = interrupt
        host = getattr(self.context, "host", "the host")
        name = getattr(getattr(self.context, "hop", None), "host", None)
        where = getattr(name, "name", None) or host
        print(f"interrupted: waiting for the command running on {where} to end "
              "(Ctrl-C again to stop waiting)", file=sys.stderr, flush=True)
