"""Barcodes of every symbology read from camera frames that went through an MJPG video."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import zxingcpp

from drivers.base import CaptureKind
from drivers.camera.codes import (
    BadFrame,
    ZxingDecoder,
    grey_frame,
    make_decoder,
)
from drivers.camera.scan import FrameScanner
from edge.documents.bcbp_gen import random_bcbp
from tests.drivers.camera_codes_support import (
    Placed,
    Ticker,
    centre_of,
    frame,
    jpeg,
    symbol,
    through_video,
    turn_between,
)

HD = (1280, 720)
FULL_HD = (1920, 1080)

# (name, our symbology, format written, content, module size in pixels at 1080p)
CODES = [
    ("qr", "qr", "qr", "https://example.org/visa/UTO/0042", 5),
    ("pdf417", "pdf417", "pdf417", "PDF417 SPECIMEN 0123456789 ABCDEFGHIJ", 4),
    ("aztec", "aztec", "aztec", "AZTEC SPECIMEN 0042 UTOPIA", 5),
    ("datamatrix", "datamatrix", "datamatrix", "DATAMATRIX SPECIMEN 0042", 5),
    ("code128", "code128", "code128", "MIDAS-128-0042", 3),
    ("code39", "code39", "code39", "MIDAS39", 3),
    ("itf", "itf", "itf", "12345670", 3),
    ("ean13", "ean_upc", "ean13", "4006381333931", 3),
    ("ean8", "ean_upc", "ean8", "96385074", 3),
    ("upca", "ean_upc", "upca", "036000291452", 3),
    ("upce", "ean_upc", "upce", "01234565", 3),
    ("codabar", "codabar", "codabar", "A40156B", 3),
    ("code93", "code93", "code93", "CODE93 SPECIMEN", 3),
    ("gs1_databar", "gs1_databar", "gs1_databar", "0100012345678905", 3),
]
# zxing-cpp reports UPC-A and UPC-E in their 13-digit EAN form.
EXPECTED = {"upca": b"0036000291452", "upce": b"0012345000065"}


def conditions(symbology: str) -> list[tuple[str, dict[str, float]]]:
    """Clean, turned, and turned + blurred + noisier; PDF417 only takes small angles."""
    angle = 2.0 if symbology == "pdf417" else 5.0
    return [
        ("clean", {}),
        ("turned", {"angle": -angle}),
        ("turned+blurred", {"angle": angle, "blur": 1.0, "noise": 6.0}),
    ]


@pytest.mark.parametrize("size", [HD, FULL_HD], ids=["720p", "1080p"])
@pytest.mark.parametrize(
    ("symbology", "fmt", "content", "scale"),
    [pytest.param(*code[1:], id=code[0]) for code in CODES],
)
def test_every_symbology_is_read_from_video_frames(
    tmp_path: Path, size: tuple[int, int], symbology: str, fmt: str, content: str, scale: int
) -> None:
    if size == HD:
        scale = max(3, scale * 2 // 3)
    image = symbol(content, fmt, scale)
    centre = (size[0] // 2, size[1] // 2)
    grey = [
        frame(size, [Placed(image, centre)], seed=seed, **settings)
        for seed, (_, settings) in enumerate(conditions(symbology))
    ]
    clock = Ticker()
    scanner = FrameScanner([symbology], clock=clock)
    expected = EXPECTED.get(fmt, content.encode())
    for (label, _), bgr in zip(conditions(symbology), through_video(tmp_path, grey), strict=True):
        clock.advance(10.0)  # beyond the hold: every frame delivers its code afresh
        captures = scanner.scan(bgr)
        assert [c.payload for c in captures] == [expected], label
        (capture,) = captures
        assert capture.kind is CaptureKind.BARCODE
        assert capture.symbology == symbology
        assert capture.raw == expected
        assert capture.text == expected.decode()
        assert capture.meta == {"source": "camera", "backend": "zxing"}
        # Stacked symbols (GS1 DataBar) may be found once per row: the same payload each time.
        read, *more = scanner.decoder.decode(grey_frame(bgr))
        assert {r.payload for r in more} <= {read.payload}
        assert len(read.corners) == 4
        x, y = centre_of(read.corners)
        assert abs(x - centre[0]) < image.shape[1] / 2, label
        assert abs(y - centre[1]) < image.shape[0] / 2, label
        assert turn_between(read.orientation, 0) <= 7, label
    assert scanner.counters.delivered == 3
    assert scanner.counters.rejected == {}


def test_several_formats_in_one_frame_are_all_read(tmp_path: Path) -> None:
    placed = [
        Placed(symbol("M1SPECIMEN/ALEX", "pdf417", 4), (480, 270)),
        Placed(symbol("QR IN THE CORNER", "qr", 5), (1440, 270)),
        Placed(symbol(b"\xdc\x03binary seal bytes \x00\xff", "datamatrix", 5), (480, 810)),
        Placed(symbol("CARTON-0042", "code128", 3), (1440, 810)),
    ]
    (bgr,) = through_video(tmp_path, [frame(FULL_HD, placed, seed=7)])
    scanner = FrameScanner(["pdf417", "qr", "datamatrix", "code128"])
    captures = scanner.scan(bgr)
    assert {(c.symbology, c.payload) for c in captures} == {
        ("pdf417", b"M1SPECIMEN/ALEX"),
        ("qr", b"QR IN THE CORNER"),
        ("datamatrix", b"\xdc\x03binary seal bytes \x00\xff"),
        ("code128", b"CARTON-0042"),
    }
    # Binary payloads keep their exact bytes and carry no text.
    (seal,) = [c for c in captures if c.symbology == "datamatrix"]
    assert seal.text is None


def test_formats_restrict_what_is_read() -> None:
    placed = [
        Placed(symbol("ONLY QR WANTED", "qr", 5), (400, 360)),
        Placed(symbol("NOT THIS ONE", "code128", 3), (900, 360)),
    ]
    grey = frame(HD, placed, seed=3)
    assert [c.payload for c in FrameScanner(["qr"]).scan(grey)] == [b"ONLY QR WANTED"]
    assert [c.payload for c in FrameScanner(["code128"]).scan(grey)] == [b"NOT THIS ONE"]
    assert FrameScanner(["aztec", "datamatrix"]).scan(grey) == []


@pytest.mark.parametrize("fmt", ["qr", "code128", "datamatrix"])
def test_orientation_of_a_code_turned_a_quarter(fmt: str) -> None:
    content = "TURNED-0042"
    grey = frame(HD, [Placed(symbol(content, fmt, 4), (640, 360))], seed=11)
    decoder = ZxingDecoder([fmt])
    for quarter, degrees in ((0, 0), (1, 270), (2, 180), (3, 90)):
        (read,) = decoder.decode(np.rot90(grey, quarter))  # counter-clockwise quarter turns
        assert read.payload == content.encode()
        assert turn_between(read.orientation, degrees) <= 2


def frames_of_one_code() -> tuple[np.ndarray[Any, Any], bytes]:
    content = "SAME CODE, ANY LAYOUT"
    return frame(HD, [Placed(symbol(content, "qr", 4), (700, 300))], seed=5), content.encode()


def test_grey_bgr_bgra_and_cropped_frames_read_alike() -> None:
    grey, payload = frames_of_one_code()
    bgr = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    layouts = {
        "grey": grey,
        "one channel": grey[:, :, np.newaxis],
        "bgr": bgr,
        "bgra": cv2.cvtColor(grey, cv2.COLOR_GRAY2BGRA),
        "cropped view": grey[100:600, 300:1100],
        "cropped bgr view": bgr[100:600, 300:1100],
    }
    for label, image in layouts.items():
        assert [c.payload for c in FrameScanner(["qr"]).scan(image)] == [payload], label


def test_grey_frames_are_decoded_in_place() -> None:
    grey, _ = frames_of_one_code()
    assert grey_frame(grey) is grey
    view = grey[10:700, 20:1200]
    assert np.shares_memory(grey_frame(view), grey)
    assert np.shares_memory(grey_frame(grey[:, :, np.newaxis]), grey)
    bgr = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    assert np.array_equal(grey_frame(bgr), grey)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((720, 1280), np.float32), "8-bit"),
        (np.zeros((720, 1280, 3), np.uint16), "8-bit"),
        (np.zeros((720, 1280, 2), np.uint8), "1, 3 or 4 channels"),
        (np.zeros((0, 1280), np.uint8), "empty"),
        (np.zeros((4, 720, 1280, 3), np.uint8), "4-dimensional"),
        (b"\xff\xd8 a JPEG, not a frame", "numpy array"),
    ],
    ids=["float", "16-bit", "two channels", "empty", "4-d", "bytes"],
)
def test_a_frame_the_decoders_cannot_take_is_a_typed_error(image: Any, message: str) -> None:
    scanner = FrameScanner(["qr"])
    with pytest.raises(BadFrame, match=message):
        scanner.scan(image)
    assert scanner.counters.frames == 0


def test_a_blank_frame_gives_nothing() -> None:
    scanner = FrameScanner(["qr", "pdf417", "aztec", "datamatrix", "code128", "ean_upc"])
    assert scanner.scan(frame(FULL_HD, (), seed=1, noise=6.0)) == []
    assert scanner.counters.frames == 1
    assert scanner.counters.decoded == 0


@pytest.mark.parametrize("backend", ["zxing", "zbar"])
def test_unknown_format_names_are_a_clear_error(backend: str) -> None:
    with pytest.raises(ValueError, match=r"unknown barcode format 'qrcode'.*known formats: .*'?qr"):
        FrameScanner(["qr", "qrcode"], backend=backend)
    with pytest.raises(ValueError, match="at least one barcode format"):
        FrameScanner([], backend=backend)


def test_a_format_no_camera_decoder_reads_is_refused() -> None:
    with pytest.raises(ValueError, match="the zxing decoder cannot read 'iata_2of5'"):
        FrameScanner(["iata_2of5"])


def test_unknown_backend_and_bad_hold_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown barcode decoder 'opencv'; choose one of: zxing"):
        make_decoder("opencv", ["qr"])
    with pytest.raises(ValueError, match="unknown barcode decoder"):
        FrameScanner(["qr"], backend="ZXing")
    for hold in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="hold"):
            FrameScanner(["qr"], hold=hold)


def test_repeated_formats_are_kept_once_in_order() -> None:
    scanner = FrameScanner(["pdf417", "qr", "pdf417"])
    assert scanner.formats == ("pdf417", "qr")
    assert scanner.backend == "zxing"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_turned_pdf417_the_first_pass_misses_is_read_on_a_second_look(seed: int) -> None:
    content = random_bcbp(
        random.Random("x2"), scan_date=date(2025, 3, 14), legs=2, conditional=True, security=True
    )
    image = symbol(content, "pdf417", 3)
    placed = [Placed(image, (900, 560))]
    grey = jpeg(frame(FULL_HD, placed, seed=seed, angle=-3.0, blur=0.8, noise=4.0), 75)
    # What the first pass sees (the smoothed frame): the symbol is found, but its rows come
    # apart and it fails its checksum.
    pdf417 = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.PDF417])
    smoothed = cv2.GaussianBlur(grey, (3, 3), 0)
    assert zxingcpp.read_barcodes(smoothed, formats=pdf417, try_invert=False) == []
    (failed,) = zxingcpp.read_barcodes(smoothed, formats=pdf417, return_errors=True)
    assert failed.error is not None
    (read,) = ZxingDecoder(["pdf417"]).decode(grey)
    assert read.payload == content.encode()
    x, y = centre_of(read.corners)
    assert abs(x - 900) < image.shape[1] / 2
    assert abs(y - 560) < image.shape[0] / 2


def test_decoding_never_writes_into_the_callers_frame() -> None:
    grey, payload = frames_of_one_code()
    before = grey.copy()
    for decoder in (ZxingDecoder(["qr"]), ZxingDecoder(["qr"], denoise=False)):
        assert [r.payload for r in decoder.decode(grey)] == [payload]
        assert [r.payload for r in decoder.decode(grey[50:650, 200:1200])] == [payload]
    assert np.array_equal(grey, before)
