"""Checks run on a host itself, over its SSH connection: for a port published
on 127.0.0.1 (or another address of the host only), which this machine cannot
reach. TCP is bash's /dev/tcp, HTTP is curl; each attempt gives the same
`Reply` kinds as a check from here (verify/probe.py judges both alike).
Parsers are pure; `route` says which prober and address reach a port."""
from __future__ import annotations

import base64

from fleet.errors import DockmoveError
from fleet.remote import Remote

from .probe import BODY_LIMIT, CLOSE_WINDOW, CLOSED, HERE, Prober, Reply

WILDCARDS = {"", "*", "0.0.0.0", "::"}

# $1 address, $2 port, $3 seconds to watch for a close without a byte
TCP = ('exec 3<>"/dev/tcp/$1/$2" || exit 3\n'
       'IFS= read -r -t "$3" -n 1 _ <&3; rc=$?\n'
       '[ "$rc" -eq 1 ] && exit 4\n'          # end of file or reset: closed without a byte
       'exit 0\n')                             # a byte, or still open and waiting for us
# $1 seconds, $2 URL; prints "EXIT STATUS SIZE SHA256", then the body's start in base64
HTTP = ('command -v curl >/dev/null || { echo "curl: not found" >&2; exit 127; }\n'
        'f=$(mktemp) || exit 90\n'
        'trap \'rm -f "$f"\' EXIT\n'
        'code=$(curl -sS -g -k --max-time "$1" -A dockmove-verify -o "$f" '
        '-w "%{http_code}" -- "$2"); rc=$?\n'
        'printf "%s %s %s %s\\n" "$rc" "${code:-000}" "$(wc -c < "$f")" '
        '"$(sha256sum < "$f" | cut -d" " -f1)"\n'
        f'head -c {BODY_LIMIT} "$f" | base64 -w 0\n')

CONNECT_ERRORS = (("Connection refused", "refused"), ("No route to host", "unreachable"),
                  ("Network is unreachable", "unreachable"), ("timed out", "timeout"),
                  ("Name or service not known", "dns"), ("not known", "dns"))


def unbracket(address: str) -> str:
    """`[::1]` -> `::1`; `127.0.0.53%lo` -> `127.0.0.53`."""
    return address.strip("[]").split("%", 1)[0]


def tcp_reply(code: int, stderr: str) -> Reply:
    """What the TCP script's exit code and stderr mean."""
    err = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if code == 0:
        return Reply("ok")
    if code == 4:
        return Reply("closed", CLOSED)
    if code == 124:
        return Reply("timeout", "connect timed out")
    if code == 127:
        return Reply("error", f"bash or timeout is missing there ({err})")
    for words, kind in CONNECT_ERRORS:
        if words in err:
            return Reply(kind, err.split(": ")[-1])
    return Reply("error", err or f"exit {code}")


def curl_reply(code: int, stdout: str, stderr: str) -> Reply:
    """What the HTTP script printed: curl's exit code, the status, the size
    and sha256 of the body, the body's start."""
    err = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if code == 127:
        return Reply("error", "curl is not installed there (needed to check a port from the "
                              "host itself)")
    head, _, body = stdout.partition("\n")
    words = head.split()
    if code != 0 or len(words) != 4 or not words[0].isdigit():
        return Reply("error", err or f"exit {code}")
    rc, status, size, digest = int(words[0]), words[1], words[2], words[3]
    if rc == 0 and status.isdigit() and status != "000":
        text = base64.b64decode(body.strip()).decode(errors="replace")
        return Reply("ok", "", int(status), int(size), digest, text)
    kinds = {6: "dns", 7: "refused", 28: "timeout", 35: "tls", 52: "no-answer",
             58: "tls", 59: "tls", 60: "tls", 80: "tls", 8: "not-http"}
    kind = kinds.get(rc, "error")
    if rc == 7 and ("No route" in err or "unreachable" in err):
        kind = "unreachable"
    elif rc == 56 and "reset" in err.lower():
        kind = "no-answer"
    elif rc == 1 and "HTTP/0.9" in err:
        kind = "not-http"
    return Reply(kind, err or f"curl exit {rc}")


class OnHost:
    """Probes run by the host itself, over `remote` (as its login user)."""

    def __init__(self, remote: Remote):
        self.remote = remote

    def say(self, text: str) -> str:
        return f"from {self.remote.name} itself: {text}"

    def connect(self, address: str, port: int, timeout: float) -> Reply:
        argv = ["timeout", str(max(1, round(timeout))), "bash", "-c", TCP, "bash",
                address, str(int(port)), str(CLOSE_WINDOW)]
        try:
            r = self.remote.run(argv, check=False, timeout=timeout + 30)
        except DockmoveError as e:
            return Reply("error", str(e).splitlines()[0])
        return tcp_reply(r.exit_code, r.stderr)

    def get(self, address: str, port: int, path: str, tls: bool, timeout: float) -> Reply:
        host = f"[{address}]" if ":" in address else address
        url = f"{'https' if tls else 'http'}://{host}:{int(port)}{path}"
        try:
            r = self.remote.run(["sh", "-c", HTTP, "sh", str(max(1, round(timeout))), url],
                                check=False, timeout=timeout + 30)
        except DockmoveError as e:
            return Reply("error", str(e).splitlines()[0])
        return curl_reply(r.exit_code, r.stdout, r.stderr)


def route(remote: Remote, public: str, bound: str) -> tuple[Prober, str]:
    """Who can reach a port bound to `bound` on the host whose address from
    here is `public`: this machine, when it listens on every address; else
    the host itself, at the address it is bound to."""
    bound = unbracket(bound)
    if bound in WILDCARDS:
        return HERE, public
    return OnHost(remote), bound
