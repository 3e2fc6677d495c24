"""VDS-NC: the ICAO example, published signatures, generated raw and DER signatures, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from edge.documents.certstore import CertificateStore
from edge.documents.result import Check
from edge.documents.vds import parse_seal
from edge.documents.vds_gen import sign_vdsnc
from edge.documents.vdsnc import b64url_decode, parse_vdsnc
from tests.documents import vds_support as sup

# The `data` of the ICAO VDS-NC technical report's vaccination example (UTO specimen holder).
ICAO_EXAMPLE_DATA = (
    '{"hdr":{"t":"icao.vacc","v":1,"is":"UTO"},"msg":{"uvci":"U32870","pid":{"n":"Smith Bill",'
    '"dob":"1990-01-02","sex":"M","i":"A1234567Z","ai":"L4567890Z"},"ve":[{"des":"XM68M6",'
    '"nam":"Comirnaty","dis":"RA01.0","vd":[{"dvc":"2021-03-03","seq":1,"ctr":"UTO","adm":"RIVM",'
    '"lot":"VC35679","dvn":"2021-03-24"},{"dvc":"2021-03-24","seq":2,"ctr":"UTO","adm":"RIVM",'
    '"lot":"VC87540"}]}]}}'
)
# Its signer certificate (C=UT, CN=06, serial 0x68) carries a NULL parameter in its
# ecdsa-with-SHA256 AlgorithmIdentifier, which strict DER parsers refuse.
ICAO_EXAMPLE_CER = (
    "MIIBeTCCAR2gAwIBAgIBaDAMBggqhkjOPQQDAgUAMB0xCzAJBgNVBAYTAlVUMQ4wDAYDVQQDDAVVVCBDQTAeFw0yMTA0"
    "MDcwNDMwMjZaFw0yNjEwMDcwNDMwMjZaMBoxCzAJBgNVBAYTAlVUMQswCQYDVQQDEwIwNjBZMBMGByqGSM49AgEGCCqG"
    "SM49AwEHA0IABI5bRQ3-vabXhHAs2IPi-k9rP_TS2J8aq5fTtUG1iOwXdBxx2n6c38TJ2MzBWT5PHCKVlq5JOCyJ1nDl"
    "CPd1S2yjTzBNMBIGA1UdJQQLMAkGB2eBCAEBDgIwHwYDVR0jBBgwFoAUymyksnX8rywn0RH7nDq-Bs2QOqowFgYHZ4EI"
    "AQEGAgQLMAkCAQAxBBMCTlYwDAYIKoZIzj0EAwIFAANIADBFAiBVaaJVHvWLX756yAGt04C89ZEWGr-BsHDgaRb0EH3d"
    "9gIhAO2UNvLNhEoUWT1I_zj_cG5mh2U-lWCMBUQ3zSQqWUcs"
)
ICAO_EXAMPLE_SIG = (
    "cxfyi2vq2XJfZF7ksEkIZJtKbGrRE570UZc_rNAlpfRHD_Xjq57r2h-QLvd_tCQGitsZevFmB0iXzEFdeeZ4zA=="
)
# The same data signed by the Path-Check/vds-sdk test signer (C=FR, P-256).
PATHCHECK_CER = (
    "MIIBYDCCAQYCEQCAG8uscdLb0ppaneNN5sB7MAoGCCqGSM49BAMCMDIxIzAhBgNVBAMMGk5hdGlvbmFsIENTQ0Egb2Yg"
    "RnJpZXNsYW5kMQswCQYDVQQGEwJGUjAeFw0yMTA0MjcyMDQ3MDVaFw0yNjAzMTIyMDQ3MDVaMDYxJzAlBgNVBAMMHkRT"
    "QyBudW1iZXIgd29ya2VyIG9mIEZyaWVzbGFuZDELMAkGA1UEBhMCRlIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARk"
    "JeqyO85dyR-UrQ5Ey8EdgLyf9NtsCrwORAj6T68_elL19aoISQDbzaNYJjdD77XdHtd-nFGTQVpB88wPTwgbMAoGCCqG"
    "SM49BAMCA0gAMEUCIQDvDacGFQO3tuATpoqf40CBv09nfglL3wh5wBwA1uA7lAIgZ4sOK2iaaTsFNqENAF7zi-d862eP"
    "RQ9Lwymr7XfwVm0="
)
PATHCHECK_RAW_SIG = (
    "ECDS51RInKaFMxE2dQKmE93SinhNBkCNLQeZ9qa5dBgq0ktpPIAXKt4HCY8LxcpRrbJzhBUyuiHwnaHCCiV6ew=="
)
# An older DER signature of that project, made over {"data": ...} instead of data itself.
PATHCHECK_WRONG_INPUT_SIG = (
    "MEUCIQDbdJe3bFL2gK47u4FexuFTtXvXHsuvH1Ngpf-QdmK3YQIgF1chQ52nH7MJDFrmVxM"
    "xVB8l5KEkQqfQl8cexONvSDg"
)

SPECIMEN_DATA: dict[str, Any] = {
    "hdr": {"t": "icao.test", "v": 1, "is": "UTO"},
    "msg": {
        "utci": "U01932",
        "pid": {"n": "ERIKSSON ANNA", "dob": "1974-08-12", "dt": "P", "dn": "L898902C3"},
        "dat": {"sc": "2024-03-01T08:00:00+00:00", "ri": "2024-03-01T14:00:00+00:00"},
        "tr": {"tc": "molecular(PCR)", "r": "negative"},
        "score": 0.5,
    },
}


def _document(data: str, cer: str, sigvl: str, alg: str = "ES256") -> str:
    return f'{{"data":{data},"sig":{{"alg":"{alg}","cer":"{cer}","sigvl":"{sigvl}"}}}}'


def test_icao_technical_report_example_verifies() -> None:
    result = parse_seal(_document(ICAO_EXAMPLE_DATA, ICAO_EXAMPLE_CER, ICAO_EXAMPLE_SIG))
    assert result.format == "vds_nc"
    assert result.valid, result.errors
    assert result.fields["signature_verdict"] == "valid"
    assert result.fields["signature_encoding"] == "raw"
    assert (result.fields["signer_id"], result.fields["cert_reference"]) == ("UT06", "68")
    assert result.fields["type"] == "icao.vacc"
    assert result.fields["issuing_country"] == "UTO"
    assert result.fields["message"]["ve"][0]["vd"][1]["seq"] == 2
    assert [w.code for w in result.warnings] == [
        "vdsnc.certificate.lenient",
        "vdsnc.certificate.untrusted",
    ]
    assert result.checks["certificate_chain"] is Check.UNDETERMINED


def test_icao_example_with_changed_data_is_invalid() -> None:
    changed = ICAO_EXAMPLE_DATA.replace('"seq":2', '"seq":3')
    result = parse_seal(_document(changed, ICAO_EXAMPLE_CER, ICAO_EXAMPLE_SIG))
    assert not result.valid
    assert result.fields["signature_verdict"] == "invalid"
    assert result.checks["signature"] is Check.FAILED


def test_member_order_and_whitespace_do_not_matter() -> None:
    document = json.loads(_document(ICAO_EXAMPLE_DATA, ICAO_EXAMPLE_CER, ICAO_EXAMPLE_SIG))
    data = document["data"]
    reordered = {"msg": dict(reversed(list(data["msg"].items()))), "hdr": data["hdr"]}
    text = json.dumps({"sig": document["sig"], "data": reordered}, indent=2)
    assert parse_seal(text.encode("utf-8")).valid


def test_published_raw_signature_verifies() -> None:
    result = parse_seal(_document(ICAO_EXAMPLE_DATA, PATHCHECK_CER, PATHCHECK_RAW_SIG))
    assert result.valid
    assert result.fields["signer_id"] is None  # its subject does not follow the signer profile
    assert result.fields["signer_certificate"] == "C=FR,CN=DSC number worker of Friesland"


def test_signature_over_the_wrong_bytes_is_invalid() -> None:
    result = parse_seal(_document(ICAO_EXAMPLE_DATA, PATHCHECK_CER, PATHCHECK_WRONG_INPUT_SIG))
    assert result.fields["signature_verdict"] == "invalid"


@pytest.mark.parametrize("der", [False, True])
@pytest.mark.parametrize(
    ("curve", "alg"),
    [(ec.SECP256R1(), "ES256"), (ec.SECP384R1(), "ES384"), (ec.SECP521R1(), "ES512")],
    ids=["ES256", "ES384", "ES512"],
)
def test_generated_signatures_raw_and_der(curve: ec.EllipticCurve, alg: str, der: bool) -> None:
    key, cert = sup.signer(curve, common_name="06", serial=0x68)
    text = sign_vdsnc(SPECIMEN_DATA, key, cert, der_signature=der, alg=alg)
    result = parse_vdsnc(text)
    assert result.valid, result.errors
    assert result.fields["signature_encoding"] == ("der" if der else "raw")
    assert result.fields["signer_id"] == "UT06"
    assert result.fields["message"]["score"] == 0.5

    document = json.loads(text)
    document["data"]["msg"]["tr"]["r"] = "positive"
    tampered = parse_vdsnc(json.dumps(document))
    assert tampered.fields["signature_verdict"] == "invalid"
    assert [e.code for e in tampered.errors] == ["vdsnc.signature.invalid"]


def test_standard_base64_signature_is_accepted() -> None:
    key, cert = sup.signer(ec.SECP256R1())
    document = json.loads(sign_vdsnc(SPECIMEN_DATA, key, cert))
    raw = b64url_decode(document["sig"]["sigvl"])
    import base64

    document["sig"]["sigvl"] = base64.b64encode(raw).decode("ascii")
    assert parse_vdsnc(json.dumps(document)).valid


def test_chain_to_a_csca_in_the_store() -> None:
    csca_key = ec.generate_private_key(ec.SECP384R1())
    csca_name = sup.name("UT", "Utopia CSCA")
    csca = sup.certificate(csca_key.public_key(), csca_name, 1, csca_key)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = sup.certificate(key.public_key(), sup.name("UT", "06"), 0x68, csca_key, csca_name)
    result = parse_seal(sign_vdsnc(SPECIMEN_DATA, key, cert), certs=CertificateStore([csca]))
    assert result.valid
    assert result.checks["certificate_chain"] is Check.PASSED
    assert not result.warnings


def test_unsupported_algorithm_and_curves() -> None:
    key, cert = sup.signer(ec.SECP256R1())
    document = json.loads(sign_vdsnc(SPECIMEN_DATA, key, cert))
    document["sig"]["alg"] = "RS256"
    assert parse_vdsnc(json.dumps(document)).fields["signature_verdict"] == "unsupported_curve"

    k1_key, k1_cert = sup.signer(ec.SECP256K1())
    k1 = parse_vdsnc(sign_vdsnc(SPECIMEN_DATA, k1_key, k1_cert))
    assert k1.fields["signature_verdict"] == "unsupported_curve"
    assert k1.checks["signature"] is Check.NOT_SUPPORTED

    ed_key = ed25519.Ed25519PrivateKey.generate()
    ed_cert = sup.certificate(ed_key.public_key(), sup.name("UT", "06"), 1, ed_key)
    document = json.loads(sign_vdsnc(SPECIMEN_DATA, key, ed_cert))
    assert parse_vdsnc(json.dumps(document)).fields["signature_verdict"] == "unsupported_curve"


@pytest.mark.parametrize(
    ("mutate", "verdict", "code"),
    [
        (lambda d: d["sig"].update(cer="AAAA"), "signer_unknown", "vdsnc.certificate.invalid"),
        (lambda d: d["sig"].update(cer="***"), "signer_unknown", "vdsnc.certificate.invalid"),
        (lambda d: d["sig"].pop("cer"), "signer_unknown", "vdsnc.certificate.missing"),
        (lambda d: d.pop("sig"), "no_signature", "vdsnc.signature.missing"),
        (lambda d: d["sig"].pop("sigvl"), "no_signature", "vdsnc.signature.missing"),
        (lambda d: d.update(sig=[]), "no_signature", "vdsnc.signature.structure"),
        (lambda d: d["sig"].update(sigvl="AAAA"), "invalid", "vdsnc.signature.length"),
        (lambda d: d["sig"].update(sigvl="A"), "invalid", "vdsnc.signature.encoding"),
        (lambda d: d["data"]["hdr"].pop("t"), "invalid", "vdsnc.header.type"),
        (lambda d: d["data"].pop("msg"), "invalid", "vdsnc.message"),
        (lambda d: d.update(data=7), "invalid", "vdsnc.structure"),
    ],
)
def test_malformed_documents(mutate: Any, verdict: str, code: str) -> None:
    key, cert = sup.signer(ec.SECP256R1())
    document = json.loads(sign_vdsnc(SPECIMEN_DATA, key, cert))
    mutate(document)
    result = parse_vdsnc(json.dumps(document))
    assert not result.valid
    assert result.fields["signature_verdict"] == verdict
    assert code in [e.code for e in result.errors]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"data": {', "vdsnc.json"),
        ("[1, 2]", "vdsnc.structure"),
        ('{"data": {}, "data": {}}', "vdsnc.json.duplicate"),
        ('{"data": NaN}', "vdsnc.json"),
        ("[" * 5000 + "]" * 5000, "vdsnc.json"),
    ],
)
def test_invalid_json(text: str, code: str) -> None:
    result = parse_vdsnc(text)
    assert not result.valid
    assert result.fields["signature_verdict"] == "no_signature"
    assert [e.code for e in result.errors] == [code]


def test_unknown_type_and_extra_members_are_warnings() -> None:
    key, cert = sup.signer(ec.SECP256R1())
    data = {**SPECIMEN_DATA, "hdr": {"t": "uto.permit", "v": 2, "is": "UTO"}}
    document = json.loads(sign_vdsnc(data, key, cert))
    document["note"] = "x"
    result = parse_vdsnc(json.dumps(document))
    assert result.valid
    assert [w.code for w in result.warnings][:2] == [
        "vdsnc.structure.extra",
        "vdsnc.header.type",
    ]


def test_messages_never_carry_the_holder_data() -> None:
    key, cert = sup.signer(ec.SECP256R1())
    document = json.loads(sign_vdsnc(SPECIMEN_DATA, key, cert))
    document["data"]["msg"]["pid"]["n"] = "ERIKSSON ANNA MARIA"
    result = parse_vdsnc(json.dumps(document))
    for issue in result.errors + result.warnings:
        assert "ERIKSSON" not in issue.message
        assert "L898902C3" not in issue.message
