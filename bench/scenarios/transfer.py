"""Image transfer, old to new: `inv migrate --mode image` against the raw
`ssh old docker save | ssh new docker load`.

- full: the target has nothing; images of random and of text data. Two
  dockmove sides: as it runs by default, and with `--settle 0` (the target
  container counts as up when it runs, without the 3 s it must stay up),
  which is the transfer and its fixed costs alone. And the raw pipeline
  followed by the `docker run` an operator types after it (the container
  started, as dockmove leaves it): what the engine's create and start cost.
- incremental: the target already holds the base image's layers.
- slowlink: both hosts' links shaped (see bench.link); each --compress
  setting against the raw pipeline.
"""
from __future__ import annotations

from .. import images, link
from ..measure import Context, alternate
from ..model import Case, Side, Target
from .common import (ensure_engine, ensure_image, ensure_tools, fresh_pair, image_bytes,
                     migrate_runner, raw_runner, transfer_args)

# issue 18: within 1.05x of the raw pipeline at 300 MiB, 1.02x at 1 GiB
FULL = {300: Target("max_ratio", 1.05, "<= 1.05x raw time"),
        1024: Target("max_ratio", 1.02, "<= 1.02x raw time")}
SHARE = Target("bytes_share", 0.1, "time ratio <= bytes ratio + 0.1")


def full(ctx: Context) -> list[Case]:
    ensure_engine(ctx)
    cases = []
    for size in ctx.settings.full_mib:
        for kind in ctx.settings.kinds:
            tag = ensure_image(ctx, kind, ctx.settings.mib(size))
            target = FULL.get(size, FULL[1024 if size > 300 else 300])
            case = Case("full", f"{kind} {ctx.settings.mib(size)} MiB",
                        [Side("raw"), Side("raw + docker run"), Side("dockmove", target),
                         Side("dockmove --settle 0", target)], baseline="raw",
                        payload_bytes=image_bytes(ctx, tag))
            container = images.container_name(tag)
            alternate(ctx, case, {
                "raw": raw_runner(ctx, tag),
                "raw + docker run": raw_runner(ctx, tag, run_args=images.run_args(tag)),
                "dockmove": migrate_runner(ctx, container, *transfer_args(ctx), label="full"),
                "dockmove --settle 0": migrate_runner(ctx, container, *transfer_args(ctx),
                                                      "--settle", "0", label="full-settle0")},
                prepare=lambda _label, tag=tag: fresh_pair(ctx, tag))
            cases.append(case)
    return cases


def incremental(ctx: Context) -> list[Case]:
    ensure_engine(ctx)
    s = ctx.settings
    base = ensure_image(ctx, "random", s.mib(s.incr_base_mib))
    top = ensure_image(ctx, "random", s.mib(s.incr_top_mib), on=base)
    base_bytes, top_bytes = image_bytes(ctx, base), image_bytes(ctx, top)
    share = (top_bytes - base_bytes) / top_bytes        # of the image, what new lacks
    target = Target("bytes_share", 0.1, "time ratio <= share new lacks + 0.1", share=share)
    case = Case("incremental", f"{s.mib(s.incr_top_mib)} MiB on {s.mib(s.incr_base_mib)} MiB",
                [Side("raw"), Side("dockmove", target)], baseline="raw", payload_bytes=top_bytes,
                notes=[f"new holds {base} ({base_bytes >> 20} MiB); the image adds "
                       f"{(top_bytes - base_bytes) >> 20} MiB: at best "
                       f"{1 - share:.0%} of the bytes need not be sent"])

    def prepare(_label: str) -> None:
        fresh_pair(ctx, top, keep=(f"{base}:latest",))
        if not has_base():
            raw_runner(ctx, base)()

    def has_base() -> bool:
        return ctx.lab.sh("new", f"docker image inspect {base} >/dev/null 2>&1",
                          check=False).code == 0

    alternate(ctx, case, {
        "raw": raw_runner(ctx, top),
        "dockmove": migrate_runner(ctx, images.container_name(top), *transfer_args(ctx),
                                   label="incremental")}, prepare=prepare)
    return [case]


def slowlink(ctx: Context) -> list[Case]:
    ensure_engine(ctx)
    s = ctx.settings
    problems = ensure_tools(ctx)
    tags = [ensure_image(ctx, kind, s.mib(s.slow_mib)) for kind in s.slow_kinds]
    cases = []
    applied = []
    try:
        for host in ("old", "new"):
            out = ctx.lab.sh(host, link.shape_script(s.rate_mbit, s.delay_ms)).output
            applied += [f"{host} {line}" for line in out.strip().splitlines()]
        ctx.facts["slowlink_shaping"] = applied
        ctx.log("slowlink: " + "; ".join(applied))
        for kind, tag in zip(s.slow_kinds, tags):
            sides = [Side("raw")] + [Side(f"dockmove {c}", SHARE) for c in ("none", "gzip", "zstd")]
            case = Case("slowlink", f"{kind} {s.mib(s.slow_mib)} MiB", sides, baseline="raw",
                        payload_bytes=image_bytes(ctx, tag), notes=applied + problems)
            runners = {"raw": raw_runner(ctx, tag)}
            for c in ("none", "gzip", "zstd"):
                runners[f"dockmove {c}"] = migrate_runner(
                    ctx, images.container_name(tag), *transfer_args(ctx), "--compress", c,
                    label=f"slow-{c}")
            alternate(ctx, case, runners, prepare=lambda _label, tag=tag: fresh_pair(ctx, tag))
            cases.append(case)
    finally:
        for host in ("old", "new"):
            ctx.lab.sh(host, link.unshape_script(), check=False)
    return cases
