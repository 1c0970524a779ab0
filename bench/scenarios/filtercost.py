"""What the layer filter costs (issue 18: where leaving layers out pays),
measured on `old` alone, where it runs: `docker save IMG` into /dev/null,
through `cat` (one more pipe hop), and through the filter leaving out
nothing (the same hop, plus its Python); and the filter's start on an empty
stream. migrate/layers.py takes FILTER_START_S from these figures (and says
why the hop's cost is not counted); the notes give them as this run
measured them."""
from __future__ import annotations

from migrate import remote_filter
from migrate.layers import plan_layers

from ..measure import Context, alternate
from ..model import Case, Side
from ..stats import median
from .common import ensure_image, image_bytes

MIB = 1 << 20


def run(ctx: Context) -> list[Case]:
    s = ctx.settings
    tag = ensure_image(ctx, "random", s.mib(s.full_mib[0]))
    size = image_bytes(ctx, tag)
    nothing = remote_filter.command(plan_layers([], set()))
    save = f"set -o pipefail; docker save {tag}"

    def timed(script: str):
        return lambda: {"seconds": ctx.lab.sh("old", script, timeout=1800).seconds}

    case = Case("filter", f"random {size // MIB} MiB on old",
                [Side("save"), Side("save | cat"), Side("save | filter"),
                 Side("filter start")], baseline="save", payload_bytes=size)
    alternate(ctx, case, {
        "save": timed(f"{save} > /dev/null"),
        "save | cat": timed(f"{save} | cat > /dev/null"),
        "save | filter": timed(f"{save} | {nothing} > /dev/null"),
        "filter start": timed(f"{nothing} < /dev/null > /dev/null"),
    }, source=None, target=None, reps=max(s.reps, 5))
    med = {side.label: median(x["seconds"] for x in side.ok_samples()) for side in case.sides}
    if None not in med.values():
        start = med["filter start"] - median(
            ctx.lab.sh("old", "true").seconds for _ in range(5))
        per_mib = (med["save | filter"] - med["save"] - start) / (size / MIB)
        case.notes.append(f"the filter's start: {start * 1000:.0f} ms; beyond it, what it adds "
                          f"per MiB it passes on: {per_mib * 1000:.2f} ms (`| cat`: "
                          f"{(med['save | cat'] - med['save']) / (size / MIB) * 1000:.2f} ms)")
    return [case]
