"""The region's certificate authority: what enrollment signs with, kept in the region directory.

    <region>/ca.pem, ca.key (0600)          the region CA (ECDSA P-256)
    <region>/server.pem, server.key (0600)  the receiver's TLS certificate, issued by the CA
    <region>/enroll.db                      one-time enrollment tokens (`receiver.tokens`)
    <region>/trusted/<workstation>.pem      the enrolled workstations' Ed25519 public keys
    <region>/trusted/retired/               keys they enrolled before (`receiver.trust`)
    <region>/trusted/replaced/              which key replaced which (`receiver.trust`)

Workstations pin the region CA for the server's certificate and present a client certificate
the same CA issued at enrollment, with their workstation id as its common name. Operators (the
systems that read the records) present one with the organizational unit `operators`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from receiver import SetupError

CA_CERT, CA_KEY = "ca.pem", "ca.key"
SERVER_CERT, SERVER_KEY = "server.pem", "server.key"
TOKENS_DB = "enroll.db"
TRUSTED = "trusted"
CA_DAYS = 3650
SERVER_DAYS = 825
CLIENT_DAYS = 365
OPERATOR_DAYS = 365
# The organizational unit of operator certificates; a workstation's has none.
OPERATOR_UNIT = "operators"
# Certificates start a little in the past: a workstation whose clock lags still accepts them.
BACKDATE = dt.timedelta(minutes=10)


def fingerprint(cert: x509.Certificate) -> str:
    """`sha256:<hex>` of the certificate's DER bytes, as technicians compare it."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def common_name(name: x509.Name) -> str | None:
    """The single common name of a subject, if it has exactly one."""
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(values) != 1 or not isinstance(values[0].value, str):
        return None
    return values[0].value


def write_private(path: Path, data: bytes) -> None:
    """Write a secret atomically, readable by its owner only (0600) from the first byte."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_public(path: Path, data: bytes) -> None:
    """Write a public file atomically (0644), durable (file and directory fsynced) on return."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.fchmod(fd, 0o644)  # whatever the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _subject(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(out)


@dataclass(frozen=True, slots=True)
class Region:
    """A loaded region directory: its CA certificate and key."""

    directory: Path
    ca_cert: x509.Certificate
    ca_key: ec.EllipticCurvePrivateKey

    @property
    def ca_pem(self) -> bytes:
        return _cert_pem(self.ca_cert)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.ca_cert)

    @property
    def trust_dir(self) -> Path:
        return self.directory / TRUSTED

    @property
    def tokens_path(self) -> Path:
        return self.directory / TOKENS_DB

    @property
    def server_files(self) -> tuple[Path, Path]:
        return self.directory / SERVER_CERT, self.directory / SERVER_KEY

    @classmethod
    def load(cls, directory: Path) -> Region:
        """The region in `directory`; SetupError when it was never initialised or is damaged."""
        try:
            cert = x509.load_pem_x509_certificate((directory / CA_CERT).read_bytes())
            key = serialization.load_pem_private_key(
                (directory / CA_KEY).read_bytes(), password=None
            )
        except FileNotFoundError:
            raise SetupError(
                f"{directory}: no region CA; create it with `midas-edge receiver ca init`"
            ) from None
        except (OSError, ValueError) as exc:
            raise SetupError(f"{directory}: the region CA cannot be read ({exc})") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SetupError(f"{directory / CA_KEY}: expected an EC private key")
        (directory / TRUSTED).mkdir(mode=0o755, exist_ok=True)
        return cls(directory, cert, key)

    def _builder(
        self, subject: x509.Name, public: ec.EllipticCurvePublicKey, days: float
    ) -> x509.CertificateBuilder:
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.ca_cert.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                critical=False,
            )
        )

    def issue_client(
        self, workstation: str, public: ec.EllipticCurvePublicKey, days: float = CLIENT_DAYS
    ) -> x509.Certificate:
        """A TLS client certificate for `workstation` (its common name), valid `days`."""
        builder = self._builder(_subject(workstation), public, days).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        return builder.sign(self.ca_key, hashes.SHA256())

    def issue_operator(
        self, name: str, public: ec.EllipticCurvePublicKey, days: float = OPERATOR_DAYS
    ) -> x509.Certificate:
        """A TLS client certificate that reads every workstation's records (`receiver.access`)."""
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, name),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, OPERATOR_UNIT),
            ]
        )
        builder = self._builder(subject, public, days).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        return builder.sign(self.ca_key, hashes.SHA256())

    def issue_server(self, names: Sequence[str], days: float = SERVER_DAYS) -> None:
        """(Re)issue the receiver's TLS certificate for these host names and addresses."""
        if not names:
            raise SetupError("the server certificate needs at least one --name")
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            self._builder(_subject(names[0]), key.public_key(), days)
            .add_extension(_san(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
        cert = builder.sign(self.ca_key, hashes.SHA256())
        cert_path, key_path = self.server_files
        write_private(key_path, pem_key(key))
        write_public(cert_path, _cert_pem(cert))


def init_region(
    directory: Path, names: Sequence[str], *, name: str = "midas-edge region CA"
) -> tuple[Region, bool]:
    """The region in `directory`, created with its CA and server certificate when missing.

    Returns (region, created). An existing CA is never replaced: every workstation pins it.
    """
    if (directory / CA_CERT).exists():
        region = Region.load(directory)
        if not region.server_files[0].exists():
            region.issue_server(names)
        return region, False
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(_subject(name))
        .issuer_name(_subject(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(directory / CA_KEY, pem_key(key))
    write_public(directory / CA_CERT, _cert_pem(ca))
    region = Region.load(directory)
    region.issue_server(names)
    return region, True
