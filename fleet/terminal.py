"""Where a task's lines go, and how they look: one Screen per task run.

Plain (stdout is not a terminal: CI logs, `| tee`, --json, TERM=dumb): every
line as it comes, and a stream's progress as a line every two seconds, as
logs want them. Live (a terminal): the same lines scroll, and below them one
bar per running stream (bytes of total, rate, ETA) that gives way to the
stream's result line when it ends; a run over several hosts shows one row a
host (its current step, its time) instead of interleaved lines. rich draws
it, with colours off under NO_COLOR. `quiet` keeps warnings and results
(fleet/output.py says which lines are results); errors go to stderr anyway.
"""
from __future__ import annotations

import io
import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from rich.console import Console, Group
from rich.live import Live
from rich import filesize
from rich.box import Box
from rich.progress import (BarColumn, DownloadColumn, Progress, ProgressColumn, TextColumn,
                           TimeRemainingColumn)
from rich.table import Table
from rich.text import Text


# columns two blanks apart, a line of dashes under the headers, no frame
_HEAD = Box("    \n    \n -  \n    \n    \n    \n    \n    \n", ascii=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A table as text (hosts, ports, checks, summaries): no cell is
    wrapped or cut, whatever the width; the same in a terminal and a log."""
    t = Table(box=_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0),
              header_style="")
    for h in headers:
        t.add_column(Text(str(h)), no_wrap=True)
    for r in rows:                      # Text: a cell's [brackets] are text, never markup
        t.add_row(*[Text("" if c is None else str(c)) for c in r])
    out = io.StringIO()
    Console(file=out, width=1 << 16, color_system=None, highlight=False).print(t)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def is_live() -> bool:
    """stdout is a terminal that can redraw: a tty, TERM not dumb."""
    return sys.stdout.isatty() and os.environ.get("TERM", "") not in ("dumb", "")


class Screen:
    def __init__(self, live: bool = False, quiet: bool = False,
                 write: Callable[[str], None] | None = None):
        self.live = live
        self.quiet = quiet
        self._write = write or print
        self._lock = threading.Lock()
        self._rows: dict[str, _Row] | None = None           # host -> its row, while shown
        self._users = 0
        if live:
            self.console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
            self.progress = Progress(TextColumn("  {task.description}", markup=False),
                                     BarColumn(), DownloadColumn(binary_units=True), _Rate(),
                                     TimeRemainingColumn(), console=self.console)
            self._live = Live(Group(), console=self.console, refresh_per_second=8,
                              get_renderable=self._renderable, redirect_stdout=False,
                              redirect_stderr=False, transient=True)

    @classmethod
    def for_task(cls, json: bool = False, quiet: bool = False) -> "Screen":
        """Live in a terminal, plain otherwise; with --json the lines go to
        stderr, plain, and stdout keeps the document alone."""
        if json:
            return cls(write=lambda line: print(line, file=sys.stderr, flush=True), quiet=quiet)
        return cls(live=is_live(), quiet=quiet)

    def __enter__(self) -> "Screen":
        return self

    def __exit__(self, *exc) -> None:
        if self.live:
            self._live.stop()

    def _hold(self, more: int) -> None:
        """The live area is drawn only while a bar or the hosts' rows are
        there: a question (fleet/confirm.py) never shares the terminal with
        a redraw."""
        with self._lock:
            self._users += more
            users = self._users
        if more > 0 and users == 1:
            self._live.start(refresh=True)
        elif users == 0:
            self._live.stop()

    # --- lines ----------------------------------------------------------------

    def __call__(self, text: str) -> None:
        self.line(text)

    def line(self, text: str, *, result: bool = False) -> None:
        """One line for the user (a step, a warning, a result). `result`:
        kept under --quiet, like anything that reads as a warning, an error
        or an undo (fleet/output.py marks a text's every line alike)."""
        if self.quiet and not result and not _style(text):
            return
        if not self.live:
            self._write(text)
            return
        host, _, said = text.partition(": ")
        with self._lock:
            if self._rows is not None and host in self._rows:
                self._rows[host] = self._rows[host].said(said, time.monotonic())
                if not _style(text):        # a failure, a warning: in the scrollback too
                    return
        self.console.print(Text(text, style=_style(text)))

    # --- a stream's bar --------------------------------------------------------

    @contextmanager
    def bar(self, what: str, total: int | None) -> Iterator[Callable[[int], None] | None]:
        """Live: a bar for the block, fed the bytes done (None: plain, the
        caller prints its progress lines)."""
        if not self.live or self.quiet:
            yield None
            return
        task = self.progress.add_task(what, total=total or None)
        self._hold(1)
        try:
            yield lambda done: self.progress.update(task, completed=done)
        finally:
            self.progress.remove_task(task)
            self._hold(-1)

    # --- a run over several hosts -------------------------------------------

    @contextmanager
    def hosts(self, names: list[str]) -> Iterator[None]:
        """Live: one row a host, its last line and its time, while the
        block runs (plain: the lines as they come)."""
        if not self.live or self.quiet or len(names) < 2:
            yield
            return
        with self._lock:
            self._rows = {n: _Row() for n in names}
        self._hold(1)
        try:
            yield
        finally:
            with self._lock:
                self._rows = None
            self._hold(-1)

    def _renderable(self):
        parts = []
        with self._lock:
            rows = dict(self._rows or {})
        if rows:
            table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
            for col in ("HOST", "NOW", "TIME"):
                table.add_column(col, no_wrap=True, overflow="ellipsis")
            now = time.monotonic()
            width = max(20, self.console.width - 30)
            for host, row in rows.items():
                table.add_row(Text(host), Text(row.line[:width], style=_style(row.line)),
                              row.took(now))
            parts.append(table)
        if self.progress.tasks:
            parts.append(self.progress.get_renderable())
        return Group(*parts)


@dataclass(frozen=True)
class _Row:
    """A host's row while provision runs on several: its last line, and
    its time from its first line to now, or to its last step's line."""
    line: str = "waiting"
    began: float | None = None
    ended: float | None = None

    def said(self, line: str, now: float) -> "_Row":
        step = _STEP.search(line)
        last = bool(step) and step.group(1) == step.group(2)
        return _Row(line, self.began if self.began is not None else now,
                    now if last or self.ended is not None else None)

    def took(self, now: float) -> str:
        if self.began is None:
            return ""
        return f"{(self.ended if self.ended is not None else now) - self.began:.0f}s"


class _Rate(ProgressColumn):
    """The rate in MiB/s, as the plain lines give it (rich's own is MB/s)."""

    def render(self, task) -> Text:
        if not task.speed:
            return Text("?/s")
        unit, suffix = filesize.pick_unit_and_suffix(int(task.speed),
                                                     ["B", "KiB", "MiB", "GiB"], 1024)
        return Text(f"{task.speed / unit:.1f} {suffix}/s")


_STEP = re.compile(r"^\[(\d+)/(\d+)\]")


def _style(text: str) -> str:
    """red: a failure; yellow: a warning, an undo, an interruption; green:
    a result ("" for a step: what --quiet leaves out)."""
    body = text.split(": ", 1)[-1].lstrip()
    if (body.startswith(("error", "failed", "FAILED", "could not")) or "could not undo" in body
            or ": FAILED" in body or " failed" in body[:60]):
        return "red"
    if body.startswith(("warning", "undone", "undoing", "interrupted", "putting back", "note",
                        "kept:")):
        return "yellow"
    if body.startswith(("done in", "rolled back")):
        return "green"
    return ""


def kept(line: str) -> bool:
    """Shown under --quiet: a warning, an error, an undo, a result."""
    return bool(_style(line))
