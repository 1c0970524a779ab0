"""The table printed at the end, and the results files (JSON, CSV). Pure but
for `write`, which only writes what the pure functions made."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .model import MIB, Case, Summary, case_dict, summarize

COLUMNS = ["SCENARIO", "CASE", "SIDE", "N", "TIME s", "DOWN s", "OUT MiB", "IN MiB",
           "MiB/s", "RATIO", "BYTES", "TARGET", "MET"]


def _num(v: float | None, fmt: str = "{:.2f}") -> str:
    return "" if v is None else fmt.format(v)


def _met(s: Summary) -> str:
    if s.met is None:
        return "n/a" if s.target else ""
    return ("yes" if s.met else "NO") + (f" ({s.why})" if s.why else "")


def rows(cases: list[Case]) -> list[list[str]]:
    out = []
    for case in cases:
        for s in summarize(case):
            n = f"{s.n}" + (f"+{s.failed}F" if s.failed else "")
            out.append([case.scenario, case.name, s.label, n, _num(s.seconds),
                        _num(s.downtime_s),
                        _num(s.out_bytes and s.out_bytes / MIB, "{:.1f}"),
                        _num(s.in_bytes and s.in_bytes / MIB, "{:.1f}"),
                        _num(s.mib_per_s, "{:.1f}"), _num(s.ratio, "{:.2f}x"),
                        _num(s.bytes_ratio, "{:.2f}x"), s.target,
                        _met(s) if s.n or not s.failed else "FAILED: " + s.why[:60]])
    return out


def table(cases: list[Case], markdown: bool = False) -> str:
    body = rows(cases)
    if markdown:
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [COLUMNS] + body) for i in range(len(COLUMNS))]
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([fmt(COLUMNS), fmt(["-" * w for w in widths])] + [fmt(r) for r in body])


def notes(cases: list[Case]) -> list[str]:
    return [f"{c.scenario}/{c.name}: {n}" for c in cases for n in c.notes]


def results(cases: list[Case], machine: dict, settings: dict) -> dict:
    return {"machine": machine, "settings": settings,
            "cases": [case_dict(c) for c in cases]}


def csv_text(cases: list[Case]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["scenario", "case", "side", "n", "failed", "seconds", "downtime_s",
                "out_bytes", "in_bytes", "mib_per_s", "ratio", "bytes_ratio", "target", "met"])
    for case in cases:
        for s in summarize(case):
            w.writerow([case.scenario, case.name, s.label, s.n, s.failed, s.seconds,
                        s.downtime_s, s.out_bytes, s.in_bytes, s.mib_per_s, s.ratio,
                        s.bytes_ratio, s.target, s.met])
    return buf.getvalue()


def write(directory: Path, cases: list[Case], machine: dict, settings: dict,
          stem: str = "latest") -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{stem}.json", directory / f"{stem}.csv", directory / f"{stem}.md"]
    paths[0].write_text(json.dumps(results(cases, machine, settings), indent=2) + "\n")
    paths[1].write_text(csv_text(cases))
    paths[2].write_text(table(cases, markdown=True) + "\n\n" +
                        "".join(f"- {n}\n" for n in notes(cases)))
    return paths
