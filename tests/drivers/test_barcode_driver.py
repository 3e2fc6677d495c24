"""barcode-serial: conformance, Honeywell commands, Host ACK, garbage and hotplug, end to end."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from drivers.barcode.driver import BarcodeSerialDriver
from drivers.barcode.sim import BarcodeCdcSim
from drivers.base import NotSupported, ProtocolError
from drivers.honeywell import MenuRefused
from drivers.registry import Registry
from drivers.testing import CHECKS, Case, Check, check_names, next_capture, next_event
from edge.documents.bcbp_gen import random_bcbp
from tests.drivers.support import device, expect_barcode, stored, wait_for
from tests.helpers import make_config, running

TODAY = datetime.now(UTC).date()
RNG = random.Random(792)
# >= 60 bytes: several USB packets per read.
SAMPLES = [
    random_bcbp(RNG, scan_date=TODAY, legs=1),
    "0123456789012",
    random_bcbp(RNG, scan_date=TODAY, legs=3, conditional=True),
]
assert all(len(s) >= 60 for s in (SAMPLES[0], SAMPLES[2]))


def _case(name: str, **sim: Any) -> Case:
    flags = {k: sim.pop(k) for k in ("noise_detected", "truncation_detected") if k in sim}
    return Case(
        driver=BarcodeSerialDriver,
        make_sim=lambda d: BarcodeCdcSim(link=d / name, seed=11, **sim),
        samples=SAMPLES,
        expect=expect_barcode("qr"),
        **flags,
    )


CASES = {
    # Without a prefix nothing marks where a read starts again: a read cut off and the next
    # one arriving within the idle timeout join into one wrong read (see the framer's doc).
    "aim-cr": _case("aim-cr", code_id_mode="aim", terminator="CR", truncation_detected=False),
    "prefix-honeywell-crlf-hostack": _case(
        "hw",
        prefix=b"\x02",
        code_id_mode="honeywell",
        terminator="CRLF",
        host_ack=True,
        ack_timeout=1.0,
    ),
    # Silence ends a read: a cut read followed by the next one is two reads, the first
    # short; nothing on the wire tells it was cut.
    "prefix-aim-idle": _case(
        "idle", prefix=b"\x02", code_id_mode="aim", terminator="none", truncation_detected=False
    ),
    "custom-terminator": _case(
        "custom",
        prefix=b"\x02",
        code_id_mode="aim",
        terminator="custom",
        terminator_bytes=b"\x03\x04",
    ),
}


@pytest.mark.parametrize("check", CHECKS, ids=check_names())
@pytest.mark.parametrize("mode", list(CASES))
async def test_conformance(mode: str, check: Check, tmp_path: Path) -> None:
    await check(CASES[mode], tmp_path)


def test_options_are_checked() -> None:
    BarcodeSerialDriver.validate_options({"prefix": "\\x02", "terminator": "ETX"})
    with pytest.raises(ValueError, match="terminator_bytes"):
        BarcodeSerialDriver.validate_options({"terminator": "custom"})
    with pytest.raises(ValueError, match="code_id_mode"):
        BarcodeSerialDriver.validate_options({"code_id_mode": "zebra"})
    with pytest.raises(ValueError, match="host_ack"):
        BarcodeSerialDriver.validate_options({"host_ack": "yes"})


async def test_trigger_and_menu_commands(tmp_path: Path) -> None:
    async with (
        BarcodeCdcSim(link=tmp_path / "bc") as sim,
        BarcodeSerialDriver(sim.url, sim.options()) as driver,
    ):
        assert await driver.command("trigger") == "sent"
        assert await driver.command("untrigger") == "sent"
        assert await driver.command("menu", text="BEPLVL1") == "BEPLVL1"
        assert sim.menu.values["BEPLVL"] == "1"
        echo = await driver.command("menu", text="BEPLVL2;TRGMOD3", store=True)
        assert echo == "BEPLVL2,TRGMOD3"
        assert sim.commands[:3] == [b"\x16T\r", b"\x16U\r", b"\x16M\rBEPLVL1!"]
        assert sim.commands[3] == b"\x16M\rBEPLVL2;TRGMOD3."
        assert sim.triggers == ["on", "off"]
        with pytest.raises(MenuRefused, match="nak"):
            await driver.command("menu", text="BEPLVL7")
        with pytest.raises(MenuRefused, match="enq"):
            await driver.command("menu", text="XYZABC1")
        sim.fail_next(1)
        with pytest.raises(MenuRefused, match="nak"):
            await driver.command("menu", text="BEPLVL0")
        assert sim.menu.values["BEPLVL"] == "2"
        assert await driver.command("menu", text="TRGSTO?") == "TRGSTO0"
        assert sim.commands[-1] == b"\x16M\rTRGSTO?."
        with pytest.raises(ValueError, match="menu"):
            await driver.command("menu")
        # Beep and LED are Host-ACK answers: not available outside Host-ACK mode.
        with pytest.raises(NotSupported):
            await driver.command("beep")
        # Reads still flow between commands.
        await sim.present(SAMPLES[0])
        capture, notices = await next_capture(driver.events())
        assert capture.payload == SAMPLES[0].encode() and not notices


async def test_menu_reply_and_a_read_interleaved(tmp_path: Path) -> None:
    async with (
        BarcodeCdcSim(link=tmp_path / "bc") as sim,
        BarcodeSerialDriver(sim.url, sim.options()) as driver,
    ):
        command = asyncio.create_task(driver.command("menu", text="BEPBEP0"))
        await sim.present(SAMPLES[1])
        assert await command == "BEPBEP0"
        capture, _ = await next_capture(driver.events())
        assert capture.payload == SAMPLES[1].encode()


async def test_probe_finds_a_scanner_and_not_a_silent_line(tmp_path: Path) -> None:
    async with BarcodeCdcSim(link=tmp_path / "bc") as sim:
        assert await BarcodeSerialDriver.probe(sim.url, sim.options())
        assert sim.commands == [b"\x16M\rBEPLVL?."]
    assert not await BarcodeSerialDriver.probe(str(tmp_path / "nothing"))


async def test_no_reply_is_a_protocol_error(tmp_path: Path) -> None:
    class Mute(BarcodeCdcSim):
        def on_host(self, data: bytes) -> None:
            self.inbox.clear()

    async with Mute(link=tmp_path / "bc") as sim:
        async with BarcodeSerialDriver(sim.url) as driver:
            with pytest.raises(ProtocolError, match="no reply"):
                await driver.command("menu", text="BEPLVL?")
        assert not await BarcodeSerialDriver.probe(sim.url)


def hostack_sim(path: Path, **kw: Any) -> BarcodeCdcSim:
    return BarcodeCdcSim(link=path, prefix=b"\x02", terminator="CR", host_ack=True, **kw)


async def test_host_ack_good_read_and_error_tone(tmp_path: Path) -> None:
    async with (
        hostack_sim(tmp_path / "bc") as sim,
        BarcodeSerialDriver(sim.url, sim.options()) as driver,
    ):
        events = driver.events()
        assert driver.capabilities >= {"beep", "led", "trigger", "menu"}
        await sim.present(SAMPLES[0], repeat=2)  # the second is held until the first is ACKed
        for _ in range(2):
            capture, _ = await next_capture(events)
            assert capture.payload == SAMPLES[0].encode()
        await sim.write(b"\x02]Q1\r")  # a read with no data: not accepted
        notice = await next_event(events)
        assert getattr(notice, "code", "") == "empty_read"
        await wait_for(lambda: len(sim.acks) == 3)
        assert sim.acks == [b"1", b"1", b"b"]
        assert sim.ack_timeouts == 0
        assert await driver.command("beep", tone="double") == "sent"
        assert await driver.command("led") == "sent"
        await wait_for(lambda: len(sim.acks) == 5)
        assert sim.acks[3:] == [b"a", b"1"]


async def test_host_ack_wait_times_out_and_releases_the_next_read(tmp_path: Path) -> None:
    # A host that never answers (Host ACK not enabled on the host side).
    async with (
        hostack_sim(tmp_path / "bc", ack_timeout=0.05) as sim,
        BarcodeSerialDriver(sim.url, {**sim.options(), "host_ack": False}) as driver,
    ):
        events = driver.events()
        await sim.present(SAMPLES[1], repeat=3)
        assert sim.sent.count(b"\x02") == 1  # the others wait
        for _ in range(3):
            capture, _ = await next_capture(events)
            assert capture.payload == SAMPLES[1].encode()
        await wait_for(lambda: sim.ack_timeouts == 3)
        assert sim.acks == []


async def test_garbage_and_cut_reads_are_notices_and_nothing_is_lost(tmp_path: Path) -> None:
    async with (
        BarcodeCdcSim(link=tmp_path / "bc", prefix=b"\x02", seed=3) as sim,
        BarcodeSerialDriver(sim.url, sim.options()) as driver,
    ):
        events = driver.events()
        await sim.inject_garbage(b"\x00\xff\x13 line noise")
        await sim.present(SAMPLES[0], truncate=20)
        await sim.present(SAMPLES[2])
        capture, notices = await next_capture(events)
        assert [n.code for n in notices] == ["noise", "truncated"]
        assert all(b"noise" not in n.message.encode() for n in notices)
        assert capture.payload == SAMPLES[2].encode()
        assert driver.health().errors == 2
        assert driver.health().reads == 1


async def test_end_to_end_boarding_pass_and_binary_seal(data_dir: Path, tmp_path: Path) -> None:
    seal = bytes.fromhex("dc03d9c56d32d9c56d325a555401fe") + bytes(range(256))
    reg = Registry()  # entry points: the installed barcode-serial driver
    async with BarcodeCdcSim(link=tmp_path / "bc", terminator="none") as sim:
        config = make_config(
            data_dir,
            devices=[device("scanner", "barcode-serial", sim)],
        )
        async with running(config, reg) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state.value == "ready")
            sent_pass = await sim.present(SAMPLES[2])
            await wait_for(lambda: app.store.writer.last_seq >= 1)
            sim.symbology = "datamatrix"
            sent_seal = await sim.present(seal)
            await wait_for(lambda: app.store.writer.last_seq >= 2)
            first, second = await stored(app)
    assert first.kind == "barcode"
    assert first.format == "bcbp"
    assert first.verdict == "valid"
    assert first.raw == sent_pass
    assert first.device.driver == "barcode-serial"
    assert second.raw == sent_seal
    assert second.format == "vds"
