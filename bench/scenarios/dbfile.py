"""A database's data file across the live cut-over: a container whose
volume holds one file of db_mib MiB (1 GiB), a 4 KiB page of it rewritten
at a random offset five times a second (issue 18's PostgreSQL segment).

- whole files: python3 hidden on new for the run, so the final pass sends
  every changed file whole (what dockmove did before migrate/blocks.py);
- blocks: both hosts have python3; the target sums its copy before the
  stop and only the changed blocks go after it.

On the fast pair only "blocks" runs: its hosts' python3 is this machine's,
which is not hidden for a benchmark; and its `old` has no seed image, so the
writer runs in bench-tools (images.tools_script).

Metric: the downtime dockmove reports (stop to verified on new); the bytes
sent after the stop are noted, with their share of the file."""
from __future__ import annotations

from shlex import quote

from .. import images
from ..measure import Context, alternate
from ..model import Case, Side, Target
from ..stats import median
from .common import clear_target, ensure_engine, migrate_runner

NAME = "c-bench-pages"            # c-bench-*: the target is cleared of it between runs
VOLUME = "c-bench-pages-data"
IMAGE = "apache-test"             # the seed's image on old: sh, od, dd
HIDDEN = "/usr/bin/python3.dockmove-bench-hidden"


def writer(mib: int) -> str:
    pages = mib * 256
    return ("trap 'exit 0' TERM; "
            f"[ -e /data/db ] || {{ head -c {mib << 20} /dev/urandom > /data/db; "
            ": > /data/pages; }; "
            f"while :; do n=$(( $(od -An -N4 -tu4 /dev/urandom) % {pages} )); "
            "dd if=/dev/urandom of=/data/db bs=4096 count=1 seek=$n conv=notrunc 2>/dev/null; "
            "echo $n >> /data/pages; sleep 0.2; done")


def source_script(mib: int, image: str = IMAGE) -> str:
    """On old: the writer from scratch, running once its file is whole."""
    return f"""set -eu
docker rm -f {NAME} >/dev/null 2>&1 || true
docker volume rm {VOLUME} >/dev/null 2>&1 || true
docker run -d --name {NAME} -v {VOLUME}:/data {quote(image)} sh -c {quote(writer(mib))} >/dev/null
p=$(docker volume inspect -f '{{{{.Mountpoint}}}}' {VOLUME})
until [ -s "$p/pages" ]; do sleep 0.1; done"""


def python_on_new(ctx: Context, present: bool) -> None:
    if present:
        ctx.lab.sh("new", f"[ ! -e {HIDDEN} ] || mv {HIDDEN} /usr/bin/python3")
    else:
        ctx.lab.sh("new", f"[ ! -e /usr/bin/python3 ] || mv /usr/bin/python3 {HIDDEN}")


def sides_for(pair: str) -> list[str]:
    return ["blocks"] if pair == "fast" else ["whole files", "blocks"]


def run(ctx: Context) -> list[Case]:
    ensure_engine(ctx)
    mib = ctx.settings.mib(ctx.settings.db_mib)
    labels = sides_for(ctx.lab.label)
    hides = "whole files" in labels          # python3 on new is hidden for that side
    image = IMAGE
    if ctx.lab.label == "fast":
        ctx.lab.sh("old", images.tools_script())
        image = images.TOOLS
    target = Target("max_value", 2.0, "downtime < 2 s")
    case = Case("dbfile", f"{mib} MiB file, a 4 KiB page rewritten 5x/s",
                [Side(x, target if x == "blocks" else None) for x in labels],
                baseline="whole files" if hides else None, metric="downtime_s",
                payload_bytes=mib << 20)

    def prepare(label: str) -> None:
        clear_target(ctx)
        if hides:
            python_on_new(ctx, label == "blocks")
        ctx.lab.sh("old", source_script(mib, image), timeout=600)

    def side(label: str):
        migrate = migrate_runner(ctx, NAME, label=label.replace(" ", "-"))

        def go() -> dict:
            try:
                sample = migrate()
            finally:
                if hides:
                    python_on_new(ctx, True)
            report = sample.get("report") or {}
            sample["downtime_s"] = sample.get("tool_downtime_s")
            sample["after_stop_bytes"] = report.get("data_sent_after_stop_bytes")
            return sample
        return go

    try:
        alternate(ctx, case, {x: side(x) for x in labels}, prepare=prepare)
    finally:
        if hides:
            python_on_new(ctx, True)
        ctx.lab.sh("old", f"docker rm -f {NAME} >/dev/null 2>&1; "
                          f"docker volume rm {VOLUME} >/dev/null 2>&1; true")
        clear_target(ctx)
    for s in case.sides:
        sent = median(x.get("after_stop_bytes") for x in s.ok_samples())
        if sent is not None:
            case.notes.append(f"{s.label}: {sent / (1 << 20):.1f} MiB sent after the stop "
                              f"(median), {sent / (mib << 20):.1%} of the file")
    return [case]
