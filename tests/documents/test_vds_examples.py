"""VDS worked examples: BSI TR-03137 annexes C-H and published seals of other implementations."""

from __future__ import annotations

import datetime as dt

import pytest

from edge.documents.certstore import CertificateStore
from edge.documents.result import Check
from edge.documents.vds import decode_header, parse_seal
from edge.documents.vds_gen import encode_header
from tests.documents import vds_support as sup

# BSI TR-03137 part 1 v2.5, annexes C-H (signed by DETS certificates that are not published).
TR_ANNEX_C = (
    "dc026abc6d32c8a519fc0f71341145f4fd020230a5621353d9a275735bd4134bc549133c133c133c133c"
    "133ca32519a519a4344a5e681ae7204b20d532cf4b7c133c133f030820d5201019a51aeaff404a1f218c"
    "a4392647ecff6c8abf9e796a78eebe0b1ac8cc25c4ee17eed961d1189091358d7d616f1a517abc747f6c"
    "4490ff159d4dcf50248b00b1e32e9e7805e7"
)
TR_ANNEX_D = (
    "dc026abc6d32c8a519fc0f7134116d04fc0401083fee456d2de019a8020b506572736368776569c39f03"
    "054f7363617204134ac3a2636f62c3a96e69646963747572697573ff40582ed05cb05049b4fe49744d5e"
    "70a1982f8b7afb1e90259ce47ba9907efcf59483f0a0b421ec760d6fd2284bbac37e136f1e3be6e14a6f"
    "6bc012110cff919d0f"
)
TR_ANNEX_E = (
    "dc036abc6d32c8a727390f71341145f4fb0602305cba135875976ec066d417b59e8c6abc133c133c133c"
    "133c3fef3a2938ee43f1593d1ae52dbb26751fe64b7c133c136b0306d79519a65306ff40158cf5b0bb7f"
    "bda099e8e7c94abefc9677b2e71e9885f5cd9057a8bfcf930a6046bcf897650af8f9b0343c034d2f64ce"
    "081f95fbf3d01292d1f8165ece27d327"
)
TR_ANNEX_F = (
    "dc036abc6d32c8a72cb10f7134b798155d01022cdd52134a74da1347c6fed95cb89f9fce133c133c133c"
    "133c203833734aaf47f0c32f1a1e20eb2625393afe310403a00000050633be1fed20c6ff38d5573247608c"
    "9b64cae022c1c5249660e51ae316d600f974aac2129c3f093c35955314026304705cd24c1b8100711bd4"
    "411f068e8d93e8b7"
)
TR_ANNEX_G = (
    "dc036abc6d32c8a72cb10f7135b79815f9080106cf3519af974c02061a70208519a10310395e26b3d9a2"
    "75735bd4cd485ca17176ff389101f305c9aa04d2ab00212c7cf65fefcaaf565a54538b2498d681a18839"
    "c92656526c40594b0b1da12a27f687a3501278dc4145b6e64afc"
)
TR_ANNEX_H = (
    "dc036abc6d32c8a72cb10f7135b79815f80a0106b77a38e596ce02061a203a4d1fe1030426532081ff38"
    "1462bcfef51ad1b8d09de328b15c5435e64829ce548647dd579787169624a046738dc5023708319a4294"
    "811131eaac58d518cfe98b431437"
)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1 :]


# --- header ---------------------------------------------------------------------------------


def test_tr03137_annex_c_header_vector() -> None:
    header = decode_header(bytes.fromhex("DC 02 6A BC 6D 32 C8 A5 19 FC 0F 71 34 11 45 F4 FD 02"))
    assert header.version == 3
    assert header.issuing_country == "D<<"
    assert (header.signer_id, header.cert_reference) == ("DETS", "00027")
    assert header.issue_date == dt.date(2020, 1, 1)
    assert header.signature_date == dt.date(2020, 1, 13)
    assert (header.feature_reference, header.category, header.length) == (253, 2, 18)


def test_version_4_header_has_a_variable_certificate_reference() -> None:
    header = decode_header(bytes.fromhex(TR_ANNEX_F)[:18])
    assert (header.version, header.signer_id, header.cert_reference) == (4, "DETS", "32")
    assert header.signature_date == dt.date(2021, 12, 3)
    assert (header.feature_reference, header.category) == (0x5D, 0x01)
    long_reference = encode_header(
        version=4,
        issuing_country="UTO",
        signer_id="UTTS",
        cert_reference="00ABCDEF12",
        issue_date=sup.ISSUE,
        signature_date=sup.SIGNED,
        feature_reference=1,
        category=1,
    )
    assert decode_header(long_reference).cert_reference == "00ABCDEF12"


# --- BSI TR-03137 worked examples (structure; their DETS certificates are not published) -----


def test_tr03137_annex_c_arrival_attestation() -> None:
    result = parse_seal(TR_ANNEX_C)
    assert result.format == "vds"
    assert result.fields["profile"] == "bsi_arrival_attestation"
    assert result.fields["features"] == {
        "mrz": ["MED<<MUSTERMANN<<ERIK<<<<<<<<<<<<<<<", "M0000000<4ALB0308212M1604128<<<<<<<2"],
        "azr_number": "160113000085",
    }
    assert result.fields["signature_verdict"] == "signer_unknown"
    assert result.checks["structure"] is Check.PASSED
    assert result.checks["signature"] is Check.UNDETERMINED
    assert not result.valid
    assert [w.code for w in result.warnings] == ["vds.signer.no_store"]


def test_tr03137_annex_d_social_insurance_card_utf8_names() -> None:
    result = parse_seal(TR_ANNEX_D)
    assert result.fields["signature_date"] == "2020-01-14"
    assert result.fields["features"] == {
        "social_insurance_number": "65170839J003",
        "surname": "Perschweiß",
        "first_name": "Oscar",
        "birth_name": "Jâcobénidicturius",
    }


def test_tr03137_annex_e_residence_permit() -> None:
    result = parse_seal(TR_ANNEX_E)
    assert result.fields["cert_reference"] == "27"
    assert result.fields["features"]["passport_number"] == "UFO001979"
    assert result.fields["features"]["mrz"][1] == "6525845096USA7008038M2201018<<<<<<06"


def test_tr03137_annex_f_visa() -> None:
    result = parse_seal(TR_ANNEX_F, certs=CertificateStore())
    assert result.fields["profile"] == "icao_visa"
    assert result.fields["features"] == {
        "mrz_mrv_b": [
            "VCD<<DENT<<ARTHUR<PHILIP<<<<<<<<<<<<",
            "1234567XY7GBR5203116M2005250<<<<<<<<",
        ],
        "duration_of_stay": {"days": 160, "months": 0, "years": 0},
        "passport_number": "47110815P",
    }
    assert result.fields["signature_verdict"] == "signer_unknown"
    assert [w.code for w in result.warnings] == ["vds.signer.unknown"]


def test_tr03137_annex_g_and_h_stickers() -> None:
    address = parse_seal(TR_ANNEX_G).fields["features"]
    assert address["municipality_code"] == "05314000"
    assert address["residential_address"] == "53123MUSTERMANNSTRASSE21"
    residence = parse_seal(TR_ANNEX_H).fields["features"]
    assert residence == {
        "document_number": "PA5500K11",
        "municipality_code": "03359010",
        "postal_code": "21614",
    }


# --- published seals with a known signer key --------------------------------------------------


@pytest.fixture(scope="module")
def utts5b_store() -> CertificateStore:
    return CertificateStore([sup.utts5b_certificate()])


@pytest.mark.parametrize("name", sorted(sup.PUBLISHED_SEALS))
def test_published_seals_verify(name: str, utts5b_store: CertificateStore) -> None:
    result = parse_seal(sup.PUBLISHED_SEALS[name], certs=utts5b_store)
    assert result.valid, result.errors
    assert result.fields["signature_verdict"] == "valid"
    assert result.checks["signature"] is Check.PASSED
    assert result.checks["certificate_validity"] is Check.PASSED
    assert result.checks["certificate_chain"] is Check.UNDETERMINED  # CSCA not in the store
    assert result.fields["signer_id"] == "UTTS"
    assert result.fields["profile"] is not None
    assert result.fields["unknown_features"] == []
    assert not result.errors
    assert not result.warnings


def test_published_visa_decodes_every_visa_feature(utts5b_store: CertificateStore) -> None:
    result = parse_seal(sup.PUBLISHED_SEALS["visa_v4"], certs=utts5b_store)
    assert result.fields["features"]["number_of_entries"] == 12
    assert result.fields["features"]["visa_type"] == "AA"
    assert result.fields["features"]["additional_feature"] == "BB"


@pytest.mark.parametrize("index", [0x05, 0x10, 0x13, 0x20, -1, -40])
def test_published_seal_with_a_flipped_byte_is_invalid(
    index: int, utts5b_store: CertificateStore
) -> None:
    data = bytes.fromhex(sup.PUBLISHED_SEALS["emergency_travel_document_v4"])
    result = parse_seal(_flip(data, index % len(data)), certs=utts5b_store)
    assert not result.valid
    assert result.fields["signature_verdict"] != "valid"


def test_published_v3_and_v4_references_name_the_same_certificate(
    utts5b_store: CertificateStore,
) -> None:
    v3 = parse_seal(sup.PUBLISHED_SEALS["arrival_attestation_v3"], certs=utts5b_store)
    v4 = parse_seal(sup.PUBLISHED_SEALS["residence_permit_v4"], certs=utts5b_store)
    assert (v3.fields["cert_reference"], v4.fields["cert_reference"]) == ("0005B", "5B")
    assert v3.valid and v4.valid


def test_results_serialise_to_json(utts5b_store: CertificateStore) -> None:
    import msgspec

    result = parse_seal(sup.PUBLISHED_SEALS["social_insurance_v3"], certs=utts5b_store)
    decoded = msgspec.json.decode(msgspec.json.encode(result))
    assert decoded["fields"]["features"]["surname"] == "Perschweiß"
    assert decoded["checks"]["signature"] == "passed"
