"""Fingerprints of the primary keys in an OpenPGP public key file. Pure.

Enough of RFC 4880 to read what an apt repository publishes as its signing
key: ASCII armor, packet headers (old and new format), version 4 public-key
packets. The fingerprint of a v4 key is SHA-1 over 0x99, the two-byte body
length and the packet body.
"""
from __future__ import annotations

import base64
import binascii
import hashlib

PUBLIC_KEY = 6
ARMOR_BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
ARMOR_END = "-----END PGP PUBLIC KEY BLOCK-----"


class KeyFormatError(ValueError):
    pass


def dearmor(text: str) -> bytes:
    """The bytes of every armored block in `text`: apt and gpg read them all,
    so a second block must not hide from the check."""
    lines = [l.strip() for l in text.strip().splitlines()]
    if ARMOR_BEGIN not in lines:
        raise KeyFormatError("not an ASCII-armored OpenPGP public key "
                             f"(no {ARMOR_BEGIN} ... {ARMOR_END})")
    out = b""
    i = 0
    while ARMOR_BEGIN in lines[i:]:
        start = lines.index(ARMOR_BEGIN, i)
        if ARMOR_END not in lines[start:]:
            raise KeyFormatError(f"armored key block without {ARMOR_END}")
        end = lines.index(ARMOR_END, start)
        body = lines[start + 1:end]
        while body and body[0] and ":" in body[0]:     # armor headers
            body = body[1:]
        data = "".join(l for l in body if l and not l.startswith("="))
        try:
            out += base64.b64decode(data, validate=True)
        except binascii.Error as e:
            raise KeyFormatError(f"bad base64 in the key: {e}") from None
        i = end + 1
    return out


def packets(data: bytes):
    """(tag, body) for each packet."""
    i = 0
    while i < len(data):
        head = data[i]
        if not head & 0x80:
            raise KeyFormatError(f"not an OpenPGP packet at byte {i}")
        if head & 0x40:                      # new format
            tag = head & 0x3F
            first = data[i + 1]
            if first < 192:
                length, i = first, i + 2
            elif first < 224:
                length, i = ((first - 192) << 8) + data[i + 2] + 192, i + 3
            elif first == 255:
                length, i = int.from_bytes(data[i + 2:i + 6], "big"), i + 6
            else:
                raise KeyFormatError("partial body lengths are not used in keys")
        else:                                # old format
            tag = (head >> 2) & 0x0F
            kind = head & 0x03
            size = {0: 1, 1: 2, 2: 4}.get(kind)
            if size is None:
                raise KeyFormatError("indeterminate packet length")
            length = int.from_bytes(data[i + 1:i + 1 + size], "big")
            i += 1 + size
        if i + length > len(data):
            raise KeyFormatError("truncated key data")
        yield tag, data[i:i + length]
        i += length


def primary_fingerprints(text: str) -> list[str]:
    """Upper-case hex fingerprints of the primary keys, in file order."""
    out = []
    for tag, body in packets(dearmor(text)):
        if tag != PUBLIC_KEY:
            continue
        if not body or body[0] != 4:
            raise KeyFormatError(f"OpenPGP key version {body[0] if body else '?'} "
                                 "is not supported (only v4)")
        digest = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body)
        out.append(digest.hexdigest().upper())
    return out


def normalize(fingerprint: str) -> str:
    return "".join(fingerprint.split()).upper()


def spaced(fingerprint: str) -> str:
    """`9DC8 5822 ...` as gpg prints it."""
    f = normalize(fingerprint)
    return " ".join(f[i:i + 4] for i in range(0, len(f), 4))
