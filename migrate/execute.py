"""`inv migrate`: preflight (nothing changes until it passes), record, copy,
cut-over, verification. Every step is printed with its outcome and duration.

Cut-overs:
- live (default): the image and the data are copied while the source runs;
  then the source stops, only what changed since is sent, and the container
  starts on the target. With overlay2 on both hosts the container's own
  layer is copied like its volumes (incremental GNU tar of its upper
  directory into the new container's, created but not started); otherwise
  the stopped container is committed and only that commit's new layer is
  sent. Downtime: from the source stopped to the target's ports answering.
- offline: the source stops first, then everything is copied once.
- none (--no-stop): a snapshot is copied and the source keeps running.

A failure or Ctrl-C after preflight undoes what this run created on the
target (containers, networks, volumes, images, tags), starts the source again
if this run stopped it, and exits non-zero. The source container itself is
never changed; it is removed only with --remove-source, after verification.
"""
from __future__ import annotations

import json
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from fleet.errors import DockmoveError
from fleet.inventory import Host, Inventory
from fleet.output import Printer
from fleet.remote import Remote
from fleet.signals import held

from . import engine as eng
from . import envfile
from .checks import MigrateError, answering, baseline, verify_target
from .hostfs import du, nonempty, sh
from .options import Options
from .overrides import commit_changes, import_changes
from .preflight import Found, preflight
from .spec import RunSpec, render
from .records import update_record, write_record
from .stream import human
from .transfer import COMPRESS, Ends, ImageSent, describe, send_data, send_image
from .volumes import (ANONYMOUS, DataCopy, container_layer, snapshot_dir_command,
                      snapshot_path)

@dataclass
class Undo:
    """What this run changed, to put back if it fails. Urgent actions
    (starting the source again) run first."""
    actions: list[tuple[str, Callable[[], None], bool]] = field(default_factory=list)

    def add(self, what: str, fn: Callable[[], None], urgent: bool = False) -> None:
        self.actions.append((what, fn, urgent))

    def run(self, out: Printer) -> list[str]:
        failed = []
        ordered = ([a for a in reversed(self.actions) if a[2]]
                   + [a for a in reversed(self.actions) if not a[2]])
        for what, fn, _ in ordered:
            try:
                fn()
                out(f"  undone: {what}")
            except Exception as e:   # keep undoing the rest
                out(f"  could not undo {what}: {str(e).splitlines()[0] if str(e) else e!r}")
                failed.append(what)
        self.actions.clear()
        return failed


@dataclass(frozen=True)
class Result:
    name: str
    target: str
    image: str
    bytes_sent: int
    seconds: float
    record: Path | None
    downtime: float | None = None


def _timestamp() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime())


def tag_name(container: str) -> str:
    """A repository name for `container`: container names allow capitals and
    runs of `._-` that image references do not (`MyApp` -> `myapp`)."""
    name = re.sub(r"[^a-z0-9]+", "-", container.lower()).strip("-")
    return name or "container"


def masked_run_line(spec: RunSpec, image: str | None = None) -> str:
    return render(spec.run_argv(image))


class Run:
    """One migration after preflight: its steps, its undo, its numbers."""

    def __init__(self, ends: Ends, container: str, opts: Options, found: Found, out: Printer):
        self.ends, self.container, self.opts, self.f, self.out = ends, container, opts, found, out
        self.src, self.dst = ends.src, ends.dst
        self.ts = _timestamp()
        self.final = f"dockmove/{tag_name(found.spec.name)}:{self.ts}"
        self.undo = Undo()
        self.n = 0
        self.image_sent = 0
        self.data_sent = 0
        self.stopped_at: float | None = None
        self.downtime: float | None = None
        self.record: Path | None = None
        self.answered: list[str] | None = None   # container ports that answered on the source
        self.loaded: set[str] = set()           # image ids this run brought to the target
        self.running = bool((found.container.get("State") or {}).get("Running"))
        host_config = found.container.get("HostConfig") or {}
        # --rm: a stop would make the engine delete it and its anonymous volumes
        self.autoremove = bool(host_config.get("AutoRemove"))
        self.restart_policy = host_config.get("RestartPolicy") or {}
        self.paused = False
        self.frozen_at: float | None = None     # --no-stop: the source paused for the last pass
        self.freeze_s: float | None = None
        self.overwritten: list[str] = []        # --replace: target volumes the copy began to fill
        self.made: tuple[str, dict] | None = None   # (id, inspect) of the image to send
        self.stops = self.running and opts.cutover != "none"
        self.two_pass = self.stops and opts.cutover == "live"
        # live commit: the container's own layer is copied like a volume
        # (twice, incrementally) instead of committed and saved after the stop
        self.layer = (container_layer(found.container, found.dst_info.get("Driver", ""))
                      if self.two_pass and opts.mode == "commit" else None)
        self.snapdir: str | None = None         # this run's private folder on the source

    # -- output
    def step(self, title: str, fn: Callable[[], str]) -> None:
        self.n += 1
        t0 = time.monotonic()
        outcome = fn()
        self.out(f"[{self.n}] {title}: {outcome} ({time.monotonic() - t0:.1f}s)")

    # -- steps
    def write_record(self) -> str:
        f = self.f
        before = {}
        if self.running and not self.stops:
            before = self._answers_before()
        self.record = write_record(self.opts.records, {
            "created": self.ts, "container": self.container, "source": self.ends.source.name,
            "target": self.ends.target.name, "mode": self.opts.mode,
            "cutover": self.opts.cutover, "container_inspect": f.container,
            "image_inspect": f.image, "networks": f.networks, "run_argv": f.spec.run_argv(),
            "target_name": f.spec.name, "image_id": f.container["Image"],
            "data": [{"kind": c.kind, "name": c.name, "destination": c.destination}
                     for c in f.data.copies], "baseline": before,
            "answered_before": self.answered})
        return f"{self.record} (mode 0600)"

    def _send_image(self, ref: str, image: dict) -> ImageSent:
        had = eng.inspect(self.dst, "image", image["Id"]) is not None
        if had:
            return ImageSent(0, int(image.get("Size") or 0), 0, 0,
                             f"{self.ends.target.name} has it already")
        self.undo.add(f"image {image['Id'][7:19]} on {self.ends.target.name}",
                      lambda: eng.docker(self.dst, "rmi", "-f", image["Id"], check=False))
        sent = send_image(self.ends, ref, image, self.f.dst_info, self.opts.compress, self.out,
                          at_source=self.f.source_filters)
        got = eng.inspect(self.dst, "image", image["Id"])
        if got is None:
            raise MigrateError(f"{self.ends.target.name}: image {image['Id'][:19]} is not there "
                               "after the load")
        self.loaded.add(image["Id"])
        self.image_sent += sent.sent
        return sent

    def _tag(self, remote: Remote, where: str, image_id: str | None) -> None:
        """Tag `image_id` as this run's image there (None: it is tagged
        already), and untag it if the run fails."""
        if image_id is not None:
            eng.docker(remote, "tag", image_id, self.final)
        self.undo.add(f"tag {self.final} on {where}",
                      lambda: eng.docker(remote, "rmi", self.final, check=False))

    def base_image(self) -> str:
        """Live pass: the container's image as it is, while the source runs."""
        sent = self._send_image(self.f.container["Image"], self.f.image)
        if self.layer:
            self._tag(self.dst, self.ends.target.name, self.f.container["Image"])
            return describe(sent) + f"; tagged {self.final} there"
        return describe(sent)

    def copy_layer(self, live: bool) -> str:
        c = eng.inspect(self.dst, "container", self.f.spec.name) or {}
        upper = ((c.get("GraphDriver") or {}).get("Data") or {}).get("UpperDir")
        if not upper:
            raise MigrateError(f"{self.ends.target.name}: the new container has no overlay2 "
                               "upper directory to fill")
        size = du(self.src, [self.layer.source_path]).get(self.layer.source_path) if live else None
        res = send_data(self.ends, self.layer, upper,
                        snapshot=snapshot_path(self.snapshots(), self.layer),
                        live=live, expected=size or None, say=self.out)
        self.data_sent += res.bytes
        return f"{human(res.bytes)} of the container's changes"

    def final_image(self) -> str:
        if self.opts.mode == "export":
            return self._export()
        return self.make_image() + "; " + self.send_made()

    def make_image(self) -> str:
        """The image this run sends: a commit of the container (mode commit)
        or its image (mode image), tagged as this run's on the source."""
        o, src, c = self.opts, self.src, self.container
        if o.mode == "image":
            image_id, image = self.f.container["Image"], self.f.image
            self._tag(src, self.ends.source.name, image_id)
            self.made = (image_id, image)
            return f"tagged {c} as {self.final}"
        image_id, given = self._commit()
        self.made = (image_id, eng.inspect(src, "image", image_id))
        return (f"committed {c} as {self.final}"
                + (f" (the values of the {given} env variables and labels it was given left "
                   "out of the image)" if given else ""))

    def send_made(self) -> str:
        image_id, image = self.made
        sent = self._send_image(self.final, image)
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
        changes = commit_changes(self.f.container, self.f.image)
        pause = "--pause=false" if self.paused else "--pause=true"    # frozen already
        image_id = first = eng.docker(
            src, "commit", pause, *[w for ch in changes for w in ("--change", ch)],
            "--", self.container, *([] if changes else [self.final])).stdout.strip()
        if changes:
            self.undo.add(f"image {first[7:19]} on {where}",
                          lambda: eng.docker(src, "rmi", first, check=False))
            blank = f"{self.f.spec.name}.dockmove-commit-{self.ts}"
            eng.docker(src, "create", "--name", blank, "--", first)
            try:
                image_id = eng.docker(src, "commit", "--pause=false", "--", blank,
                                      self.final).stdout.strip()
            finally:
                eng.docker(src, "rm", "--volumes", "--force", blank, check=False)
        self._tag(src, where, None)                # the commit tagged it
        return image_id, len(changes)

    def _export(self) -> str:
        changes = " ".join(f"--change {shlex.quote(ch)}" for ch in import_changes(self.f.image))
        zip_, unzip = COMPRESS[self.opts.compress]
        send = f"docker export {shlex.quote(self.container)}"
        recv = f"docker import {changes} - {shlex.quote(self.final)}"
        if zip_:
            send, recv = f"set -o pipefail; {send} | {zip_}", f"set -o pipefail; {unzip} | {recv}"
        self.undo.add(f"image {self.final} on {self.ends.target.name}",
                      lambda: eng.docker(self.dst, "rmi", self.final, check=False))
        res = self.ends.stream(send, recv, expected=int(self.f.image.get("Size") or 0) or None,
                               say=self.out, what="export stream")
        self.image_sent += res.bytes
        return (f"sent {human(res.bytes)} as one layer; its original image's config restored "
                "(the container's own env and labels are given to it at create)")

    def _target_path(self, copy: DataCopy) -> str:
        if copy.name in self.f.target_paths:
            return self.f.target_paths[copy.name]
        eng.docker(self.dst, *copy.create_args())
        self.undo.add(f"volume {copy.name} on {self.ends.target.name}",
                      lambda: eng.docker(self.dst, "volume", "rm", "-f", copy.name))
        path = (eng.inspect(self.dst, "volume", copy.name) or {}).get("Mountpoint", "")
        if not path:
            raise MigrateError(f"{self.ends.target.name}: volume {copy.name} has no mountpoint")
        self.f.target_paths[copy.name] = path
        return path

    def data(self, live: bool) -> str:
        """Copy the volumes (and bind mounts); in the live pass, incrementally
        from a snapshot the pass after the stop continues."""
        if not self.f.data.copies and not self.f.data.empty:
            return "no volumes"
        done = []
        for copy in self.f.data.empty:          # anonymous ones: the engine makes them
            if ANONYMOUS.match(copy.name):
                continue
            if copy.name not in self.f.existing_volumes and copy.name not in self.f.target_paths:
                self._target_path(copy)
                done.append(f"{copy.label} created empty (--empty-volumes)")
        for copy in self.f.data.copies:
            fresh = copy.name not in self.f.target_paths
            path = self._target_path(copy)
            if copy.name in self.f.replaced_uses and copy.name not in self.overwritten:
                self.overwritten.append(copy.name)
            if not fresh or copy.kind == "bind":
                self._undo_contents(copy, path)
            snap = snapshot_path(self.snapshots(), copy)  # incremental even once: volumes.py
            res = send_data(self.ends, copy, path, snapshot=snap,
                            live=live or (not self.stops and not self.paused),
                            expected=self.f.sizes.get(copy.source_path) or None, say=self.out)
            self.data_sent += res.bytes
            done.append(f"{copy.label} {human(res.bytes)}")
        return "; ".join(done)

    def _undo_contents(self, copy: DataCopy, path: str) -> None:
        if any(a[0] == f"contents of {copy.label}" for a in self.undo.actions):
            return
        if copy.name in self.f.existing_volumes or copy.kind == "bind":
            if nonempty(self.dst, path):
                self.undo.add(f"contents of {copy.label}",
                              lambda: self.out(f"  note: {copy.label} on "
                                               f"{self.ends.target.name} was overwritten "
                                               "(--replace); its earlier contents are gone"))
            else:
                self.undo.add(f"contents of {copy.label}",
                              lambda: sh(self.dst, f"find {shlex.quote(path)} -mindepth 1 -delete"))

    def networks(self) -> str:
        made = []
        for name, n in self.f.networks.items():
            if eng.inspect(self.dst, "network", name) is not None:
                continue
            eng.docker(self.dst, "network", "create", *network_args(n), name)
            self.undo.add(f"network {name} on {self.ends.target.name}",
                          lambda name=name: eng.docker(self.dst, "network", "rm", name))
            made.append(name)
        return f"created {', '.join(made)}" if made else "none to create"

    def _answers_before(self) -> dict:
        """Which published ports answer on the source now, and their HTTP answers."""
        ports = eng.bindings(self.f.container)
        self.answered = answering(self.src, self.ends.source.address, ports)
        return baseline(self.src, self.ends.source.address, ports, self.answered,
                        self.f.spec.published())

    def stop_source(self) -> str:
        before = self._answers_before()
        if self.record:
            update_record(self.record, baseline=before, answered_before=self.answered)
        shown = f"; its answer on port(s) {', '.join(before)} recorded" if before else ""
        if self.autoremove:
            # stopping it would delete it and its anonymous volumes: it stays
            # paused (frozen, nothing served, nothing written) until the target
            # passed verification; a failure unpauses it
            self._pause()
            self.stopped_at = time.monotonic()
            return (f"{self.container} paused on {self.ends.source.name}, not stopped: it runs "
                    "with --rm, and a stop would delete it and its anonymous volumes; it is "
                    "removed only once the target passed verification" + shown)
        t0 = time.monotonic()
        self.undo.add(f"{self.container} started again on {self.ends.source.name}",
                      lambda: eng.docker(self.src, "start", "--", self.container), urgent=True)
        timeout = [] if self.opts.stop_timeout is None else ["--time", str(self.opts.stop_timeout)]
        eng.docker(self.src, "stop", *timeout, "--", self.container)
        self.stopped_at = time.monotonic()      # downtime: from stopped to answering
        took = self.stopped_at - t0
        return (f"{self.container} stopped on {self.ends.source.name}"
                + (f" after {took:.1f}s (it did not exit on its stop signal; the engine killed "
                   "it after its stop timeout: --stop-timeout shortens the wait)" if took > 5 else "")
                + shown)

    def _pause(self) -> None:
        def unpause():
            if self.paused:
                r = eng.docker(self.src, "unpause", "--", self.container, check=False)
                state = (eng.inspect(self.src, "container", self.container) or {}).get("State") or {}
                if not r.ok and state.get("Paused"):
                    raise MigrateError(f"{self.ends.source.name}: {self.container} stays paused: "
                                       f"{r.stderr.strip()}")
                self.paused = False
        self.undo.add(f"{self.container} unpaused on {self.ends.source.name}", unpause,
                      urgent=True)
        self.paused = True              # before the command: an interrupt during it unpauses
        eng.docker(self.src, "pause", "--", self.container)

    def freeze(self) -> str:
        """--no-stop: the last pass runs with the source paused, so the data
        and the image are one consistent snapshot."""
        self._pause()
        self.frozen_at = time.monotonic()
        return f"{self.container} paused on {self.ends.source.name} for the last pass"

    def thaw(self) -> str:
        eng.docker(self.src, "unpause", "--", self.container)
        self.paused = False
        took = time.monotonic() - (self.frozen_at or time.monotonic())
        self.freeze_s = took
        return f"{self.container} unpaused on {self.ends.source.name}: it was frozen {took:.2f}s"

    def stop_replaced(self) -> str:
        """--replace: the target's container of that name is stopped before
        its volumes are overwritten. If the run fails it is started again
        only while its volumes are untouched: never on half-replaced data."""
        name = self.f.spec.name
        eng.docker(self.dst, "stop", "--", name)
        self.undo.add(f"{name} started again on {self.ends.target.name}", self._restart_replaced)
        return (f"{name} stopped on {self.ends.target.name}: it uses "
                f"{', '.join(self.f.replaced_uses)}, which is overwritten next")

    def _restart_replaced(self) -> None:
        name = self.f.spec.name
        if self.overwritten:
            self.out(f"  note: {name} on {self.ends.target.name} stays stopped: the copy already "
                     f"overwrote {', '.join(self.overwritten)}, which it uses; restore that "
                     "data before you start it")
            return
        eng.docker(self.dst, "start", "--", name)

    def create(self) -> str:
        spec, dst, ts = self.f.spec, self.dst, self.ts
        existing = self.f.existing
        if existing is not None:
            aside = f"{spec.name}.replaced-{ts}"
            was_running = (existing.get("State") or {}).get("Running")
            eng.docker(dst, "stop", spec.name, check=False)
            eng.docker(dst, "rename", spec.name, aside)

            def put_back():
                eng.docker(dst, "rename", aside, spec.name)
                if was_running:
                    self._restart_replaced()
            self.undo.add(f"{aside} back as {spec.name}"
                          + (", started again" if was_running else ""), put_back)
        given = envfile.given(spec.env, spec.labels)
        with envfile.on_target(dst, given.files()) as folder:
            argv = spec.create_argv(given.argv(folder), self.final)
            dst.run(given.command(argv, folder), sudo=True)
        self.undo.add(f"container {spec.name} on {self.ends.target.name}",
                      lambda: eng.docker(dst, "rm", "-f", spec.name))
        for net in spec.extra_networks:
            eng.docker(dst, "network", "connect", *net.connect_args(), net.network, spec.name)
        inline = [kv.partition("=")[0] for kv in given.inline_labels]
        return (f"{spec.name} created from {self.final}"
                + (f"; label(s) {', '.join(inline)} given in its command line (a line break, "
                   "which no label file line holds)" if inline else ""))

    def start(self) -> str:
        eng.docker(self.dst, "start", self.f.spec.name)
        return f"{self.f.spec.name} started on {self.ends.target.name}"

    def verify(self) -> str:
        v = verify_target(self.dst, self.ends.target.address, self.f.spec.name,
                          self.f.spec.published(), self.answered, wait=self.opts.wait,
                          settle=self.opts.settle, port_check=self.opts.port_check)
        if self.stopped_at is None:
            return v.text
        self.downtime = v.answered_at - self.stopped_at
        return f"{v.text}; downtime {self.downtime:.2f}s"

    def finish(self) -> str:
        """After verification: first what keeps the source from running a
        second copy, then the clean-up. Safe to run again."""
        src, dst = self.src, self.dst
        notes = []
        if self.autoremove and self.stops:
            # verified: the frozen source goes, as its --rm asks; removed without
            # -v, so its anonymous volumes stay on the source, unused
            eng.docker(src, "rm", "-f", "--", self.container)
            update_record(self.record, source_autoremoved=True)
            vols = [c.name for c in self.f.data.copies if ANONYMOUS.match(c.name)]
            notes.append(f"{self.container} (--rm) removed from {self.ends.source.name} now that "
                         f"{self.ends.target.name} passed verification; rollback is not possible"
                         + (f"; its anonymous volumes stay there: {', '.join(vols)}" if vols else ""))
        elif self.opts.remove_source:
            eng.docker(src, "rm", "--", self.container)
            notes.append(f"{self.container} removed from {self.ends.source.name} (--remove-source)")
        elif self.opts.cutover == "none" and self.running:
            notes.append(f"{self.container} still runs on {self.ends.source.name}: writes made "
                         "there from now on stay there")
        else:                       # stopped by this run, or it was not running
            policy = self.restart_policy.get("Name") or "no"
            if policy != "no":
                # else the old host's next engine start runs a second copy
                eng.docker(src, "update", "--restart", "no", "--", self.container)
                update_record(self.record, source_restart_policy=self.restart_policy)
                notes.append(f"{self.container}'s restart policy on {self.ends.source.name} set "
                             f"from {policy} to no, so it cannot start there again by itself "
                             "(--rollback restores it)")
            notes.append(f"{self.container} kept, stopped, on {self.ends.source.name} "
                         f"(rollback: inv migrate {self.container} --rollback)")
        if self.opts.mode != "export":
            eng.docker(src, "rmi", self.final, check=False)
        base = self.f.container["Image"]
        if base in self.loaded and base != self._final_id():
            # the base image came only to carry layers: untag nothing, drop
            # its entry if no tag names it (its layers stay, in use)
            if not (eng.inspect(dst, "image", base) or {}).get("RepoTags"):
                eng.docker(dst, "rmi", base, check=False)
        return "temporary tags removed; " + "; ".join(notes)

    def snapshots(self) -> str:
        """This run's private folder for snapshot files on the source
        (created at first use)."""
        if self.snapdir is None:
            self.snapdir = sh(self.src, snapshot_dir_command(self.ts)).stdout.strip()
        return self.snapdir

    def remove_snapshots(self) -> None:
        """Remove the snapshot files (they list every file name of the data)."""
        if self.snapdir is not None:
            sh(self.src, f"rm -rf -- {shlex.quote(self.snapdir)}")
            self.snapdir = None

    def _final_id(self) -> str | None:
        return (eng.inspect(self.dst, "image", self.final) or {}).get("Id")

    # -- the whole run
    def steps(self) -> list[tuple[str, Callable[[], str], str]]:
        """(title, action, what it will do) in order: run by migrate(), the
        last (finish) only once the rest passed; printed by --dry-run."""
        o, f, live = self.opts, self.f, self.two_pass
        src, tgt, c = self.ends.source.name, self.ends.target.name, self.container
        data = ", ".join(x.label for x in f.data.copies) or "none"
        missing = [n for n in f.networks if eng.inspect(self.dst, "network", n) is None]
        if self.autoremove:
            stop = ("pause", self.stop_source,
                    f"pause {c} on {src} (it runs with --rm: a stop would delete it and its "
                    "anonymous volumes; removed only after the target passed verification)"
                    + (" (downtime starts)" if live else ""))
        else:
            stop = ("stop", self.stop_source,
                    f"stop {c} on {src}" + (" (downtime starts)" if live else ""))
        # --no-stop with data: a live pass, then the last one with the source paused
        frozen = o.cutover == "none" and self.running and bool(f.data.copies)
        out = [("record", self.write_record,
                f"record {c}'s run arguments in {o.records}/ (mode 0600)")]
        existing_runs = bool(((f.existing or {}).get("State") or {}).get("Running"))
        if f.replaced_uses and existing_runs:
            out.append(("replace", self.stop_replaced,
                        f"stop {f.spec.name} on {tgt} (--replace): it uses "
                        f"{', '.join(f.replaced_uses)}, which the copy overwrites"))
        if self.stops and not live:
            out.append(stop)
        if live and o.mode != "export":
            out.append(("image (source running)", self.base_image,
                        f"send the layers of {c}'s image that {tgt} lacks, while it runs"))
        if live or frozen:
            out.append(("data (source running)", lambda: self.data(live=True),
                        f"copy its data while it runs: {data}"))
        if frozen and o.mode == "export":
            out.append(("image", self.final_image,
                        f"docker export {c} | docker import on {tgt}, config restored, before "
                        f"the freeze (compression {o.compress})"))
        if frozen:
            out.append(("freeze", self.freeze,
                        f"pause {c} on {src} for the last pass (a short freeze: a consistent "
                        "snapshot of its data and changes)"))
            if o.mode != "export":
                out.append(("snapshot", self.make_image,
                            {"commit": f"docker commit {c} as {self.final} (frozen)",
                             "image": f"tag its image as {self.final}"}[o.mode]))
        out.append(("networks", self.networks,
                    f"create networks: {', '.join(missing)}" if missing else "no network to create"))
        if self.layer:
            out.append(("container", self.create, f"create {f.spec.name} on {tgt} (not started)"))
            out.append(("container layer (source running)", lambda: self.copy_layer(live=True),
                        f"copy {c}'s own changes (its overlay2 layer) into it, while {c} runs"))
        if live:
            out.append(stop)
        if not self.layer and not frozen:
            out.append(("image" + (" (changes since)" if live and o.mode != "export" else ""),
                        self.final_image,
                        {"commit": f"docker commit {c} as {self.final}, send the layers {tgt} lacks",
                         "image": f"tag its image as {self.final}, send it unless {tgt} has it",
                         "export": f"docker export {c} | docker import on {tgt}, config restored"}
                        [o.mode] + f" (compression {o.compress})"))
        out.append(("data" + (" (changes since)" if live or frozen else ""),
                    lambda: self.data(live=False),
                    ("copy what changed in its data since: " if live or frozen
                     else "copy its data: ") + data))
        if frozen:
            out.append(("unpause", self.thaw, f"unpause {c} on {src}; report the freeze"))
            if o.mode != "export":
                out.append(("image", self.send_made,
                            f"send the layers of {self.final} that {tgt} lacks, after the "
                            f"freeze (compression {o.compress})"))
        if self.layer:
            out.append(("container layer (changes since)", lambda: self.copy_layer(live=False),
                        f"copy what changed in {c}'s layer since"))
        else:
            out.append(("container", self.create, f"create {f.spec.name} on {tgt}"))
        out.append(("start", self.start, f"start {f.spec.name} on {tgt}"))
        out.append(("verify", self.verify, f"wait until it runs (healthy, if it has a check) "
                    f"without a restart for {o.settle:g}s and the published ports that answered "
                    "on the source answer" + ("; report the downtime" if self.stops else "")))
        out.append(("finish", self.finish,
                    f"remove temporary tags; {c} " + ("removed (--remove-source)" if o.remove_source
                                                     else "kept, stopped, for rollback" if self.stops
                                                     else "left running")))
        return out



def migrate(inventory: Inventory, source: Host, target: Host, container: str,
            opts: Options = Options(), *, write: Callable[[str], None] = print) -> Result | None:
    started = time.monotonic()
    out = Printer("migrate", write=write)
    cut = {"live": "live cut-over", "offline": "stop, then copy",
           "none": "copy, source keeps running"}.get(opts.cutover, opts.cutover)
    out(f"{container}: from {source.name} to {target.name} (mode {opts.mode}, {cut})")
    with Remote(inventory, source) as src, Remote(inventory, target) as dst:
        ends = Ends(inventory, source, target, src, dst)
        found = preflight(ends, container, opts, out)
        run = Run(ends, container, opts, found, out)
        out(f"target command: {masked_run_line(found.spec, run.final)}")
        *steps, finish = run.steps()
        if opts.dry_run:
            dry_run_plan([*steps, finish], out)
            return None
        try:
            try:
                for title, action, _ in steps:
                    run.step(title, action)
            except BaseException as e:
                why = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
                with held():                # a second Ctrl-C must not cut the undo short
                    if run.record:
                        update_record(run.record, outcome=why, error=str(e)[-2000:])
                    out(f"{why}: undoing what this run changed")
                    left = run.undo.run(out)
                if isinstance(e, KeyboardInterrupt):
                    raise
                if isinstance(e, DockmoveError):
                    state = (f"{target.name} is as before" if not left else
                             f"on {target.name}, could not undo: {', '.join(left)}")
                    paused = run.autoremove or run.frozen_at is not None
                    back = "unpaused" if paused else "started again"
                    touched = run.stopped_at is not None or run.frozen_at is not None
                    src_state = (f"{container} on {source.name} untouched" if not touched else
                                 f"{container} on {source.name} could not be {back}: do it there "
                                 f"(docker {'unpause' if paused else 'start'} {container})"
                                 if any(w.startswith(f"{container} ") for w in left) else
                                 f"{container} on {source.name} {back}, with its data as it was")
                    raise MigrateError(f"migration of {container} {why}; {state}; {src_state}.\n{e}"
                                       ) from None
                raise
            # verified: the migration is done, whatever the clean-up below says
            update_record(run.record, outcome="done", source_stopped=run.stops)
            try:
                with held():            # the source's policy and removal are not cut short
                    run.step(*finish[:2])
            except DockmoveError as e:
                raise MigrateError(
                    f"{container} runs on {target.name}, verified (the migration is done and on "
                    f"record); the clean-up after it failed: {e}\nCheck on {source.name} that "
                    f"{container} is stopped with restart policy no (docker update --restart no "
                    f"{container}), or removed if you asked for that.") from None
        finally:
            _remove_snapshots(run, out)
        took = time.monotonic() - started
        result = Result(found.spec.name, target.name, run.final, run.image_sent + run.data_sent,
                        took, run.record, run.downtime)
        summary = {"container": container, "source": source.name, "target": target.name,
                   "mode": opts.mode, "cutover": opts.cutover,
                   "image_bytes": int(found.image.get("Size") or 0),
                   "image_sent_bytes": run.image_sent, "volume_bytes": found.data_size,
                   "volume_sent_bytes": run.data_sent,
                   "downtime_s": round(run.downtime, 3) if run.downtime is not None else None,
                   "seconds": round(took, 3)}
        if run.freeze_s is not None:
            summary["freeze_s"] = round(run.freeze_s, 3)
        update_record(run.record, result=summary, source_removed=opts.remove_source)
        if opts.json_report:
            Path(opts.json_report).write_text(json.dumps(summary, indent=2) + "\n")
        out(f"done in {took:.1f}s: {found.spec.name} runs on {target.name} as {run.final}; "
            f"sent {human(run.image_sent)} of image, {human(run.data_sent)} of data"
            + (f"; downtime {run.downtime:.2f}s" if run.downtime is not None else "")
            + (f"; source frozen {run.freeze_s:.2f}s for the last pass" if run.freeze_s else ""))
        return result


def _remove_snapshots(run: Run, out: Printer) -> None:
    """After the run, whatever its outcome: no snapshot file stays behind."""
    if run.snapdir is None:
        return
    where = f"{run.snapdir} on {run.ends.source.name}"
    try:
        run.remove_snapshots()
        out(f"  removed: snapshot files ({where})")
    except Exception as e:          # the run's own outcome is what the user must see
        out(f"warning: could not remove {where} ({str(e).splitlines()[0] if str(e) else e!r}); "
            "remove it there: it lists every file name of the copied data")


def dry_run_plan(steps: list[tuple[str, Callable[[], str], str]], out: Printer) -> None:
    out("dry run: nothing changed. The plan:")
    for i, (_, _, what) in enumerate(steps, 1):
        out(f"  {i}. {what}")


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
