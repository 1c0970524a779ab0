"""Which values are secrets, and masking them for display. Pure."""
from __future__ import annotations

import re

_SECRET_NAME = re.compile(
    r"(PASS|PASSWD|PASSWORD|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|AUTH|_KEY$|^KEY$)",
    re.I)
MASK = "****"


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def mask_assignment(item: str) -> str:
    """`NAME=value` with the value masked when NAME looks secret."""
    name, sep, _ = item.partition("=")
    if sep and is_secret_name(name):
        return f"{name}={MASK}"
    return item
