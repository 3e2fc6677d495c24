"""The zbar backend (pyzbar + libzbar0): 1D codes and QR from frames, nothing it cannot read."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from drivers.base import DriverError
from drivers.camera.codes import DecoderUnavailable, ZbarDecoder, ZxingDecoder
from drivers.camera.scan import FrameScanner
from tests.drivers.camera_codes_support import (
    Placed,
    Ticker,
    frame,
    symbol,
    through_video,
    turn_between,
)

HD = (1280, 720)


@pytest.mark.parametrize(
    ("fmt", "content", "scale"),
    [("qr", "https://example.org/zbar/0042", 4), ("code128", "ZBAR-128-0042", 3)],
)
def test_zbar_reads_qr_and_code128_from_video_frames(
    tmp_path: Path, fmt: str, content: str, scale: int
) -> None:
    image = symbol(content, fmt, scale)
    frames = [
        frame(HD, [Placed(image, (640, 360))], seed=1),
        frame(HD, [Placed(image, (640, 360))], seed=2, angle=5.0, blur=1.0, noise=6.0),
    ]
    clock = Ticker()
    scanner = FrameScanner([fmt], backend="zbar", clock=clock)
    for bgr in through_video(tmp_path, frames):
        clock.advance(5.0)
        (capture,) = scanner.scan(bgr)
        assert capture.payload == content.encode()
        assert capture.text == content
        assert capture.symbology == fmt
        assert capture.meta == {"source": "camera", "backend": "zbar"}
    assert scanner.backend == "zbar"


def test_zbar_reads_retail_and_itf_codes_with_their_variant() -> None:
    placed = [
        Placed(symbol("4006381333931", "ean13", 3), (330, 200)),
        Placed(symbol("96385074", "ean8", 3), (950, 200)),
        Placed(symbol("12345670", "itf", 3), (330, 550)),
    ]
    grey = frame(HD, placed, seed=5)
    reads = ZbarDecoder(["ean_upc", "itf"]).decode(grey)
    assert sorted((r.symbology, r.variant, r.payload) for r in reads) == [
        ("ean_upc", "ean13", b"4006381333931"),
        ("ean_upc", "ean8", b"96385074"),
        ("itf", "i25", b"12345670"),
    ]
    assert all(len(r.corners) >= 4 for r in reads)


def test_zbar_and_zxing_agree_on_orientation() -> None:
    grey = frame(HD, [Placed(symbol("QUARTER TURNS", "qr", 4), (640, 360))], seed=6)
    zbar, zxing = ZbarDecoder(["qr"]), ZxingDecoder(["qr"])
    for quarter in range(4):
        turned = np.ascontiguousarray(np.rot90(grey, quarter))
        (by_zbar,) = zbar.decode(turned)
        (by_zxing,) = zxing.decode(turned)
        expected = (360 - 90 * quarter) % 360
        assert by_zbar.orientation == expected  # zbar knows quarter turns only
        assert turn_between(by_zxing.orientation, expected) <= 2


@pytest.mark.parametrize("fmt", ["pdf417", "aztec", "datamatrix"])
def test_zbar_refuses_formats_it_cannot_read(fmt: str) -> None:
    with pytest.raises(ValueError, match=f"the zbar decoder cannot read '{fmt}'; it reads: "):
        FrameScanner(["qr", fmt], backend="zbar")


def test_missing_zbar_library_is_reported_when_the_scanner_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What an import of pyzbar does without pyzbar or without libzbar0 on the system.
    monkeypatch.setitem(sys.modules, "pyzbar", None)
    monkeypatch.setitem(sys.modules, "pyzbar.pyzbar", None)
    with pytest.raises(DecoderUnavailable, match="libzbar0") as info:
        FrameScanner(["qr"], backend="zbar")
    assert isinstance(info.value, DriverError)
    assert isinstance(info.value.__cause__, ImportError)
    assert FrameScanner(["qr"]).backend == "zxing"  # the default decoder does not need it
