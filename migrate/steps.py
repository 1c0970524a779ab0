"""The steps of a migration, in the order of its cut-over (see
migrate/plan.py for what decides them), each with what it does and what
undoing it means. Pure.

- live: image, data and the container's own layer copied while the source
  runs; the source stops (a --rm source is paused); what changed since is
  copied; the target starts and is verified.
- offline: the source stops first; everything is copied once.
- none (--no-stop): copied while the source runs; the last pass with the
  source paused (frozen) for a consistent snapshot; the source runs on.
- a stopped container in a group's cut-over (idle): copied like a live one,
  a first pass while the group runs and what changed since after the group
  stopped (a running member may share its volumes); nothing of its own to
  stop; created on the target and left stopped, as it was.
"""
from __future__ import annotations

from dataclasses import dataclass

from .blocks import MIN_SIZE
from .options import Options
from .spec import RunSpec
from .stream import human
from .volumes import ANONYMOUS, DataCopy, DataPlan


@dataclass(frozen=True)
class Step:
    action: str                 # what the executor does (migrate/execute.py)
    title: str                  # printed as "[n] title: outcome"
    what: str                   # what it will do, and why (--dry-run)
    undo: str = ""              # what undoing it means; "" when it changes nothing to undo
    live: bool = False          # data and layer passes: made while the source runs


@dataclass(frozen=True)
class Shape:
    """What plan() decided that orders the steps."""
    o: Options
    c: str
    src: str
    tgt: str
    spec: RunSpec
    final: str
    image: str          # what the target container runs
    tag: str
    commit: bool        # the changes come as a commit (no layer copy)
    data: DataPlan
    layer: DataCopy | None
    live: bool
    has_image: bool
    frozen: bool
    stops: bool
    autoremove: bool
    missing: tuple[str, ...]
    replaced_uses: tuple[str, ...]
    existing_runs: bool
    running: bool
    idle: bool = False  # not running, moved within a group's cut-over
    sums: bool = False  # both hosts run migrate/blocks_host.py: the final pass goes by blocks

    @property
    def early(self) -> bool:
        """A first pass runs before the stop (or freeze)."""
        return self.live or self.frozen or (self.idle and self.o.cutover == "live")

    @property
    def by_blocks(self) -> bool:
        """A directory is copied in a first pass: its large changed files can
        go by blocks after the stop (migrate/blocks.py)."""
        return self.early and bool(self.layer or any(not x.is_file for x in self.data.copies))

    def steps(self) -> tuple[Step, ...]:
        o, c, src, tgt, live, frozen = self.o, self.c, self.src, self.tgt, self.live, self.frozen
        export = o.mode == "export"
        idle = self.idle
        early = self.early
        first = " (first pass)" if idle else " (source running)"
        while_ = ", before the group stops" if idle else ", while it runs"
        data = ", ".join(x.label for x in self.data.copies) or "none"
        empty = [x.label for x in self.data.empty if not ANONYMOUS.match(x.name)]
        if empty:
            data += f"; created empty (--empty-volumes): {', '.join(empty)}"
        name = self.spec.name
        if idle:
            stop = Step("stay", "stop", f"nothing to stop: {c} is not running on {src}")
        elif self.autoremove:
            stop = Step("pause", "pause",
                        f"pause {c} on {src} (it runs with --rm: a stop would delete it and its "
                        "anonymous volumes; removed only after the target passed verification)"
                        + (" (downtime starts)" if live else ""),
                        undo=f"unpause {c} on {src}")
        else:
            stop = Step("stop", "stop", f"stop {c} on {src}" + (" (downtime starts)" if live else ""),
                        undo=f"start {c} on {src} again")
        tagged = f"; tag it {self.tag} there" if self.tag else ""
        base = Step("base_image", "image" + (first if early else ""),
                    (f"{tgt} has {c}'s image already: nothing to send" if self.has_image
                     else f"send the layers of {c}'s image that {tgt} lacks"
                     + (while_ if early else "")) + tagged,
                    undo=f"remove the image from {tgt} if this run brought it"
                    + ("; the tag as it was" if self.tag else ""),
                    live=early)
        create = Step("create", "container",
                      f"create {name} on {tgt} from {self.image}"
                      + (" (not started)" if self.layer else ""),
                      undo=f"remove {name} from {tgt}")
        out = [Step("record", "record", f"record {c}'s run arguments in {o.records}/ (mode 0600)")]
        if self.replaced_uses and self.existing_runs:
            out.append(Step("replace", "replace",
                            f"stop {name} on {tgt} (--replace): it uses "
                            f"{', '.join(self.replaced_uses)}, which the copy overwrites",
                            undo=f"start {name} again unless its volumes were overwritten"))
        if (self.stops or idle) and not early:
            out.append(stop)
        if not export:
            out.append(base)
        if early:
            out.append(Step("data", "data" + first,
                            f"copy its data{while_[1:]}: {data}",
                            undo="remove the volumes this run created; empty again what was empty",
                            live=True))
        if frozen and export:
            out.append(Step("image", "image",
                            f"docker export {c} | docker import on {tgt}, config restored, before "
                            f"the freeze (compression {o.compress})",
                            undo=f"remove the imported image from {tgt}"))
        out.append(Step("networks", "networks",
                        f"create networks: {', '.join(self.missing)}" if self.missing
                        else "no network to create",
                        undo=f"remove the networks created on {tgt}" if self.missing else ""))
        if self.layer and early:
            out.append(create)
            out.append(Step("layer", "container layer" + first,
                            f"copy {c}'s own changes (its overlay2 layer) into it"
                            + (while_ if idle else f", while {c} runs"), live=True))
        if self.by_blocks and self.sums:
            out.append(Step("blocks", "data (block sums)",
                            f"sum on {tgt} the blocks of the files of {human(MIN_SIZE)} or more "
                            "that changed during the first pass: after the "
                            + ("freeze" if frozen else "stop")
                            + " only their changed blocks are sent", live=True))
        if frozen:
            out.append(Step("freeze", "freeze",
                            f"pause {c} on {src} for the last pass (a short freeze: a consistent "
                            "snapshot of its data and changes)", undo=f"unpause {c} on {src}"))
            if self.commit:
                out.append(Step("snapshot", "snapshot",
                                f"docker commit {c} as {self.final} (frozen)",
                                undo=f"remove {self.final} from {src}"))
        if live or (idle and early):
            out.append(stop)
        if not frozen and (self.commit or export):
            out.append(Step(
                "image", ("commit" if self.commit else "image")
                + (" (changes since)" if live and not export else ""),
                (f"docker commit {c} as {self.final}, send the layers {tgt} lacks" if self.commit
                 else f"docker export {c} | docker import on {tgt} as {self.final}, config "
                      "restored") + f" (compression {o.compress})",
                undo=f"remove the tag {self.final} (and the image, if this run brought it)"))
        out.append(Step("data", "data" + (" (changes since)" if early else ""),
                        ("copy what changed in its data since: " if early
                         else "copy its data: ") + data,
                        undo="remove the volumes this run created; empty again what was empty"))
        if self.layer and early:
            out.append(Step("layer", "container layer (changes since)",
                            f"copy what changed in {c}'s layer since"))
        if frozen:
            out.append(Step("unpause", "unpause", f"unpause {c} on {src}; report the freeze"))
            if self.commit:
                out.append(Step("send_snapshot", "image",
                                f"send the layers of {self.final} that {tgt} lacks, after the "
                                f"freeze (compression {o.compress})",
                                undo=f"remove {self.final} from {tgt}"))
        if not (self.layer and early):
            out.append(create)
            if self.layer:
                out.append(Step("layer", "container layer",
                                f"copy {c}'s own changes (its overlay2 layer) into it"))
        if idle:
            out.append(Step("verify", "verify",
                            f"check that {name} is on {tgt}, created and not started, as {c} "
                            f"is on {src}"))
        else:
            out.append(Step("start", "start", f"start {name} on {tgt}"))
            out.append(Step("verify", "verify",
                            f"wait until it runs (healthy, if it has a check) without a restart "
                            f"for {o.settle:g}s and the published ports that answered on the "
                            "source answer" + ("; report the downtime" if self.stops else "")))
        out.append(Step("finish", "finish",
                        ("remove temporary tags; " if self.commit else "")
                        + f"{c} " + (
                            "removed (--remove-source)" if o.remove_source
                            else "kept, stopped, for rollback" if self.stops
                            else "left running" if self.running
                            else "kept as it is (it was not running)")))
        return tuple(out)
