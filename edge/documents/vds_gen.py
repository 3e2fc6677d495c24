"""Builds and signs visible digital seals and VDS-NC documents (test fixtures, demo data)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edge.documents import c40, jcs
from edge.documents.seal_crypto import der_to_raw, hash_for_key
from edge.documents.vds_profiles import encode_date
from edge.documents.vdsnc import ALGORITHMS

__all__ = [
    "build_seal",
    "encode_feature",
    "encode_header",
    "encode_length",
    "sign_raw",
    "sign_vdsnc",
    "signature_zone",
]

_VERSION_BYTES = {3: 0x02, 4: 0x03}


def encode_length(length: int, *, der: bool = True) -> bytes:
    """A feature or signature length: DER (version 4, signatures) or one byte (version 3)."""
    if length < 0x80 or (not der and length <= 0xFF):
        return bytes((length,))
    if length <= 0xFF:
        return bytes((0x81, length))
    return bytes((0x82,)) + length.to_bytes(2, "big")


def encode_header(
    *,
    version: int,
    issuing_country: str,
    signer_id: str,
    cert_reference: str,
    issue_date: dt.date,
    signature_date: dt.date,
    feature_reference: int,
    category: int,
) -> bytes:
    """Encode a seal header (version 3: 5-character reference; version 4: any length)."""
    if version == 3:
        signer = c40.encode(signer_id + cert_reference.rjust(5, "0"))
    else:
        signer = c40.encode(f"{signer_id}{len(cert_reference):02X}{cert_reference}")
    return (
        bytes((0xDC, _VERSION_BYTES[version]))
        + c40.encode(issuing_country)
        + signer
        + encode_date(issue_date)
        + encode_date(signature_date)
        + bytes((feature_reference, category))
    )


def encode_feature(tag: int, value: bytes, *, version: int = 4) -> bytes:
    """Encode one message-zone feature as tag, length, value."""
    return bytes((tag,)) + encode_length(len(value), der=version >= 4) + value


def sign_raw(
    private_key: ec.EllipticCurvePrivateKey, data: bytes, algorithm: hashes.HashAlgorithm
) -> bytes:
    """ECDSA-sign `data` and return the raw r‖s signature."""
    size = (private_key.curve.key_size + 7) // 8
    return der_to_raw(private_key.sign(data, ec.ECDSA(algorithm)), size)


def signature_zone(signature: bytes) -> bytes:
    """The signature zone for a raw signature: 0xFF, DER length, value."""
    return b"\xff" + encode_length(len(signature)) + signature


def build_seal(
    header: bytes,
    features: Iterable[tuple[int, bytes]],
    private_key: ec.EllipticCurvePrivateKey,
    *,
    algorithm: hashes.HashAlgorithm | None = None,
) -> bytes:
    """Assemble header and features and append the signature zone (hash from the curve size)."""
    version = 3 if header[1] == 0x02 else 4
    unsigned = header + b"".join(encode_feature(t, v, version=version) for t, v in features)
    if algorithm is None:
        algorithm = hash_for_key(private_key.public_key())
    return unsigned + signature_zone(sign_raw(private_key, unsigned, algorithm))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_vdsnc(
    data: Mapping[str, Any],
    private_key: ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    *,
    der_signature: bool = False,
    alg: str = "ES256",
) -> str:
    """Sign a VDS-NC `data` object over its JCS form; returns the whole JSON document."""
    algorithm = ALGORITHMS[alg]
    canonical = jcs.canonicalize(data)
    if der_signature:
        signature = private_key.sign(canonical, ec.ECDSA(algorithm))
    else:
        signature = sign_raw(private_key, canonical, algorithm)
    document = {
        "data": data,
        "sig": {
            "alg": alg,
            "cer": _b64url(certificate.public_bytes(serialization.Encoding.DER)),
            "sigvl": _b64url(signature),
        },
    }
    return json.dumps(document, ensure_ascii=False)
