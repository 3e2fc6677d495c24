"""Signer certificate store: naming rule, directory loading, mapping file, chain and validity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edge.documents.certstore import CertificateStore, certificate_name, signer_name
from edge.documents.result import Check
from edge.documents.vds import parse_seal
from edge.errors import ConfigError
from tests.documents import vds_support as sup


@pytest.mark.parametrize(
    ("signer_id", "reference", "key"),
    [
        ("DETS", "00027", "DETS27"),
        ("DETS", "27", "DETS27"),
        ("utts", "5b", "UTTS5B"),
        ("UTTS", "0", "UTTS0"),
    ],
)
def test_header_names_normalise_to_signer_id_and_hex_serial(
    signer_id: str, reference: str, key: str
) -> None:
    assert signer_name(signer_id, reference) == key


def test_certificate_name_follows_the_tr03137_subject_profile() -> None:
    _, cert = sup.signer(ec.SECP256R1(), common_name="TS", serial=0x27)
    assert certificate_name(cert) == "UTTS27"
    key = ec.generate_private_key(ec.SECP256R1())
    whole = sup.certificate(key.public_key(), sup.name("UT", "UTVS"), 1, key)
    assert certificate_name(whole) == "UTVS1"
    free_text = sup.certificate(key.public_key(), sup.name("UT", "Visa signer 7"), 1, key)
    assert certificate_name(free_text) is None


def test_directory_store_loads_der_and_pem_and_finds_signers(tmp_path: Path) -> None:
    key_a, cert_a = sup.signer(ec.SECP256R1(), serial=0x5B)
    _, cert_b = sup.signer(ec.BrainpoolP256R1(), common_name="VS", serial=0x01)
    (tmp_path / "a.der").write_bytes(cert_a.public_bytes(serialization.Encoding.DER))
    (tmp_path / "b.PEM").write_bytes(cert_b.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "notes.txt").write_text("not a certificate")
    store = CertificateStore.from_dir(tmp_path)
    assert len(store) == 2
    assert store.lookup("UTTS", "0005B") == (cert_a,)
    assert store.lookup("UTVS", "1") == (cert_b,)
    assert store.lookup("UTXX", "1") == ()
    assert parse_seal(sup.visa_seal(key_a), certs=store).valid


def test_mapping_file_names_certificates_the_rule_cannot(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    cert = sup.certificate(key.public_key(), sup.name("UT", "Utopia visa signer"), 77, key)
    (tmp_path / "visa-2024.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "signers.toml").write_text('[signers]\nUTTS0005B = "visa-2024.crt"\n')
    store = CertificateStore.from_dir(tmp_path)
    assert store.lookup("UTTS", "5B") == (cert,)
    result = parse_seal(sup.visa_seal(key), certs=store)
    assert result.valid
    assert result.fields["signer_certificate"] == "CN=Utopia visa signer,C=UT"


def test_in_memory_aliases() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = sup.certificate(key.public_key(), sup.name("UT", "Signer"), 9, key)
    store = CertificateStore(aliases={"UTTS5B": cert})
    assert parse_seal(sup.visa_seal(key), certs=store).valid


@pytest.mark.parametrize(
    ("files", "key"),
    [
        ({"broken.der": b"\x30\x03\x02\x01\x01"}, ""),
        ({"signers.toml": b"[signers\n"}, ""),
        ({"signers.toml": b'[signers]\nUTTS5B = "missing.der"\n'}, "signers.UTTS5B"),
        ({"signers.toml": b'[signers]\nUTTS5B = "../x.der"\n'}, "signers.UTTS5B"),
        ({"signers.toml": b"signers = 3\n"}, "signers"),
    ],
)
def test_unusable_store_contents_raise_config_errors(
    tmp_path: Path, files: dict[str, bytes], key: str
) -> None:
    for file_name, content in files.items():
        (tmp_path / file_name).write_bytes(content)
    with pytest.raises(ConfigError) as info:
        CertificateStore.from_dir(tmp_path)
    assert info.value.key == key


def test_missing_directory_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        CertificateStore.from_dir(tmp_path / "absent")


def test_chain_to_a_csca_in_the_store() -> None:
    csca_key = ec.generate_private_key(ec.BrainpoolP384R1())
    csca_name = sup.name("UT", "Utopia CSCA")
    csca = sup.certificate(csca_key.public_key(), csca_name, 1, csca_key)
    signer_key = ec.generate_private_key(ec.BrainpoolP256R1())
    signer = sup.certificate(
        signer_key.public_key(), sup.name("UT", "TS"), 0x5B, csca_key, csca_name
    )
    seal = sup.visa_seal(signer_key)

    trusted = parse_seal(seal, certs=CertificateStore([signer, csca]))
    assert trusted.valid
    assert trusted.checks["certificate_chain"] is Check.PASSED

    rogue_key = ec.generate_private_key(ec.BrainpoolP384R1())
    rogue_csca = sup.certificate(rogue_key.public_key(), csca_name, 2, rogue_key)
    forged = parse_seal(seal, certs=CertificateStore([signer, rogue_csca]))
    assert forged.checks["certificate_chain"] is Check.FAILED
    assert "vds.certificate.chain" in [w.code for w in forged.warnings]

    alone = parse_seal(seal, certs=CertificateStore([signer]))
    assert alone.checks["certificate_chain"] is Check.UNDETERMINED


def test_signature_date_outside_certificate_validity_is_reported() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    expired = sup.certificate(
        key.public_key(),
        sup.name("UT", "TS"),
        0x5B,
        key,
        not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2021, 1, 1, tzinfo=dt.UTC),
    )
    result = parse_seal(sup.visa_seal(key), certs=CertificateStore([expired]))
    assert result.fields["signature_verdict"] == "valid"
    assert result.checks["certificate_validity"] is Check.FAILED
    assert [w.code for w in result.warnings] == ["vds.certificate.validity"]
