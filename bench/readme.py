"""Putting the latest results into the README's Benchmarks section, between
two markers, so the table there is always one a run printed. Pure but for
`update`."""
from __future__ import annotations

from pathlib import Path

START = "<!-- bench:latest (written by python -m bench.run --update-readme) -->"
END = "<!-- /bench:latest -->"


def splice(text: str, block: str) -> str:
    """`text` with what lies between the markers replaced by `block`."""
    head, found, rest = text.partition(START)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise ValueError(f"the README has no {START!r} ... {END!r} markers")
    return f"{head}{START}\n{block.strip()}\n{END}{tail}"


def update(readme: Path, block: str) -> None:
    readme.write_text(splice(readme.read_text(), block))
