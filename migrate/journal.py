"""The undo journal of a migration: what the run changed, typed, to put back
in reverse order if it fails. Entries that bring the service back (the source
started again or unpaused) run first; one that fails does not stop the rest.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

from fleet.output import Printer

# what an entry puts back: the source's state, or something on either host
Kind = Literal["source", "replaced", "container", "image", "tag", "volume", "contents",
               "network"]


# the order of the undo: what brings the service back, then users before what they
# use; the data copied into a volume goes before a replaced container gets its name
# back and starts (on that volume, maybe)
ORDER: tuple[Kind, ...] = ("source", "container", "contents", "replaced", "volume", "network",
                           "tag", "image")


@dataclass(frozen=True)
class Entry:
    kind: Kind
    what: str                          # printed: "undone: <what>"
    action: Callable[[], None] = field(compare=False, repr=False)


@dataclass
class Journal:
    entries: list[Entry] = field(default_factory=list)

    def add(self, kind: Kind, what: str, action: Callable[[], None]) -> Entry:
        """Note the undo of a change about to be made (before it is: an
        interrupt lets a command end, then the undo runs: fleet/runner.py)."""
        entry = Entry(kind, what, action)
        self.entries.append(entry)
        return entry

    def drop(self, entry: Entry) -> None:
        """The change was refused: nothing to undo (and what has the name
        there now is not ours)."""
        self.entries = [e for e in self.entries if e is not entry]

    def has(self, kind: Kind, what: str) -> bool:
        return any(e.kind == kind and e.what == what for e in self.entries)

    def undo(self, out: Printer) -> list[Entry]:
        """Undo everything; the entries that could not be undone. The
        source first; then, newest first within each kind, the containers
        before what they use (copied contents, the name a replaced one gets
        back, volumes, networks, tags, images): in a group, a member's
        tag is not taken off while another member's container still runs
        from it."""
        failed = []
        ordered = sorted(reversed(self.entries), key=lambda e: ORDER.index(e.kind))
        for e in ordered:
            try:
                e.action()
                out(f"  undone: {e.what}")
            except Exception as err:   # keep undoing the rest
                out(f"  could not undo {e.what}: "
                    f"{str(err).splitlines()[0] if str(err) else repr(err)}")
                failed.append(e)
        self.entries.clear()
        return failed
