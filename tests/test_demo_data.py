"""The demo's fictional captures produce every verdict they are meant to show."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from edge import demo_data
from edge.documents.bcbp import parse_bcbp
from edge.documents.certstore import CertificateStore
from edge.documents.mrz import parse_mrz
from edge.documents.vds import parse_seal
from edge.normalize import verdict_of

TODAY = dt.date(2026, 11, 22)


def test_documents_cover_valid_expired_and_invalid() -> None:
    verdicts = [verdict_of(parse_mrz(d, today=TODAY), TODAY) for d in demo_data.documents(TODAY)]
    assert verdicts == ["valid", "valid", "expired", "valid", "invalid"]
    formats = [parse_mrz(d, today=TODAY).format for d in demo_data.documents(TODAY)]
    assert formats == ["td3", "td1", "td3", "td2", "td3"]


def test_boarding_passes_are_valid() -> None:
    passes = demo_data.boarding_passes(TODAY)
    assert all(parse_bcbp(p, scan_date=TODAY).valid for p in passes)
    assert [parse_bcbp(p, scan_date=TODAY).fields["number_of_legs"] for p in passes] == [1, 2, 1]


def test_seals_verify_against_the_demo_store_and_the_forgery_fails(tmp_path: Path) -> None:
    good, forged = demo_data.seals(TODAY, tmp_path / "certs")
    store = CertificateStore.from_dir(tmp_path / "certs")
    ok = parse_seal(good, certs=store)
    assert ok.valid
    assert ok.fields["signature_verdict"] == "valid"
    bad = parse_seal(forged, certs=store)
    assert not bad.valid
    assert bad.fields["signature_verdict"] == "invalid"
