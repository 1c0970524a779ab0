"""Docker's apt key: read strictly, checked against the expected fingerprint,
and rewritten from what was verified. Pure (no I/O).

apt's own readers are looser than any one reading of a key file (apt-key
takes any line starting with `-----BEGIN`, apt 3 any public-key header, gpg
every block it finds), so a check that reads less than they do can be
fooled: a second block, or data beside the armor, may carry another key.
Here the file must be exactly what a repository publishes: one armored
public-key block with nothing outside it but blank lines. Its packets are
parsed by Sequoia (pysequoia, the library behind apt's `sqv` verifier): every
packet must be a part of a certificate (keys, user ids, user attributes,
signatures), keys of version 4, exactly one primary key, no secret key
material, nothing truncated. What the host then receives is not the
downloaded text but Sequoia's serialization of that one certificate,
re-armored: only what was verified reaches /etc/apt.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import pysequoia
from pysequoia import packet as pgp

ARMOR_BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
ARMOR_END = "-----END PGP PUBLIC KEY BLOCK-----"
KEY_VERSION = 4
# the packets of a transferable public key (pysequoia's Tag members compare
# by equality only: neither hashable nor numbered as in RFC 4880)
CERT_PACKETS = (pgp.Tag.PublicKey, pgp.Tag.PublicSubkey, pgp.Tag.UserID,
                pgp.Tag.UserAttribute, pgp.Tag.Signature)
KEY_PACKETS = (pgp.Tag.PublicKey, pgp.Tag.PublicSubkey)
# Docker's key is under 4 KiB armored; a key file many times that size is
# padded with something, and would not fit the host's command line either
MAX_ARMORED = 32 * 1024

class KeyFormatError(ValueError):
    """The key file is not exactly one armored OpenPGP public key."""


class KeyCountError(KeyFormatError):
    """The key file holds no primary key, or more than one."""

    def __init__(self, fingerprints: list[str]):
        self.fingerprints = fingerprints
        super().__init__(f"{len(fingerprints)} primary keys")


@dataclass(frozen=True)
class VerifiedKey:
    fingerprint: str       # upper-case hex, no spaces
    armored: str           # what the host receives: Sequoia's serialization


def dearmor(text: str) -> bytes:
    """The binary of the one armored public-key block that `text` must be.

    Refused: no block, a second block or any other `-----` line (a suffixed
    BEGIN line, a PRIVATE KEY block), any non-blank line before or after the
    block, a line inside it that is neither an armor header, base64 nor the
    checksum, a checksum that does not match."""
    lines = text.splitlines()
    begins = [i for i, l in enumerate(lines) if l.strip() == ARMOR_BEGIN]
    if not begins:
        raise KeyFormatError("not an ASCII-armored OpenPGP public key "
                             f"(no {ARMOR_BEGIN} line)")
    start = begins[0]
    ends = [i for i, l in enumerate(lines) if l.strip() == ARMOR_END and i > start]
    if not ends:
        raise KeyFormatError(f"the armored block has no {ARMOR_END} line")
    end = ends[0]
    for i, line in enumerate(lines):
        if start < i < end or i in (start, end):
            if i not in (start, end) and line.lstrip().startswith("-----"):
                raise KeyFormatError(f"line {i + 1} is an armor line inside the key "
                                     f"block: {_show(line)}")
            continue
        if line.lstrip().startswith("-----"):
            raise KeyFormatError(f"a second armored block or armor line (line {i + 1}: "
                                 f"{_show(line)}); exactly one public key block is expected")
        if line.strip():
            where = "before" if i < start else "after"
            raise KeyFormatError(f"data {where} the armored block (line {i + 1}: "
                                 f"{_show(line)}); nothing may stand outside it")
    body = [l.strip() for l in lines[start + 1:end]]
    headers = 0
    while headers < len(body) and body[headers]:
        if ": " not in body[headers]:
            break
        headers += 1
    if headers and (headers == len(body) or body[headers]):
        raise KeyFormatError("no blank line after the armor headers")
    data_lines = [l for l in body[headers:] if l]
    checksum = None
    if data_lines and data_lines[-1].startswith("="):
        checksum = data_lines.pop()
    for l in data_lines:
        if l.startswith("="):
            raise KeyFormatError(f"a checksum line in the middle of the key data: {_show(l)}")
    try:
        data = base64.b64decode("".join(data_lines), validate=True)
    except binascii.Error as e:
        raise KeyFormatError(f"bad base64 in the key: {e}") from None
    if not data:
        raise KeyFormatError("the armored block is empty")
    if checksum is not None:
        try:
            crc = base64.b64decode(checksum[1:], validate=True)
        except binascii.Error:
            raise KeyFormatError(f"bad armor checksum line {_show(checksum)}") from None
        if crc != crc24(data).to_bytes(3, "big"):
            raise KeyFormatError("the armor checksum does not match the key data "
                                 "(damaged in transit?)")
    return data


def crc24(data: bytes) -> int:
    """The armor checksum of RFC 4880 section 6.1."""
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def verify(text: str, expected: str) -> VerifiedKey:
    """The one certificate in `text`, if its primary key has the fingerprint
    `expected`; else KeyFormatError, KeyCountError or FingerprintError."""
    if len(text) > MAX_ARMORED:
        raise KeyFormatError(f"the key file is {len(text)} bytes, more than the "
                             f"{MAX_ARMORED} a single signing key needs")
    data = dearmor(text)
    packets = _sequoia(lambda: _packets(data))
    primaries = [fpr for tag, fpr in packets if tag == pgp.Tag.PublicKey]
    certs = _sequoia(lambda: pysequoia.Cert.split_bytes(data))
    if len(primaries) != 1 or len(certs) != 1:
        raise KeyCountError(primaries)
    cert = certs[0]        # secret key packets were refused above, with every other tag
    found = normalize(cert.fingerprint)
    if found != normalize(expected):
        raise FingerprintError(normalize(expected), found)
    return VerifiedKey(found, pysequoia.armor(bytes(cert), pysequoia.ArmorKind.PublicKey))


class FingerprintError(KeyFormatError):
    def __init__(self, expected: str, found: str):
        self.expected, self.found = expected, found
        super().__init__(f"fingerprint {spaced(found)}, expected {spaced(expected)}")


def normalize(fingerprint: str) -> str:
    return "".join(fingerprint.split()).upper()


def spaced(fingerprint: str) -> str:
    """`9DC8 5822 ...` as gpg prints it."""
    f = normalize(fingerprint)
    return " ".join(f[i:i + 4] for i in range(0, len(f), 4))


def _show(line: str, width: int = 60) -> str:
    line = line.strip()
    return repr(line if len(line) <= width else line[:width] + "...")


def _packets(data: bytes) -> list[tuple[object, str | None]]:
    """(tag, fingerprint of a primary key) for each packet; anything that is
    not a part of a public certificate, or a key not of version 4, refused."""
    out = []
    for p in pgp.PacketPile.from_bytes(data):
        tag = p.tag                 # raises for tags pysequoia does not know
        if not any(tag == t for t in CERT_PACKETS):
            raise KeyFormatError(f"an OpenPGP packet that is not part of a public key "
                                 f"({str(tag).removeprefix('Tag.')}): refused")
        if any(tag == t for t in KEY_PACKETS) and (not p.body or p.body[0] != KEY_VERSION):
            version = p.body[0] if p.body else "?"
            raise KeyFormatError(f"an OpenPGP key of version {version}: only version "
                                 f"{KEY_VERSION} keys are accepted")
        out.append((tag, p.fingerprint.upper() if tag == pgp.Tag.PublicKey else None))
    return out


def _sequoia(parse):
    """Sequoia's parse errors (truncated, malformed) as KeyFormatError."""
    try:
        return parse()
    except KeyFormatError:
        raise
    except Exception as e:       # pysequoia raises plain exceptions with a backtrace text
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise KeyFormatError(f"malformed OpenPGP data: {first}") from None
