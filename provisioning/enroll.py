"""Enrollment with the regional server (`POST /v1/enroll` of the reference receiver).

The technician has a one-time token and the region CA's fingerprint, both printed by
`midas-edge receiver enroll-token`. The CA is fetched from `/v1/enroll/ca` and trusted only
when its SHA-256 is that fingerprint; the enrollment itself then runs over TLS pinned to it.
Only https:// is used: over plain http the token would cross the network readable by anyone
on the path (EnrollError reason `insecure_url`, before anything is sent).
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from provisioning.errors import ProvisioningError

ENROLL_TIMEOUT_S = 30.0
MAX_ANSWER_BYTES = 256 * 1024


class EnrollError(ProvisioningError):
    """Enrollment failed; `reason` is the server's code (or a local one)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Enrolled:
    """What the region answered."""

    certificate: bytes  # PEM
    ca: bytes  # PEM
    not_after: str
    key_id: str


def ca_fingerprint(pem: bytes) -> str:
    """`sha256:<hex>` of a PEM certificate's DER bytes."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise EnrollError("the region's CA is not a PEM certificate", "bad_ca") from None
    return "sha256:" + hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _endpoint(region_url: str, path: str) -> str:
    parts = urlsplit(region_url)
    if parts.scheme == "http":
        raise EnrollError(
            "enrollment sends a one-time token and receives the workstation's certificate: "
            f"it needs an https:// URL of the regional server, not {region_url!r}",
            "insecure_url",
        )
    if parts.scheme != "https" or not parts.hostname:
        raise EnrollError(f"expected an https:// URL of the regional server, got {region_url!r}")
    return region_url.rstrip("/") + path


async def _error(response: aiohttp.ClientResponse) -> EnrollError:
    reason = ""
    try:
        body: Any = await response.json(content_type=None)
        if isinstance(body, dict):
            reason = str(body.get("error", ""))[:40]
    except (aiohttp.ClientError, ValueError):
        pass
    return EnrollError(
        f"the regional server refused enrollment: {response.status} {reason or 'no reason'}",
        reason,
    )


async def _read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole answer, however many pieces it arrives in; EnrollError above `limit`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise EnrollError(f"the regional server's answer is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def fetch_ca(region_url: str, fingerprint: str) -> bytes:
    """The region CA, checked against the fingerprint the region printed with the token."""
    url = _endpoint(region_url, "/v1/enroll/ca")
    timeout = aiohttp.ClientTimeout(total=ENROLL_TIMEOUT_S)
    try:
        # Not verified by TLS (the workstation has no CA yet): the fingerprint is the check.
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(url, ssl=False) as response,
        ):
            if response.status != 200:
                raise await _error(response)
            pem = await _read_bounded(response, MAX_ANSWER_BYTES)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise EnrollError(f"the regional server cannot be reached at {url} ({exc})") from None
    if ca_fingerprint(pem) != fingerprint:
        raise EnrollError(
            "the regional server's CA does not have the fingerprint given: not enrolling",
            "fingerprint_mismatch",
        )
    return pem


async def enroll(
    region_url: str, ca_pem: bytes, token: str, csr_pem: bytes, public_pem: bytes
) -> Enrolled:
    """Redeem `token`: the client certificate, over TLS pinned to `ca_pem`."""
    url = _endpoint(region_url, "/v1/enroll")
    context = ssl.create_default_context(cadata=ca_pem.decode())
    body = {"token": token, "csr": csr_pem.decode(), "public_key": public_pem.decode()}
    timeout = aiohttp.ClientTimeout(total=ENROLL_TIMEOUT_S)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(url, json=body, ssl=context) as response,
        ):
            if response.status != 200:
                raise await _error(response)
            answer: Any = await response.json()
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        raise EnrollError(f"enrollment at {url} failed ({type(exc).__name__}: {exc})") from None
    try:
        return Enrolled(
            certificate=str(answer["certificate"]).encode(),
            ca=str(answer["ca"]).encode(),
            not_after=str(answer["not_after"]),
            key_id=str(answer["key_id"]),
        )
    except (KeyError, TypeError):
        raise EnrollError("the regional server's answer lacks the certificate") from None
