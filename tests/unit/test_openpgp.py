"""Docker's key check against hostile key files: each case is what a mirror, a
proxy or a compromised CDN could serve at the key URL. Only the one verified
certificate may come out; everything else is refused with a reason."""
from pathlib import Path

import pysequoia
import pytest

from provision.openpgp import FingerprintError, KeyCountError, KeyFormatError, crc24, dearmor, verify
from tests.hostile_keys import EVIL_BIN, EVIL_FPR, armored, hostile

DOCKER_KEY = (Path(__file__).parent / "data" / "docker-apt-key.asc").read_text()
DOCKER_FPR = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"

DOCKER_BIN = dearmor(DOCKER_KEY)
HOSTILE = hostile(DOCKER_KEY)


def test_dockers_key_passes_and_comes_out_as_its_own_certificate():
    key = verify(DOCKER_KEY, "9DC8 5822 9FC7 DD38 854A  E2D8 8D81 803C 0EBF CD88")
    assert key.fingerprint == DOCKER_FPR
    again = pysequoia.Cert.split_bytes(key.armored.encode())
    assert [c.fingerprint.upper() for c in again] == [DOCKER_FPR]
    assert key.armored.count("-----BEGIN") == 1
    assert verify(key.armored, DOCKER_FPR) == key             # stable: a re-run changes nothing
    assert verify(DOCKER_KEY.replace("\n", "\r\n"), DOCKER_FPR) == key


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_key_files_are_refused(case):
    text, message = HOSTILE[case]
    with pytest.raises(KeyFormatError) as e:
        verify(text, DOCKER_FPR)
    assert message in str(e.value)
    assert not isinstance(e.value, FingerprintError)


def test_two_primary_keys_name_both():
    with pytest.raises(KeyCountError) as e:
        verify(armored(DOCKER_BIN + EVIL_BIN), DOCKER_FPR)
    assert e.value.fingerprints == [DOCKER_FPR, EVIL_FPR]


def test_another_key_has_the_wrong_fingerprint():
    with pytest.raises(FingerprintError) as e:
        verify(armored(EVIL_BIN), DOCKER_FPR)
    assert e.value.found == EVIL_FPR and e.value.expected == DOCKER_FPR


def test_crc24_matches_the_armor_of_dockers_file():
    import base64
    assert base64.b64encode(crc24(DOCKER_BIN).to_bytes(3, "big")).decode() == "0YYh"


def test_a_user_attribute_is_part_of_a_certificate():
    """pysequoia's Tag values are its own ordinals, not RFC 4880's numbers:
    the check compares members, so a user attribute (tag 17) is accepted."""
    from provision.openpgp import _packets
    from pysequoia import packet as pgp
    attribute = b"\xd1\x06\x05\x01\x10\x00\x01\x00"      # tag 17, one image subpacket
    data = DOCKER_BIN + attribute
    assert any(t == pgp.Tag.UserAttribute for t, _ in _packets(data))
