"""Travel documents held up to the camera: boarding passes (PDF417, Aztec) and visa seals
(DataMatrix) read from video frames parse as such in the daemon's normalizer."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from drivers.camera.scan import FrameScanner
from edge.documents.bcbp_encode import encode_bcbp
from edge.documents.bcbp_gen import random_bcbp_fields
from edge.documents.certstore import CertificateStore
from edge.normalize import Normalizer, document_parsers
from edge.records import DeviceRef, Verdict
from tests.documents import vds_support as sup
from tests.drivers.camera_codes_support import Placed, Ticker, blank, frame, symbol, through_video

DEVICE = DeviceRef("camera", "camera")
FULL_HD = (1920, 1080)
# Passes are made for this day and read as if scanned on it: the same symbols every run.
SCAN_DATE = date(2025, 3, 14)
SCAN_MS = int(datetime(2025, 3, 14, 9, 30, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("fmt", "scale", "angle", "legs"),
    [("pdf417", 3, 2.0, 2), ("aztec", 5, 6.0, 2), ("pdf417", 4, -1.5, 1), ("aztec", 4, -4.0, 1)],
    ids=["pdf417-2-legs", "aztec-2-legs", "pdf417-1-leg", "aztec-1-leg"],
)
def test_boarding_pass_from_video_is_a_valid_bcbp_record(
    tmp_path: Path, fmt: str, scale: int, angle: float, legs: int
) -> None:
    fields = random_bcbp_fields(
        random.Random(f"{fmt}-{legs}"),
        scan_date=SCAN_DATE,
        legs=legs,
        conditional=True,
        security=True,
    )
    bcbp = encode_bcbp(fields)
    placed = [Placed(symbol(bcbp, fmt, scale), (900, 560))]
    frames = [
        blank(FULL_HD, seed=1),
        frame(FULL_HD, placed, seed=2, angle=angle, blur=0.8, noise=4.0),
        frame(FULL_HD, placed, seed=3, angle=angle, blur=0.8, noise=4.0),
    ]
    clock = Ticker()
    scanner = FrameScanner([fmt, "qr"], clock=clock)
    captures = []
    for bgr in through_video(tmp_path, frames):
        captures += scanner.scan(bgr)
        clock.advance(1 / 15)
    (capture,) = captures  # the second sighting is held back
    assert capture.payload == bcbp.encode()
    assert capture.text == bcbp
    assert capture.symbology == fmt
    assert capture.captured_at_ms >= SCAN_MS
    scanned = dataclasses.replace(capture, captured_at_ms=SCAN_MS)
    record = Normalizer("ws-1", document_parsers())(scanned, DEVICE)
    assert record.format == "bcbp"
    assert record.verdict is Verdict.VALID, record.errors
    assert record.payload["fields"] == fields
    assert record.payload["symbology"] == fmt
    assert scanner.counters.duplicates == 1


@pytest.mark.parametrize("version", [3, 4])
def test_visa_seal_in_datamatrix_from_video_verifies(tmp_path: Path, version: int) -> None:
    key, cert = sup.signer(ec.SECP256R1())
    seal = sup.visa_seal(key, version=version)
    placed = [Placed(symbol(seal, "datamatrix", 5), (1100, 500))]
    (bgr,) = through_video(tmp_path, [frame(FULL_HD, placed, seed=4, angle=4.0, blur=0.8)])
    (capture,) = FrameScanner(["datamatrix", "qr"]).scan(bgr)
    assert capture.payload == seal  # every byte of the binary message and signature
    assert capture.text is None
    assert capture.symbology == "datamatrix"
    record = Normalizer("ws-1", document_parsers(CertificateStore([cert])))(capture, DEVICE)
    assert record.format == "vds"
    assert record.verdict is Verdict.VALID, record.errors
    features = record.payload["fields"]["features"]
    assert features["mrz_mrv_b"] == list(sup.VISA_MRZ_B)
    assert record.payload["fields"]["signature_verdict"] == "valid"
