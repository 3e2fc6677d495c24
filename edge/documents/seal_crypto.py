"""ECDSA verification shared by the VDS and VDS-NC parsers: allowed curves, hash choice, verdicts.

Doc 9303 part 13 seals are signed with ECDSA over the curves part 12 allows (the NIST prime curves
and the brainpool r1 curves); the hash follows the curve size: up to 224 bits SHA-224, up to 256
bits SHA-256, up to 384 bits SHA-384, above SHA-512. Curves the standard allows but this
cryptography build cannot load (brainpoolP224r1, brainpoolP320r1) are reported as unsupported,
like keys of any other type or curve (Ed25519, secp256k1).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from edge.documents.certparse import LenientCertificate
from edge.documents.result import Check

__all__ = [
    "ALLOWED_CURVES",
    "UnsupportedKey",
    "Verdict",
    "coordinate_size",
    "der_to_raw",
    "ecdsa_key",
    "hash_for_key",
    "raw_to_der",
    "validity_check",
    "verdict_check",
    "verify",
]

ALLOWED_CURVES = frozenset(
    {
        "secp224r1",
        "secp256r1",
        "secp384r1",
        "secp521r1",
        "brainpoolP224r1",
        "brainpoolP256r1",
        "brainpoolP320r1",
        "brainpoolP384r1",
        "brainpoolP512r1",
    }
)


class Verdict(StrEnum):
    """Outcome of a seal's signature verification."""

    VALID = "valid"
    INVALID = "invalid"
    SIGNER_UNKNOWN = "signer_unknown"
    UNSUPPORTED_CURVE = "unsupported_curve"
    NO_SIGNATURE = "no_signature"


_VERDICT_CHECKS = {
    Verdict.VALID: Check.PASSED,
    Verdict.INVALID: Check.FAILED,
    Verdict.SIGNER_UNKNOWN: Check.UNDETERMINED,
    Verdict.UNSUPPORTED_CURVE: Check.NOT_SUPPORTED,
    Verdict.NO_SIGNATURE: Check.FAILED,
}


class UnsupportedKey(Exception):
    """The certificate's key is not an ECDSA key on a curve Doc 9303 allows and we can load."""


def verdict_check(verdict: Verdict) -> Check:
    """The `checks["signature"]` value that goes with a verdict."""
    return _VERDICT_CHECKS[verdict]


def ecdsa_key(certificate: x509.Certificate | LenientCertificate) -> ec.EllipticCurvePublicKey:
    """The certificate's ECDSA public key; UnsupportedKey when it is of another kind or curve."""
    try:
        key: object = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError) as exc:
        raise UnsupportedKey("the certificate's public key cannot be loaded") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise UnsupportedKey(f"the certificate holds a {type(key).__name__}, not an ECDSA key")
    if key.curve.name not in ALLOWED_CURVES:
        raise UnsupportedKey(f"curve {key.curve.name} is not allowed by Doc 9303")
    return key


def coordinate_size(key: ec.EllipticCurvePublicKey) -> int:
    """Bytes of one of r or s in a raw signature for this key's curve."""
    return (key.curve.key_size + 7) // 8


def hash_for_key(key: ec.EllipticCurvePublicKey) -> hashes.HashAlgorithm:
    """The hash Doc 9303 part 13 pairs with the curve size."""
    bits = key.curve.key_size
    if bits <= 224:
        return hashes.SHA224()
    if bits <= 256:
        return hashes.SHA256()
    if bits <= 384:
        return hashes.SHA384()
    return hashes.SHA512()


def raw_to_der(raw: bytes) -> bytes:
    """Convert a raw r‖s signature (two equal halves) to the DER form cryptography verifies."""
    half = len(raw) // 2
    r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    return encode_dss_signature(r, s)


def der_to_raw(der: bytes, size: int) -> bytes:
    """Convert a DER ECDSA signature to raw r‖s of `size`-byte halves; ValueError when malformed."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def verify(
    key: ec.EllipticCurvePublicKey,
    signature_der: bytes,
    data: bytes,
    algorithm: hashes.HashAlgorithm,
) -> bool:
    """True when the DER signature over `data` verifies with `key` and `algorithm`."""
    try:
        key.verify(signature_der, data, ec.ECDSA(algorithm))
    except (InvalidSignature, ValueError):
        return False
    return True


def validity_check(certificate: x509.Certificate, on: dt.date) -> Check:
    """Whether `on` (the signature creation date) lies within the certificate's validity."""
    first = certificate.not_valid_before_utc.date()
    last = certificate.not_valid_after_utc.date()
    return Check.PASSED if first <= on <= last else Check.FAILED
