"""VDS decoding and verification of generated seals: curves, verdicts, structure, inputs."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from edge.documents import c40
from edge.documents.certstore import CertificateStore
from edge.documents.result import Check, ParseResult
from edge.documents.vds import SealFormatError, decode_header, parse_seal
from edge.documents.vds_gen import build_seal, encode_feature, encode_header, signature_zone
from edge.errors import DocumentError
from tests.documents import vds_support as sup


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1 :]


# --- header ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hex_data", "code", "column"),
    [
        ("DB026ABC6D32C8A519FC0F71341145F4FD02", "vds.header.magic", 1),
        ("DC046ABC6D32C8A519FC0F71341145F4FD02", "vds.header.version", 2),
        ("DC026ABC6D32C8A519FC0F71", "vds.truncated", 11),
        ("DC020000", "vds.header.c40", 3),
        ("DC026ABC6D32C8A519FCFFFFFF1145F4FD02", "vds.header.date", 11),
        ("DC036ABC6D32C8A7", "vds.truncated", 9),
        ("DC036ABC6D32CE40", "vds.header.signer", 5),
    ],
)
def test_malformed_headers_are_rejected_with_a_reason(
    hex_data: str, code: str, column: int
) -> None:
    with pytest.raises(SealFormatError) as info:
        decode_header(bytes.fromhex(hex_data))
    assert info.value.code == code
    result = parse_seal(bytes.fromhex(hex_data)) if hex_data.startswith("DC") else None
    if result is not None:
        assert not result.valid
        assert result.errors[0].code == code
        assert result.errors[0].column == column
        assert result.fields["signature_verdict"] == "no_signature"
        assert result.checks["structure"] is Check.FAILED


# --- generated seals --------------------------------------------------------------------------

CURVES = [
    ec.SECP256R1(),
    ec.BrainpoolP256R1(),
    ec.SECP224R1(),
    ec.SECP384R1(),
    ec.BrainpoolP384R1(),
    ec.BrainpoolP512R1(),
    ec.SECP521R1(),
]


@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize("curve", CURVES, ids=lambda curve: curve.name)
def test_generated_seal_verifies_and_tampering_is_detected(
    curve: ec.EllipticCurve, version: int
) -> None:
    key, cert = sup.signer(curve)
    seal = sup.visa_seal(key, version=version)
    store = CertificateStore([cert])
    result = parse_seal(seal, certs=store)
    assert result.valid, result.errors
    assert result.fields["version"] == version
    assert result.fields["features"]["mrz_mrv_b"] == list(sup.VISA_MRZ_B)
    assert result.fields["features"]["passport_number"] == "L898902C "
    for index in (2, 20, 40, len(seal) - 1):
        tampered = parse_seal(_flip(seal, index), certs=store)
        assert not tampered.valid
        assert tampered.fields["signature_verdict"] != "valid"
    invalid = parse_seal(_flip(seal, len(seal) - 10), certs=store)
    assert invalid.fields["signature_verdict"] == "invalid"
    assert invalid.checks["signature"] is Check.FAILED
    assert [e.code for e in invalid.errors] == ["vds.signature.invalid"]


def test_signer_missing_from_the_store_is_unknown() -> None:
    key, _ = sup.signer(ec.SECP256R1())
    _, other = sup.signer(ec.SECP256R1(), serial=0x5C)
    result = parse_seal(sup.visa_seal(key), certs=CertificateStore([other]))
    assert result.fields["signature_verdict"] == "signer_unknown"
    assert result.checks["signature"] is Check.UNDETERMINED
    assert not result.valid
    assert not result.errors
    assert [w.code for w in result.warnings] == ["vds.signer.unknown"]


def test_certificate_with_the_right_name_but_another_key_gives_invalid() -> None:
    key, _ = sup.signer(ec.SECP256R1())
    _, impostor = sup.signer(ec.SECP256R1())
    result = parse_seal(sup.visa_seal(key), certs=CertificateStore([impostor]))
    assert result.fields["signature_verdict"] == "invalid"


def test_curve_doc_9303_does_not_allow_is_unsupported() -> None:
    key, cert = sup.signer(ec.SECP256K1())
    result = parse_seal(sup.visa_seal(key), certs=CertificateStore([cert]))
    assert result.fields["signature_verdict"] == "unsupported_curve"
    assert result.checks["signature"] is Check.NOT_SUPPORTED
    assert not result.valid
    assert "secp256k1" in result.warnings[0].message


def test_ed25519_signer_is_unsupported() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    cert = sup.certificate(key.public_key(), sup.name("UT", "TS"), 0x5B, key)
    header = encode_header(
        version=4,
        issuing_country="UTO",
        signer_id="UTTS",
        cert_reference="5B",
        issue_date=sup.ISSUE,
        signature_date=sup.SIGNED,
        feature_reference=0x5D,
        category=0x01,
    )
    unsigned = header + b"".join(encode_feature(t, v) for t, v in sup.visa_features())
    seal = unsigned + signature_zone(key.sign(unsigned))
    result = parse_seal(seal, certs=CertificateStore([cert]))
    assert result.fields["signature_verdict"] == "unsupported_curve"
    assert result.checks["signature"] is Check.NOT_SUPPORTED


def test_unknown_tags_are_kept_raw_and_do_not_invalidate_a_verified_seal() -> None:
    key, cert = sup.signer(ec.BrainpoolP256R1())
    seal = sup.visa_seal(key, extra=[(0x42, b"\x01\x02"), (0xFE, b"")])
    result = parse_seal(seal, certs=CertificateStore([cert]))
    assert result.valid
    assert result.fields["unknown_features"] == [
        {"tag": 0x42, "value": "0102"},
        {"tag": 0xFE, "value": ""},
    ]


def test_unknown_profile_keeps_every_feature_raw() -> None:
    key, cert = sup.signer(ec.SECP256R1())
    header = encode_header(
        version=4,
        issuing_country="UTO",
        signer_id="UTTS",
        cert_reference="5B",
        issue_date=sup.ISSUE,
        signature_date=sup.SIGNED,
        feature_reference=0x01,
        category=0x7F,
    )
    result = parse_seal(build_seal(header, [(0x01, b"\xaa")], key), certs=CertificateStore([cert]))
    assert result.valid
    assert result.fields["profile"] is None
    assert result.fields["features"] == {}
    assert result.fields["unknown_features"] == [{"tag": 1, "value": "AA"}]
    assert [w.code for w in result.warnings] == ["vds.profile.unknown"]


def test_long_feature_uses_der_length_in_version_4_and_one_byte_in_version_3() -> None:
    key, cert = sup.signer(ec.SECP256R1())
    big = bytes(range(200))
    store = CertificateStore([cert])
    v4 = sup.visa_seal(key, extra=[(0x42, big)])
    assert bytes((0x42, 0x81, 200)) in v4
    v3 = sup.visa_seal(key, version=3, reference="0005B", extra=[(0x42, big)])
    assert bytes((0x42, 200)) + big[:4] in v3
    for seal in (v3, v4):
        result = parse_seal(seal, certs=store)
        assert result.valid
        assert result.fields["unknown_features"][0]["value"] == big.hex().upper()


def test_missing_required_features_are_warned() -> None:
    key, cert = sup.signer(ec.SECP256R1())
    header = sup.visa_seal(key)[:18]
    seal = build_seal(header, [(0x04, bytes((30, 0, 0)))], key)
    result = parse_seal(seal, certs=CertificateStore([cert]))
    assert result.valid
    codes = [w.code for w in result.warnings]
    assert codes == ["vds.feature.missing", "vds.feature.missing"]


def test_malformed_known_feature_is_a_structure_error_located_by_column() -> None:
    key, cert = sup.signer(ec.SECP256R1())
    header = sup.visa_seal(key)[:18]
    mrz = c40.encode(sup.VISA_MRZ_B[0] + sup.VISA_MRZ_B[1][:28])
    seal = build_seal(header, [(0x02, mrz[:-2]), (0x05, b"\x00\x00")], key)
    result = parse_seal(seal, certs=CertificateStore([cert]))
    assert result.fields["signature_verdict"] == "valid"
    assert not result.valid
    assert result.checks["structure"] is Check.FAILED
    codes = [(e.code, e.column) for e in result.errors]
    assert codes == [("vds.feature.length", 19), ("vds.feature.encoding", 19 + 2 + 42)]
    assert result.fields["features"]["passport_number"] is None


# --- message and signature zone structure ---------------------------------------------------


def _generated() -> tuple[bytes, CertificateStore]:
    key, cert = sup.signer(ec.SECP256R1())
    return sup.visa_seal(key), CertificateStore([cert])


def test_seal_without_signature_zone() -> None:
    seal, store = _generated()
    unsigned = seal[: seal.rindex(b"\xff\x40")]
    result = parse_seal(unsigned, certs=store)
    assert result.fields["signature_verdict"] == "no_signature"
    assert result.checks["signature"] is Check.FAILED
    assert [e.code for e in result.errors] == ["vds.signature.missing"]
    assert result.fields["features"]["passport_number"] == "L898902C "


def test_truncated_seals_are_structure_errors() -> None:
    seal, store = _generated()
    short_signature = parse_seal(seal[:-1], certs=store)
    assert [e.code for e in short_signature.errors] == ["vds.signature.truncated"]
    assert short_signature.fields["signature_verdict"] == "invalid"
    short_feature = parse_seal(seal[:30], certs=store)
    assert [e.code for e in short_feature.errors] == ["vds.message.truncated"]
    assert short_feature.errors[0].column == 19
    assert short_feature.fields["signer_id"] == "UTTS"  # the header is still reported


def test_empty_message_zone_is_an_error() -> None:
    key, cert = sup.signer(ec.SECP256R1())
    seal = build_seal(sup.visa_seal(key)[:18], [], key)
    result = parse_seal(seal, certs=CertificateStore([cert]))
    assert result.fields["signature_verdict"] == "valid"
    assert "vds.message.empty" in [e.code for e in result.errors]
    assert not result.valid


def test_trailing_bytes_after_the_signature_are_warned() -> None:
    seal, store = _generated()
    result = parse_seal(seal + b"\x81\x81", certs=store)
    assert result.valid
    assert [w.code for w in result.warnings] == ["vds.signature.trailing_data"]
    assert result.warnings[0].column == len(seal) + 1


def test_wrong_signature_length_is_invalid() -> None:
    seal, store = _generated()
    unsigned = seal[: seal.rindex(b"\xff\x40")]
    result = parse_seal(unsigned + signature_zone(bytes(62)), certs=store)
    assert result.fields["signature_verdict"] == "invalid"


# --- inputs ---------------------------------------------------------------------------------


def test_hex_text_in_any_case_and_layout_is_accepted() -> None:
    seal, store = _generated()
    hex_text = seal.hex()
    spaced = " ".join(hex_text[i : i + 2] for i in range(0, len(hex_text), 2))
    for variant in (hex_text.upper(), spaced, f"\n{hex_text}\n", hex_text.encode("ascii")):
        assert parse_seal(variant, certs=store).valid


def test_seal_bytes_carried_in_latin1_text_are_accepted_unstripped() -> None:
    key, cert = sup.signer(ec.SECP256R1())
    store = CertificateStore([cert])
    seal = sup.visa_seal(key)
    while seal[-1] not in b" \t\n\r\x85\xa0":  # a signature that ends in "whitespace"
        seal = sup.visa_seal(key)
    assert parse_seal(seal.decode("latin-1"), certs=store).valid
    assert not parse_seal("\xdc\u0100", certs=store).valid


@pytest.mark.parametrize(
    "data",
    ["", "   ", "hello", "abc", "0102", b"\x00\x01", b"\xff\xfe\xfd", "DC0", "\u0100DC"],
)
def test_other_input_is_an_invalid_result(data: bytes | str) -> None:
    result = parse_seal(data)
    assert isinstance(result, ParseResult)
    assert not result.valid
    assert result.errors
    assert result.fields["signature_verdict"] == "no_signature"


@pytest.mark.parametrize("data", [None, 42, bytearray(b"\xdc\x03"), ["\xdc"]])
def test_input_that_is_neither_bytes_nor_text_raises(data: object) -> None:
    with pytest.raises(DocumentError):
        parse_seal(data)  # type: ignore[arg-type]  # the wrong type is the point of the test


def test_messages_never_carry_the_holder_data() -> None:
    key, cert = sup.signer(ec.SECP256R1())
    seal = sup.visa_seal(key)
    results = [
        parse_seal(seal[: len(seal) - 5], certs=CertificateStore([cert])),
        parse_seal(_flip(seal, 30), certs=CertificateStore([cert])),
        parse_seal(seal[:60]),
        parse_seal(seal.hex()[:-1]),
    ]
    # VDS-NC: the document's own text in the header and message must not be quoted either.
    results.append(parse_seal('{"data":{"hdr":{"t":"ERIKSSON ANNA L898902C3","v":1}}}'))
    results.append(parse_seal('{"data":{"hdr":{"t":"x","v":1,"is":"UTO"},"msg":"ANNA"}}'))
    assert any(result.warnings or result.errors for result in results[-2:])
    for result in results:
        for issue in result.errors + result.warnings:
            for secret in ("ERIKSSON", "ANNA", "L898902C", "7408122"):
                assert secret not in issue.message
