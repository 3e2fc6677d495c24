"""mrz-rte: framer properties, the conformance suite, Interrupt/Polled enable, end to end."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.base import NotSupported
from drivers.framing import FrameKind
from drivers.rte.driver import DEFAULT_ENABLE, RteDriver
from drivers.rte.framer import LENGTH_COVERS, RteFramer, encode
from drivers.rte.sim import RteInterruptSim, RtePolledSim, RteSim
from drivers.testing import CHECKS, Case, Check, check_names, feed_all, next_capture
from edge.documents.mrz_gen import random_mrz
from tests.drivers.support import chunks, expect_document, wait_for

RNG = random.Random(9303)
SAMPLES = [random_mrz(RNG, fmt) for fmt in ("td3", "td1", "td2", "mrva", "td3")]


# -- framer ------------------------------------------------------------------------------


@pytest.mark.parametrize("covers", LENGTH_COVERS)
@pytest.mark.parametrize("bcc", [False, True])
def test_framer_reads_every_format(covers: str, bcc: bool) -> None:
    framer = RteFramer(bcc=bcc, length_covers=covers)
    for mrz in SAMPLES:
        frame = encode(mrz.splitlines(), bcc=bcc, length_covers=covers)
        (out,) = framer.feed(frame)
        assert out.kind is FrameKind.DATA
        assert out.raw == frame
        rows = out.payload.decode().split("\r")
        assert len(rows) == 4  # three lines, each ended by CR
        assert [r.rstrip("_") for r in rows[:3] if r.rstrip("_")] == mrz.splitlines()
        assert not framer.pending()


def test_lines_are_padded_and_bottom_aligned() -> None:
    td3 = SAMPLES[0].splitlines()
    frame = encode(td3)
    rows = frame[7:-1].split(b"\r")
    assert rows[0] == b""  # a two-line document leaves line 1 empty
    assert rows[1] == td3[0].encode() and rows[2] == td3[1].encode()
    short = encode(["P<UTO"])
    assert short[7:-1].split(b"\r")[:3] == [b"", b"", b"P<UTO".ljust(44, b"_")]


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), bcc=st.booleans(), noise=st.binary(max_size=30))
def test_framer_any_chunking_with_noise(seed: int, bcc: bool, noise: bytes) -> None:
    rng = random.Random(seed)
    noise = noise.replace(b"\x01", b"")
    docs = rng.sample(SAMPLES, 2)
    frames = [encode(d.splitlines(), bcc=bcc) for d in docs]
    stream = noise + frames[0] + frames[1]
    out = feed_all(RteFramer(bcc=bcc), chunks(stream, rng))
    data = [f for f in out if f.kind is FrameKind.DATA]
    errors = [f for f in out if f.kind is FrameKind.ERROR]
    assert [f.raw for f in data] == frames
    assert bool(errors) == bool(noise)
    assert all(e.error == "noise" for e in errors)
    assert b"".join(e.raw for e in errors) == noise


def test_byte_at_a_time_and_two_frames_in_one_read() -> None:
    a, b = (encode(m.splitlines(), bcc=True) for m in SAMPLES[:2])
    framer = RteFramer(bcc=True)
    out = [f for byte in a for f in framer.feed(bytes([byte]))]
    assert [f.raw for f in out] == [a]
    assert [f.raw for f in framer.feed(a + b)] == [a, b]


def test_bad_bcc_is_an_error_and_the_next_frame_still_reads() -> None:
    bad = encode(SAMPLES[0].splitlines(), bcc=True, corrupt_bcc=True)
    good = encode(SAMPLES[1].splitlines(), bcc=True)
    out = RteFramer(bcc=True).feed(bad + good)
    assert [(f.kind, f.error) for f in out] == [(FrameKind.ERROR, "bad_bcc"), (FrameKind.DATA, "")]
    assert out[0].raw == bad
    assert SAMPLES[0].splitlines()[0] not in out[0].detail


def test_truncated_frame_then_a_good_one() -> None:
    good = encode(SAMPLES[0].splitlines())
    framer = RteFramer()
    assert framer.feed(good[:40]) == []
    assert framer.pending()
    out = framer.feed(good)
    assert out[-1].kind is FrameKind.DATA
    assert out[-1].raw == good
    assert {f.error for f in out[:-1]} <= {"bad_frame", "noise"}
    assert out[:-1]
    # Cut off with nothing after it: the idle timer closes it as truncated.
    assert framer.feed(good[:40]) == []
    (cut,) = framer.idle()
    assert cut.error == "truncated"
    assert not framer.pending()


def test_impossible_length_and_flood_are_bounded() -> None:
    framer = RteFramer()
    out = framer.feed(b"\x01\xff\x3f" + b"A" * 100)
    assert out[0].error == "bad_length"
    flood = framer.feed(b"x" * 2000)
    assert flood
    assert flood[-1].error == "noise"
    assert not framer.pending()


def test_framer_rejects_unknown_length_mode() -> None:
    with pytest.raises(ValueError, match="length_covers"):
        RteFramer(length_covers="everything")


# -- driver + simulator -------------------------------------------------------------------


def _case(sim: type[RteSim], **options: Any) -> Case:
    return Case(
        driver=RteDriver,
        make_sim=lambda d: sim(link=d / "rte0", seed=7, **options),
        samples=SAMPLES,
        expect=expect_document(),
    )


CASES = {
    "native": _case(RteSim),
    "native-bcc-frame": _case(RteSim, bcc=True, length_covers="frame"),
    "interrupt": _case(RteInterruptSim, bcc=True),
    "polled": _case(RtePolledSim),
}


@pytest.mark.parametrize("check", CHECKS, ids=check_names())
@pytest.mark.parametrize("mode", list(CASES))
async def test_conformance(mode: str, check: Check, tmp_path: Path) -> None:
    await check(CASES[mode], tmp_path)


async def test_bad_bcc_from_the_device_is_a_notice_and_nothing_is_lost(tmp_path: Path) -> None:
    async with (
        RteSim(link=tmp_path / "rte0", bcc=True) as sim,
        RteDriver(sim.url, sim.options()) as driver,
    ):
        events = driver.events()
        sim.corrupt_next_bcc = True
        await sim.present(SAMPLES[0])
        await sim.present(SAMPLES[1])
        capture, notices = await next_capture(events)
        assert [n.code for n in notices] == ["bad_bcc"]
        assert capture.text == SAMPLES[1]
        assert driver.health().errors == 1


async def test_interrupt_mode_reads_nothing_until_enabled(tmp_path: Path) -> None:
    async with RteInterruptSim(link=tmp_path / "rte0") as sim:
        await sim.present(SAMPLES[0])  # presented before the host is there: held
        assert sim.sent == b""
        async with RteDriver(sim.url, sim.options()) as driver:
            capture, _ = await next_capture(driver.events())
            assert capture.text == SAMPLES[0]
            assert sim.commands == [DEFAULT_ENABLE]
            assert await driver.command("enable") == "sent"


async def test_polled_mode_enables_again_after_every_read(tmp_path: Path) -> None:
    async with (
        RtePolledSim(link=tmp_path / "rte0") as sim,
        RteDriver(sim.url, sim.options()) as driver,
    ):
        events = driver.events()
        for mrz in SAMPLES[:3]:
            await sim.present(mrz)
            capture, _ = await next_capture(events)
            assert capture.text == mrz
        await wait_for(lambda: sim.enables >= 4)
        assert sim.enables == 4  # one at connect, one after each read


async def test_a_missed_enable_is_retried_by_command(tmp_path: Path) -> None:
    async with RteInterruptSim(link=tmp_path / "rte0") as sim:
        sim.fail_next(1)
        async with RteDriver(sim.url, sim.options()) as driver:
            await sim.present(SAMPLES[0])
            await asyncio.sleep(0.05)
            assert sim.sent == b""  # the reader missed the first Enable
            await driver.command("enable")
            capture, _ = await next_capture(driver.events())
            assert capture.text == SAMPLES[0]


async def test_native_mode_takes_no_commands(tmp_path: Path) -> None:
    async with RteSim(link=tmp_path / "rte0") as sim, RteDriver(sim.url, sim.options()) as driver:
        with pytest.raises(NotSupported):
            await driver.command("enable")
        assert driver.capabilities == frozenset()
        assert sim.host_sent == b""


def test_options_are_checked() -> None:
    RteDriver.validate_options({"mode": "polled", "bcc": True, "baudrate": 19200})
    with pytest.raises(ValueError, match="mode"):
        RteDriver.validate_options({"mode": "fast"})
    with pytest.raises(ValueError, match="parity"):
        RteDriver.validate_options({"parity": "X"})
    with pytest.raises(ValueError, match="bcc"):
        RteDriver.validate_options({"bcc": "yes"})


async def test_7e1_settings_open_on_a_pty(tmp_path: Path) -> None:
    async with RteSim(link=tmp_path / "rte0") as sim:
        options = {**sim.options(), "bytesize": 7, "parity": "E", "stopbits": 2}
        async with RteDriver(sim.url, options) as driver:
            await sim.present(SAMPLES[1])
            capture, _ = await next_capture(driver.events())
            assert capture.text == SAMPLES[1]
