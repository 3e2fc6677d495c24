"""Alert-list test support: a region key, lists built from clear rows, fictional MRZs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.alerts.build import build_list
from edge.alerts.keys import public_base64
from edge.documents import mrz_gen

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)

# A stolen passport and a person of interest, both fictional (state UTO, ICAO's specimen state).
STOLEN = {
    "category": "lost_stolen",
    "ref": "HQ-LS-0001",
    "issuing_country": "UTO",
    "document_type": "P",
    "document_number": "L0S7-0001",
}
WANTED = {
    "category": "person_of_interest",
    "ref": "HQ-POI-0002",
    "surname": "Öberg-Nilsson",
    "given_names": "Åsa Marie",
    "birth_date": "1979-04-03",
}


def stolen_passport() -> str:
    """The MRZ of the passport on the list as `STOLEN` (other holder data)."""
    return mrz_gen.td3(
        surname="HOLM",
        given_names="PER",
        document_number="L0S70001",
        birth_date="810202",
        expiry_date="341231",
        issuing_country="UTO",
    )


def wanted_person_card() -> str:
    """A TD1 card of the person `WANTED`, transliterated the plain way (Ö -> O, Å -> A)."""
    return mrz_gen.td1(
        surname="OBERG NILSSON",
        given_names="ASA MARIE",
        document_number="X99887766",
        birth_date="790403",
        expiry_date="330101",
        issuing_country="UTO",
    )


def clean_passport() -> str:
    return mrz_gen.td3(
        surname="LINDQVIST",
        given_names="KARIN",
        document_number="C4421907",
        birth_date="900615",
        expiry_date="320101",
        issuing_country="UTO",
    )


def signed_list(
    key: Ed25519PrivateKey,
    rows: list[dict[str, str]] | None = None,
    *,
    version: int = 1,
    issued: dt.datetime | None = None,
    days: float = 7.0,
) -> bytes:
    issued = issued or NOW
    data, _ = build_list(
        rows if rows is not None else [STOLEN, WANTED],
        version=version,
        issued=issued,
        expires=issued + dt.timedelta(days=days),
        private_key=key,
    )
    return data


def alerts_section(key: Ed25519PrivateKey, **options: Any) -> dict[str, Any]:
    """An `[alerts]` config table trusting `key`, polling its drop dir quickly."""
    section: dict[str, Any] = {
        "public_key": public_base64(key.public_key()),
        "drop_interval": 0.05,
    }
    section.update(options)
    return section


def drop(directory: Path, name: str, data: bytes) -> Path:
    """A technician's drop: written aside, renamed into place."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{name}.tmp"
    tmp.write_bytes(data)
    return tmp.replace(directory / name)
