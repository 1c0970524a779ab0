"""`inv migrate`: read (migrate/facts.py), decide (migrate/plan.py), then run
the plan's steps here, one after the other, each printed with its outcome and
duration, while the undo journal (migrate/journal.py) notes what each change
would take to put back and the record (migrate/records.py) what the run
learnt.

A failure or Ctrl-C after preflight undoes what this run created on the
target (containers, networks, volumes, images, tags), starts the source again
(or unpauses it) if this run stopped it, and exits non-zero with the state of
both hosts. The source container itself is never changed; it is removed only
with --remove-source (or, run with --rm, as its --rm asks), after
verification.
"""
from __future__ import annotations

import json
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from fleet.confirm import Confirm, confirmer
from fleet.errors import CommandError, DockmoveError, PreflightError
from fleet.inventory import Host, Inventory
from fleet.output import Printer
from fleet.remote import Remote, renew_all
from fleet.signals import checkpoint, deferred, held
from fleet.ssh_cli import Masters

from . import blocks
from . import engine as eng
from .inspected import bindings
from . import envfile
from .checks import Answered, MigrateError, answer_target, answering, baseline, verify_target
from .ends import Ends
from .facts import Facts, gather
from .hostfs import du, sh
from .journal import Journal
from .layers import chain_ids
from .options import Options, check
from .overrides import commit_changes, import_changes
from .plan import Plan, Refused, plan
from .steps import Step
from .records import Record, new_record
from .stream import human
from .transfer import COMPRESS, ImageSent, describe, send_data, send_image
from .volumes import ANONYMOUS, DataCopy, snapshot_dir_command, snapshot_path


def _timestamp() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime())


@dataclass
class Shared:
    """What the containers of one run share (several in a group,
    migrate/group_run.py): one undo journal, the images and layer chains the
    run brought to the target, the step numbers."""
    journal: Journal
    loaded: set[str]                        # image ids this run brought to the target
    chains: frozenset[str] | None           # layer chains the target has (None: containerd)
    chain_bytes: dict[str, int] = field(default_factory=dict)   # image sizes there by top chain
    n: int = 0                              # steps run so far

    def run(self, title: str, do: Callable[[], str], out: Printer, *,
            safe_point: bool = True) -> None:
        """One step: numbered, timed, printed with its outcome (what `do`
        returns); an interrupt that came is taken before it (a safe point)."""
        if safe_point:
            checkpoint()
        self.n += 1
        n, t0 = self.n, time.monotonic()
        outcome = do()
        out(f"[{n}] {title}: {outcome} ({time.monotonic() - t0:.1f}s)")


class Executor:
    """Runs one plan's steps on the two hosts. Its state is what the run did
    so far: the journal, the record, the byte counts and the moments the
    source stopped or froze. `label` names the container in each step's line
    (a group)."""

    def __init__(self, ends: Ends, facts: Facts, plan: Plan, opts: Options, out: Printer,
                 shared: Shared | None = None, label: str = ""):
        self.ends, self.facts, self.p, self.opts, self.out = ends, facts, plan, opts, out
        self.src, self.dst = ends.src, ends.dst
        self.container, self.final = plan.container, plan.final
        self.shared = shared or Shared(Journal(), set(), facts.target_chains,
                                       dict(facts.chain_bytes))
        self.journal = self.shared.journal
        self.loaded = self.shared.loaded
        self.label = label
        self.mine: list = []                    # the journal's entries for this source
        self.record: Record | None = None
        self.image_sent = 0
        self.data_sent = 0
        self.after_stop_sent = 0                # of it, by the passes after the stop (or freeze)
        self.stopped_at: float | None = None
        self.downtime: float | None = None
        self.answered: list[str] | None = None  # container ports that answered on the source
        self.paused = False
        self.frozen_at: float | None = None     # --no-stop: the source paused for the last pass
        self.freeze_s: float | None = None
        self.overwritten: list[str] = []        # --replace: target volumes the copy began to fill
        self.made: tuple[str, dict] | None = None   # (id, inspect) of the image to send
        self.paths = dict(plan.target_paths)    # copy name -> its path on the target
        self.snapdir: str | None = None         # this run's private folder on the source
        self.summed: dict[str, blocks.Summed] = {}  # snapshot -> files summed on the target
        self.upper: str | None = None           # the target container's overlay2 upper dir
        self.settle_later = False               # a group: every member settles at once, after
        self.answered_now: Answered | None = None   # ... the verify that found it answering

    # -- the loop
    def run(self, step: Step, *, safe_point: bool = True) -> None:
        do = getattr(self, f"do_{step.action}")
        self.shared.run(f"{self.label}{step.title}", lambda: do(step), self.out,
                        safe_point=safe_point)

    def note(self, **fields) -> None:
        if self.record is not None:
            self.record = self.record.update(**fields)

    # -- steps
    def do_record(self, step: Step) -> str:
        f, p = self.facts, self.p
        before = {}
        if p.running and not p.stops:
            before = self._answers_before()
        self.record = new_record(
            self.opts.records, p.run_id, self.container, source=self.ends.source.name,
            target=self.ends.target.name, target_name=p.spec.name, mode=self.opts.mode,
            cutover=self.opts.cutover, run_argv=tuple(p.spec.run_argv()),
            image_id=f.container["Image"], container_inspect=_plain(f.container),
            image_inspect=_plain(f.image), networks=_plain(f.networks),
            data=tuple({"kind": c.kind, "name": c.name, "destination": c.destination}
                       for c in p.data.copies),
            baseline=before,
            answered_before=tuple(self.answered) if self.answered is not None else None)
        return f"{self.record.path} (mode 0600)"

    def _send_image(self, ref: str, image: dict, *, there: bool = False) -> ImageSent:
        if there:
            return ImageSent(0, int(image.get("Size") or 0), 0, 0,
                             f"{self.ends.target.name} has it already")
        self.journal.add("image", f"image {image['Id'][7:19]} on {self.ends.target.name}",
                         lambda: _remove_made(self.dst, "image", "rmi", "-f", image["Id"]))
        sent = send_image(self.ends, ref, image, self.shared.chains, self.opts.compress,
                          self.out, at_source=self.facts.source_filters,
                          chain_bytes=self.shared.chain_bytes)
        if eng.inspect(self.dst, "image", image["Id"]) is None:
            raise MigrateError(f"{self.ends.target.name}: image {image['Id'][:19]} is not there "
                               "after the load")
        self.loaded.add(image["Id"])
        if self.shared.chains is not None:
            chains = chain_ids(list((image.get("RootFS") or {}).get("Layers") or []))
            self.shared.chains = self.shared.chains | frozenset(chains)
            if chains:
                self.shared.chain_bytes[chains[-1]] = int(image.get("Size") or 0)
        self.image_sent += sent.sent
        return sent

    def _tag(self, remote: Remote, where: str, image_id: str | None) -> None:
        """Tag `image_id` as this run's image there (None: the command that
        follows makes the tag), and untag it if the run fails."""
        self.journal.add("tag", f"tag {self.final} on {where}",
                         lambda: self._untag(remote, where, self.final, image_id))
        if image_id is not None:
            eng.docker(remote, "tag", image_id, self.final)

    def _untag(self, remote: Remote, where: str, tag: str, image_id: str | None, *,
               prune: bool = True) -> None:
        """Undo of a tag this run added. `docker rmi` of an image's last tag
        deletes the image: one that was there before this run (untagged) is
        kept, and the tag with it, said as an undo that could not be made."""
        if image_id is not None and image_id not in self.loaded:
            tags = (eng.inspect(remote, "image", image_id) or {}).get("RepoTags") or []
            if tags == [tag]:
                raise MigrateError(
                    f"kept: it is the only name of image {image_id[7:19]}, which was on "
                    f"{where} before this run (untagged); `docker rmi {tag}` there deletes "
                    "that image")
        _remove_made(remote, "image", "rmi", *([] if prune else ["--no-prune"]), tag)

    def do_base_image(self, step: Step) -> str:
        """The container's original image as it is (in the live cut-over,
        while the source runs), tagged with the source's reference there."""
        f = self.facts
        sent = self._send_image(f.container["Image"], dict(f.image),
                                there=f.target_has_image or f.container["Image"] in self.loaded)
        return describe(sent) + self._tag_reference()

    def _tag_reference(self) -> str:
        """The source's reference names the original image on the target; a
        failed run puts the tag back as it was (removed if this run added it,
        pointing at its earlier image if --replace moved it)."""
        p, dst, where = self.p, self.dst, self.ends.target.name
        image_id = self.facts.container["Image"]
        if not p.tag:
            return ""
        if self.facts.target_ref_id == image_id:
            return f"; {p.tag} names it there already"
        if p.tag_was:
            was = p.tag_was
            self.journal.add("tag", f"tag {p.tag} on {where} back on {was[7:19]}",
                             lambda: eng.docker(dst, "tag", was, p.tag))
        else:
            self.journal.add("tag", f"tag {p.tag} on {where}",
                             lambda: self._untag(dst, where, p.tag, image_id, prune=False))
        eng.docker(dst, "tag", image_id, p.tag)
        return (f"; tagged {p.tag} there" + (f" (--replace: it named {p.tag_was[7:19]})"
                                              if p.tag_was else ""))

    def do_layer(self, step: Step) -> str:
        c = eng.inspect(self.dst, "container", self.p.spec.name) or {}
        upper = ((c.get("GraphDriver") or {}).get("Data") or {}).get("UpperDir")
        if not upper:
            raise MigrateError(f"{self.ends.target.name}: the new container has no overlay2 "
                               "upper directory to fill")
        self.upper = upper
        layer = self.p.layer
        size = du(self.src, [layer.source_path]).get(layer.source_path) if step.live else None
        sent = self._pass(layer, upper, live=step.live, expected=size or None)
        return f"{human(sent.bytes)} of the container's changes" + self._by_blocks(layer, sent)

    def _pass(self, copy: DataCopy, path: str, *, live: bool, expected: int | None):
        """One pass of a copy; after the stop, by blocks where they were summed."""
        snap = snapshot_path(self.snapshots(), copy)  # incremental even once: volumes.py
        sent = send_data(self.ends, copy, path, snapshot=snap, live=live, expected=expected,
                         say=self.out,
                         summed=self.summed[snap].names if snap in self.summed else frozenset())
        self.data_sent += sent.bytes
        if not live:
            self.after_stop_sent += sent.bytes
        return sent

    def _by_blocks(self, copy: DataCopy, sent) -> str:
        summed = self.summed.get(snapshot_path(self.snapshots(), copy))
        if not summed or not sent.blocks:
            return ""
        whole = f"; {len(sent.whole)} of them sent whole" if sent.whole else ""
        return (f" ({human(sent.blocks)} of it changed blocks of {summed.files} large "
                f"file{'s' if summed.files > 1 else ''}, {human(summed.bytes)}{whole})")

    def do_blocks(self, step: Step) -> str:
        """Before the stop: the target sums the blocks of the large files that
        changed during the first pass (migrate/blocks.py)."""
        copies = [(c, self.paths[c.name]) for c in self.p.data.copies if not c.is_file]
        if self.p.layer and self.upper:
            copies.append((self.p.layer, self.upper))
        done = []
        for copy, path in copies:
            checkpoint()
            snap = snapshot_path(self.snapshots(), copy)
            summed = blocks.prepare(self.src, self.dst, copy.source_path, path, snap)
            if summed.files:
                self.summed[snap] = summed
                done.append(f"{copy.label}: {summed.files} file{'s' if summed.files > 1 else ''}"
                            f" of {human(summed.bytes)}")
        return ("summed on " + self.ends.target.name + ": " + "; ".join(done) if done
                else f"no file of {human(blocks.MIN_SIZE)} or more changed during the first pass")

    def do_image(self, step: Step) -> str:
        if self.opts.mode == "export":
            return self._export()
        return self.do_snapshot(step) + "; " + self.do_send_snapshot(step)

    def do_snapshot(self, step: Step) -> str:
        """The image this run sends where the container's layer cannot be
        copied: a commit of the container, tagged as this run's on the source."""
        c = self.container
        image_id, given = self._commit()
        self.made = (image_id, eng.inspect(self.src, "image", image_id))
        return (f"committed {c} as {self.final}"
                + (f" (the values of the {given} env variables and labels it was given left "
                   "out of the image)" if given else ""))

    def do_send_snapshot(self, step: Step) -> str:
        image_id, image = self.made
        there = image_id == self.facts.container["Image"] and self.facts.target_has_image \
            or image_id in self.loaded
        sent = self._send_image(self.final, image, there=there)
        self._tag(self.dst, self.ends.target.name, image_id)
        return describe(sent)

    def _commit(self) -> tuple[str, int]:
        """`docker commit` of the container as this run's image, without the
        values the container was given (env, labels): --change lines blank
        them in the image's config; and as the engine (20.10) keeps the
        committed container's own config beside it (ContainerConfig), the
        first commit is committed once more, through a container made from it
        and given nothing (no layer is added). Returns (image id, values left out)."""
        src, where = self.src, self.ends.source.name
        changes = commit_changes(dict(self.facts.container), dict(self.facts.image))
        pause = "--pause=false" if self.paused else "--pause=true"    # frozen already
        # what a commit makes is named, and its undo noted, before it runs: an
        # interrupt lets the command end (fleet/runner.py), then the undo runs
        first = f"{self.final}-config"
        self._tag(src, where, None)
        if changes:
            self.journal.add("tag", f"tag {first} on {where}",
                             lambda: _remove_made(src, "image", "rmi", first))
        image_id = eng.docker(
            src, "commit", pause, *[w for ch in changes for w in ("--change", ch)],
            "--", self.container, first if changes else self.final).stdout.strip()
        if changes:
            blank = f"{self.p.spec.name}.dockmove-commit-{self.p.run_id}"
            try:
                eng.docker(src, "create", "--name", blank, "--", first)
                image_id = eng.docker(src, "commit", "--pause=false", "--", blank,
                                      self.final).stdout.strip()
            finally:
                eng.docker(src, "rm", "--volumes", "--force", blank, check=False)
                eng.docker(src, "rmi", first, check=False)   # the image stays: final's parent
        return image_id, len(changes)

    def _export(self) -> str:
        changes = " ".join(f"--change {shlex.quote(ch)}"
                           for ch in import_changes(dict(self.facts.image)))
        zip_, unzip = COMPRESS[self.opts.compress]
        send = f"docker export {shlex.quote(self.container)}"
        recv = f"docker import {changes} - {shlex.quote(self.final)}"
        if zip_:
            send, recv = f"set -o pipefail; {send} | {zip_}", f"set -o pipefail; {unzip} | {recv}"
        self.journal.add("image", f"image {self.final} on {self.ends.target.name}",
                         lambda: _remove_made(self.dst, "image", "rmi", self.final))
        res = self.ends.stream(send, recv,
                               expected=int(self.facts.image.get("Size") or 0) or None,
                               say=self.out, what="export stream")
        self.image_sent += res.bytes
        return (f"sent {human(res.bytes)} as one layer; its original image's config restored "
                "(the container's own env and labels are given to it at create)")

    def _target_path(self, copy: DataCopy) -> str:
        if copy.name in self.paths:
            return self.paths[copy.name]
        self.journal.add("volume", f"volume {copy.name} on {self.ends.target.name}",
                         lambda: eng.docker(self.dst, "volume", "rm", "-f", copy.name))
        eng.docker(self.dst, *copy.create_args())
        path = (eng.inspect(self.dst, "volume", copy.name) or {}).get("Mountpoint", "")
        if not path:
            raise MigrateError(f"{self.ends.target.name}: volume {copy.name} has no mountpoint")
        self.paths[copy.name] = path
        return path

    def do_data(self, step: Step) -> str:
        """Copy the volumes (and bind mounts); in the live pass, incrementally
        from a snapshot the pass after the stop continues."""
        p = self.p
        if not p.data.copies and not p.data.empty:
            return "no volumes"
        done = []
        for copy in p.data.empty:          # anonymous ones: the engine makes them
            if ANONYMOUS.match(copy.name):
                continue
            if copy.name not in p.existing_volumes and copy.name not in self.paths:
                self._target_path(copy)
                done.append(f"{copy.label} created empty (--empty-volumes)")
        for copy in p.data.copies:
            checkpoint()                # one stream at a time; none starts after an interrupt
            fresh = copy.name not in self.paths
            path = self._target_path(copy)
            if copy.name in p.replaced_uses and copy.name not in self.overwritten:
                self.overwritten.append(copy.name)
            if not fresh or copy.kind == "bind":
                self._undo_contents(copy, path)
            sent = self._pass(copy, path,
                              live=step.live or (not p.stops and not p.idle and not self.paused),
                              expected=self.facts.sizes.get(copy.source_path) or None)
            done.append(f"{copy.label} {human(sent.bytes)}" + self._by_blocks(copy, sent))
        return "; ".join(done)

    def _undo_contents(self, copy: DataCopy, path: str) -> None:
        """What undoing the copy into a path that existed before the run
        means: emptying it again, or, where it held data (--replace), saying
        that data is gone."""
        what = f"contents of {copy.label}"
        if self.journal.has("contents", what):
            return
        if copy.kind == "bind":
            held = copy.name in self.facts.target_paths_with_data
        elif copy.name in self.p.existing_volumes:
            held = self.facts.target_volumes[copy.name].holds_data
        else:
            return
        if held:
            self.journal.add("contents", what,
                             lambda: self.out(f"  note: {copy.label} on "
                                              f"{self.ends.target.name} was overwritten "
                                              "(--replace); its earlier contents are gone"))
        else:
            self.journal.add("contents", what,
                             lambda: sh(self.dst, f"find {shlex.quote(path)} -mindepth 1 -delete"))

    def do_networks(self, step: Step) -> str:
        made = []
        for name in self.p.missing_networks:
            entry = self.journal.add(
                "network", f"network {name} on {self.ends.target.name}",
                lambda name=name: _remove_made(self.dst, "network", "network", "rm", name))
            r = eng.docker(self.dst, "network", "create",
                           *network_args(dict(self.p.networks[name])), name, check=False)
            if not r.ok:            # refused (one of that name appeared?): not ours to remove
                self.journal.drop(entry)
                raise CommandError(self.dst.name, r.command, r.exit_code, r.stderr)
            made.append(name)
        return f"created {', '.join(made)}" if made else "none to create"

    def _answers_before(self) -> dict:
        """Which published ports answer on the source now, and their HTTP answers."""
        ports = bindings(dict(self.facts.container))
        self.answered = answering(self.src, self.ends.source.address, ports)
        return baseline(self.src, self.ends.source.address, ports, self.answered,
                        self.p.spec.published())

    def do_stop(self, step: Step) -> str:
        shown = self.before_stop()
        t0 = time.monotonic()
        eng.docker(self.src, "stop", *self.stop_time(), "--", self.container)
        return self.stopped(t0) + shown

    def before_stop(self) -> str:
        """What comes before the source's stop (a group stops several with
        one command): its ports' answers noted, its restart noted for the
        undo. What it says of the answers."""
        before = self._answers_before()
        self.note(baseline=before, answered_before=tuple(self.answered))
        checkpoint()                    # asked to stop during the probe: the source runs on
        self.mine.append(self.journal.add(
            "source", f"{self.container} started again on {self.ends.source.name}",
            lambda: eng.docker(self.src, "start", "--", self.container)))
        return f"; its answer on port(s) {', '.join(before)} recorded" if before else ""

    def stop_time(self) -> list[str]:
        return [] if self.opts.stop_timeout is None else ["--time", str(self.opts.stop_timeout)]

    def stopped(self, t0: float, killed: bool | None = None) -> str:
        """The source stopped (the stop began at `t0`): downtime counts from
        now. `killed` (several stopped with one command): whether the engine
        killed it at the end of its stop timeout; if not, it stopped when
        asked, at `t0`."""
        now = time.monotonic()
        took = now - t0
        joint = killed is not None
        killed = killed if joint else took > 5
        self.stopped_at = t0 if joint and not killed else now   # downtime: from stopped
        return (f"{self.container} stopped on {self.ends.source.name}"
                + (f" after {took:.1f}s (it did not exit on its stop signal; the engine killed "
                   "it after its stop timeout: --stop-timeout shortens the wait)" if killed
                   else ""))

    def do_stay(self, step: Step) -> str:
        """A stopped member of a group: nothing to stop, but the last pass
        after this relies on it still being stopped."""
        self._still_stopped()
        return f"nothing to stop: {self.container} is not running on {self.ends.source.name}"

    def _still_stopped(self) -> None:
        """A source that was not running when the run began is not running now."""
        state = (eng.inspect(self.src, "container", self.container) or {}).get("State") or {}
        if state.get("Running"):
            raise MigrateError(f"{self.container} was started on {self.ends.source.name} during "
                               "this run (it was not running when the run began); run the "
                               "migration again")

    def do_pause(self, step: Step) -> str:
        """A --rm source: stopping it would delete it and its anonymous
        volumes: it stays paused (frozen, nothing served, nothing written)
        until the target passed verification; a failure unpauses it."""
        before = self._answers_before()
        self.note(baseline=before, answered_before=tuple(self.answered))
        shown = f"; its answer on port(s) {', '.join(before)} recorded" if before else ""
        checkpoint()                    # asked to stop during the probe: the source runs on
        self._pause()
        self.stopped_at = time.monotonic()
        return (f"{self.container} paused on {self.ends.source.name}, not stopped: it runs "
                "with --rm, and a stop would delete it and its anonymous volumes; it is "
                "removed only once the target passed verification" + shown)

    def _pause(self) -> None:
        def unpause():
            if self.paused:
                r = eng.docker(self.src, "unpause", "--", self.container, check=False)
                state = (eng.inspect(self.src, "container", self.container) or {}).get("State") or {}
                if not r.ok and state.get("Paused"):
                    raise MigrateError(f"{self.ends.source.name}: {self.container} stays paused: "
                                       f"{r.stderr.strip()}")
                self.paused = False
        self.mine.append(self.journal.add(
            "source", f"{self.container} unpaused on {self.ends.source.name}", unpause))
        self.paused = True              # before the command: an interrupt during it unpauses
        eng.docker(self.src, "pause", "--", self.container)

    def do_freeze(self, step: Step) -> str:
        """--no-stop: the last pass runs with the source paused, so the data
        and the image are one consistent snapshot."""
        self._pause()
        self.frozen_at = time.monotonic()
        return f"{self.container} paused on {self.ends.source.name} for the last pass"

    def do_unpause(self, step: Step) -> str:
        eng.docker(self.src, "unpause", "--", self.container)
        self.paused = False
        took = time.monotonic() - (self.frozen_at or time.monotonic())
        self.freeze_s = took
        return f"{self.container} unpaused on {self.ends.source.name}: it was frozen {took:.2f}s"

    def do_replace(self, step: Step) -> str:
        """--replace: the target's container of that name is stopped before
        its volumes are overwritten. If the run fails it is started again
        only while its volumes are untouched: never on half-replaced data."""
        name = self.p.spec.name
        self.journal.add("replaced", f"{name} started again on {self.ends.target.name}",
                         self._restart_replaced)
        eng.docker(self.dst, "stop", "--", name)
        return (f"{name} stopped on {self.ends.target.name}: it uses "
                f"{', '.join(self.p.replaced_uses)}, which is overwritten next")

    def _restart_replaced(self) -> None:
        name = self.p.spec.name
        if self.overwritten:
            self.out(f"  note: {name} on {self.ends.target.name} stays stopped: the copy already "
                     f"overwrote {', '.join(self.overwritten)}, which it uses; restore that "
                     "data before you start it")
            return
        eng.docker(self.dst, "start", "--", name)

    def do_create(self, step: Step) -> str:
        spec, dst = self.p.spec, self.dst
        existing = self.facts.existing
        if existing is not None:
            aside = f"{spec.name}.replaced-{self.p.run_id}"
            was_running = (existing.get("State") or {}).get("Running")

            def put_back():
                if eng.inspect(dst, "container", aside) is not None:
                    eng.docker(dst, "rename", aside, spec.name)
                if was_running:
                    self._restart_replaced()
            self.journal.add("replaced", f"{aside} back as {spec.name}"
                             + (", started again" if was_running else ""), put_back)
            eng.docker(dst, "stop", spec.name, check=False)
            eng.docker(dst, "rename", spec.name, aside)
        given = envfile.given(spec.env, spec.labels)
        entry = self.journal.add("container", f"container {spec.name} on {self.ends.target.name}",
                                 lambda: _remove_made(dst, "container", "rm", "-f", "--", spec.name))
        with envfile.on_target(dst, given.files()) as folder:
            argv = spec.create_argv(given.argv(folder), self.p.image)
            r = dst.run(given.command(argv, folder), sudo=True, check=False)
        if not r.ok:                # refused: what has that name there now is not ours
            self.journal.drop(entry)
            raise CommandError(dst.name, r.command, r.exit_code, r.stderr)
        for net in spec.extra_networks:
            eng.docker(dst, "network", "connect", *net.connect_args(), net.network, spec.name)
        inline = [kv.partition("=")[0] for kv in given.inline_labels]
        return (f"{spec.name} created from {self.p.image}"
                + (f"; label(s) {', '.join(inline)} given in its command line (a line break, "
                   "which no label file line holds)" if inline else ""))

    def do_start(self, step: Step) -> str:
        eng.docker(self.dst, "start", self.p.spec.name)
        return f"{self.p.spec.name} started on {self.ends.target.name}"

    def do_verify(self, step: Step) -> str:
        if self.p.idle:
            return self._created_not_started()
        if self.settle_later:
            a = self.answered_now = answer_target(
                self.dst, self.ends.target.address, self.p.spec.name, self.p.spec.published(),
                self.answered, wait=self.opts.wait, settle=self.opts.settle,
                port_check=self.opts.port_check)
            if self.stopped_at is not None:
                self.downtime = a.answered_at - self.stopped_at
            return (f"running; {a.text}" + (f"; downtime {self.downtime:.2f}s"
                                            if self.downtime is not None else "")
                    + " (if it stays up: below)")
        v = verify_target(self.dst, self.ends.target.address, self.p.spec.name,
                          self.p.spec.published(), self.answered, wait=self.opts.wait,
                          settle=self.opts.settle, port_check=self.opts.port_check)
        if self.stopped_at is None:
            return v.text
        self.downtime = v.answered_at - self.stopped_at
        return f"{v.text}; downtime {self.downtime:.2f}s"

    def _created_not_started(self) -> str:
        name, there = self.p.spec.name, self.ends.target.name
        self._still_stopped()           # its data was copied from a source still stopped
        state = (eng.inspect(self.dst, "container", name) or {}).get("State")
        if state is None:
            raise MigrateError(f"{there}: {name} is not there after its create")
        if state.get("Running"):
            raise MigrateError(f"{there}: {name} runs, though {self.container} was not running on "
                               f"{self.ends.source.name}")
        return (f"{name} is on {there}, created, not started ({self.container} was not running "
                f"on {self.ends.source.name})")

    def do_finish(self, step: Step) -> str:
        """After verification: first what keeps the source from running a
        second copy, then the clean-up. Safe to run again."""
        src, dst, p = self.src, self.dst, self.p
        notes = []
        if p.autoremove and p.stops:
            # verified: the frozen source goes, as its --rm asks; removed without
            # -v, so its anonymous volumes stay on the source, unused
            eng.docker(src, "rm", "-f", "--", self.container)
            self.note(source_autoremoved=True)
            vols = [c.name for c in p.data.copies if ANONYMOUS.match(c.name)]
            notes.append(f"{self.container} (--rm) removed from {self.ends.source.name} now that "
                         f"{self.ends.target.name} passed verification; rollback is not possible"
                         + (f"; its anonymous volumes stay there: {', '.join(vols)}" if vols else ""))
        elif self.opts.remove_source:
            eng.docker(src, "rm", "--", self.container)
            notes.append(f"{self.container} removed from {self.ends.source.name} (--remove-source)")
        elif self.opts.cutover == "none" and p.running:
            notes.append(f"{self.container} still runs on {self.ends.source.name}: writes made "
                         "there from now on stay there")
        else:                       # stopped by this run, or it was not running
            policy = p.restart_policy.get("Name") or "no"
            if policy != "no":
                # else the old host's next engine start runs a second copy
                eng.docker(src, "update", "--restart", "no", "--", self.container)
                self.note(source_restart_policy=dict(p.restart_policy))
                notes.append(f"{self.container}'s restart policy on {self.ends.source.name} set "
                             f"from {policy} to no, so it cannot start there again by itself "
                             "(--rollback restores it)")
            notes.append(f"{self.container} kept, stopped, on {self.ends.source.name} "
                         f"(rollback: inv migrate {self.container} --rollback)")
        if self.p.commit:
            eng.docker(src, "rmi", self.final, check=False)
        base = self.facts.container["Image"]
        if base in self.loaded and base != self._final_id():
            # the base image came only to carry layers: untag nothing, drop
            # its entry if no tag names it (its layers stay, in use)
            if not (eng.inspect(dst, "image", base) or {}).get("RepoTags"):
                eng.docker(dst, "rmi", base, check=False)
        return ("temporary tags removed; " if p.commit else "") + "; ".join(notes)

    def snapshots(self) -> str:
        """This run's private folder for snapshot files on the source
        (created at first use)."""
        if self.snapdir is None:
            self.snapdir = sh(self.src, snapshot_dir_command(self.p.run_id)).stdout.strip()
        return self.snapdir

    def remove_snapshots(self) -> None:
        """Remove the snapshot files (they list every file name of the data)."""
        if self.snapdir is not None:
            sh(self.src, f"rm -rf -- {shlex.quote(self.snapdir)}")
            self.snapdir = None

    def _final_id(self) -> str | None:
        return (eng.inspect(self.dst, "image", self.final) or {}).get("Id")

    # -- how a failed run left the hosts
    def failure(self, why: str, left: list, error: Exception) -> MigrateError:
        return failure([self], why, left, error)

    def source_state(self, left: list) -> str:
        """What a failed run left of the source container (`left`: the
        journal's entries that could not be undone)."""
        source, container = self.ends.source.name, self.container
        paused = self.p.autoremove or self.frozen_at is not None
        back = "unpaused" if paused else "started again"
        touched = (self.stopped_at is not None or self.frozen_at is not None
                   or bool(self.mine))       # a stop was asked (it may have ended anyway)
        return (f"{container} on {source} untouched" if not touched else
                f"{container} on {source} could not be {back}: do it there "
                f"(docker {'unpause' if paused else 'start'} {container})"
                if any(e is m for e in left for m in self.mine) else
                f"{container} on {source} {back}, with its data as it was")

    def summary(self, took: float) -> dict:
        """The run's numbers (the record's result, --json-report)."""
        p, opts = self.p, self.opts
        out = {"container": self.container, "source": self.ends.source.name,
               "target": self.ends.target.name, "mode": opts.mode, "cutover": opts.cutover,
               "image_bytes": int(self.facts.image.get("Size") or 0),
               "image_sent_bytes": self.image_sent,
               "volume_bytes": p.data_bytes,
               "volume_sent_bytes": self.data_sent,
               "data_sent_after_stop_bytes": self.after_stop_sent,
               "downtime_s": round(self.downtime, 3) if self.downtime is not None else None,
               "seconds": round(took, 3)}
        if self.freeze_s is not None:
            out["freeze_s"] = round(self.freeze_s, 3)
        return out


def failure(executors: list[Executor], why: str, left: list, error: Exception) -> MigrateError:
    """How a failed run (one container, or a group) left both hosts:
    `left`, the journal's entries that could not be undone."""
    return MigrateError(f"migration of {', '.join(ex.container for ex in executors)} {why}; "
                        f"{target_state(executors[0].ends.target.name, left)}; "
                        + "; ".join(ex.source_state(left) for ex in executors)
                        + f".\n{error}")


def target_state(target: str, left: list) -> str:
    """What a failed run left on the target (the sources': source_state)."""
    left = [e for e in left if e.kind != "source"]
    return (f"{target} is as before" if not left else
            f"on {target}, could not undo: {', '.join(e.what for e in left)}")


def decisions(p: Plan) -> tuple:
    """What a person said yes to: what the run removes or overwrites, the
    warnings, and its steps (not the sizes, which a running source moves)."""
    return p.overwrites, p.warnings, tuple(s.title for s in p.steps)


def same_as_asked(asked: list[Plan], again: list[Plan] | Refused) -> None:
    """After a person said yes (maybe minutes later), the plans made from
    the hosts read again: PreflightError with what changed, unless they
    would be asked the same (one run, or each member of a group)."""
    if isinstance(again, Refused):
        now = list(again.problems)
    else:
        now = []
        for before, after in zip(asked, again):
            if decisions(after) == decisions(before):
                continue
            now.append("it would now remove or overwrite: "
                       + (", ".join(after.overwrites) or "nothing"))
            now += [f"warning now: {w}" for w in after.warnings if w not in before.warnings]
            if decisions(after)[2] != decisions(before)[2]:
                now.append(f"its steps now: {', '.join(s.title for s in after.steps)}")
    if now:
        raise PreflightError("the hosts changed while the question waited; nothing was "
                             "changed, run it again:\n- " + "\n- ".join(now))


def _unchanged_since_asked(ends: Ends, container: str, opts: Options,
                           asked: Plan) -> tuple[Facts, Plan]:
    """The hosts read again after a person said yes: the facts and the plan
    to run, the same as asked (same_as_asked)."""
    facts = gather(ends, container, opts)
    again = plan(opts, facts, asked.run_id, os.environ)
    same_as_asked([asked], again if isinstance(again, Refused) else [again])
    return facts, again


def dry_run_report(plans: list[Plan], source: str, target: str) -> dict:
    """What --dry-run --json prints: the plan of each container."""
    return {"source": source, "target": target, "plans": [
        {"container": p.container, "target_command": p.run_line(), "warnings": list(p.warnings),
         "steps": [s.what for s in p.steps], "overwrites": list(p.overwrites)} for p in plans]}


def say_overwrites(items, out: Printer) -> None:
    """A dry run names what the run would ask to be confirmed."""
    if items:
        out("it removes or overwrites (asked before the first change; --yes says yes):")
        for i in items:
            out(f"  - {i}")


def accepted(decided, out: Printer):
    """The plan (its warnings printed), or PreflightError with every problem."""
    for w in decided.warnings:
        out(f"warning: {w}")
    if isinstance(decided, Refused):
        raise PreflightError("preflight failed, nothing was changed:\n- " +
                             "\n- ".join(decided.problems))
    return decided


def undo_run(e: BaseException, executors: list["Executor"], ends: Ends,
             out: Printer, whose: str = "") -> tuple[str, list]:
    """After a failure or an interrupt `e`: note it in each record, and undo
    the run's journal (one for all the executors), held against signals;
    (why, the entries that could not be undone)."""
    why = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
    with held():                        # nothing cuts the undo short
        for ex in executors:
            ex.note(outcome=why, error=str(e)[-2000:])
        out(f"{why}: undoing what this run changed{whose}")
        if why == "interrupted":
            renew_all((ends.src, ends.dst), out)
        return why, executors[0].journal.undo(out)


def _remove_made(remote: Remote, kind: str, *argv: str) -> None:
    """Undo of a create (`kind`: container, network, image): run the removal
    `argv`; it failing is an error only while the thing is still there (a
    create the run noted may not have made it), or when the engine cannot
    say (it is down: the undo is not claimed)."""
    r = eng.docker(remote, *argv, check=False)
    if r.ok:
        return
    try:
        there = eng.inspect(remote, kind, argv[-1]) is not None
    except CommandError as e:
        said = (e.stderr.strip() or "no message").splitlines()[-1]
        raise MigrateError(f"{remote.name} cannot say whether it is there ({said}); once its "
                           f"engine answers: docker {' '.join(argv)}") from None
    if there:
        raise MigrateError(f"{remote.name}: docker {' '.join(argv)}: {r.stderr.strip()}")


def _plain(value):
    """A JSON copy of read-only facts (mappings) for the record."""
    return json.loads(json.dumps(value, default=dict))


def migrate(inventory: Inventory, source: Host, target: Host, container: str,
            opts: Options = Options(), *, write: Callable[[str], None] = print,
            confirm: Confirm = confirmer(yes=False)) -> dict:
    """Move one container (the module's docstring); `confirm` is asked
    about what the run removes or overwrites, after the plan and before the
    first change (fleet/confirm.py)."""
    started = time.monotonic()
    out = Printer("migrate", write=write)
    check(opts)
    cut = {"live": "live cut-over", "offline": "stop, then copy",
           "none": "copy, source keeps running"}.get(opts.cutover, opts.cutover)
    with Remote(inventory, source) as src, Remote(inventory, target) as dst, \
            Masters() as masters:
        ends = Ends(inventory, source, target, src, dst, masters)
        if not opts.dry_run:             # the streams' connections, made while we read
            masters.warm(inventory, (source, target))
        facts = gather(ends, container, opts)
        out(f"{container}: from {source.name} to {target.name} (mode {opts.mode}, {cut})")
        p = accepted(plan(opts, facts, _timestamp(), os.environ), out)
        out(p.preflight)
        out(f"target command: {p.run_line()}")
        if opts.dry_run:
            out("dry run: nothing changed. The plan:")
            for i, step in enumerate(p.steps, 1):
                out(f"  {i}. {step.what}")
            say_overwrites(p.overwrites, out)
            return dry_run_report([p], source.name, target.name)
        if confirm(f"migrate {container} to {target.name}", p.overwrites):
            facts, p = _unchanged_since_asked(ends, container, opts, p)
        ex = Executor(ends, facts, p, opts, out)
        *steps, finish = p.steps
        try:
            with deferred():            # Ctrl-C is taken between steps: fleet/signals.py
                try:
                    for step in steps:
                        ex.run(step)
                    checkpoint()        # one that came during the last step
                except BaseException as e:
                    why, left = undo_run(e, [ex], ends, out)
                    if isinstance(e, KeyboardInterrupt):
                        raise
                    if isinstance(e, DockmoveError):
                        raise ex.failure(why, left, e) from None
                    raise
                # verified: the migration is done, whatever the clean-up below says
                try:
                    with held():        # the source's policy and removal are not cut short
                        ex.note(outcome="done", source_stopped=p.stops)
                        ex.run(finish, safe_point=False)
                except DockmoveError as e:
                    raise MigrateError(
                        f"{container} runs on {target.name}, verified (the migration is done "
                        f"and on record); the clean-up after it failed: {e}\nCheck on "
                        f"{source.name} that {container} is stopped with restart policy no "
                        f"(docker update --restart no {container}), or removed if you asked "
                        "for that.") from None
        finally:
            _remove_snapshots(ex, out)
        took = time.monotonic() - started
        summary = ex.summary(took)
        ex.note(result=summary, source_removed=opts.remove_source)
        if opts.json_report:
            Path(opts.json_report).write_text(json.dumps(summary, indent=2) + "\n")
        out.result(f"done in {took:.1f}s: {p.spec.name} runs on {target.name} as {p.image}; "
            f"sent {human(ex.image_sent)} of image, {human(ex.data_sent)} of data"
            + (f"; downtime {ex.downtime:.2f}s" if ex.downtime is not None else "")
            + (f"; source frozen {ex.freeze_s:.2f}s for the last pass" if ex.freeze_s else ""))
        return {**summary, "record": str(ex.record.path) if ex.record else None}


def _remove_snapshots(ex: Executor, out: Printer) -> None:
    """After the run, whatever its outcome: no snapshot file stays behind."""
    if ex.snapdir is None:
        return
    where = f"{ex.snapdir} on {ex.ends.source.name}"
    try:
        ex.remove_snapshots()
        out(f"  removed: snapshot files ({where})")
    except Exception as e:          # the run's own outcome is what the user must see
        out(f"warning: could not remove {where} ({str(e).splitlines()[0] if str(e) else e!r}); "
            "remove it there: it lists every file name of the copied data")


def network_args(n: dict) -> list[str]:
    """`docker network create` options that make a network like `n` (inspect)."""
    args = ["--driver", n.get("Driver") or "bridge"]
    for cfg in ((n.get("IPAM") or {}).get("Config") or []):
        if cfg.get("Subnet"):
            args += ["--subnet", cfg["Subnet"]]
        if cfg.get("Gateway"):
            args += ["--gateway", cfg["Gateway"]]
        if cfg.get("IPRange"):
            args += ["--ip-range", cfg["IPRange"]]
    if n.get("Internal"):
        args.append("--internal")
    if n.get("Attachable"):
        args.append("--attachable")
    if n.get("EnableIPv6"):
        args.append("--ipv6")
    for k, v in sorted((n.get("Options") or {}).items()):
        args += ["--opt", f"{k}={v}"]
    for k, v in sorted((n.get("Labels") or {}).items()):
        args += ["--label", f"{k}={v}"]
    return args
