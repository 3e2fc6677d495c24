"""access-stx: STX and Raw Data framing, 7-bit noise, conformance, menu commands, probe."""

from __future__ import annotations

import asyncio
import datetime
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.access.driver import AccessStxDriver
from drivers.access.framer import (
    MAX_FRAME,
    AccessRawFramer,
    AccessStxFramer,
    encode_raw,
    encode_stx,
)
from drivers.access.sim import AccessStxSim
from drivers.base import NotSupported
from drivers.framing import Frame, FrameKind
from drivers.honeywell import MENU, MenuRefused
from drivers.mrzline.sim import HoneywellOcrSim
from drivers.symbology import ACCESS_CODES
from drivers.testing import CHECKS, Case, Check, check_names, feed_all, next_capture
from edge.documents.bcbp_gen import random_bcbp
from tests.drivers.support import chunks, expect_barcode

RNG = random.Random(792)
TODAY = datetime.date(2026, 3, 1)
PASSES = [random_bcbp(RNG, scan_date=TODAY, legs=2) for _ in range(3)]
SAMPLES = [*PASSES, "0123456789", "A"]


def kinds(frames: list[Frame]) -> list[tuple[str, str]]:
    return [
        (f.kind.value, f.error or f.fields.get("symbology") or f.fields["status"]) for f in frames
    ]


# -- framers -----------------------------------------------------------------------------------


def test_every_symbology_byte() -> None:
    framer = AccessStxFramer()
    for code, symbology in ACCESS_CODES.items():
        raw = encode_stx(PASSES[0].encode(), symbology)
        assert raw[1] == code and raw[-2:] == b"\r\x03"
        (frame,) = framer.feed(raw)
        assert frame.kind is FrameKind.DATA and frame.raw == raw
        assert frame.payload == PASSES[0].encode()
        assert frame.fields["symbology"] == symbology
    (unknown,) = framer.feed(b"\x02\x7fDATA\r\x03")
    assert unknown.fields == {"symbology": "unknown", "code_id": "7f"}
    assert len(PASSES[0]) >= 60  # long enough for several USB packets


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), noise=st.binary(max_size=30))
def test_stx_any_chunking_with_noise(seed: int, noise: bytes) -> None:
    rng = random.Random(seed)
    noise = noise.replace(b"\x02", b"")
    raws = [encode_stx(p.encode(), rng.choice(list(ACCESS_CODES.values()))) for p in PASSES[:2]]
    out = feed_all(AccessStxFramer(), chunks(noise + raws[0] + raws[1], rng))
    data = [f for f in out if f.kind is FrameKind.DATA]
    errors = [f for f in out if f.kind is FrameKind.ERROR]
    assert [f.raw for f in data] == raws
    assert b"".join(e.raw for e in errors) == noise
    assert all(e.error == "noise" for e in errors)


def test_high_bit_bytes_are_noise_in_7_bit_framing() -> None:
    good = encode_stx(b"ABC123", "code128")
    bad = good[:4] + b"\xc3" + good[4:]
    framer = AccessStxFramer()
    out = framer.feed(b"\x80\xff" + bad + good)
    assert kinds(out) == [("error", "noise"), ("error", "noise"), ("data", "code128")]
    assert out[1].raw == bad
    assert "ABC" not in out[1].detail
    with pytest.raises(ValueError, match="7-bit"):
        encode_stx(b"\xdc\x03", "datamatrix")  # a binary seal cannot be carried


def test_stx_truncated_overflow_and_replies() -> None:
    good = encode_stx(PASSES[0].encode(), "pdf417")
    framer = AccessStxFramer()
    out = framer.feed(good[:30] + good)
    assert kinds(out) == [("error", "truncated"), ("data", "pdf417")]
    assert framer.feed(good[:30]) == []
    assert kinds(framer.idle()) == [("error", "truncated")]
    flood = framer.feed(b"\x02" + b"x" * MAX_FRAME)
    assert kinds(flood) == [("error", "overflow")]
    out = framer.feed(b"AISINF1\x06." + good + b"#\x16M\rAISBAU9\x15!")
    assert kinds(out) == [
        ("reply", "ack"),
        ("data", "pdf417"),
        ("error", "noise"),
        ("reply", "nak"),
    ]
    assert out[0].fields["echo"] == "AISINF1"


def test_raw_mode_with_and_without_terminator() -> None:
    data = PASSES[1].encode()
    framer = AccessRawFramer(b"\r")
    raws = [encode_raw(data, "qr", b"\r"), encode_raw(b"1234", "code39", b"\r")]
    out = [f for byte in b"".join(raws) for f in framer.feed(bytes([byte]))]
    assert kinds(out) == [("data", "qr"), ("data", "code39")]
    assert [f.raw for f in out] == raws and out[0].payload == data
    assert framer.feed(raws[0][:20]) == []
    assert kinds(framer.idle()) == [("error", "truncated")]
    # Without a terminator silence ends a read; binary data passes through.
    idle_framer = AccessRawFramer()
    seal = encode_raw(b"\xdc\x03\x0d\x06.\xff", "datamatrix")
    assert idle_framer.feed(seal) == []
    (frame,) = idle_framer.idle()
    assert frame.payload == b"\xdc\x03\x0d\x06.\xff" and frame.fields["symbology"] == "datamatrix"
    assert kinds(idle_framer.feed(b"ALLENA1\x06.")) == [("reply", "ack")]


# -- driver + simulator ------------------------------------------------------------------------

CASES = {
    "standard": Case(
        driver=AccessStxDriver,
        make_sim=lambda d: AccessStxSim(link=d / "acc0", seed=13),
        samples=SAMPLES,
        expect=expect_barcode("pdf417"),
    ),
    "raw-cr": Case(
        driver=AccessStxDriver,
        make_sim=lambda d: AccessStxSim(
            link=d / "acc0", seed=13, mode="raw", symbology="aztec", terminator=b"\r"
        ),
        samples=SAMPLES,
        expect=expect_barcode("aztec"),
        # Raw Data has no frame markers: noise and a cut read look like data.
        noise_detected=False,
        truncation_detected=False,
    ),
}


@pytest.mark.parametrize("check", CHECKS, ids=check_names())
@pytest.mark.parametrize("mode", list(CASES))
async def test_conformance(mode: str, check: Check, tmp_path: Path) -> None:
    await check(CASES[mode], tmp_path)


def test_options_and_line_settings() -> None:
    s = AccessStxDriver("/dev/null", {}).serial_settings()
    assert (s.baudrate, s.bytesize, s.parity) == (9600, 7, "E")
    s = AccessStxDriver("/dev/null", {"mode": "raw"}).serial_settings()
    assert (s.baudrate, s.bytesize, s.parity) == (9600, 8, "N")
    s = AccessStxDriver(
        "/dev/null", {"mode": "raw", "parity": "O", "baudrate": 19200}
    ).serial_settings()
    assert (s.baudrate, s.bytesize, s.parity) == (19200, 8, "O")
    AccessStxDriver.validate_options({"mode": "raw", "terminator": "\\r\\n", "configure": []})
    with pytest.raises(ValueError, match="mode"):
        AccessStxDriver.validate_options({"mode": "ocr"})
    with pytest.raises(ValueError, match="terminator"):
        AccessStxDriver.validate_options({"terminator": "\\x"})
    with pytest.raises(ValueError, match="configure"):
        AccessStxDriver.validate_options({"configure": [1]})


async def test_menu_commands_and_configure(tmp_path: Path) -> None:
    async with AccessStxSim(link=tmp_path / "acc0") as sim:
        options = {**sim.options(), "configure": ["AISKBL4!"]}
        async with AccessStxDriver(sim.url, options) as driver:
            assert sim.menu.values["AISKBL"] == "4"
            assert await driver.command("query", text="AISINF?") == "AISINF1"
            assert await driver.command("menu", text="ALLENA1.") == "ack"
            with pytest.raises(MenuRefused) as enq:
                await driver.command("menu", text="OCRENA1!")  # no such tag on this reader
            assert enq.value.status == "enq"
            sim.fail_next(1)
            with pytest.raises(MenuRefused, match="nak"):
                await driver.command("menu", text="AISBAU5!")
            assert sim.menu.values["AISBAU"] == "9"  # the refused command changed nothing
            with pytest.raises(NotSupported):
                await driver.command("trigger")
            assert sim.commands == [
                MENU + b"AISKBL4!",
                MENU + b"AISINF?.",
                MENU + b"ALLENA1.",
                MENU + b"OCRENA1!",
                MENU + b"AISBAU5!",
            ]
            sent = await sim.present(PASSES[0])
            capture, notices = await next_capture(driver.events())
            assert capture.raw == sent and not notices


async def test_disabling_all_symbologies_stops_reads(tmp_path: Path) -> None:
    async with (
        AccessStxSim(link=tmp_path / "acc0") as sim,
        AccessStxDriver(sim.url, {**sim.options(), "configure": "ALLENA0!"}),
    ):
        await sim.present(PASSES[0])
        await asyncio.sleep(0.05)
        assert sim.sent.count(b"\x02") == 0


async def test_high_bit_byte_on_the_line_is_a_notice_and_the_next_read_arrives(
    tmp_path: Path,
) -> None:
    async with (
        AccessStxSim(link=tmp_path / "acc0", symbology="qr") as sim,
        AccessStxDriver(sim.url, sim.options()) as driver,
    ):
        good = sim.encode(PASSES[2])
        await sim.write(good[:10] + b"\xb1" + good[10:])  # a parity slip inside a read
        await sim.present(PASSES[2])
        capture, notices = await next_capture(driver.events())
        assert [n.code for n in notices] == ["noise"]
        assert PASSES[2][:10] not in notices[0].message
        assert capture.raw == good and capture.symbology == "qr"


async def test_probe(tmp_path: Path) -> None:
    async with AccessStxSim(link=tmp_path / "acc0") as sim:
        assert await AccessStxDriver.probe(sim.url, {"configure": "ALLENA0!"})
        assert sim.commands == [MENU + b"AISINF?."]
    async with HoneywellOcrSim(link=tmp_path / "ocr0") as other:
        # A Honeywell engine answers ENQ to an Access-IS tag: still Honeywell syntax.
        assert await AccessStxDriver.probe(other.url, {})
    async with AccessStxSim(link=tmp_path / "mute", mode="raw") as mute:
        mute.on_host = lambda data: None  # type: ignore[method-assign]  # a device that never answers
        assert not await AccessStxDriver.probe(mute.url, mute.options())
