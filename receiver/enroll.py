"""Enrollment over the receiver's API: a one-time token buys a client certificate and trust.

`POST /v1/enroll` takes the token, a CSR (ECDSA, common name = the workstation id) and the
workstation's Ed25519 chain key; it answers the client certificate signed by the region CA
and the CA itself, and registers the key in the region's trust directory, so the batches the
workstation seals are verified against it (a key it enrolled before is kept as retired, for
what it sealed with that one: `receiver.trust`). `GET /v1/enroll/ca` serves the CA, which the
technician checks against the fingerprint the region printed with the token.

With a region configured, the other routes need a client certificate the region CA issued,
as `receiver.access` lays down.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

import msgspec
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edge.wire import WireError, key_id, load_public_key
from receiver.checks import WORKSTATION, Refused
from receiver.region import Region, common_name
from receiver.tokens import TokenError, TokenStore
from receiver.trust import register_key

log = logging.getLogger("receiver.enroll")

REGION_KEY = web.AppKey("region", Region)
MAX_ENROLL_BYTES = 64 * 1024


class EnrollRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: str
    csr: str  # PEM
    public_key: str  # PEM, Ed25519 SubjectPublicKeyInfo


class Enrollment(msgspec.Struct):
    workstation: str
    certificate: str  # PEM, issued by the region CA
    ca: str  # PEM of the region CA
    not_after: str  # ISO 8601 UTC
    key_id: str  # of the registered Ed25519 key


_decoder = msgspec.json.Decoder(EnrollRequest)
_json = msgspec.json.Encoder()


def region_of(request: web.Request) -> Region:
    region = request.app.get(REGION_KEY)
    if region is None:
        raise Refused(404, "enrollment_not_configured")
    return region


async def get_enroll_ca(request: web.Request) -> web.Response:
    return web.Response(body=region_of(request).ca_pem, content_type="application/x-pem-file")


def _parse(body: bytes) -> tuple[str, x509.CertificateSigningRequest, Any]:
    try:
        req = _decoder.decode(body)
    except msgspec.DecodeError:
        raise Refused(400, "bad_request") from None
    try:
        csr = x509.load_pem_x509_csr(req.csr.encode())
    except ValueError:
        raise Refused(400, "bad_csr") from None
    if not csr.is_signature_valid or not isinstance(csr.public_key(), ec.EllipticCurvePublicKey):
        raise Refused(400, "bad_csr")
    try:
        public = load_public_key(req.public_key.encode())
    except (WireError, UnicodeEncodeError):
        raise Refused(400, "bad_public_key") from None
    return req.token, csr, public


def _enroll(
    region: Region, token: str, csr: x509.CertificateSigningRequest, public: Any
) -> Enrollment:
    csr_key = csr.public_key()
    assert isinstance(csr_key, ec.EllipticCurvePublicKey)  # checked by _parse

    def accept(workstation: str) -> Enrollment:
        if common_name(csr.subject) != workstation or not WORKSTATION.match(workstation):
            raise Refused(403, "workstation_mismatch")
        cert = region.issue_client(workstation, csr_key)
        try:
            registered = register_key(region.trust_dir, workstation, public)
        except OSError as exc:  # the token stays unused: the workstation may try again
            log.error("enrollment of %s: trust dir: %s", workstation, exc.strerror or exc)
            raise Refused(503, "trust_unavailable") from None
        if registered.retired is not None:
            log.warning(
                "workstation %s enrolled a new chain key %s; its old key %s is kept as retired",
                workstation,
                registered.key_id,
                registered.retired,
            )
        return Enrollment(
            workstation=workstation,
            certificate=cert.public_bytes(serialization.Encoding.PEM).decode(),
            ca=region.ca_pem.decode(),
            not_after=cert.not_valid_after_utc.astimezone(dt.UTC).isoformat(),
            key_id=key_id(public),
        )

    try:
        return TokenStore(region.tokens_path).redeem(token, time.time(), accept)
    except TokenError as exc:
        raise Refused(403, exc.reason) from None


async def read_bounded(request: web.Request, limit: int) -> bytes:
    """The whole body, however many pieces it arrives in; 413 too_large above `limit`."""
    if request.content_length is not None and request.content_length > limit:
        raise Refused(413, "too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise Refused(413, "too_large")
        chunks.append(chunk)
    return b"".join(chunks)


async def post_enroll(request: web.Request) -> web.Response:
    region = region_of(request)
    token, csr, public = _parse(await read_bounded(request, MAX_ENROLL_BYTES))
    enrollment = await asyncio.to_thread(_enroll, region, token, csr, public)
    log.info("workstation %s enrolled (key %s)", enrollment.workstation, enrollment.key_id)
    return web.Response(body=_json.encode(enrollment), content_type="application/json")


def add_routes(app: web.Application, region: Region | None) -> None:
    """The enrollment routes; without a region they answer 404 enrollment_not_configured."""
    if region is not None:
        app[REGION_KEY] = region
    app.router.add_post("/v1/enroll", post_enroll)
    app.router.add_get("/v1/enroll/ca", get_enroll_ca, allow_head=False)
