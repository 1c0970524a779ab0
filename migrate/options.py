"""What the user asked of a migration. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MODES = ("commit", "image", "export")
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
