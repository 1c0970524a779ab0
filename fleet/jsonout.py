"""The one JSON document a task prints on stdout with --json (its human
lines go to stderr then): {"dockmove": VERSION, "task": NAME, "ok": BOOL,
...the task's own keys}, or on failure {"ok": false, "error": TEXT,
"exit_code": N}. Keys are snake_case, sizes in bytes, times in seconds;
keys are only ever added: removing or renaming one raises VERSION. The
README's "Machine-readable output" lists each task's keys."""
from __future__ import annotations

import json

VERSION = 1


def document(task: str, ok: bool, **fields) -> str:
    return json.dumps({"dockmove": VERSION, "task": task, "ok": ok, **fields}, indent=2)
