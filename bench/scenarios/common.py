"""Setup shared by the scenarios: images on the source, a clear target, a
provisioned target, the raw pipeline as a runner."""
from __future__ import annotations

import time
from typing import Callable

from fleet.inventory import load_inventory

from .. import images
from ..measure import Context
from ..poller import Poller
from ..stats import downtime
from ..raw import pipeline_argv
from ..shell import run


def address(ctx: Context, host: str) -> str:
    return load_inventory(ctx.lab.inventory).hosts[host].address


def ensure_engine(ctx: Context, host: str = "new") -> None:
    """The target needs Docker: provision it (untimed) if it has none."""
    if not ctx.lab.has_engine(host):
        ctx.log(f"setup: provisioning {host} (not timed here)")
        ctx.lab.inv("provision", "--host", host)


def ensure_tools(ctx: Context, hosts=("old", "new"), packages=("zstd",)) -> list[str]:
    """Install what --compress needs on the lab hosts; returns what failed."""
    missing = []
    for host in hosts:
        for pkg in packages:
            if ctx.lab.sh(host, f"command -v {pkg}", check=False).code == 0:
                continue
            ctx.log(f"setup: installing {pkg} on {host}")
            done = ctx.lab.sh(host, "export DEBIAN_FRONTEND=noninteractive; apt-get update -q "
                                    f">/dev/null && apt-get install -y -q {pkg} >/dev/null",
                              check=False, timeout=600)
            if done.code != 0:
                missing.append(f"{pkg} on {host}: {done.output.strip()[-200:]}")
    return missing


def ensure_image(ctx: Context, kind: str, mib: int, on: str = images.BASE) -> str:
    """The image on `old` and a running container of it; returns its tag."""
    ctx.lab.sh("old", images.base_script())
    tag = images.image_tag(kind, mib, on)
    if ctx.lab.sh("old", f"docker image inspect {tag} >/dev/null 2>&1", check=False).code:
        ctx.log(f"setup: making image {tag} on old")
        ctx.lab.sh("old", images.data_image_script(kind, mib, on), timeout=1800)
    ctx.lab.sh("old", images.container_script(tag))
    return tag


def image_bytes(ctx: Context, tag: str, host: str = "old") -> int:
    return int(ctx.lab.sh(host, f"docker image inspect -f '{{{{.Size}}}}' {tag}").output.strip())


def clear_target(ctx: Context, keep: tuple[str, ...] = (), host: str = "new") -> None:
    ctx.lab.sh(host, images.clear_target_script(keep))


def fresh_pair(ctx: Context, tag: str, keep: tuple[str, ...] = ()) -> None:
    """Before a transfer run: nothing of the benchmark on the target (but
    `keep`), the source container running (a cut-over leaves it stopped)."""
    clear_target(ctx, keep)
    ctx.lab.sh("old", images.container_script(tag))


def transfer_args(ctx: Context) -> tuple[str, ...]:
    """`inv migrate` options for an image transfer: the image as it is, and no
    cut-over where this dockmove has one (downtime is a scenario of its own)."""
    return ("--mode", "image") + (("--no-stop",) if "stop" in ctx.migrate_options else ())


def has_image(ctx: Context, tag: str, host: str = "new") -> bool:
    return ctx.lab.sh(host, f"docker image inspect {tag} >/dev/null 2>&1", check=False).code == 0


def raw_runner(ctx: Context, tag: str, source: str = "old", target: str = "new",
               run_args: list[str] | None = None):
    """`ssh old docker save TAG | ssh new docker load`, checked on arrival;
    with `run_args`, then `ssh new docker run RUN_ARGS`."""
    def go() -> dict:
        with pipeline_argv(ctx.lab.inventory, source, target, tag, run_args) as argv:
            done = run(argv, timeout=7200)
        if not has_image(ctx, tag, target):
            raise RuntimeError(f"{tag} is not on {target} after the raw pipeline")
        return {"seconds": done.seconds}
    return go


def migrate_runner(ctx: Context, container: str, *args: str, label: str):
    from .. import tool
    counter = {"n": 0}

    def go() -> dict:
        counter["n"] += 1
        log = ctx.logs / f"{container}-{label}-{counter['n']}.log"
        return tool.migrate(ctx.lab, container, *args, supported=ctx.migrate_options,
                            records=ctx.records, log=log)
    return go


def with_downtime(urls: dict[str, str], page: bytes, migrate: Callable[[], dict],
                  what: str = "the source never stopped answering or the target never "
                              "answered after it") -> dict:
    """Run `migrate` while polling `urls` (source, target) from here for
    `page`: its sample, with `downtime_s` from the source's last answer to
    the target's first."""
    with Poller(urls, page) as poller:
        sample = migrate()
        deadline = time.monotonic() + 15
        while not poller.seen("target") and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    sample["downtime_s"] = downtime(poller.events)
    if sample["downtime_s"] is None:
        raise RuntimeError(f"no downtime measured: {what}")
    return sample
