"""Downtime of the seed's apache-cont carrying a volume (bench-apache: the
committed apache-cont, its page, a volume of random files, port 9180):
from the source's last answer to the target's first, polled from here every
50 ms. Default cut-over against --offline (stop, then copy everything)."""
from __future__ import annotations

import time

from .. import images
from ..measure import Context, alternate
from ..model import Case, Side, Target
from ..poller import answers
from ..stats import median
from .common import address, clear_target, ensure_engine, migrate_runner, with_downtime

PAGE = b"Docker Custom Page"


def run(ctx: Context) -> list[Case]:
    ensure_engine(ctx)
    mib = ctx.settings.mib(ctx.settings.volume_mib)
    ctx.lab.sh("old", images.apache_script(mib), timeout=1200)
    urls = {"source": f"http://{address(ctx, 'old')}:{images.APACHE_PORT}/",
            "target": f"http://{address(ctx, 'new')}:{images.APACHE_PORT}/"}
    case = Case("downtime", f"apache-cont + {mib} MiB volume",
                [Side("offline"), Side("cut-over", Target("max_value", 5.0, "downtime < 5 s"))],
                baseline="offline", metric="downtime_s", payload_bytes=mib << 20)
    if "offline" not in ctx.migrate_options:
        case.notes.append("this dockmove has no --offline: the stop-then-copy side fails")

    def prepare(_label: str) -> None:
        clear_target(ctx)
        ctx.lab.sh("old", f"docker start {images.APACHE} >/dev/null")
        deadline = time.monotonic() + 30
        while not answers(urls["source"], PAGE):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{images.APACHE} does not answer on old after its start")
            time.sleep(0.2)

    def polled(label: str, *args: str):
        migrate = migrate_runner(ctx, images.APACHE, *args, label=label)

        def go() -> dict:
            sample = with_downtime(urls, PAGE, migrate)
            sample["volume_mib_on_target"] = _volume_mib(ctx)
            return sample
        return go

    alternate(ctx, case, {"offline": polled("offline", "--offline"),
                          "cut-over": polled("cut-over")}, prepare=prepare)
    own = {side.label: median(s.get("tool_downtime_s") for s in side.ok_samples())
           for side in case.sides}
    if any(v is not None for v in own.values()):
        case.notes.append("downtime as dockmove's --json-report has it (median): " + ", ".join(
            f"{label} {v:.2f}s" for label, v in own.items() if v is not None))
    return [case]


def _volume_mib(ctx: Context) -> float | None:
    done = ctx.lab.sh("new", f"docker exec {images.APACHE} du -sm /srv/data", check=False)
    return float(done.output.split()[0]) if done.code == 0 and done.output.split() else None
