"""The layer filter as a program that runs on the source host, so that the
layers the target has never leave the source: `docker save IMG | python3 -c
BOOT CODE PLAN`. CODE is migrate/layers.py and migrate/tarfilter.py (standard
library only), PLAN the diff ids and the number of layers the target has.
Used when the source has Python 3.8 or newer; otherwise the controller
filters the stream on its way through (migrate/transfer.py)."""
from __future__ import annotations

import base64
import json
import shlex
from pathlib import Path

from .layers import LayerPlan

HERE = Path(__file__).parent
PROBE = ("python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' "
         "2>/dev/null")
BOOT = "import base64,sys; exec(base64.b64decode(sys.argv[1]).decode())"
MAIN = '''
import json as _json, sys as _sys
_plan = _json.loads(base64.b64decode(_sys.argv[2]).decode())
_counts = filter_tar(0, 1, Selector(plan_layers(_plan["diff_ids"], set(_plan["chains"]))))
_sys.stderr.write("left out %d layer(s), %d bytes\\n" % (_counts.skipped_members, _counts.skipped_bytes))
'''


def _module(name: str) -> str:
    """A module's source made to run as a part of one script: its relative
    imports are the script's own names."""
    lines = []
    for line in (HERE / name).read_text().splitlines():
        if line.startswith(("from .", "from __future__")):
            continue
        lines.append(line)
    return "\n".join(lines)


def script() -> str:
    return "\n".join(["from __future__ import annotations", _module("layers.py"),
                      _module("tarfilter.py"), MAIN])


def command(plan: LayerPlan) -> str:
    """Shell text: the filter reading a save stream on stdin."""
    code = base64.b64encode(script().encode()).decode()
    data = base64.b64encode(json.dumps({"diff_ids": list(plan.diff_ids),
                                        "chains": list(plan.chains[:plan.present])}).encode()).decode()
    return f"python3 -c {shlex.quote(BOOT)} {code} {data}"
