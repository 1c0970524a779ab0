"""What the user asked of a migration, and the one place its options are
checked against each other (usage errors, exit 2, before any host is asked).
Pure."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fleet.errors import UsageError

MODES = ("commit", "image", "export")
COMPRESSIONS = ("none", "gzip", "zstd")
CUTOVERS = ("live", "offline", "none")


@dataclass(frozen=True)
class Options:
    mode: str = "commit"
    name: str | None = None
    publish: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    replace: bool = False
    cutover: str = "live"
    remove_source: bool = False
    compress: str = "none"
    dry_run: bool = False
    records: Path = Path("records")
    wait: float = 120
    port_check: bool = True
    settle: float = 3        # seconds the target must run without a restart
    empty_volumes: bool = False
    copy_binds: bool = False
    json_report: Path | None = None
    stop_timeout: int | None = None
    commit: bool = False     # --commit: a docker commit even where the layer could be copied


def cutover(stop: bool, offline: bool) -> str:
    """--no-stop / --offline / neither, as a cut-over."""
    if offline and not stop:
        raise UsageError("--offline and --no-stop contradict each other")
    return "none" if not stop else "offline" if offline else "live"


def check(opts: Options) -> None:
    """Options that make no sense, alone or together."""
    if opts.mode not in MODES:
        raise UsageError(f"--mode {opts.mode!r}: expected one of {', '.join(MODES)}")
    if opts.compress not in COMPRESSIONS:
        raise UsageError(f"--compress {opts.compress!r}: expected none, gzip or zstd")
    if opts.cutover not in CUTOVERS:
        raise UsageError(f"--cutover {opts.cutover!r}: expected one of {', '.join(CUTOVERS)}")
    if opts.commit and opts.mode != "commit":
        raise UsageError(f"--commit goes with --mode commit, not --mode {opts.mode}")
    if opts.remove_source and opts.cutover == "none":
        raise UsageError("--remove-source and --no-stop contradict each other")
    if opts.json_report and not Path(opts.json_report).resolve().parent.is_dir():
        raise UsageError(f"--json-report {opts.json_report}: its folder does not exist")
