"""ICAO visible digital seal decoder and verifier (Doc 9303 part 13, BSI TR-03137); `parse_seal`.

A seal is header ‖ message zone ‖ signature zone:

- header: magic 0xDC, version (0x02 = version 3, 0x03 = version 4), issuing country (C40),
  signer id + certificate reference (C40; version 3: 9 characters, version 4: 4-character
  signer id, 2 hex characters giving the reference length, the reference), document issue date
  and signature creation date (3-byte MMDDYYYY integers), document feature definition
  reference, document type category;
- message zone: TLV document features (DER lengths in version 4, one length byte in version 3);
- signature zone: tag 0xFF, DER length, raw r‖s ECDSA signature over header + message zone.

The signer certificate is not in the seal: it comes from a CertificateStore.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass

from edge.documents import c40
from edge.documents.certstore import CertificateStore
from edge.documents.result import Check, ParseResult
from edge.documents.seal_crypto import (
    UnsupportedKey,
    Verdict,
    coordinate_size,
    ecdsa_key,
    hash_for_key,
    raw_to_der,
    validity_check,
    verify,
)
from edge.documents.seal_report import SealReport
from edge.documents.vds_profiles import Coding, Profile, decode_date, decode_value, find_profile
from edge.documents.vdsnc import parse_vdsnc
from edge.errors import DocumentError

__all__ = [
    "MAGIC",
    "SIGNATURE_TAG",
    "VERSIONS",
    "SealFormatError",
    "VdsHeader",
    "decode_header",
    "parse_seal",
    "parse_vds",
]

MAGIC = 0xDC
SIGNATURE_TAG = 0xFF
VERSIONS = {0x02: 3, 0x03: 4}  # version byte -> Doc 9303 part 13 version number
_V3_SIGNER_CHARS = 9
_HEX = frozenset(string.hexdigits)


class SealFormatError(ValueError):
    """The seal bytes do not follow the seal structure; `offset` is 0-based."""

    def __init__(self, code: str, message: str, offset: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.offset = offset


@dataclass(frozen=True, slots=True)
class VdsHeader:
    """The decoded header of a visible digital seal."""

    version: int
    issuing_country: str
    signer_id: str
    cert_reference: str
    issue_date: dt.date
    signature_date: dt.date
    feature_reference: int
    category: int
    length: int


@dataclass(frozen=True, slots=True)
class _Feature:
    tag: int
    value: bytes
    offset: int


def parse_seal(data: bytes | str, *, certs: CertificateStore | None = None) -> ParseResult:
    """Decode and verify a VDS (bytes from 0xDC, or its hex) or a VDS-NC (JSON text)."""
    if isinstance(data, bytes):
        if data[:1] == bytes((MAGIC,)):
            return parse_vds(data, certs=certs)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return parse_vds(data, certs=certs)  # binary: reported as a wrong magic byte
    elif isinstance(data, str):
        if data[:1] == chr(MAGIC):
            # Seal bytes carried one per character; never strip them, the signature may end
            # in what looks like whitespace.
            try:
                return parse_vds(data.encode("latin-1"), certs=certs)
            except UnicodeEncodeError:
                return _not_a_seal("the text starts like a seal but holds characters above 0xFF")
        text = data
    else:
        raise DocumentError(f"a seal is bytes or text, not {type(data).__name__}")
    stripped = text.strip()
    if not stripped:
        return _not_a_seal("the input is empty")
    if stripped.startswith("{"):
        return parse_vdsnc(stripped, certs=certs)
    compact = "".join(stripped.split())
    if _HEX.issuperset(compact):
        if len(compact) % 2:
            return _not_a_seal("the hex text has an odd number of digits")
        return parse_vds(bytes.fromhex(compact), certs=certs)
    return _not_a_seal("the input is neither seal bytes, hex, nor VDS-NC JSON")


def _not_a_seal(message: str) -> ParseResult:
    report = SealReport("vds")
    report.structure_error("seal.format", message)
    return report.result(Verdict.NO_SIGNATURE)


def decode_header(data: bytes) -> VdsHeader:
    """Decode the header at the start of `data`; SealFormatError when it is malformed."""
    _need(data, 0, 2, "header")
    if data[0] != MAGIC:
        raise SealFormatError("vds.header.magic", f"magic byte is 0x{data[0]:02X}, not 0xDC", 0)
    version = VERSIONS.get(data[1])
    if version is None:
        raise SealFormatError("vds.header.version", f"unknown version byte 0x{data[1]:02X}", 1)
    _need(data, 2, 2, "issuing country")
    country = _c40(data, 2, 4, "issuing country").replace(" ", "<")
    if len(country) != 3:
        raise SealFormatError("vds.header.country", "issuing country is not 3 characters", 2)
    if version == 3:
        _need(data, 4, 6, "signer and certificate reference")
        signer = _c40(data, 4, 10, "signer and certificate reference")
        if len(signer) != _V3_SIGNER_CHARS:
            raise SealFormatError("vds.header.signer", "signer field is not 9 characters", 4)
        signer_id, reference, pos = signer[:4], signer[4:], 10
    else:
        _need(data, 4, 4, "signer identifier")
        prefix = _c40(data, 4, 8, "signer identifier")
        length_text = prefix[4:]
        if len(prefix) != 6 or not _HEX.issuperset(length_text):
            message = "signer field has no hex reference length"
            raise SealFormatError("vds.header.signer", message, 4)
        ref_chars = int(length_text, 16)
        ref_bytes = c40.encoded_length(ref_chars)
        _need(data, 8, ref_bytes, "certificate reference")
        reference = _c40(data, 8, 8 + ref_bytes, "certificate reference")
        if len(reference) != ref_chars:
            raise SealFormatError(
                "vds.header.signer", f"certificate reference is not {ref_chars} characters", 8
            )
        signer_id, pos = prefix[:4], 8 + ref_bytes
    _need(data, pos, 8, "dates, feature reference and category")
    issue_date = _date(data, pos, "document issue date")
    signature_date = _date(data, pos + 3, "signature creation date")
    return VdsHeader(
        version=version,
        issuing_country=country,
        signer_id=signer_id,
        cert_reference=reference,
        issue_date=issue_date,
        signature_date=signature_date,
        feature_reference=data[pos + 6],
        category=data[pos + 7],
        length=pos + 8,
    )


def _need(data: bytes, pos: int, count: int, what: str) -> None:
    if len(data) < pos + count:
        message = f"the seal ends inside the {what}"
        raise SealFormatError("vds.truncated", message, min(pos, len(data)))


def _c40(data: bytes, start: int, end: int, what: str) -> str:
    try:
        return c40.decode(data[start:end])
    except c40.C40Error as exc:
        raise SealFormatError("vds.header.c40", f"{what}: {exc}", start) from exc


def _date(data: bytes, pos: int, what: str) -> dt.date:
    try:
        return decode_date(data[pos : pos + 3])
    except ValueError as exc:
        raise SealFormatError("vds.header.date", f"{what} is not a calendar date", pos) from exc


def _read_length(data: bytes, pos: int, *, der: bool) -> tuple[int, int]:
    """Read a feature or signature length at `pos`; returns (length, position after it)."""
    _need(data, pos, 1, "length")
    first = data[pos]
    if not der or first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if not 1 <= count <= 2:
        raise SealFormatError("vds.length", f"unsupported DER length form 0x{first:02X}", pos)
    _need(data, pos + 1, count, "length")
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def _split_message(data: bytes, header: VdsHeader) -> tuple[list[_Feature], int | None]:
    """The message zone's features and the signature zone's offset (None when absent)."""
    features: list[_Feature] = []
    pos = header.length
    while pos < len(data):
        tag = data[pos]
        if tag == SIGNATURE_TAG:
            return features, pos
        length, value_pos = _read_length(data, pos + 1, der=header.version >= 4)
        if value_pos + length > len(data):
            raise SealFormatError(
                "vds.message.truncated",
                f"feature 0x{tag:02X} declares {length} bytes, {len(data) - value_pos} remain",
                pos,
            )
        features.append(_Feature(tag, data[value_pos : value_pos + length], pos))
        pos = value_pos + length
    return features, None


def parse_vds(data: bytes, *, certs: CertificateStore | None = None) -> ParseResult:
    """Decode a binary visible digital seal and verify its signature against `certs`."""
    if not isinstance(data, bytes | bytearray):
        raise DocumentError(f"a binary seal is bytes, not {type(data).__name__}")
    data = bytes(data)
    report = SealReport("vds")
    try:
        header = decode_header(data)
    except SealFormatError as exc:
        report.structure_error(exc.code, exc.message, exc.offset)
        return report.result(Verdict.NO_SIGNATURE)
    report.fields.update(
        {
            "version": header.version,
            "issuing_country": header.issuing_country,
            "signer_id": header.signer_id,
            "cert_reference": header.cert_reference,
            "document_issue_date": header.issue_date.isoformat(),
            "signature_date": header.signature_date.isoformat(),
            "feature_definition_reference": header.feature_reference,
            "document_type_category": header.category,
        }
    )
    profile = find_profile(header.feature_reference, header.category)
    report.fields["profile"] = None if profile is None else profile.name
    try:
        features, signature_offset = _split_message(data, header)
    except SealFormatError as exc:
        report.structure_error(exc.code, exc.message, exc.offset)
        return report.result(Verdict.NO_SIGNATURE)
    if profile is None:
        report.warn(
            "vds.profile.unknown",
            f"no profile for feature definition reference {header.feature_reference} and "
            f"document type category {header.category}; features are kept raw",
        )
    if not features:
        message = "the message zone holds no feature"
        report.structure_error("vds.message.empty", message, header.length)
    _decode_features(report, features, profile)
    if signature_offset is None:
        report.structure_error("vds.signature.missing", "the seal has no signature zone", len(data))
        return report.result(Verdict.NO_SIGNATURE)
    try:
        length, value_pos = _read_length(data, signature_offset + 1, der=True)
    except SealFormatError as exc:
        report.structure_error(exc.code, exc.message, exc.offset)
        return report.result(Verdict.NO_SIGNATURE)
    signature = data[value_pos : value_pos + length]
    if len(signature) < length:
        report.structure_error(
            "vds.signature.truncated",
            f"signature declares {length} bytes, {len(signature)} remain",
            signature_offset,
        )
        return report.result(Verdict.INVALID)
    if value_pos + length < len(data):
        report.warn(
            "vds.signature.trailing_data",
            f"{len(data) - value_pos - length} unsigned bytes follow the signature; ignored",
            value_pos + length,
        )
    verdict = _verify(report, header, data[:signature_offset], signature, certs, signature_offset)
    return report.result(verdict)


def _decode_features(report: SealReport, features: list[_Feature], profile: Profile | None) -> None:
    decoded: dict[str, object] = {}
    unknown: list[dict[str, object]] = []
    seen: set[int] = set()
    for feature in features:
        if feature.tag in seen:
            message = f"feature 0x{feature.tag:02X} repeats"
            report.warn("vds.feature.duplicate", message, feature.offset)
        seen.add(feature.tag)
        spec = None if profile is None else profile.spec(feature.tag)
        if spec is None:
            unknown.append({"tag": feature.tag, "value": feature.value.hex().upper()})
            continue
        size = len(feature.value)
        if not spec.min_length <= size <= spec.max_length:
            message = (
                f"feature 0x{feature.tag:02X} ({spec.name}) is {size} bytes, "
                f"expected {spec.min_length}-{spec.max_length}"
            )
            if spec.coding is Coding.MRZ:
                report.structure_error("vds.feature.length", message, feature.offset)
            else:
                report.warn("vds.feature.length", message, feature.offset)
        try:
            decoded[spec.name] = decode_value(spec, feature.value)
        except ValueError:
            decoded[spec.name] = None
            report.structure_error(
                "vds.feature.encoding",
                f"feature 0x{feature.tag:02X} ({spec.name}) is not valid {spec.coding.value} data",
                feature.offset,
            )
    if profile is not None:
        for spec in profile.features:
            if spec.required and spec.tag not in seen:
                report.warn("vds.feature.missing", f"required feature 0x{spec.tag:02X} is absent")
        if profile.one_of and seen.isdisjoint(profile.one_of):
            tags = ", ".join(f"0x{tag:02X}" for tag in profile.one_of)
            report.warn("vds.feature.missing", f"none of the features {tags} is present")
    report.fields["features"] = decoded
    report.fields["unknown_features"] = unknown


def _verify(
    report: SealReport,
    header: VdsHeader,
    signed: bytes,
    signature: bytes,
    certs: CertificateStore | None,
    offset: int,
) -> Verdict:
    report.checks["certificate_revocation"] = Check.NOT_SUPPORTED
    report.checks["certificate_chain"] = Check.UNDETERMINED
    report.checks["certificate_validity"] = Check.UNDETERMINED
    if certs is None:
        report.warn("vds.signer.no_store", "no signer certificate store is configured")
        return Verdict.SIGNER_UNKNOWN
    candidates = certs.lookup(header.signer_id, header.cert_reference)
    if not candidates:
        report.warn(
            "vds.signer.unknown",
            f"signer {header.signer_id} certificate {header.cert_reference} is not in the store",
        )
        return Verdict.SIGNER_UNKNOWN
    unsupported = ""
    verdict = Verdict.UNSUPPORTED_CURVE
    certificate = candidates[0]
    for candidate in candidates:
        try:
            key = ecdsa_key(candidate)
        except UnsupportedKey as exc:
            unsupported = str(exc)
            continue
        certificate, verdict = candidate, Verdict.INVALID
        if len(signature) == 2 * coordinate_size(key) and verify(
            key, raw_to_der(signature), signed, hash_for_key(key)
        ):
            verdict = Verdict.VALID
            break
    report.fields["signer_certificate"] = certificate.subject.rfc4514_string()
    report.checks["certificate_chain"] = certs.check_chain(certificate)
    report.checks["certificate_validity"] = validity_check(certificate, header.signature_date)
    if report.checks["certificate_validity"] is Check.FAILED:
        report.warn(
            "vds.certificate.validity",
            "the signature creation date is outside the signer certificate's validity",
        )
    if report.checks["certificate_chain"] is Check.FAILED:
        report.warn("vds.certificate.chain", "no CSCA in the store verifies the signer certificate")
    if verdict is Verdict.UNSUPPORTED_CURVE:
        report.warn("vds.signature.unsupported", unsupported)
    elif verdict is Verdict.INVALID:
        report.error(
            "vds.signature.invalid",
            f"the {len(signature)}-byte signature does not verify with the signer certificate",
            offset,
        )
    return verdict
