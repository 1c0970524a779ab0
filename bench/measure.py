"""Running the sides of a case: alternating, each run timed and its bytes on
the wire counted at both hosts' interfaces, a failed run kept as an error
rather than stopping the others."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .lab import Lab
from .model import Case
from .settings import Settings
from .stats import schedule


@dataclass
class Context:
    """What every scenario gets: the lab, the settings, what this dockmove
    supports, where logs and migration records go, and a printer."""
    lab: Lab
    settings: Settings
    migrate_options: set[str]
    logs: Path
    records: Path
    log: Callable[[str], None] = print
    facts: dict = field(default_factory=dict)


def counted(lab: Lab, fn: Callable[[], dict], source: str | None,
            target: str | None) -> dict:
    """fn's sample, plus the bytes that left `source` and reached `target`
    (their eth0 counters: ssh and TCP overhead included, as on a real link);
    None for either: not counted."""
    tx0 = lab.counters(source)[1] if source else None
    rx0 = lab.counters(target)[0] if target else None
    try:
        sample = fn()
    except Exception as e:                 # kept as this run's outcome
        return {"error": f"{type(e).__name__}: {e}"}
    if source:
        sample["out_bytes"] = lab.counters(source)[1] - tx0
    if target:
        sample["in_bytes"] = lab.counters(target)[0] - rx0
    return sample


def alternate(ctx: Context, case: Case, runners: dict[str, Callable[[], dict]],
              prepare: Callable[[str], None] = lambda label: None,
              source: str | None = "old", target: str | None = "new",
              reps: int | None = None) -> Case:
    """Every side `reps` times, interleaved (see stats.schedule); `prepare`
    runs before each (untimed), e.g. clearing the target."""
    reps = ctx.settings.reps if reps is None else reps
    for rep, label in schedule(list(runners), reps):
        try:
            prepare(label)
        except Exception as e:
            case.side(label).samples.append({"rep": rep, "error": f"prepare: {e}"})
            ctx.log(f"  {case.scenario}/{case.name} {label} #{rep + 1}: prepare failed: {e}")
            continue
        sample = counted(ctx.lab, runners[label], source, target)
        sample["rep"] = rep
        sample["at"] = time.strftime("%H:%M:%S")
        case.side(label).samples.append(sample)
        ctx.log(f"  {case.scenario}/{case.name} {label} #{rep + 1}: " + _brief(sample))
    return case


def _brief(sample: dict) -> str:
    if "error" in sample:
        return "FAILED " + sample["error"].splitlines()[0][:160]
    out = f"{sample['seconds']:.2f}s"
    for key, word in (("out_bytes", "out"), ("in_bytes", "in")):
        if sample.get(key) is not None:
            out += f", {sample[key] / 2**20:.1f} MiB {word}"
    if sample.get("downtime_s") is not None:
        out += f", downtime {sample['downtime_s']:.2f}s"
    return out
