"""The benchmark's settings: sizes, repetitions, which scenarios. Pure."""
from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path

SCENARIOS = ("provision", "fanout", "full", "incremental", "filter", "slowlink", "downtime",
             "stack", "dbfile")
PAIRS = ("lab", "fast")
# What runs on the fast pair (bench/fastpair.py): the scenarios that touch only
# the two engines. The others install packages, shape links or fetch pages
# from the seed's containers, which the fast pair (this machine's own
# filesystem and packages) has not; dbfile runs there without its side that
# hides python3 on `new`.
FAST_SCENARIOS = ("full", "incremental", "filter", "dbfile")
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Settings:
    scenarios: tuple[str, ...] = SCENARIOS
    pairs: tuple[str, ...] = PAIRS             # the lab, the fast pair, or both
    reps: int = 3
    scale: float = 1.0                       # multiplies every data size
    full_mib: tuple[int, ...] = (300, 1024)
    kinds: tuple[str, ...] = ("random", "text")
    incr_base_mib: int = 300
    incr_top_mib: int = 30
    slow_mib: int = 300
    slow_kinds: tuple[str, ...] = ("random", "text")
    rate_mbit: int = 100
    delay_ms: int = 20
    volume_mib: int = 200
    db_mib: int = 1024                       # the dbfile scenario's data file
    nodes: int = 8
    first_run_reps: int = 1                  # fresh hosts each time: slow
    first_run_serial: bool = False           # also 8 first runs one after the other
    results: Path = RESULTS
    down: bool = False                       # remove the lab at the end
    update_readme: bool = False              # put the table into README.md

    def scenarios_for(self, pair: str) -> tuple[str, ...]:
        return tuple(s for s in self.scenarios if pair == "lab" or s in FAST_SCENARIOS)

    def mib(self, size: int) -> int:
        return max(1, round(size * self.scale))

    def as_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


SMOKE = dict(reps=1, scale=0.02, full_mib=(300,), nodes=2)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def _words(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def parser() -> argparse.ArgumentParser:
    d = Settings()
    p = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="dockmove benchmarks on a lab of their own (issue 7). "
                    "Prints a table; writes bench/results/latest.{json,csv,md}.")
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                   help=f"which to run: {', '.join(SCENARIOS)} (default with --all: every one)")
    p.add_argument("--all", action="store_true", help="run every scenario")
    p.add_argument("--pair", choices=("lab", "fast", "both"), default="both",
                   help="where: the lab, the fast pair (network namespaces beside it that "
                        f"stream at full speed; runs {', '.join(FAST_SCENARIOS)}), or both "
                        "(default)")
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes (scale 0.02), 1 repetition, 2 nodes: checks that it all runs")
    p.add_argument("--reps", type=int, help=f"repetitions of each side (default {d.reps})")
    p.add_argument("--scale", type=float, help="multiply every data size, e.g. 0.1 (default 1)")
    p.add_argument("--full-mib", type=_ints, help="full transfer image sizes in MiB (default 300,1024)")
    p.add_argument("--kinds", type=_words, help="data kinds: random,text (default both)")
    p.add_argument("--slow-mib", type=int, help=f"slow-link image size (default {d.slow_mib})")
    p.add_argument("--volume-mib", type=int, help=f"downtime volume size (default {d.volume_mib})")
    p.add_argument("--db-mib", type=int, help=f"dbfile's data file size (default {d.db_mib})")
    p.add_argument("--nodes", type=int, help=f"fan-out hosts (default {d.nodes}, at most 16)")
    p.add_argument("--first-run-reps", type=int, help="first-run fan-out repetitions (default 1)")
    p.add_argument("--first-run-serial", action="store_true",
                   help="also time first runs one host after the other (fresh hosts again)")
    p.add_argument("--results", type=Path, help=f"results folder (default {RESULTS})")
    p.add_argument("--down", action="store_true", help="remove the bench lab at the end")
    p.add_argument("--update-readme", action="store_true",
                   help="put the table into README.md's Benchmarks section (between its markers)")
    return p


def from_args(argv: list[str] | None = None) -> Settings:
    a = parser().parse_args(argv)
    chosen = tuple(a.scenarios) or (SCENARIOS if a.all or a.smoke else ())
    if not chosen:
        parser().error("name scenarios, or pass --all (or --smoke)")
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        parser().error(f"unknown scenario {', '.join(unknown)}; expected {', '.join(SCENARIOS)}")
    values: dict = dict(SMOKE) if a.smoke else {}
    values["scenarios"] = tuple(s for s in SCENARIOS if s in chosen)
    for key in ("reps", "scale", "full_mib", "kinds", "slow_mib", "volume_mib", "db_mib", "nodes",
                "first_run_reps", "results"):
        if getattr(a, key) is not None:
            values[key] = getattr(a, key)
    if a.smoke and a.kinds is None:
        values["kinds"] = ("random", "text")
    values["pairs"] = PAIRS if a.pair == "both" else (a.pair,)
    values["first_run_serial"] = a.first_run_serial
    values["down"] = a.down
    values["update_readme"] = a.update_readme
    s = Settings(**values)
    if s.reps < 1 or s.scale <= 0 or not 1 <= s.nodes <= 16:
        parser().error("--reps >= 1, --scale > 0 and 1 <= --nodes <= 16")
    return s
