"""ICAO VDS-NC (visible digital seal for non-constrained environments) decoder and verifier.

`{"data": {"hdr": {"t", "v", "is"}, "msg": {...}}, "sig": {"alg", "cer", "sigvl"}}` in a QR code.
The signature covers the RFC 8785 (JCS) canonical form of `data`; `cer` embeds the signer
certificate (base64url DER); `sigvl` is the signature, raw r‖s or DER (both occur in published
examples), base64url (standard base64 is tolerated).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from edge.documents import jcs
from edge.documents.certparse import LenientCertificate, read_lenient
from edge.documents.certstore import (
    CertificateStore,
    certificate_signer,
    load_der,
    signer_from_subject,
)
from edge.documents.result import Check, ParseResult
from edge.documents.seal_crypto import (
    UnsupportedKey,
    Verdict,
    coordinate_size,
    ecdsa_key,
    raw_to_der,
    verify,
)
from edge.documents.seal_report import SealReport
from edge.errors import DocumentError

__all__ = ["ALGORITHMS", "KNOWN_TYPES", "b64url_decode", "parse_vdsnc"]

ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    "ES256": hashes.SHA256(),
    "ES384": hashes.SHA384(),
    "ES512": hashes.SHA512(),
}
KNOWN_TYPES = frozenset({"icao.test", "icao.vacc"})
_TOP_LEVEL = frozenset({"data", "sig"})


class _DuplicateKeyError(ValueError):
    pass


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding (standard base64 too); ValueError when invalid."""
    compact = "".join(text.split()).rstrip("=").replace("+", "-").replace("/", "_")
    if len(compact) % 4 == 1:
        raise ValueError("base64 text has an impossible length")
    try:
        return base64.urlsafe_b64decode(compact + "=" * (-len(compact) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url text") from exc


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKeyError("an object repeats a member name")
        out[key] = value
    return out


def _constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_vdsnc(text: str, *, certs: CertificateStore | None = None) -> ParseResult:
    """Decode a VDS-NC JSON document and verify its signature with the embedded certificate."""
    if not isinstance(text, str):
        raise DocumentError(f"a VDS-NC document is text, not {type(text).__name__}")
    report = SealReport("vds_nc")
    try:
        document = json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        report.structure_error("vdsnc.json", f"not valid JSON: {exc.msg}", exc.pos)
        return report.result(Verdict.NO_SIGNATURE)
    except _DuplicateKeyError as exc:
        report.structure_error("vdsnc.json.duplicate", str(exc))
        return report.result(Verdict.NO_SIGNATURE)
    except (ValueError, RecursionError):
        report.structure_error("vdsnc.json", "not valid JSON (number or nesting out of range)")
        return report.result(Verdict.NO_SIGNATURE)
    if not isinstance(document, dict):
        report.structure_error("vdsnc.structure", "the document is not a JSON object")
        return report.result(Verdict.NO_SIGNATURE)
    extra = sorted(set(document) - _TOP_LEVEL)
    if extra:
        report.warn("vdsnc.structure.extra", f"{len(extra)} unexpected top-level member(s) ignored")
    data = document.get("data")
    _decode_data(report, data)
    sig = document.get("sig")
    if sig is None:
        report.structure_error("vdsnc.signature.missing", "the document has no sig member")
        return report.result(Verdict.NO_SIGNATURE)
    if not isinstance(sig, dict):
        report.structure_error("vdsnc.signature.structure", "sig is not an object")
        return report.result(Verdict.NO_SIGNATURE)
    return report.result(_verify(report, data, sig, certs))


def _decode_data(report: SealReport, data: object) -> None:
    if not isinstance(data, dict):
        report.structure_error("vdsnc.structure", "data is missing or not an object")
        return
    header, message = data.get("hdr"), data.get("msg")
    if not isinstance(header, dict):
        report.structure_error("vdsnc.header", "data.hdr is missing or not an object")
        header = {}
    if not isinstance(message, dict):
        report.structure_error("vdsnc.message", "data.msg is missing or not an object")
        message = {}
    kind, version, country = header.get("t"), header.get("v"), header.get("is")
    if not isinstance(kind, str):
        report.structure_error("vdsnc.header.type", "data.hdr.t is missing or not a string")
    elif kind not in KNOWN_TYPES:
        # The type is the seal's own text: never quoted, it could hold anything.
        report.warn("vdsnc.header.type", "unknown seal type; message kept as is")
    if isinstance(version, bool) or not isinstance(version, int):
        report.structure_error("vdsnc.header.version", "data.hdr.v is missing or not an integer")
    if not isinstance(country, str) or len(country) != 3:
        report.structure_error("vdsnc.header.country", "data.hdr.is is not a 3-letter code")
    report.fields.update(
        {"type": kind, "version": version, "issuing_country": country, "message": message}
    )


def _load_certificate(report: SealReport, cer: str) -> x509.Certificate | LenientCertificate | None:
    try:
        der = b64url_decode(cer)
    except ValueError:
        report.error("vdsnc.certificate.invalid", "sig.cer is not base64url text")
        return None
    try:
        certificate = load_der(der)
    except (ValueError, x509.InvalidVersion):
        pass
    else:
        signer = certificate_signer(certificate)
        report.fields["signer_id"] = None if signer is None else signer[0]
        report.fields["cert_reference"] = f"{certificate.serial_number:X}"
        report.fields["signer_certificate"] = certificate.subject.rfc4514_string()
        return certificate
    try:
        lenient = read_lenient(der)
    except ValueError:
        report.error("vdsnc.certificate.invalid", "sig.cer is not a DER X.509 certificate")
        return None
    report.warn(
        "vdsnc.certificate.lenient",
        "the signer certificate is not strict DER; only its key, serial and subject were read",
    )
    report.fields["signer_id"] = signer_from_subject(lenient.country, lenient.common_name)
    report.fields["cert_reference"] = f"{lenient.serial_number:X}"
    report.fields["signer_certificate"] = None
    return lenient


def _verify(
    report: SealReport, data: object, sig: dict[str, Any], certs: CertificateStore | None
) -> Verdict:
    alg, cer, sigvl = sig.get("alg"), sig.get("cer"), sig.get("sigvl")
    report.fields["signature_algorithm"] = alg if isinstance(alg, str) else None
    report.checks["certificate_chain"] = Check.UNDETERMINED
    report.checks["certificate_revocation"] = Check.NOT_SUPPORTED
    if not isinstance(cer, str):
        report.structure_error("vdsnc.certificate.missing", "sig.cer is missing or not a string")
        return Verdict.SIGNER_UNKNOWN
    certificate = _load_certificate(report, cer)
    if certificate is None:
        return Verdict.SIGNER_UNKNOWN
    chain = Check.UNDETERMINED
    if certs is not None and isinstance(certificate, x509.Certificate):
        chain = certs.check_chain(certificate)
    report.checks["certificate_chain"] = chain
    if chain is not Check.PASSED:
        report.warn(
            "vdsnc.certificate.untrusted",
            "the embedded signer certificate is not traced to a CSCA certificate of the store",
        )
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        report.warn("vdsnc.signature.algorithm", "sig.alg is not ES256, ES384 or ES512")
        return Verdict.UNSUPPORTED_CURVE
    try:
        key = ecdsa_key(certificate)
    except UnsupportedKey as exc:
        report.warn("vdsnc.signature.unsupported", str(exc))
        return Verdict.UNSUPPORTED_CURVE
    if not isinstance(sigvl, str):
        report.structure_error("vdsnc.signature.missing", "sig.sigvl is missing or not a string")
        return Verdict.NO_SIGNATURE
    try:
        signature = b64url_decode(sigvl)
        signed = jcs.canonicalize(data)
    except ValueError as exc:
        report.error("vdsnc.signature.encoding", str(exc))
        return Verdict.INVALID
    algorithm = ALGORITHMS[alg]
    encodings: list[tuple[str, bytes]] = []
    if len(signature) == 2 * coordinate_size(key):
        encodings.append(("raw", raw_to_der(signature)))
    if signature[:1] == b"\x30":
        encodings.append(("der", signature))
    if not encodings:
        report.error(
            "vdsnc.signature.length", f"a {len(signature)}-byte signature is neither raw nor DER"
        )
        return Verdict.INVALID
    for name, der in encodings:
        if verify(key, der, signed, algorithm):
            report.fields["signature_encoding"] = name
            return Verdict.VALID
    report.error("vdsnc.signature.invalid", "the signature does not verify over data")
    return Verdict.INVALID
