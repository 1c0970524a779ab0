"""Moving bytes between the two hosts: an image (only the layers the target
lacks) and a container's data (volumes, bind mounts), each as one stream
through two OpenSSH processes (migrate/stream.py)."""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Callable, Mapping

from fleet.remote import Remote

from . import blocks
from . import engine as eng
from . import remote_filter
from .ends import Ends
from .layers import (FILTER_START_S, LayerPlan, Selector, chain_ids, filter_pays,
                     left_out_bytes, plan_layers)
from .stream import StreamError, StreamResult, human, tar_relay
from .volumes import DataCopy, receive_command, send_command, send_named_command

COMPRESS = {"none": ("", ""), "gzip": ("gzip -1", "gzip -d"),
            "zstd": ("zstd -1 -T0 -q", "zstd -d -q")}
Say = Callable[[str], None]


def uses_containerd_store(info: dict) -> bool:
    return any(pair[:1] == ["driver-type"] and "containerd" in str(pair[1:])
               for pair in info.get("DriverStatus") or [])


def layer_chains(remote: Remote) -> tuple[set[str], dict[str, int]]:
    """The layer chains of every image the host has, and the size of each
    image by its top chain (what a stream leaving that chain out saves)."""
    ids = sorted(set(eng.docker(remote, "image", "ls", "-aq", "--no-trunc").stdout.split()))
    if not ids:
        return set(), {}
    r = eng.docker(remote, "image", "inspect", "--format", "{{.Size}} {{json .RootFS.Layers}}",
                   *ids)
    return parse_layer_chains(r.stdout)


def parse_layer_chains(text: str) -> tuple[set[str], dict[str, int]]:
    """`docker image inspect --format '{{.Size}} {{json .RootFS.Layers}}'`
    output as (chains, size by top chain)."""
    have: set[str] = set()
    sizes: dict[str, int] = {}
    for line in text.splitlines():
        size, _, layers = line.strip().partition(" ")
        if not layers or layers == "null":
            continue
        chains = chain_ids(json.loads(layers))
        have.update(chains)
        if chains and size.isdigit():
            sizes[chains[-1]] = int(size)
    return have, sizes


def choose_layers(diffs: list[str], have: frozenset[str] | None,
                  chain_bytes: Mapping[str, int], *, compressed: bool,
                  at_source: bool) -> tuple[LayerPlan | None, str]:
    """Which layers the stream leaves out (None: it sends every one), and
    why not when it could have. Pure; the reason's {source}, {target} and
    {compress} are the hosts' names and the --compress setting."""
    if have is None:
        return None, ("{target} keeps images in containerd's store, which does not take "
                      "a stream without the layers it has: sending every layer")
    plan = plan_layers(diffs, set(have))
    if not plan.skippable:
        return None, ""
    if compressed and not at_source:
        return None, ("--compress {compress}: the stream is compressed on {source}, so the "
                      f"{len(plan.skippable)} layer(s) {{target}} has are sent too")
    left = left_out_bytes(plan, chain_bytes)
    if not filter_pays(left, start=FILTER_START_S if at_source else 0.0):
        return None, (f"the {len(plan.skippable)} layer(s) {{target}} has ({human(left or 0)}) "
                      "take less time to send than the filter that would leave them out "
                      "takes to start on {source}: sending every layer")
    return plan, ""


@dataclass(frozen=True)
class ImageSent:
    sent: int
    size: int
    layers: int
    left_out: int
    note: str


def send_image(ends: Ends, ref: str, image: dict, have: frozenset[str] | None, compress: str,
               say: Say, *, at_source: bool = False,
               chain_bytes: Mapping[str, int] | None = None) -> ImageSent:
    """`docker save REF` on the source into `docker load` on the target,
    leaving out the layers whose chain the target has (`have`; None: the
    target keeps images in containerd's store, which needs every layer): on
    the source when it can (`at_source`), so they never travel, else on the
    way through here; and only when what they weigh (as `chain_bytes`, the
    target's images by their top chain, tells) pays for the filter
    (layers.filter_pays)."""
    diffs = list((image.get("RootFS") or {}).get("Layers") or [])
    size = int(image.get("Size") or 0)
    zip_, unzip = COMPRESS[compress]
    send = f"docker save {shlex.quote(ref)}"
    receive = "docker load -q"
    plan, why = choose_layers(diffs, have, chain_bytes or {}, compressed=bool(zip_),
                              at_source=at_source)
    if why:
        say(f"    {why.format(source=ends.source.name, target=ends.target.name, compress=compress)}")
    full = f"set -o pipefail; {send} | {zip_}" if zip_ else send
    if zip_:
        receive = f"set -o pipefail; {unzip} | {receive}"
    if plan is not None:
        try:
            if at_source:
                trimmed = f"set -o pipefail; {send} | {remote_filter.command(plan)}" + (
                    f" | {zip_}" if zip_ else "")
                res = ends.stream(trimmed, receive, expected=None, say=say, what="image stream")
            else:
                res = ends.stream(send, receive, expected=size, say=say, what="image stream",
                                  relay=tar_relay(Selector(plan)))
            left = len(plan.skippable)
            return ImageSent(res.bytes, size, len(diffs), left,
                             f"{left} of {len(diffs)} layers were on {ends.target.name} already, "
                             f"left out {'on ' + ends.source.name if at_source else 'on the way'}")
        except StreamError as e:
            if "receiving side" not in str(e) or "no space" in str(e).lower():
                raise
            say(f"    {ends.target.name} refused the stream without the layers it has "
                f"({str(e)[-200:]}); sending the whole image")
    res = ends.stream(full, receive, expected=size, say=say, what="image stream")
    return ImageSent(res.bytes, size, len(diffs), 0, "every layer sent")


def describe(sent: ImageSent) -> str:
    return (f"sent {human(sent.sent)} for an image of {human(sent.size)} "
            f"({sent.note})")


@dataclass(frozen=True)
class DataSent:
    bytes: int          # all that went
    blocks: int = 0     # of it, the changed blocks of large files (migrate/blocks.py)
    whole: tuple[str, ...] = ()     # of those, files the target could not patch: sent whole


def send_data(ends: Ends, copy: DataCopy, target_path: str, *, snapshot: str | None,
              live: bool, expected: int | None, say: Say,
              summed: frozenset[str] = frozenset()) -> DataSent:
    """One pass of a copy. A first (live) pass marks when it began; a final
    pass leaves the large files whose blocks the target summed (`summed`) to
    a second stream of only their changed blocks (and sends whole what the
    target could not patch)."""
    marker = blocks.marker_path(snapshot) if snapshot and live and not copy.is_file else None
    by_blocks = bool(summed) and bool(snapshot) and not live
    send = send_command(copy, snapshot=snapshot, live=live, marker=marker,
                        exclude=blocks.exclude_path(snapshot) if by_blocks else None)
    if by_blocks:
        send = f"{blocks.keep_command(copy.source_path, snapshot)} && {send}"
    res = ends.stream(send, receive_command(copy, target_path), expected=expected, say=say,
                      what=f"{copy.label} stream")
    if not by_blocks:
        return DataSent(res.bytes)
    more = ends.stream(blocks.send_command(copy.source_path, snapshot),
                       blocks.write_command(target_path), expected=None, say=say,
                       what=f"{copy.label} changed blocks")
    refused = blocks.refused(more.answer, summed)
    if not refused:
        return DataSent(res.bytes + more.bytes, more.bytes)
    say(f"    {ends.target.name}: {len(refused)} file(s) could not be patched there (changed "
        f"since their blocks were summed, replaced, or not writable), sent whole: "
        + ", ".join(refused[:5]) + (" ..." if len(refused) > 5 else ""))
    whole = ends.stream(send_named_command(copy, refused),
                        receive_command(copy, target_path), expected=None, say=say,
                        what=f"{copy.label} stream of the files sent whole")
    return DataSent(res.bytes + more.bytes + whole.bytes, more.bytes, tuple(refused))
