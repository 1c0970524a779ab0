"""Migration records on disk: JSON, mode 0600 (they hold env values),
written once and then updated in place atomically."""
from __future__ import annotations

import json
import os
from pathlib import Path


def write_record(directory: Path, data: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{data['created']}-{data['container']}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    return path


def update_record(path: Path, **fields) -> None:
    """Add fields to a record, replacing the file atomically (mode 0600)."""
    data = json.loads(path.read_text())
    data.update(fields)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)
