"""The table printed at the end, and the results files (JSON, CSV). Pure but
for `write`, which only writes what the pure functions made."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .model import MIB, Case, Summary, case_dict, summarize
from .stats import median

COLUMNS = ["SCENARIO", "PAIR", "CASE", "SIDE", "N", "TIME s", "DOWN s", "OUT MiB", "IN MiB",
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
            out.append([case.scenario, case.pair, case.name, s.label, n, _num(s.seconds),
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
    return [f"{c.scenario}/{c.pair}/{c.name}: {n}" for c in cases for n in c.notes]


def profiles(cases: list[Case]) -> list[str]:
    """Where `inv migrate` spent its time: the median seconds of each step,
    and what no step accounts for (Python and Invoke start-up, connections,
    preflight), for every side that has step timings."""
    out = []
    for case in cases:
        for side in case.sides:
            runs = [s for s in side.ok_samples() if s.get("steps")]
            if not runs:
                continue
            names = list(dict.fromkeys(k for s in runs for k in s["steps"]))
            steps = {k: median(s["steps"].get(k, 0.0) for s in runs) for k in names}
            total = median(s["seconds"] for s in runs)
            rest = total - sum(steps.values())
            busy = ", ".join(f"{k} {v:.1f}s" for k, v in steps.items() if v >= 0.05)
            out.append(f"{case.scenario}/{case.pair}/{case.name} {side.label}: {total:.1f}s = {busy}, "
                       f"outside the steps {rest:.1f}s")
    return out


def results(cases: list[Case], machine: dict, settings: dict) -> dict:
    return {"machine": machine, "settings": settings,
            "cases": [case_dict(c) for c in cases]}


def csv_text(cases: list[Case]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["scenario", "pair", "case", "side", "n", "failed", "seconds", "downtime_s",
                "out_bytes", "in_bytes", "mib_per_s", "ratio", "bytes_ratio", "target", "met"])
    for case in cases:
        for s in summarize(case):
            w.writerow([case.scenario, case.pair, case.name, s.label, s.n, s.failed, s.seconds,
                        s.downtime_s, s.out_bytes, s.in_bytes, s.mib_per_s, s.ratio,
                        s.bytes_ratio, s.target, s.met])
    return buf.getvalue()


def markdown(cases: list[Case], machine: dict, settings: dict) -> str:
    """The table, the notes and the profiles, as the README shows them."""
    head = (f"Measured {machine.get('date_utc', '?')} on {machine.get('cpu', '?')} "
            f"({machine.get('cores', '?')} cores, kernel {machine.get('kernel', '?')})"
            + "".join(f"; {label}: Docker {machine[key + 'docker_old']} on old and "
                      f"{machine.get(key + 'docker_new', '?')} on new"
                      for label, key in (("lab", ""), ("fast pair", "fast_"))
                      if machine.get(key + "docker_old")) + "; "
            f"dockmove {str(machine.get('dockmove_commit', '?'))[:12]}; "
            f"{settings.get('reps')} repetition(s), sizes x{settings.get('scale')}, "
            f"{settings.get('nodes')} fan-out hosts.")
    lines = [head, "", table(cases, markdown=True), ""]
    lines += [f"- {n}" for n in notes(cases)]
    lines += [f"- profile: {p}" for p in profiles(cases)]
    return "\n".join(lines).rstrip() + "\n"


def write(directory: Path, cases: list[Case], machine: dict, settings: dict,
          stem: str = "latest") -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{stem}.json", directory / f"{stem}.csv", directory / f"{stem}.md"]
    paths[0].write_text(json.dumps(results(cases, machine, settings), indent=2) + "\n")
    paths[1].write_text(csv_text(cases))
    paths[2].write_text(markdown(cases, machine, settings))
    return paths
