"""Property tests: arbitrary and mutated input never escapes as an exception, never verifies."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from edge.documents.certstore import CertificateStore
from edge.documents.result import ParseResult
from edge.documents.vds import parse_seal
from edge.documents.vds_gen import sign_vdsnc
from edge.documents.vdsnc import b64url_decode
from edge.errors import DocumentError
from tests.documents import vds_support as sup

_KEY, _CERT = sup.signer(ec.BrainpoolP256R1())
_STORE = CertificateStore([_CERT, sup.utts5b_certificate()])
_SEAL = sup.visa_seal(_KEY, extra=[(0x42, b"\x00" * 130)])
_SEAL_V3 = sup.visa_seal(_KEY, version=3, reference="0005B")
_NC = sign_vdsnc(
    {"hdr": {"t": "icao.test", "v": 1, "is": "UTO"}, "msg": {"utci": "U1", "n": [1.5, None]}},
    _KEY,
    _CERT,
)
_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(result: ParseResult) -> None:
    assert isinstance(result, ParseResult)
    assert result.format in {"vds", "vds_nc"}
    assert result.fields["signature_verdict"] in {
        "valid",
        "invalid",
        "signer_unknown",
        "unsupported_curve",
        "no_signature",
    }
    assert result.valid == (not result.errors and result.fields["signature_verdict"] == "valid")
    for issue in result.errors + result.warnings:
        assert issue.column is None or issue.column >= 1


def test_fixtures_verify() -> None:
    for data in (_SEAL, _SEAL_V3, _NC):
        assert parse_seal(data, certs=_STORE).valid


@_FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _check(parse_seal(data, certs=_STORE))


@_FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_after_the_magic(data: bytes) -> None:
    for version in (b"\x02", b"\x03"):
        result = parse_seal(b"\xdc" + version + data, certs=_STORE)
        _check(result)
        assert not result.valid


@_FUZZ
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    _check(parse_seal(text, certs=_STORE))


_MUTATION = st.tuples(
    st.sampled_from(["flip", "delete", "insert", "truncate"]),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=1, max_value=255),
)


def _mutate(data: bytes, mutation: tuple[str, int, int]) -> bytes:
    kind, where, value = mutation
    index = where % len(data)
    if kind == "flip":
        return data[:index] + bytes((data[index] ^ value,)) + data[index + 1 :]
    if kind == "delete":
        return data[:index] + data[index + 1 :]
    if kind == "insert":
        return data[:index] + bytes((value,)) + data[index:]
    return data[:index]


@_FUZZ
@given(st.sampled_from([_SEAL, _SEAL_V3]), st.lists(_MUTATION, min_size=1, max_size=3))
def test_mutated_seals_never_verify(seal: bytes, mutations: list[tuple[str, int, int]]) -> None:
    data = seal
    for mutation in mutations:
        data = _mutate(data, mutation) or b"\xdc"
    for form in (data, data.hex()):
        result = parse_seal(form, certs=_STORE)
        _check(result)
        if data != seal and not data.startswith(seal):
            assert not result.valid


@_FUZZ
@given(st.lists(_MUTATION, min_size=1, max_size=3))
# A flip that leaves the embedded certificate with a non-positive serial number.
@example(mutations=[("flip", 1400, 1)])
def test_mutated_vdsnc_never_verifies(mutations: list[tuple[str, int, int]]) -> None:
    data = _NC.encode("utf-8")
    for mutation in mutations:
        data = _mutate(data, mutation) or b"{"
    result = parse_seal(data, certs=_STORE)
    _check(result)
    if result.valid:
        # Only changes outside `data` and the signature itself (e.g. JSON layout) may still verify.
        original = json.loads(_NC)
        changed = json.loads(data)
        assert changed["data"] == original["data"]


@_FUZZ
@given(st.lists(_MUTATION, min_size=1, max_size=3))
def test_mutated_embedded_certificates_are_handled(mutations: list[tuple[str, int, int]]) -> None:
    document = json.loads(_NC)
    der = b64url_decode(document["sig"]["cer"])
    for mutation in mutations:
        der = _mutate(der, mutation) or b"\x30"
    document["sig"]["cer"] = base64.urlsafe_b64encode(der).decode("ascii")
    result = parse_seal(json.dumps(document), certs=_STORE)
    _check(result)
    assert result.fields["signature_verdict"] != "no_signature"


def test_certificate_with_an_impossible_version_is_read_leniently() -> None:
    document = json.loads(_NC)
    der = b64url_decode(document["sig"]["cer"])
    assert b"\xa0\x03\x02\x01\x02" in der
    der = der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x21", 1)
    document["sig"]["cer"] = base64.urlsafe_b64encode(der).decode("ascii")
    result = parse_seal(json.dumps(document), certs=_STORE)
    assert result.valid
    assert "vdsnc.certificate.lenient" in [w.code for w in result.warnings]


@pytest.mark.parametrize("data", [None, 1, 1.5, bytearray(b"\xdc"), memoryview(b"\xdc"), [b"\xdc"]])
def test_only_non_bytes_non_text_raises(data: object) -> None:
    with pytest.raises(DocumentError):
        parse_seal(data)  # type: ignore[arg-type]  # the wrong type is the point of the test


def test_certificate_name_of_the_wrong_asn1_type_is_a_result() -> None:
    """A countryName encoded as a BIT STRING (found by fuzzing) makes cryptography raise
    TypeError when the name is decoded; the certificate is then read leniently, not escape."""
    document = json.loads(_NC)
    der = b64url_decode(document["sig"]["cer"])
    country_printable = b"\x06\x03\x55\x04\x06\x13"  # OID 2.5.4.6, PrintableString
    assert country_printable in der
    der = der.replace(country_printable, b"\x06\x03\x55\x04\x06\x03", 1)  # BIT STRING
    document["sig"]["cer"] = base64.urlsafe_b64encode(der).decode("ascii").rstrip("=")
    result = parse_seal(json.dumps(document), certs=_STORE)
    _check(result)
    codes = [w.code for w in result.warnings]
    assert "vdsnc.certificate.lenient" in codes
    assert "vdsnc.certificate.untrusted" in codes  # never trusted, whatever the signature says
