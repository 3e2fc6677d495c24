"""Local store of seal signer certificates (and the CSCA certificates that issued them).

Naming rule (BSI TR-03137 signer certificate profile, ICAO Doc 9303 part 13): a seal header names
its signer as a 4-character signer identifier (ISO 3166-1 alpha-2 country + 2 characters) and a
certificate reference written in hex. The matching certificate has subject countryName = the
country, subject commonName = the 2 remaining characters (a 4-character commonName equal to the
whole identifier is accepted too) and serialNumber = the reference read as a hex number. Hence
`DETS00027` (version 3) and `DETS` + `27` (version 4) both name the certificate C=DE, CN=TS,
serial 0x27. The lookup key is the identifier followed by the serial in upper-case hex without
leading zeros (`DETS27`).

Where real-world certificates do not follow that rule, `signers.toml` in the store directory
maps header names to files explicitly::

    [signers]
    DETS00027 = "de-visa-signer-2021.der"

`from_dir` is the only function here that does I/O.
"""

from __future__ import annotations

import contextlib
import tomllib
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from edge.documents.result import Check
from edge.errors import ConfigError

__all__ = [
    "MAPPING_FILE",
    "CertificateStore",
    "certificate_name",
    "certificate_signer",
    "checked",
    "load_der",
    "load_pem",
    "signer_from_subject",
    "signer_name",
]

MAPPING_FILE = "signers.toml"
_CERT_SUFFIXES = frozenset({".der", ".cer", ".crt", ".pem"})


def checked(certificate: x509.Certificate) -> x509.Certificate:
    """Parse the lazily decoded parts a verifier reads; ValueError when any of them is malformed."""
    certificate.subject.rfc4514_string()
    certificate.issuer.rfc4514_string()
    _ = certificate.serial_number, certificate.not_valid_before_utc, certificate.not_valid_after_utc
    return certificate


def load_der(data: bytes) -> x509.Certificate:
    """A DER certificate with its lazily parsed parts checked; ValueError when malformed.

    cryptography only warns about some RFC 5280 violations (e.g. a non-positive serial);
    a certificate from a seal or a file is untrusted input, so those are errors here.
    """
    with _strict():
        return checked(x509.load_der_x509_certificate(data))


def load_pem(data: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle, checked as `load_der` does."""
    with _strict():
        return [checked(c) for c in x509.load_pem_x509_certificates(data)]


@contextlib.contextmanager
def _strict() -> Iterator[None]:
    """RFC 5280 violations cryptography only warns about, or meets late, become ValueError."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", CryptographyDeprecationWarning)
        try:
            yield
        except (CryptographyDeprecationWarning, TypeError) as exc:
            # TypeError: a name attribute of the wrong ASN.1 type, found when it is decoded.
            raise ValueError("the certificate violates RFC 5280") from exc


def signer_name(signer_id: str, cert_reference: str) -> str:
    """Lookup key for a header's signer identifier and certificate reference."""
    reference = cert_reference.strip().upper()
    with contextlib.suppress(ValueError):  # not hex: only an explicit mapping can name it
        reference = f"{int(reference, 16):X}"
    return signer_id.strip().upper() + reference


def certificate_signer(certificate: x509.Certificate) -> tuple[str, str] | None:
    """Signer id and certificate reference (hex serial) a certificate answers to, if any."""
    signer = signer_from_subject(
        _attribute(certificate.subject, NameOID.COUNTRY_NAME),
        _attribute(certificate.subject, NameOID.COMMON_NAME),
    )
    return None if signer is None else (signer, f"{certificate.serial_number:X}")


def signer_from_subject(country: str | None, common_name: str | None) -> str | None:
    """Signer id from a subject's countryName and commonName, or None if they do not form one."""
    if country is None or common_name is None:
        return None
    country, common_name = country.upper(), common_name.upper()
    if len(country) == 2 and len(common_name) == 2:
        return country + common_name
    if len(common_name) == 4 and common_name.startswith(country):
        return common_name
    return None


def certificate_name(certificate: x509.Certificate) -> str | None:
    """Lookup key derived from a certificate's subject C, CN and serial, or None if it has none."""
    signer = certificate_signer(certificate)
    return None if signer is None else signer[0] + signer[1]


class CertificateStore:
    """Signer and CSCA certificates, looked up by a seal's signer id and certificate reference."""

    def __init__(
        self,
        certificates: Iterable[x509.Certificate] = (),
        *,
        aliases: Mapping[str, x509.Certificate] | None = None,
    ) -> None:
        self._certificates: list[x509.Certificate] = []
        self._by_name: dict[str, list[x509.Certificate]] = {}
        for certificate in certificates:
            self._add(certificate)
        for name, certificate in (aliases or {}).items():
            self._add(certificate)
            self._index(_alias_key(name), certificate)

    @classmethod
    def from_dir(cls, path: Path) -> CertificateStore:
        """Load every `.der`, `.cer`, `.crt` and `.pem` file of a directory, and `signers.toml`."""
        try:
            entries = sorted(path.iterdir())
        except OSError as exc:
            expected = f"a readable directory of certificates ({exc})"
            raise ConfigError(str(path), "", expected) from exc
        certificates: list[x509.Certificate] = []
        for entry in entries:
            if entry.suffix.lower() in _CERT_SUFFIXES and entry.is_file():
                certificates.extend(_load_file(entry))
        aliases: dict[str, x509.Certificate] = {}
        mapping = path / MAPPING_FILE
        if mapping.exists():
            for name, file_name in _read_mapping(mapping).items():
                target = path / file_name
                if Path(file_name).name != file_name or not target.is_file():
                    raise ConfigError(
                        str(mapping), f"signers.{name}", "an existing file in the store directory"
                    )
                loaded = _load_file(target)
                aliases[name] = loaded[0]
        return cls(certificates, aliases=aliases)

    def __len__(self) -> int:
        return len(self._certificates)

    def lookup(self, signer_id: str, cert_reference: str) -> tuple[x509.Certificate, ...]:
        """Certificates named by a seal header (usually one; empty when the signer is unknown)."""
        return tuple(self._by_name.get(signer_name(signer_id, cert_reference), ()))

    def check_chain(self, certificate: x509.Certificate) -> Check:
        """Whether a CSCA certificate of this store signed `certificate` (one level, no CRLs).

        PASSED: an issuer in the store verifies its signature; FAILED: issuers with that name are
        present but none verifies; UNDETERMINED: the issuer is not in the store, or the
        certificate is self-issued (a signer certificate is never its own CSCA).
        """
        if certificate.issuer == certificate.subject:
            return Check.UNDETERMINED
        issuers = [c for c in self._certificates if c.subject == certificate.issuer]
        if not issuers:
            return Check.UNDETERMINED
        for issuer in issuers:
            try:
                certificate.verify_directly_issued_by(issuer)
            except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
                continue
            return Check.PASSED
        return Check.FAILED

    def _add(self, certificate: x509.Certificate) -> None:
        checked(certificate)
        if certificate in self._certificates:
            return
        self._certificates.append(certificate)
        name = certificate_name(certificate)
        if name is not None:
            self._index(name, certificate)

    def _index(self, name: str, certificate: x509.Certificate) -> None:
        bucket = self._by_name.setdefault(name, [])
        if certificate not in bucket:
            bucket.append(certificate)


def _alias_key(name: str) -> str:
    # An alias is written as the header shows it: 4-character signer id, then the reference.
    name = name.strip().upper()
    return signer_name(name[:4], name[4:])


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("latin-1")


def _load_file(path: Path) -> list[x509.Certificate]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), "", f"a readable certificate file ({exc})") from exc
    try:
        if b"-----BEGIN" in data:
            return load_pem(data)
        return [load_der(data)]
    except (ValueError, x509.InvalidVersion) as exc:
        raise ConfigError(str(path), "", "a DER or PEM X.509 certificate") from exc


def _read_mapping(path: Path) -> dict[str, str]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(path), "", f"a readable TOML file ({exc})") from exc
    table = document.get("signers", {})
    if not isinstance(table, dict):
        raise ConfigError(str(path), "signers", "a table of signer names to certificate files")
    out: dict[str, str] = {}
    for name, file_name in table.items():
        if not isinstance(file_name, str) or len(name) < 5:
            raise ConfigError(
                str(path), f"signers.{name}", "signer id + certificate reference = a file name"
            )
        out[name] = file_name
    return out
