"""Fictional captures for the demo: every verdict an officer can see, made fresh each run."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge.documents import mrz_gen
from edge.documents.bcbp_gen import random_bcbp
from edge.documents.vds_gen import sign_vdsnc

# ICAO Doc 9303 specimen (fictional holder, fictional state), expired since 2012.
ICAO_TD3_SPECIMEN = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
)


def documents(today: dt.date) -> list[str]:
    """Valid TD3, TD1 and TD2 documents, an expired one and one with a wrong check digit."""
    expiry = today.replace(year=today.year + 6)
    passport = mrz_gen.td3(
        surname="MARTINEZ LOPEZ",
        given_names="SOFIA",
        document_number="UT4839210",
        birth_date=dt.date(1988, 3, 14),
        expiry_date=expiry,
        sex="F",
    )
    lines = passport.split("\n")
    wrong_digit = "9" if lines[1][9] != "9" else "8"  # the document number's check digit
    tampered = lines[0] + "\n" + lines[1][:9] + wrong_digit + lines[1][10:]
    return [
        passport,
        mrz_gen.td1(
            surname="OKAFOR",
            given_names="DANIEL CHUKWUEMEKA",
            document_number="U73920481",
            birth_date=dt.date(1979, 11, 2),
            expiry_date=expiry,
            sex="M",
        ),
        ICAO_TD3_SPECIMEN,
        mrz_gen.td2(
            surname="NGUYEN",
            given_names="MAI",
            document_number="UTO582931",
            birth_date=dt.date(2001, 7, 30),
            expiry_date=expiry,
            sex="F",
        ),
        tampered,
    ]


def boarding_passes(today: dt.date, seed: int = 9303) -> list[str]:
    rng = random.Random(seed)  # noqa: S311  # fictional data, not secrets
    return [random_bcbp(rng, scan_date=today, legs=legs) for legs in (1, 2, 1)]


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "UT"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def seals(today: dt.date, certs_dir: Path) -> list[str]:
    """VDS-NC seals signed by a throwaway signer whose CSCA is written to `certs_dir`."""
    now = dt.datetime.combine(today, dt.time(), dt.UTC)
    csca_key = ec.generate_private_key(ec.SECP256R1())
    signer_key = ec.generate_private_key(ec.SECP256R1())

    def certificate(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, serial: int
    ) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(_name(subject))
            .issuer_name(_name(issuer))
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .sign(csca_key, hashes.SHA256())
        )

    csca = certificate("Utopia demo CSCA", csca_key, "Utopia demo CSCA", 1)
    signer = certificate("UT", signer_key, "Utopia demo CSCA", 0x2A)
    certs_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (certs_dir / "utopia-csca.pem").write_bytes(csca.public_bytes(serialization.Encoding.PEM))
    visa = {
        "hdr": {"t": "icao.visa", "v": 1, "is": "UTO"},
        "msg": {"vn": "V4839210", "dov": today.isoformat(), "nen": 1},
    }
    good = sign_vdsnc(visa, signer_key, signer)
    forged = json.loads(good)
    forged["data"]["msg"]["nen"] = 9  # altered after signing: must fail verification
    return [good, json.dumps(forged)]
