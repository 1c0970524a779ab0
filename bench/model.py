"""What a benchmark produces: cases with sides and their samples, the target a
side must meet, and the summaries computed from them. Pure.

A case compares sides measured in the same run (`baseline` is the side the
others are divided by). A sample is a dict: `seconds`, and where measured
`out_bytes` (left the source host: its eth0 tx), `in_bytes` (reached the
target host: its eth0 rx), `downtime_s`, `report` (the tool's JSON report),
`steps` (seconds per `inv migrate` step); or `error` for a run that failed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .stats import median, ratio

MIB = 1 << 20


@dataclass(frozen=True)
class Target:
    """What the issue asks of a side. kinds:
    - max_ratio: median metric / baseline's median metric <= limit
    - bytes_share: time ratio <= byte ratio + limit, i.e. ahead of the
      baseline by about the share of bytes not sent; the byte ratio is
      `share` when given (what need be sent at best), else the measured one
    - max_value: median metric <= limit (seconds, per host when per_host)
    """
    kind: str
    limit: float
    text: str
    per_host: int = 1
    share: float | None = None


@dataclass
class Side:
    label: str
    target: Target | None = None
    samples: list[dict] = field(default_factory=list)

    def ok_samples(self) -> list[dict]:
        return [s for s in self.samples if "error" not in s]

    def errors(self) -> list[str]:
        return [s["error"] for s in self.samples if "error" in s]


@dataclass
class Case:
    scenario: str
    name: str
    sides: list[Side]
    baseline: str | None = None
    metric: str = "seconds"          # what the ratio and max_value targets use
    payload_bytes: int | None = None  # the image (or data) the case moves
    notes: list[str] = field(default_factory=list)
    pair: str = "lab"                # where it ran: the lab, or the fast pair

    def side(self, label: str) -> Side:
        for s in self.sides:
            if s.label == label:
                return s
        raise KeyError(label)


@dataclass(frozen=True)
class Summary:
    label: str
    n: int
    failed: int
    seconds: float | None
    out_bytes: float | None
    in_bytes: float | None
    downtime_s: float | None
    mib_per_s: float | None          # payload MiB / seconds, median over runs
    ratio: float | None              # metric vs the baseline's
    bytes_ratio: float | None        # busier link's bytes vs the baseline's
    target: str
    met: bool | None                 # None: no target, or not measurable
    why: str


def _med(side: Side, key: str) -> float | None:
    return median(s.get(key) for s in side.ok_samples())


def busier_link(sample: dict) -> int | None:
    """Bytes on the busier of the two links (source to here, here to target):
    the two run at once, so the busier one sets the pace."""
    counted = [sample[k] for k in ("out_bytes", "in_bytes") if sample.get(k) is not None]
    return max(counted) if counted else None


def _med_link(side: Side) -> float | None:
    return median(busier_link(s) for s in side.ok_samples())


def summarize(case: Case) -> list[Summary]:
    base = case.side(case.baseline) if case.baseline else None
    base_metric = _med(base, case.metric) if base else None
    base_bytes = _med_link(base) if base else None
    out = []
    for side in case.sides:
        metric = _med(side, case.metric)
        is_base = base is not None and side.label == base.label
        r = None if is_base or base is None else ratio(metric, base_metric)
        br = None if is_base or base is None else ratio(_med_link(side), base_bytes)
        rate = None
        if case.payload_bytes:
            rate = median(case.payload_bytes / MIB / s["seconds"]
                          for s in side.ok_samples() if s.get("seconds"))
        met, why = evaluate(side.target, metric, r, br)
        out.append(Summary(
            label=side.label, n=len(side.ok_samples()), failed=len(side.errors()),
            seconds=_med(side, "seconds"), out_bytes=_med(side, "out_bytes"),
            in_bytes=_med(side, "in_bytes"), downtime_s=_med(side, "downtime_s"),
            mib_per_s=rate, ratio=r, bytes_ratio=br,
            target=side.target.text if side.target else "", met=met,
            why=why if side.ok_samples() or not side.errors() else side.errors()[-1]))
    return out


def evaluate(target: Target | None, metric: float | None, time_ratio: float | None,
             bytes_ratio: float | None) -> tuple[bool | None, str]:
    """Whether a side meets its target, and the numbers that say so."""
    if target is None:
        return None, ""
    if target.kind == "max_ratio":
        if time_ratio is None:
            return None, "no ratio (a side has no successful run)"
        return time_ratio <= target.limit, f"{time_ratio:.2f}x"
    if target.kind == "bytes_share":
        share = target.share if target.share is not None else bytes_ratio
        if time_ratio is None or share is None:
            return None, "no ratio (a side has no successful run)"
        return (time_ratio <= share + target.limit,
                f"time {time_ratio:.2f}x, " + ("bytes" if target.share is None else "at best")
                + f" {share:.2f}x")
    if target.kind == "max_value":
        if metric is None:
            return None, "not measured"
        value = metric / target.per_host
        return value <= target.limit, f"{value:.2f}s" + (" per host" if target.per_host > 1 else "")
    raise ValueError(f"unknown target kind {target.kind!r}")


def case_dict(case: Case) -> dict:
    """A case as JSON-ready data, its summaries included."""
    data = asdict(case)
    data["summary"] = [asdict(s) for s in summarize(case)]
    return data
