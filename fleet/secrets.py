"""Which values are secrets, and masking them for display. Pure.

One rule for every command dockmove shows (errors, `inv record`, the migrate
output), whatever the word is (an env value, a label, a `--log-opt`, a
`--mount` or driver option, a URL in a script):

- `NAME=value` with a secret-looking NAME shows as `NAME=****`. NAME is cut
  into words (at `_`, `.`, `-`, other punctuation and camelCase humps) and is
  secret-looking when a word
  - contains PASSWORD, PASSWD, PASSPHRASE, SECRET, CREDENTIAL, PRIVATE or
    APIKEY, or AUTH (OAUTH, BASICAUTH, AUTHORIZATION; not AUTHOR, AUTHORS,
    AUTHORITY);
  - ends in TOKEN or TOKENS (API_TOKEN, ACCESSTOKEN; not TOKENIZERS), PWD or
    DSN;
  - is PASS, KEY, KEYS, PAT or CREDS (not PASSENGER, BYPASS, KEYBOARD,
    MONKEY, PATH, PATCH).
  The variables PWD and OLDPWD (the shell's directories) are not secrets.
- Inside a value, comma-separated `name=value` fields follow the same rule
  (`o=addr=h,password=p` for a volume driver, `volume-opt=...` in --mount).
- `--flag=VALUE` and the word after `--flag` are masked when the flag's name
  is secret-looking (`--password x`).
- In any word, a URL's userinfo password shows as `scheme://user:****@host`
  (`DATABASE_URL=postgres://u:****@h/db`); a user name alone
  (`ssh://git@host`) is not masked.

Free text (a script given to `sh -c`) is masked for URL passwords only.
"""
from __future__ import annotations

import re
from typing import Sequence

MASK = "****"

_CONTAINS = ("PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL", "PRIVATE", "APIKEY",
             "ACCOUNTKEY", "ACCESSKEY")
_ENDS = ("TOKEN", "TOKENS", "PWD", "DSN")
_WORDS = {"PASS", "KEY", "KEYS", "PAT", "CREDS"}
_NOT_AUTH = {"AUTHOR", "AUTHORS", "AUTHORITY", "AUTHORITIES"}
_NOT_SECRET = {"PWD", "OLDPWD"}
_NOT_PASS = {"BYPASS", "COMPASS", "SURPASS", "OVERPASS", "UNDERPASS"}

# scheme://user:password@ — the password runs to the last @ before the host
_URL_PASSWORD = re.compile(r"(?P<pre>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@:]*:)"
                           r"(?P<pw>[^\s/?#]+)(?=@)")
# a field of a comma-separated option list: name=value up to the next ",name="
# (fields are separated by `,` as in mount options, `;` as in .NET and Azure
# connection strings, `&` and `?` as in URL queries)
_FIELD = re.compile(r"(^|[,;&?])([\w.\-]+=(?:(?![,;&?][\w.\-]+=).)*)", re.S)


def _words(name: str) -> list[str]:
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", name.upper()) if w]


def _secret_word(w: str) -> bool:
    return (any(c in w for c in _CONTAINS) or w.endswith(_ENDS) or w in _WORDS
            or (w.endswith("PASS") and w not in _NOT_PASS)          # REQUIREPASS, DBPASS
            or ("AUTH" in w and w not in _NOT_AUTH))


def is_secret_name(name: str) -> bool:
    """Whether a variable, label, option or flag name looks like it holds a
    secret (see the module's rule)."""
    if name.upper() in _NOT_SECRET:
        return False
    return any(_secret_word(w) for w in _words(name))


def has_url_password(text: str) -> bool:
    return bool(_URL_PASSWORD.search(text))


def looks_secret(name: str, value: str) -> bool:
    """A `name=value` pair the rule masks: one rule for what is shown and
    for what is kept out of images and command lines."""
    return mask_word(f"{name}={value}") != f"{name}={value}"


def mask_text(line: str) -> str:
    """A line of free text (a command's stderr): each blank-separated word
    masked by the rule."""
    return " ".join(mask_word(w) for w in line.split(" "))


def mask_urls(text: str) -> str:
    return _URL_PASSWORD.sub(lambda m: m.group("pre") + MASK, text)


def _mask_assignment(text: str) -> str:
    name, sep, value = text.partition("=")
    if not sep:
        return text
    if is_secret_name(name):
        return f"{name}={MASK}"
    return f"{name}={_FIELD.sub(lambda m: m.group(1) + _mask_assignment(m.group(2)), value)}"


def mask_word(word: str) -> str:
    """One argv word as shown: secret values replaced by ****."""
    name, sep, _ = word.partition("=")
    if sep and is_secret_name(name):
        return f"{name}={MASK}"
    return mask_urls(_mask_assignment(word))


mask_assignment = mask_word      # the name older callers know


def mask_argv(argv: Sequence[str]) -> list[str]:
    """Every word masked by the rule; the word after a secret-named flag too."""
    out: list[str] = []
    for i, word in enumerate(argv):
        prev = argv[i - 1] if i else ""
        if prev.startswith("-") and "=" not in prev and is_secret_name(prev):
            out.append(MASK)
        else:
            out.append(mask_word(word))
    return out
