"""Hostile variants of a good apt key file: what a mirror, a proxy or a
compromised CDN could serve at the key URL. Shared by the unit tests (on
Docker's real key) and the lab tests (on the lab repository's key)."""
from __future__ import annotations

import warnings

import pysequoia

from provision.openpgp import ARMOR_BEGIN, ARMOR_END, dearmor

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    EVIL = pysequoia.Cert.generate("Evil Mirror <evil@example.invalid>")
    EVIL_SECRET = bytes(EVIL.secrets)
EVIL_BIN = bytes(EVIL)
EVIL_FPR = EVIL.fingerprint.upper()


def armored(data: bytes, kind=pysequoia.ArmorKind.PublicKey) -> str:
    return pysequoia.armor(data, kind)


def hostile(good: str) -> dict[str, tuple[str, str]]:
    """case -> (file text, what the refusal says)."""
    good_bin = dearmor(good)
    checksum = next(l for l in good.splitlines() if l.startswith("="))
    return {
        # apt-key (apt 2.6) reads any line starting with -----BEGIN: the old check did not
        "suffixed BEGIN line": (
            good + armored(EVIL_BIN).replace(ARMOR_BEGIN, ARMOR_BEGIN + "X", 1),
            "a second armored block or armor line"),
        "a PRIVATE KEY block beside it": (
            good + armored(EVIL_SECRET, pysequoia.ArmorKind.SecretKey),
            "-----BEGIN PGP PRIVATE KEY BLOCK-----"),
        "a second public key block": (good + armored(EVIL_BIN), "a second armored block"),
        "two primary keys in one block": (armored(good_bin + EVIL_BIN), "2 primary keys"),
        "trailing garbage": (good + armored(EVIL_BIN).split("\n\n", 1)[1].replace(ARMOR_END, ""),
                             "data after the armored block"),
        "leading garbage": ("Here is our key:\n" + good, "data before the armored block"),
        "a truncated packet body": (armored(good_bin[:-7]), "malformed OpenPGP data"),
        "a truncated packet header": (armored(good_bin + b"\xc2"), "malformed OpenPGP data"),
        "secret key material in a public block": (
            armored(EVIL_SECRET), "not part of a public key (SecretKey)"),
        "a literal data packet": (armored(good_bin + b"\xcb\x06b\x00\x00\x00\x00\x00"),
                                  "not part of a public key (Literal)"),
        "a key of version 5": (armored(good_bin[:3] + b"\x05" + good_bin[4:]), ""),
        "a damaged checksum": (good.replace(checksum, "=AAAA"), "checksum does not match"),
        "no armor at all": ("mQINBFit2ioBEADhWpZ8\n", "not an ASCII-armored OpenPGP public key"),
        "a block without its END line": (good.replace(ARMOR_END, ""),
                                         f"no {ARMOR_END} line"),
        "a packet of a private tag": (armored(good_bin + b"\xfc\x01\x00"),
                                      "malformed OpenPGP data"),
        "a marker packet": (armored(good_bin + b"\xca\x03PGP"),
                            "not part of a public key (Marker)"),
        "padding to many kilobytes": (
            good.replace("\n\n", "\nComment: " + "x" * 40000 + "\n\n", 1),
            "more than the 32768 a single signing key needs"),
    }
