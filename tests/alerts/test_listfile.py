"""The signed list file: round trip, lookups, and every way a file is refused."""

from __future__ import annotations

import datetime as dt
import hashlib

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.alerts.errors import ListRefused
from edge.alerts.index import AlertIndex, Hit
from edge.alerts.listfile import (
    DOMAIN,
    MAGIC,
    SIG_BYTES,
    Category,
    Entry,
    Header,
    build,
    peek,
    verify,
)
from edge.alerts.normalize import digest, document_key, person_key
from tests.alerts.support import NOW, STOLEN, WANTED, signed_list

KEY = Ed25519PrivateKey.generate()


def load(data: bytes, key: Ed25519PrivateKey) -> AlertIndex:
    return AlertIndex(verify(data, key.public_key()))


def refused(data: bytes, key: Ed25519PrivateKey = KEY) -> str:
    with pytest.raises(ListRefused) as caught:
        load(data, key)
    return caught.value.code


def resign(header: Header, body: bytes, key: Ed25519PrivateKey = KEY) -> bytes:
    """A file signed by `key` whatever its header says (to reach the checks after the
    signature: the builder itself never writes such a header)."""
    encoded = msgspec.json.encode(header)
    signed = MAGIC + len(encoded).to_bytes(4, "big") + encoded
    return signed + body + key.sign(DOMAIN + signed)


def parts(data: bytes) -> tuple[Header, bytes]:
    header = peek(data)
    length = int.from_bytes(data[8:12], "big")
    return header, data[12 + length : len(data) - SIG_BYTES]


def test_round_trip_finds_listed_keys_only() -> None:
    data = signed_list(KEY, version=7)
    listed = verify(data, KEY.public_key())
    assert listed.header.version == 7
    assert listed.header.entries == 3  # the document, and the person under two transliterations
    assert listed.expires - listed.issued == dt.timedelta(days=7)
    assert listed.sha256 == hashlib.sha256(data).hexdigest()
    index = AlertIndex(listed)
    doc = document_key("UTO", "P", "L0S70001")
    person = person_key("OBERG NILSSON", "ASA MARIE", "790403")
    other = document_key("UTO", "P", "L0S70002")
    assert doc is not None and person is not None and other is not None
    assert index.lookup(digest(listed.hmac_key, doc)) == [Hit(Category.LOST_STOLEN, "HQ-LS-0001")]
    assert index.lookup(digest(listed.hmac_key, person)) == [
        Hit(Category.PERSON_OF_INTEREST, "HQ-POI-0002")
    ]
    assert index.lookup(digest(listed.hmac_key, other)) == []
    # Another list's key gives other digests: the same identifier is not found by its hash.
    assert index.lookup(digest(bytes(32), doc)) == []


def test_the_file_holds_no_identifier_in_clear() -> None:
    data = signed_list(KEY)
    for clear in (b"L0S70001", b"L0S7-0001", b"OBERG", b"NILSSON", b"1979-04-03", b"790403"):
        assert clear not in data.upper()
    assert b"HQ-LS-0001" in data  # only the opaque references are readable


def test_an_empty_list_is_a_list() -> None:
    listed = verify(signed_list(KEY, []), KEY.public_key())
    index = AlertIndex(listed)
    assert index.entries == 0
    assert index.lookup(bytes(16)) == []


def test_duplicate_digests_all_answer() -> None:
    rows = [STOLEN, {**STOLEN, "ref": "HQ-LS-0099"}]
    listed = verify(signed_list(KEY, rows), KEY.public_key())
    doc = document_key("UTO", "P", "L0S70001")
    assert doc is not None
    hits = AlertIndex(listed).lookup(digest(listed.hmac_key, doc))
    assert sorted(h.ref for h in hits) == ["HQ-LS-0001", "HQ-LS-0099"]


def test_bad_signature_and_tampered_body_are_refused() -> None:
    data = bytearray(signed_list(KEY))
    data[-1] ^= 0x01
    assert refused(bytes(data)) == "bad_signature"
    data = bytearray(signed_list(KEY))
    _, body = parts(bytes(data))
    data[len(data) - SIG_BYTES - len(body)] ^= 0x01  # the first digest's first byte
    assert refused(bytes(data)) == "bad_signature"


def test_a_list_signed_by_another_key_is_refused_by_name() -> None:
    other = Ed25519PrivateKey.generate()
    with pytest.raises(ListRefused) as caught:
        verify(signed_list(other), KEY.public_key())
    assert caught.value.code == "wrong_key"
    # A forged key id under another key's signature is still a bad signature.
    header, body = parts(signed_list(other))
    forged = msgspec.structs.replace(header, key_id=peek(signed_list(KEY)).key_id)
    assert refused(resign(forged, body, other)) == "bad_signature"


@pytest.mark.parametrize("cut", [0, 5, 10, 40, -SIG_BYTES - 3, -1])
def test_truncated_files_are_refused(cut: int) -> None:
    data = signed_list(KEY)
    code = refused(data[:cut])
    assert code == ("malformed" if cut == 0 else "truncated")


@pytest.mark.parametrize(
    "data",
    [
        b"hello, world",
        b"MIDASAL1\x00\x00\x00\x04nope",
        b"MIDASAL1\xff\xff\xff\xff",
        b"\x89PNG\r\n\x1a\n" + bytes(100),
    ],
)
def test_malformed_files_are_refused(data: bytes) -> None:
    assert refused(data) == "malformed"


def test_trailing_bytes_are_refused() -> None:
    assert refused(signed_list(KEY) + b"\n") == "malformed"


def test_a_list_expired_at_issue_is_refused() -> None:
    header, body = parts(signed_list(KEY))
    backwards = msgspec.structs.replace(header, expires_at=header.issued_at)
    assert refused(resign(backwards, body)) == "expired_at_issue"
    with pytest.raises(ValueError, match="expiry"):
        build([], version=1, issued=NOW, expires=NOW, hmac_key=bytes(32), private_key=KEY)


def test_signed_but_inconsistent_bodies_are_refused() -> None:
    header, body = parts(signed_list(KEY))
    count = header.entries
    digests, categories, refs = (
        body[: count * 16],
        body[count * 16 : count * 17],
        body[count * 17 :],
    )

    def signed(new_body: bytes, **changes: object) -> bytes:
        fields = {
            "body_bytes": len(new_body),
            "body_sha256": hashlib.sha256(new_body).hexdigest(),
            **changes,
        }
        return resign(msgspec.structs.replace(header, **fields), new_body)

    unsorted = digests[16:32] + digests[:16] + digests[32:]
    if unsorted != digests:
        assert refused(signed(unsorted + categories + refs)) == "malformed"
    assert refused(signed(digests + b"\x09" + categories[1:] + refs)) == "malformed"
    assert refused(signed(digests + categories + refs[:-1])) == "malformed"
    assert refused(signed(digests + categories + refs, entries=count + 5)) == "malformed"
    assert refused(signed(body, hmac_key="00ff")) == "malformed"
    assert refused(signed(body, digest_bytes=32)) == "malformed"


def test_peek_reads_an_unverified_header() -> None:
    data = signed_list(Ed25519PrivateKey.generate(), version=12)
    assert peek(data).version == 12
    with pytest.raises(ListRefused):
        peek(b"garbage")


def test_build_refuses_bad_entries() -> None:
    with pytest.raises(ValueError, match="entry"):
        build(
            [Entry(bytes(15), Category.LOST_STOLEN, "R1")],
            version=1,
            issued=NOW,
            expires=NOW + dt.timedelta(days=1),
            hmac_key=bytes(32),
            private_key=KEY,
        )
    with pytest.raises(ValueError, match="entry"):
        build(
            [Entry(bytes(16), Category.LOST_STOLEN, "no spaces allowed")],
            version=1,
            issued=NOW,
            expires=NOW + dt.timedelta(days=1),
            hmac_key=bytes(32),
            private_key=KEY,
        )
    assert WANTED["category"] == Category.PERSON_OF_INTEREST.label
