"""Keys, certificates and published seals shared by the VDS and VDS-NC tests (fictional data)."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from edge.documents import c40
from edge.documents.vds_gen import build_seal, encode_header

ISSUE = dt.date(2024, 3, 1)
SIGNED = dt.date(2024, 3, 2)
NOT_BEFORE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2034, 1, 1, tzinfo=dt.UTC)

# Utopia (UTO) specimen visa holder; every value is fictional.
VISA_MRZ_B = ("VCUTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L898902C<3UTO7408122F1204159<<<<<<<<")


def name(country: str, common_name: str) -> x509.Name:
    """A subject or issuer name of countryName and commonName."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def certificate(
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    subject: x509.Name,
    serial: int,
    issuer_key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
    issuer: x509.Name | None = None,
    *,
    not_before: dt.datetime = NOT_BEFORE,
    not_after: dt.datetime = NOT_AFTER,
) -> x509.Certificate:
    """A certificate for `public_key`, signed by `issuer_key` (self-issued when no issuer)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if isinstance(issuer_key, ed25519.Ed25519PrivateKey):
        return builder.sign(issuer_key, None)
    return builder.sign(issuer_key, hashes.SHA256())


def signer(
    curve: ec.EllipticCurve, *, common_name: str = "TS", serial: int = 0x5B
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed seal signer for UTO (signer id UT + common name, reference = hex serial)."""
    key = ec.generate_private_key(curve)
    cert = certificate(key.public_key(), name("UT", common_name), serial, key)
    return key, cert


def visa_features(passport: str = "L898902C<") -> list[tuple[int, bytes]]:
    """Message zone of an ICAO visa seal for the specimen MRV-B (line 2 cut to 28 characters)."""
    mrz = VISA_MRZ_B[0] + VISA_MRZ_B[1][:28]
    return [
        (0x02, c40.encode(mrz)),
        (0x03, bytes((2,))),
        (0x04, bytes((90, 0, 0))),
        (0x05, c40.encode(passport)),
    ]


def visa_seal(
    key: ec.EllipticCurvePrivateKey,
    *,
    version: int = 4,
    reference: str = "5B",
    extra: list[tuple[int, bytes]] | None = None,
) -> bytes:
    """A signed ICAO visa seal from UTO signer UTTS."""
    header = encode_header(
        version=version,
        issuing_country="UTO",
        signer_id="UTTS",
        cert_reference=reference,
        issue_date=ISSUE,
        signature_date=SIGNED,
        feature_reference=0x5D,
        category=0x01,
    )
    return build_seal(header, visa_features() + (extra or []), key)


# Published test seals of the tsenger/vdstools and li0ard/vds projects (fictional UTO holders),
# signed by their test signer UTTS, certificate reference 5B, on brainpoolP256r1.
UTTS5B_PUBLIC_POINT = bytes.fromhex(
    "0408132A7243B3CCC29C271097081C96A729EEFB8EB93630E536498E9B7CE1CED2"
    "5D68A789D93BEF39C04715C5AD3915D281C0754ECC08508BF66687EFC630DF88"
)
PUBLISHED_SEALS = {
    "residence_permit_v4": (
        "dc03d9c5d9cac8a73a990f7134b83459fb0602305cba135875976ec066d417b59e8c6abc133c133c133c"
        "133c3fef3a2938ee43f1593d1ae52dbb26751fe64b7c133c136b0306d79519a65306ff40a1f621437b25"
        "e0dc6177182297c47544890177ebd0e89b1d1ec9f994ed6fe60e5561fac9bc9e723ff8f60c679f6a23b9"
        "38ee6584f852476f8c72a05e3f9eb87e"
    ),
    "arrival_attestation_v3": (
        "dc02d9c5d9cac8a51a780f7134b83459fd020230a56213535bd4caecc87ca4ccaeb4133c133c133c133c"
        "133c3fef3a2938ee43f1593d1ae52dbb26751fe64b7c133c136b030859e9203833736d24ff40a353a998"
        "b785470536187860093d55325a06e66fe917bfa1f6fb62c5016c66a481ec6f2c7c18da9682f0c2e0b592"
        "f6eeb11ca6c6994b37ca2950d6fadd63264d"
    ),
    "social_insurance_v3": (
        "dc02d9c5d9cac8a51a780f7134b83459fc0401083fee456d2de019a8020b506572736368776569c39f03"
        "054f7363617204134ac3a2636f62c3a96e69646963747572697573ff40350f4b68832a812cb9afdd2eec"
        "0b1c6c8a5fabba3f48d4a550af0305a2d23807a9c16d0e49b65a61e294521a30b0b14a68d13b8b981667"
        "d200e9036da4e93f75"
    ),
    "visa_v4": (
        "dc03d9c5d9cac8a73a990f7134b834595d01022cdd52134a74da1347c6fed95cb89f9fce133c133c133c"
        "133c203833734aaf47f0c32f1a1e20eb2625393afe310403a00000050633be1fed20c603010c0601aa07"
        "01bbff400b276b4522526b723e2140f14bef1c25048cfed9223268c24337e7a6b5b9f02b1e15c86734ef"
        "7101d983869278ce1066694dd80e8b842b82b592db6fd56c10ae"
    ),
    "emergency_travel_document_v4": (
        "dc03d9c5d9cac8a73a990f7134b834595e0302308a0d62b9d917a4cca93ca4d0edfc133c133c133c133c"
        "133c3fef3a2938ee43f1593d1ae52dbb26751fe64b7c133c136bff403644690e5f2dd4e39b8bf10b4db6"
        "69a38e60c8e6a46b3da0d7ad0f6aaf59af2326e924e4f96033ea096e89b8a5265aa9f2a39435f17120fe"
        "bf9334af51618d94"
    ),
    "address_sticker_v4": (
        "dc03d9c5d9cac8a73a990f7134b83459f9080106cf3519af974c02061a70208519a1030e395e463e740c"
        "749fad19d31efe32ff40a31bf6877ef4b1a9c49b80aa52dddad07e70f55fd5f0cead9d46aaf2abde5a56"
        "61ae81ae9fea2b99a1066294d7b758074b286e0c99b198a6b48f299d07d55443"
    ),
    "residence_sticker_v4": (
        "dc03d9c5d9cac8a73a990f7134b83459f80a0106b77a38e596ce02061a203a4d1fe1030426532081ff40"
        "9238e9e0323ba470be32f6d2ece1d12ee34ccc69f13efeb206d729369ae70b2a2965694e5c88c46e2bf9"
        "e8b6b28197c4e1f807af826295f1e571159e64b8bf2b"
    ),
    "supplementary_sheet_v4": (
        "DC03D9C5D9CAC8A73A990F71347D4E37FA0604305CBA135875976EC066D417B59E8C6ABC133C133C133C"
        "133C3FEF3A2938EE43F1593D1AE52DBB26751FE64B7C133C136B0506B77519A519AAFF4008F9E9B4B79B"
        "E5703048A4879A4F420C433C375295A355FB0D29DCBED211CF6F5F5738BA2B74E2FE5F1D2D2021E054BF"
        "FD0E4CE17D98E5BCED26A85C91C68B2F"
    ),
}


def utts5b_certificate() -> x509.Certificate:
    """A certificate for the published UTTS 5B public key, issued by a throwaway CSCA."""
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.BrainpoolP256R1(), UTTS5B_PUBLIC_POINT)
    csca_key = ec.generate_private_key(ec.BrainpoolP256R1())
    return certificate(
        public,
        name("UT", "TS"),
        0x5B,
        csca_key,
        name("UT", "UT CSCA"),
        not_before=dt.datetime(2019, 1, 1, tzinfo=dt.UTC),
    )
