"""mrz-line commands: Honeywell menu syntax both ways, configure at connect, triggers, probe."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from drivers.base import NotSupported, ProtocolError
from drivers.honeywell import (
    MENU,
    TRIGGER,
    UNTRIGGER,
    MenuRefused,
    MenuState,
    configure_commands,
    menu_bytes,
    parse_reply,
    take_commands,
)
from drivers.mrzline.driver import MrzLineDriver
from drivers.mrzline.sim import HoneywellOcrSim
from drivers.rte.sim import RteSim
from drivers.testing import next_capture
from edge.documents.mrz_gen import random_mrz
from tests.drivers.support import wait_for

RNG = random.Random(1903)
TD3, TD1 = random_mrz(RNG, "td3"), random_mrz(RNG, "td1")


# -- the shared Honeywell syntax ---------------------------------------------------------------


def test_menu_bytes() -> None:
    assert menu_bytes("OCRENA1!") == MENU + b"OCRENA1!"
    assert menu_bytes("AISKBL1.") == MENU + b"AISKBL1."
    assert menu_bytes(" OCRENA1 ") == MENU + b"OCRENA1!"  # volatile unless stored
    assert menu_bytes("TRGMOD?") == MENU + b"TRGMOD?."  # queries end with "."
    for bad in ("", "OCR ENA1", "é", "!!!", "X" * 300):
        with pytest.raises(ValueError, match="menu command"):
            menu_bytes(bad)
    assert configure_commands("ALLENA0!  OCRENA1!\nOCRATS2!") == (
        "ALLENA0!",
        "OCRENA1!",
        "OCRATS2!",
    )
    assert configure_commands(["TRGMOD0"]) == ("TRGMOD0",)


def test_parse_reply() -> None:
    reply = parse_reply(b"CBRENA1\x06,SSX0\x06;TRGMOD9\x15.")
    assert reply is not None
    assert reply.items == (("CBRENA1", "ack"), ("SSX0", "ack"), ("TRGMOD9", "nak"))
    assert reply.status == "nak"
    assert reply.text == "CBRENA1,SSX0,TRGMOD9"
    assert parse_reply(MENU + b"XYZABC\x05!") is not None
    for bad in (
        b"\x06.",
        b"AB\x06.",
        b"TRGMOD0.",
        b"TRGMOD0\x06",
        b"TRG\xffMOD0\x06.",
        b"\x06\x06.",
    ):
        assert parse_reply(bad) is None


def test_device_side_command_parsing_and_answers() -> None:
    inbox = bytearray(
        b"junk" + TRIGGER + MENU + b"OCRENA0;TRGMOD0,XYZ1!" + UNTRIGGER + MENU + b"OC"
    )
    commands = take_commands(inbox)
    assert [c.kind for c in commands] == ["trigger", "menu", "untrigger"]
    assert commands[1].body == b"OCRENA0;TRGMOD0,XYZ1!"
    assert inbox == MENU + b"OC"  # an incomplete command waits for the rest
    state = MenuState({"OCRENA": ("0", "1"), "TRGMOD": ("0", "3")}, {"OCRENA": "1", "TRGMOD": "3"})
    assert state.answer(commands[1].body) == b"OCRENA0\x06;TRGMOD0\x06,XYZ1\x05!"
    assert state.values == {"OCRENA": "0", "TRGMOD": "0"}
    assert state.answer(b"ocrena7.") == b"OCRENA7\x15."
    assert state.answer(b"TRGMOD?.") == b"TRGMOD0\x06."
    assert state.answer(b"TRGMOD*.") == b"TRGMOD0|3\x06."
    assert state.answer(b"OCRENA1.", refuse=True) == b"OCRENA1\x15."
    assert state.values["OCRENA"] == "0"  # a refused command changes nothing


# -- driver + simulator ------------------------------------------------------------------------


async def test_menu_commands_ack_enq_nak(tmp_path: Path) -> None:
    async with (
        HoneywellOcrSim(link=tmp_path / "ocr0") as sim,
        MrzLineDriver(sim.url, sim.options()) as driver,
    ):
        assert await driver.command("menu", text="OCRATS2!") == "ack"
        assert await driver.command("query", text="OCRATS?") == "OCRATS2"
        with pytest.raises(MenuRefused) as enq:
            await driver.command("menu", text="NOSUCH1!")
        assert enq.value.status == "enq"
        with pytest.raises(MenuRefused) as nak:
            await driver.command("menu", text="OCRENA7!")
        assert nak.value.status == "nak"
        assert "OCRENA7" not in str(nak.value)  # the status, not the data
        sim.fail_next(1)
        with pytest.raises(MenuRefused, match="nak"):
            await driver.command("menu", text="OCRENA1!")
        assert await driver.command("menu", text="OCRENA1.") == "ack"
        assert sim.commands == [
            MENU + b"OCRATS2!",
            MENU + b"OCRATS?.",
            MENU + b"NOSUCH1!",
            MENU + b"OCRENA7!",
            MENU + b"OCRENA1!",
            MENU + b"OCRENA1.",
        ]
        # Reads go on between commands, and replies never become reads.
        await sim.present(TD3)
        capture, notices = await next_capture(driver.events())
        assert capture.text == TD3 and not notices
        with pytest.raises(ValueError, match="text"):
            await driver.command("menu")


async def test_configure_at_connect_enables_ocr(tmp_path: Path) -> None:
    async with HoneywellOcrSim(link=tmp_path / "ocr0") as sim:
        sim.menu.values["OCRENA"] = "0"
        await sim.present(TD3)
        assert sim.sent == b""  # OCR disabled: nothing is read
        options = {**sim.options(), "configure": ["ALLENA0!", "OCRENA1!", "OCRATS2!"]}
        async with MrzLineDriver(sim.url, options) as driver:
            assert sim.commands == [MENU + b"ALLENA0!", MENU + b"OCRENA1!", MENU + b"OCRATS2!"]
            await sim.present(TD1)
            capture, _ = await next_capture(driver.events())
            assert capture.text == TD1
            assert capture.raw == sim.encode(TD1) and len(capture.raw) == 92


async def test_a_refused_configure_command_fails_the_connection(tmp_path: Path) -> None:
    async with HoneywellOcrSim(link=tmp_path / "ocr0") as sim:
        driver = MrzLineDriver(sim.url, {**sim.options(), "configure": "OCRENA1! OCRATS99!"})
        with pytest.raises(MenuRefused, match="nak"):
            await driver.open()
        assert driver.health().state.value == "absent"


async def test_manual_trigger_mode_reads_only_when_triggered(tmp_path: Path) -> None:
    async with (
        HoneywellOcrSim(link=tmp_path / "ocr0", trigger_mode="manual") as sim,
        MrzLineDriver(sim.url, sim.options()) as driver,
    ):
        assert driver.capabilities >= {"trigger", "menu"}
        events = driver.events()
        await sim.present(TD3)
        await asyncio.sleep(0.05)
        assert sim.sent == b""  # in view, not read: the host has not triggered
        assert await driver.command("trigger") == "sent"
        capture, _ = await next_capture(events)
        assert capture.text == TD3
        assert not sim.triggered  # scanning stops after a good read
        await driver.command("trigger")
        await driver.command("untrigger")
        await wait_for(lambda: len(sim.commands) == 3)  # the sim took both before the read
        await sim.present(TD1)
        await asyncio.sleep(0.05)
        assert sim.commands == [TRIGGER, TRIGGER, UNTRIGGER]
        assert len(sim.sent) == 89  # only the TD3
        await driver.command("trigger")
        capture, _ = await next_capture(events)
        assert capture.text == TD1


async def test_switching_the_device_to_manual_by_menu_command(tmp_path: Path) -> None:
    async with HoneywellOcrSim(link=tmp_path / "ocr0") as sim:
        options = {**sim.options(), "trigger_mode": "manual", "configure": "TRGMOD0!"}
        async with MrzLineDriver(sim.url, options) as driver:
            assert sim.manual
            await sim.present(TD1)
            await driver.command("trigger")
            capture, _ = await next_capture(driver.events())
            assert capture.text == TD1


async def test_auto_mode_has_no_trigger_command(tmp_path: Path) -> None:
    async with (
        HoneywellOcrSim(link=tmp_path / "ocr0") as sim,
        MrzLineDriver(sim.url, sim.options()) as driver,
    ):
        assert "trigger" not in driver.capabilities
        with pytest.raises(NotSupported):
            await driver.command("trigger")
        assert sim.host_sent == b""  # nothing sent at connect without configure


async def test_rows_apart_longer_than_the_idle_timeout_are_one_read(tmp_path: Path) -> None:
    async with (
        HoneywellOcrSim(link=tmp_path / "ocr0", row_gap=0.12) as sim,
        MrzLineDriver(sim.url, {**sim.options(), "idle_timeout": 0.03, "row_gap": 0.5}) as driver,
    ):
        events = driver.events()
        for mrz in (TD1, TD3):
            sent = await sim.present(mrz)
            capture, notices = await next_capture(events)
            assert capture.text == mrz and capture.raw == sent and not notices


async def test_probe_finds_the_engine_and_not_other_devices(tmp_path: Path) -> None:
    async with HoneywellOcrSim(link=tmp_path / "ocr0") as sim:
        assert await MrzLineDriver.probe(sim.url, {"configure": "OCRENA0!"})
        assert sim.commands == [MENU + b"TRGMOD?."]  # a query; configure is not sent
    async with RteSim(link=tmp_path / "rte0") as rte:
        assert not await MrzLineDriver.probe(rte.url, {"baudrate": 9600})
    assert not await MrzLineDriver.probe(str(tmp_path / "absent"), {})


async def test_a_reply_without_the_echo_is_a_protocol_error(tmp_path: Path) -> None:
    async with HoneywellOcrSim(link=tmp_path / "ocr0") as sim:
        sim.on_host = lambda data: sim.reply(b"ZZZZZZ\x06.")  # type: ignore[method-assign]  # a device answering something else
        async with MrzLineDriver(sim.url, sim.options()) as driver:
            with pytest.raises(ProtocolError, match="echo"):
                await driver.command("menu", text="OCRENA1!")
