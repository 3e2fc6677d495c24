"""Reads the key, serial and subject C/CN of certificates that strict X.509 parsing rejects.

Published VDS-NC examples embed certificates with DER quirks (e.g. an ecdsa-with-SHA256
AlgorithmIdentifier carrying a NULL parameter) that cryptography refuses to load. Verifying the
seal only needs the subject public key, so this walks the TBSCertificate just far enough.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.serialization import load_der_public_key

__all__ = ["LenientCertificate", "read_lenient"]

_SEQUENCE = 0x30
_SET = 0x31
_INTEGER = 0x02
_OID = 0x06
_EXPLICIT_VERSION = 0xA0
_OID_COUNTRY = bytes.fromhex("550406")
_OID_COMMON_NAME = bytes.fromhex("550403")
_STRING_TAGS = frozenset({0x0C, 0x13, 0x16})  # UTF8String, PrintableString, IA5String


@dataclass(frozen=True, slots=True)
class LenientCertificate:
    """What a loosely parsed certificate yields: its public key bytes and naming attributes."""

    subject_public_key_info: bytes
    serial_number: int
    country: str | None
    common_name: str | None

    def public_key(self) -> object:
        """The subject public key (cryptography key object); ValueError or UnsupportedAlgorithm."""
        return load_der_public_key(self.subject_public_key_info)


def _tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Tag, content start and element end of the DER element at `pos`; ValueError if malformed."""
    if pos + 2 > end:
        raise ValueError("DER element truncated")
    tag, first = data[pos], data[pos + 1]
    start = pos + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if not 1 <= count <= 3 or start + count > end:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    if start + length > end:
        raise ValueError("DER element overruns its container")
    return tag, start, start + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, content start, element end) of each element in a container."""
    out: list[tuple[int, int, int, int]] = []
    pos = start
    while pos < end:
        tag, content, after = _tlv(data, pos, end)
        out.append((tag, pos, content, after))
        pos = after
    return out


def read_lenient(der: bytes) -> LenientCertificate:
    """Extract SubjectPublicKeyInfo, serial and subject C/CN; ValueError if not a certificate."""
    tag, content, end = _tlv(der, 0, len(der))
    if tag != _SEQUENCE:
        raise ValueError("not a certificate")
    tbs_tag, tbs_content, tbs_end = _tlv(der, content, end)
    if tbs_tag != _SEQUENCE:
        raise ValueError("no TBSCertificate")
    fields = _children(der, tbs_content, tbs_end)
    if fields and fields[0][0] == _EXPLICIT_VERSION:
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    if len(fields) < 6 or fields[0][0] != _INTEGER or fields[5][0] != _SEQUENCE:
        raise ValueError("TBSCertificate is not in the X.509 layout")
    _, _, serial_start, serial_end = fields[0]
    _, _, subject_start, subject_end = fields[4]
    _, spki_start, _, spki_end = fields[5]
    country, common_name = _subject(der, subject_start, subject_end)
    return LenientCertificate(
        subject_public_key_info=der[spki_start:spki_end],
        serial_number=int.from_bytes(der[serial_start:serial_end], "big", signed=True),
        country=country,
        common_name=common_name,
    )


def _subject(der: bytes, start: int, end: int) -> tuple[str | None, str | None]:
    found: dict[bytes, str] = {}
    for rdn_tag, _, rdn_start, rdn_end in _children(der, start, end):
        if rdn_tag != _SET:
            continue
        for attr_tag, _, attr_start, attr_end in _children(der, rdn_start, rdn_end):
            parts = _children(der, attr_start, attr_end) if attr_tag == _SEQUENCE else []
            if len(parts) != 2 or parts[0][0] != _OID or parts[1][0] not in _STRING_TAGS:
                continue
            oid = der[parts[0][2] : parts[0][3]]
            found.setdefault(oid, der[parts[1][2] : parts[1][3]].decode("utf-8", "replace"))
    return found.get(_OID_COUNTRY), found.get(_OID_COMMON_NAME)
