"""A code in view is delivered once; again only after it was out of view longer than the hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from drivers.camera.scan import FrameScanner, RecentCodes
from tests.drivers.camera_codes_support import (
    FPS,
    Placed,
    Ticker,
    blank,
    frame,
    symbol,
    through_video,
)

HD = (1280, 720)
FRAME_S = 1 / FPS


def hand_held(content: str, fmt: str, count: int, *, seed: int) -> list[NDArray[np.uint8]]:
    """`count` frames of one code moving a little from frame to frame, as in a hand."""
    image = symbol(content, fmt, 4)
    return [
        frame(HD, [Placed(image, (600 + 3 * i, 360 - 2 * i))], seed=seed + i, angle=(i % 5) - 2)
        for i in range(count)
    ]


def deliveries(scanner: FrameScanner, clock: Ticker, frames: list[NDArray[np.uint8]]) -> list[int]:
    """How many captures each frame delivered, one frame period apart."""
    counts = []
    for image in frames:
        counts.append(len(scanner.scan(image)))
        clock.advance(FRAME_S)
    return counts


def test_a_code_in_view_for_30_frames_is_delivered_once_and_again_after_leaving(
    tmp_path: Path,
) -> None:
    code = hand_held("M1SPECIMEN/ALEX HOLD", "qr", 30, seed=100)
    away = [blank(HD, seed=200 + i) for i in range(35)]  # 35 frames = 2.33 s > the 2 s hold
    back = hand_held("M1SPECIMEN/ALEX HOLD", "qr", 5, seed=300)
    frames = through_video(tmp_path, code + away + back)
    clock = Ticker()
    scanner = FrameScanner(["qr", "pdf417"], hold=2.0, clock=clock)
    counts = deliveries(scanner, clock, frames)
    assert counts == [1] + [0] * 29 + [0] * 35 + [1] + [0] * 4
    assert scanner.counters.frames == 70
    assert scanner.counters.decoded == 35
    assert scanner.counters.delivered == 2
    assert scanner.counters.duplicates == 33


def test_a_code_out_of_view_shorter_than_the_hold_is_not_delivered_again() -> None:
    code = hand_held("BRIEFLY COVERED", "datamatrix", 3, seed=1)
    away = [blank(HD, seed=10 + i) for i in range(25)]  # 1.67 s < the 2 s hold
    clock = Ticker()
    scanner = FrameScanner(["datamatrix"], clock=clock)
    assert deliveries(scanner, clock, code + away + code) == [1] + [0] * 30


def test_the_hold_runs_from_the_last_sighting_not_the_first() -> None:
    image = frame(HD, [Placed(symbol("STAYS IN VIEW", "aztec", 5), (640, 360))], seed=4)
    clock = Ticker()
    scanner = FrameScanner(["aztec"], hold=2.0, clock=clock)
    delivered = []
    for _ in range(6):  # in view for 7.5 s, seen every 1.5 s: never out of view for 2 s
        delivered.append(len(scanner.scan(image)))
        clock.advance(1.5)
    assert delivered == [1, 0, 0, 0, 0, 0]
    clock.advance(2.1 - 1.5)
    assert len(scanner.scan(image)) == 1


def test_codes_are_told_apart_by_symbology_and_payload() -> None:
    placed = [
        Placed(symbol("SAME TEXT", "qr", 4), (250, 360)),
        Placed(symbol("SAME TEXT", "datamatrix", 4), (650, 360)),
        Placed(symbol("OTHER TEXT", "qr", 4), (1050, 360)),
    ]
    grey = frame(HD, placed, seed=9)
    clock = Ticker()
    scanner = FrameScanner(["qr", "datamatrix"], clock=clock)
    first = scanner.scan(grey)
    assert sorted((c.symbology, c.payload) for c in first) == [
        ("datamatrix", b"SAME TEXT"),
        ("qr", b"OTHER TEXT"),
        ("qr", b"SAME TEXT"),
    ]
    clock.advance(FRAME_S)
    assert scanner.scan(grey) == []
    two_of_one = frame(
        HD,
        [
            Placed(symbol("TWICE", "qr", 4), (400, 360)),
            Placed(symbol("TWICE", "qr", 4), (900, 360)),
        ],
        seed=10,
    )
    assert [c.payload for c in scanner.scan(two_of_one)] == [b"TWICE"]


def test_hold_zero_delivers_every_sighting() -> None:
    image = frame(HD, [Placed(symbol("EVERY FRAME", "qr", 4), (640, 360))], seed=12)
    clock = Ticker()
    scanner = FrameScanner(["qr"], hold=0.0, clock=clock)
    assert deliveries(scanner, clock, [image] * 3) == [1, 1, 1]


def test_recent_codes_forget_expired_keys_and_stay_bounded() -> None:
    recent = RecentCodes(hold=2.0, limit=3)
    assert not recent.seen(("qr", b"a"), 0.0)
    assert not recent.seen(("qr", b"b"), 1.0)
    assert recent.seen(("qr", b"a"), 1.5)
    recent.expire(3.2)  # b last seen at 1.0: gone; a at 1.5: kept
    assert len(recent) == 1
    assert recent.seen(("qr", b"a"), 3.4)
    for name in (b"c", b"d", b"e"):
        assert not recent.seen(("qr", name), 3.5)
    assert len(recent) == 3  # the limit drops the code seen longest ago ("a")
    assert not recent.seen(("qr", b"a"), 3.6)
    assert recent.seen(("qr", b"e"), 3.7)
