"""Which layers of a `docker save` stream the target can do without. Pure.

An engine with the classic image store skips a layer on `docker load` when it
has the layer's chain already (the chain id names a layer together with all
layers below it), without reading the layer's `layer.tar`. So those files may
be left out of the stream.

Two stream layouts exist:
- Docker < 25: one directory per layer named by a legacy "v1 id", holding
  `VERSION`, `json` and `layer.tar`; the directories come in name order, not
  layer order, and `manifest.json` (which maps them) comes last. The v1 id is
  sha256 over the layer's `json` with its chain id and parent put in
  (moby image/v1 CreateID), so each directory's `json`, which comes before its
  `layer.tar`, tells which layer it is.
- Docker >= 25 (OCI layout): layers are `blobs/sha256/<diff id>`.

A layer whose diff id occurs more than once in an image is always sent (the
legacy layout links such duplicates to one file).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Mapping

_DECODER = json.JSONDecoder()
_LEGACY = re.compile(r"^([0-9a-f]{64})/(json|layer\.tar)$")
_BLOB = re.compile(r"^blobs/sha256/([0-9a-f]{64})$")


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The chain id of each prefix of an image's layers (RootFS.Layers)."""
    out: list[str] = []
    for d in diff_ids:
        out.append(d if not out else
                   "sha256:" + hashlib.sha256(f"{out[-1]} {d}".encode()).hexdigest())
    return out


def chains_of_images(images: list[dict]) -> set[str]:
    """Every layer chain the images (`docker image inspect` objects) stand on."""
    have: set[str] = set()
    for img in images:
        have.update(chain_ids(list((img.get("RootFS") or {}).get("Layers") or [])))
    return have


def _raw_members(text: str) -> list[tuple[str, str]]:
    """The members of a compact JSON object as (key, raw value text), in
    order, without re-encoding the values."""
    if not text.startswith("{"):
        raise ValueError("not a JSON object")
    pos, out = 1, []
    if text[pos] == "}":
        return out
    while True:
        key, pos = _DECODER.raw_decode(text, pos)
        if text[pos] != ":":
            raise ValueError("not compact JSON")
        _, end = _DECODER.raw_decode(text, pos + 1)
        out.append((key, text[pos + 1:end]))
        if text[end] == "}":
            return out
        if text[end] != ",":
            raise ValueError("not compact JSON")
        pos = end + 1


def legacy_v1_ids(layer_json: bytes, chain_id: str) -> set[str]:
    """The v1 ids Docker may give the layer directory whose `json` this is,
    if the layer's chain is `chain_id` (moby image/v1.CreateID: the json
    without its id, the parent as a digest, the chain as layer_id, keys
    sorted). Engines 20.10+ add "os" to a lower layer's json after computing
    its id, so the id is tried with and without it."""
    members = dict(_raw_members(layer_json.decode()))
    members.pop("id", None)
    if "parent" in members:
        members["parent"] = json.dumps("sha256:" + json.loads(members["parent"]))
    members["layer_id"] = json.dumps(chain_id)
    variants = [members]
    if "os" in members:
        variants.append({k: v for k, v in members.items() if k != "os"})
    return {hashlib.sha256(("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in sorted(m.items()))
                            + "}").encode()).hexdigest() for m in variants}


@dataclass(frozen=True)
class LayerPlan:
    """What the target has of an image, and so what the stream may leave out."""
    diff_ids: tuple[str, ...]
    chains: tuple[str, ...]
    present: int                 # the first `present` layers' chains exist there

    @property
    def skippable(self) -> frozenset[str]:
        """Chain ids whose layer.tar may be left out."""
        counts: dict[str, int] = {}
        for d in self.diff_ids:
            counts[d] = counts.get(d, 0) + 1
        return frozenset(c for c, d in zip(self.chains[:self.present], self.diff_ids)
                         if counts[d] == 1)

    @property
    def skippable_diff_ids(self) -> frozenset[str]:
        chains = self.skippable
        return frozenset(d for c, d in zip(self.chains, self.diff_ids) if c in chains)


# What leaving layers out costs, measured on this project's machine (2 cores;
# `python -m bench.run filter`, bench/scenarios/filtercost.py, README's table).
# On the source the filter is one more process in the pipe: `python3` started
# with its code (35 ms on the fast pair's host, 58 ms on the lab's old:
# FILTER_START_S), then a pipe hop its bodies are spliced through (0.3-0.4 ms
# a MiB beyond the start, about what `| cat` costs). The hop costs time only
# where the pipe is as fast as the source's CPU; on a slower link it runs
# while the link waits, and leaving out a layer saves its whole time on the
# link. So the start is what the filter costs in every case, and it pays when
# what it leaves out takes longer than that on the fastest pipeline measured
# here (FAST_LINK_MIB_S; `ssh old docker save | ssh new docker load` ran at
# 48-61 MiB/s for full images and 76 MiB/s for the incremental one):
#     FILTER_START_S * FAST_LINK_MIB_S = 3.5 MiB.
# A 2 MiB base layer is sent with the image; a 30 MiB one is left out. On the
# fastest link the hop can cost up to 0.4 ms a MiB passed on beyond that
# (0.12 s for 300 MiB); counting it would send layers of tens of MiB again
# over slow links, where they cost seconds.
FILTER_START_S = 0.05
FAST_LINK_MIB_S = 70.0


def filter_pays(left_out: int | None, *, start: float = FILTER_START_S) -> bool:
    """Whether leaving out `left_out` bytes (None: not known) is worth a
    filter that takes `start` seconds to start (0 for the one on the way
    through this machine, which runs in the relay anyway). Unknown sizes
    are left out: the filter's worst case is its start."""
    if left_out is None:
        return True
    return left_out / (1 << 20) / FAST_LINK_MIB_S >= start


def left_out_bytes(plan: "LayerPlan", chain_bytes: Mapping[str, int]) -> int | None:
    """The bytes of the layers `plan` leaves out, when the target's images
    tell them (`chain_bytes`: an image's top chain -> its size): known only
    when the deepest left-out layer tops an image there (its size is then
    that of every layer up to it); else None. A lower bound from a
    shallower image would understate a redeploy's shared layers."""
    if plan.present == 0:
        return None
    return chain_bytes.get(plan.chains[plan.present - 1])


def plan_layers(diff_ids: list[str], target_chains: set[str]) -> LayerPlan:
    chains = chain_ids(diff_ids)
    present = 0
    for c in chains:
        if c not in target_chains:
            break
        present += 1
    return LayerPlan(tuple(diff_ids), tuple(chains), present)


class Selector:
    """Decides, member by member of a `docker save` stream, what to leave out.
    Feed it the legacy `json` members (their bytes) before asking about the
    `layer.tar` of the same directory."""

    def __init__(self, plan: LayerPlan):
        self._chains = plan.skippable
        self._blobs = {d.split(":", 1)[-1] for d in plan.skippable_diff_ids}
        self._skip_dirs: set[str] = set()

    def wants_body(self, name: str) -> bool:
        """Whether the selector must see this member's content (note())."""
        m = _LEGACY.match(name)
        return bool(m and m.group(2) == "json" and self._chains)

    def note(self, name: str, body: bytes) -> None:
        m = _LEGACY.match(name)
        if not m:
            return
        try:
            for chain in self._chains:
                if m.group(1) in legacy_v1_ids(body, chain):
                    self._skip_dirs.add(m.group(1))
                    return
        except (ValueError, UnicodeDecodeError):
            return                       # not what we know: send the layer

    def skip(self, name: str, is_file: bool) -> bool:
        if not is_file:
            return False
        m = _LEGACY.match(name)
        if m:
            return m.group(2) == "layer.tar" and m.group(1) in self._skip_dirs
        b = _BLOB.match(name)
        return bool(b and b.group(1) in self._blobs)
