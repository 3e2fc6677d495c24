"""The workstation's identity: its Ed25519 chain key, its TLS key and the enrolled certificate.

    <data_dir>/workstation.key (0600), .pub   chain key (agent/chain.py), service account's
    /etc/midas-edge/workstation-tls.key (0600) TLS client key (ECDSA P-256), service account's
    /etc/midas-edge/workstation.crt (0640)    client certificate from the region CA
    /etc/midas-edge/regional-ca.pem (0640)    the region CA the HTTP sink pins
    /etc/midas-edge/enrollment.json (0640)    what was enrolled: workstation, key id, expiry,
                                              the region's URL

Keys are made once and kept. Enrollment runs when there is no usable certificate: none, not
matching the TLS key, not issued by the stored CA, for another workstation or chain key,
expiring within RENEW_DAYS, or enrolled with another region than the one given (another CA
fingerprint, another region URL): then a token is needed, or the step fails saying why.
Enrollment runs over https only; a plain http region gets no client certificate.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import SplitResult, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from agent.chain import KEY_FILE, PUBLIC_FILE
from edge.wire import key_id
from provisioning.changes import Applier
from provisioning.enroll import EnrollError, ca_fingerprint, enroll, fetch_ca
from provisioning.errors import ProvisioningError
from provisioning.safefile import read_file, write_file
from provisioning.settings import Settings
from provisioning.system import (
    CONFIG_DIR,
    REGION_CA,
    SERVICE_GROUP,
    SERVICE_USER,
    TLS_CERT,
    TLS_KEY,
)

RENEW_DAYS = 30
ENROLLMENT = CONFIG_DIR / "enrollment.json"
SERVICE = (SERVICE_USER, SERVICE_GROUP)
READABLE = ("root", SERVICE_GROUP)


@dataclass
class IdentityResult:
    summary: str
    hints: list[str] = field(default_factory=list)


def load_pem_cert(data: bytes) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        return None


def chain_key(applier: Applier, data_dir: PurePosixPath) -> Ed25519PrivateKey | None:
    """The chain key, created when missing (None in a dry run that would create it).

    Read and written without following links: the data dir is the service account's.
    """
    key_path = data_dir / KEY_FILE
    pem = read_file(applier.path(key_path))
    if pem is None:
        applier.record("write", key_path, "0600, Ed25519 chain key: content not shown")
        if applier.dry_run:
            return None
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_file(applier.path(key_path), pem, 0o600)
    try:
        loaded = serialization.load_pem_private_key(pem, password=None)
    except ValueError:
        loaded = None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ProvisioningError(
            f"the chain key {key_path} is not an Ed25519 PEM key; move it aside"
        ) from None
    applier.ensure_meta(key_path, mode=0o600, owner=SERVICE)
    public = loaded.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    applier.write(data_dir / PUBLIC_FILE, public, mode=0o644, owner=SERVICE)
    return loaded


def tls_key(applier: Applier) -> ec.EllipticCurvePrivateKey:
    """The TLS client key, created when missing (in a dry run: made, not written)."""
    path = applier.path(TLS_KEY)
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        applier.write(TLS_KEY, pem, mode=0o600, owner=SERVICE, secret=True)
        return key
    except (OSError, ValueError) as exc:
        raise ProvisioningError(f"{TLS_KEY} is not a usable key ({exc}); move it aside") from None
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ProvisioningError(f"{TLS_KEY} is not an ECDSA key; move it aside")
    applier.ensure_meta(TLS_KEY, mode=0o600, owner=SERVICE)
    return loaded


def _same_key(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(*der) == key.public_key().public_bytes(*der)


def same_region(a: str, b: str) -> bool:
    """Whether two region URLs name the same server (scheme, host and port; path as given)."""
    x, y = urlsplit(a.strip()), urlsplit(b.strip())
    default = {"https": 443, "http": 80}

    def key(u: SplitResult) -> tuple[str, str, int | None, str]:
        try:
            port = u.port or default.get(u.scheme.lower())
        except ValueError:
            port = None
        return u.scheme.lower(), (u.hostname or "").lower(), port, u.path.rstrip("/")

    return key(x) == key(y)


def region_problem(applier: Applier, settings: Settings, enrolled: dict[str, Any]) -> str | None:
    """Why the stored enrollment is not with the region the settings name, or None."""
    if settings.ca_fingerprint is not None:
        try:
            stored = ca_fingerprint(applier.path(REGION_CA).read_bytes())
        except (OSError, EnrollError):
            return "the stored region CA is unreadable"
        if stored != settings.ca_fingerprint:
            return (
                f"the region CA given (--ca-fingerprint {settings.ca_fingerprint}) is not the "
                f"one enrolled with ({stored})"
            )
    was = enrolled.get("region_url")
    if settings.region_url and isinstance(was, str) and not same_region(was, settings.region_url):
        return f"enrolled with {was}, the region is now {settings.region_url}"
    return None


def certificate_problem(
    applier: Applier,
    key: ec.EllipticCurvePrivateKey,
    workstation: str,
    chain_id: str | None,
    now: dt.datetime,
    settings: Settings | None = None,
) -> str | None:
    """Why the stored certificate cannot be kept, or None when it is good.

    With `settings`, also when it was enrolled with another region: another CA fingerprint
    or another region URL than the settings name (the old CA is never pinned silently).
    """
    try:
        cert = load_pem_cert(applier.path(TLS_CERT).read_bytes())
        ca = load_pem_cert(applier.path(REGION_CA).read_bytes())
        enrolled = json.loads(applier.path(ENROLLMENT).read_text())
    except FileNotFoundError:
        return "not enrolled yet"
    except (OSError, ValueError):
        return "the enrollment files are unreadable"
    if cert is None or ca is None:
        return "the certificate or the region CA is not PEM"
    if not _same_key(cert, key):
        return "the certificate is not for the TLS key"
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return "the certificate is not issued by the stored region CA"
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if [n.value for n in names] != [workstation]:
        return "the certificate names another workstation"
    if chain_id is not None and enrolled.get("key_id") != chain_id:
        return "the chain key changed since enrollment"
    if cert.not_valid_after_utc - now < dt.timedelta(days=RENEW_DAYS):
        return f"the certificate expires {cert.not_valid_after_utc:%Y-%m-%d}"
    if settings is not None and isinstance(enrolled, dict):
        return region_problem(applier, settings, enrolled)
    return None


def csr_for(key: ec.EllipticCurvePrivateKey, workstation: str) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, workstation)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


async def establish(settings: Settings, applier: Applier) -> IdentityResult:
    """Keys, then enrollment when the certificate is missing or not good any more."""
    workstation = settings.workstation or ""
    data_dir = PurePosixPath(settings.data_dir)
    chain = chain_key(applier, data_dir)
    chain_id = key_id(chain.public_key()) if chain is not None else None
    if not settings.region_url:
        return IdentityResult(f"chain key {chain_id or '(new)'}; no regional server to enroll with")
    if urlsplit(settings.region_url).scheme != "https":
        if settings.enroll_token:
            raise ProvisioningError(
                f"enrollment needs an https:// region URL, not {settings.region_url}: over plain "
                "http the one-time token would cross the network readable; nothing was sent"
            )
        return IdentityResult(
            f"chain key {chain_id or '(new)'}; {settings.region_url} is plain http: no client "
            "certificate (the region trusts workstation.pub as its administrator installs it)"
        )
    key = tls_key(applier)
    now = dt.datetime.now(dt.UTC)
    problem = certificate_problem(applier, key, workstation, chain_id, now, settings)
    if problem is None:
        cert = load_pem_cert(applier.path(TLS_CERT).read_bytes())
        assert cert is not None  # checked by certificate_problem
        for target in (TLS_CERT, REGION_CA, ENROLLMENT):
            applier.ensure_meta(target, mode=0o640, owner=READABLE)
        return IdentityResult(
            f"enrolled (chain key {chain_id}, certificate valid until "
            f"{cert.not_valid_after_utc:%Y-%m-%d})"
        )
    renew = f"midas-edge receiver enroll-token --workstation {workstation}"
    if not settings.enroll_token or not settings.ca_fingerprint:
        raise ProvisioningError(
            f"enrollment needed ({problem}) but no token and CA fingerprint were given; on the "
            f"regional server run `{renew}`, then provision again with --enroll-token and "
            "--ca-fingerprint"
        )
    if applier.dry_run or chain is None:
        applier.record("run", f"enroll with {settings.region_url}", problem)
        return IdentityResult(f"would enroll with {settings.region_url} ({problem})")
    public = chain.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        ca = await fetch_ca(settings.region_url, settings.ca_fingerprint)
        done = await enroll(
            settings.region_url, ca, settings.enroll_token, csr_for(key, workstation), public
        )
    except EnrollError as exc:
        if exc.reason in ("token_used", "token_expired", "invalid_token"):
            raise ProvisioningError(f"{exc}; ask the region for a new token: `{renew}`") from None
        raise
    applier.record("run", f"enroll with {settings.region_url}", problem)
    # The CA written is the one the fingerprint proved.
    applier.write(REGION_CA, ca, mode=0o640, owner=READABLE, summary=settings.ca_fingerprint)
    applier.write(
        TLS_CERT, done.certificate, mode=0o640, owner=READABLE, summary=f"until {done.not_after}"
    )
    record = {
        "workstation": workstation,
        "key_id": done.key_id,
        "not_after": done.not_after,
        "region_url": settings.region_url,
    }
    applier.write(
        ENROLLMENT, (json.dumps(record, indent=2) + "\n").encode(), mode=0o640, owner=READABLE
    )
    return IdentityResult(f"enrolled with {settings.region_url} until {done.not_after[:10]}")
