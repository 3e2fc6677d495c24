"""barcode-hidpos: conformance over the fake USB bus, output reports, hotplug, end to end."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.base import DeviceUnavailable, Notice, NotSupported
from drivers.hidpos.driver import HidPosDriver
from drivers.hidpos.fakeusb import fake_bus
from drivers.hidpos.framer import input_reports
from drivers.hidpos.sim import HidPosSim
from drivers.hidpos.transport import HidPosTransport, parse_url
from drivers.honeywell import MenuRefused
from drivers.registry import Registry
from drivers.testing import CHECKS, Case, Check, check_names, next_capture, next_event
from edge.documents.bcbp_gen import random_bcbp
from tests.drivers.support import expect_barcode, stored, wait_for
from tests.helpers import make_config, running

TODAY = datetime.now(UTC).date()
RNG = random.Random(131)
SAMPLES = [
    random_bcbp(RNG, scan_date=TODAY, legs=1),  # >= 60 bytes: two reports
    "0123456789012",
    random_bcbp(RNG, scan_date=TODAY, legs=4, conditional=True),  # several reports
]
assert len(SAMPLES[0]) > 56 and len(SAMPLES[2]) > 2 * 56


def _case(*, out_endpoint: bool = True) -> Case:
    return Case(
        driver=HidPosDriver,
        make_sim=lambda _: HidPosSim(seed=13, out_endpoint=out_endpoint),
        samples=SAMPLES,
        expect=expect_barcode("qr", aim="]Q1"),
        # A USB device sends whole reports only, and a multi-report read cut after a "more
        # data" report looks like the next read's first report until the idle timeout
        # closes it as truncated (the check sends the next read sooner than that). Both are
        # tested below: test_a_read_whose_rest_never_comes_is_a_notice.
        truncation_detected=False,
    )


CASES = {"interrupt-out": _case(), "set-report": _case(out_endpoint=False)}


@pytest.mark.parametrize("check", CHECKS, ids=check_names())
@pytest.mark.parametrize("mode", list(CASES))
async def test_conformance(mode: str, check: Check, tmp_path: Path) -> None:
    await check(CASES[mode], tmp_path)


def test_urls() -> None:
    assert parse_url("usb://0c2e:0b87").vendor_id == 0x0C2E
    assert parse_url("usb://0c2e:0b87?serial=A1").serial == "A1"
    where = parse_url("usb://3/17")
    assert (where.bus, where.address) == (3, 17)
    for bad in ("usb://zz:0b87", "socket://x:1", "usb://0c2e"):
        with pytest.raises(ValueError, match="usb"):
            parse_url(bad)
    with pytest.raises(DeviceUnavailable):
        HidPosTransport("usb://nonsense")


@pytest.mark.parametrize("out_endpoint", [True, False], ids=["interrupt-out", "set-report"])
async def test_output_reports_trigger_beep_and_menu(out_endpoint: bool) -> None:
    async with (
        HidPosSim(out_endpoint=out_endpoint) as sim,
        HidPosDriver(sim.url) as driver,
    ):
        assert await driver.command("trigger") == "sent"
        assert await driver.command("untrigger") == "sent"
        assert await driver.command("beep") == "sent"
        with pytest.raises(NotSupported):
            await driver.command("beep", tone="double")
        assert await driver.command("menu", text="BEPLVL1") == "BEPLVL1"
        with pytest.raises(MenuRefused, match="nak"):
            await driver.command("menu", text="BEPLVL9")
        with pytest.raises(MenuRefused, match="enq"):
            await driver.command("menu", text="ABCDEF1")
        await wait_for(lambda: len(sim.output_reports) == 6)
        assert sim.output_reports[:3] == [b"\x04\x04", b"\x04\x02", b"\x04\x20"]
        menu = sim.output_reports[3]
        assert menu[0] == 0xFD and menu[1] == 11 and menu[2:13] == b"\x16M\rBEPLVL1!"
        assert len(menu) == 64
        assert sim.actions == ["trigger", "untrigger", "beep"]
        assert sim.menu.values["BEPLVL"] == "1"
        # Reads keep flowing around the commands.
        await sim.present(SAMPLES[0])
        capture, notices = await next_capture(driver.events())
        assert capture.payload == SAMPLES[0].encode() and not notices


async def test_probe() -> None:
    async with HidPosSim() as sim:
        assert await HidPosDriver.probe(sim.url)
        assert sim.commands == [b"\x16M\rBEPLVL?."]
    assert not await HidPosDriver.probe(sim.url)  # gone


def usbhid_bound(sim: HidPosSim) -> bool:
    return sim.usb.kernel_driver


async def test_kernel_driver_is_detached_and_given_back() -> None:
    async with HidPosSim() as sim:
        assert usbhid_bound(sim)
        driver = HidPosDriver(sim.url)
        await driver.open()
        assert not usbhid_bound(sim)
        # A second host on the same device finds it claimed.
        with pytest.raises(DeviceUnavailable, match="busy"):
            await HidPosDriver(sim.url).open()
        await driver.close()
        assert usbhid_bound(sim)
        assert sim.usb.claimed_by is None


async def test_bus_address_url_and_identity() -> None:
    async with HidPosSim(serial="XYZ123") as sim:
        url = f"usb://{sim.usb.bus}/{sim.usb.address}"
        async with HidPosDriver(url) as driver:
            identity = driver.identify()
            assert identity.transport == "hidpos"
            assert (identity.vendor_id, identity.serial) == ("0c2e", "XYZ123")
            assert identity.manufacturer == "Honeywell"
            assert identity.node == url
            assert driver.presence_path() is None
        # Another serial number behind the same VID:PID is another device.
        with pytest.raises(DeviceUnavailable, match="no USB device"):
            await HidPosDriver("usb://0c2e:0b87?serial=OTHER").open()


async def test_garbage_reports_are_notices_and_nothing_is_lost() -> None:
    async with HidPosSim(seed=1) as sim, HidPosDriver(sim.url) as driver:
        events = driver.events()
        await sim.inject_garbage()
        await sim.inject_garbage(bytes([7]) + bytes(63))
        await sim.present(SAMPLES[2])
        capture, notices = await next_capture(events)
        assert [n.code for n in notices] == ["bad_length", "bad_report"]
        assert capture.payload == SAMPLES[2].encode()
        assert driver.health().errors == 2


async def test_a_read_whose_rest_never_comes_is_a_notice() -> None:
    async with HidPosSim() as sim, HidPosDriver(sim.url) as driver:
        events = driver.events()
        reports = sim.encode(SAMPLES[0])
        await sim.write(reports[:64])  # "more data follows", then nothing
        notice = await next_event(events)
        assert isinstance(notice, Notice) and notice.code == "truncated"
        assert notice.raw == reports[:64]
        await sim.present(SAMPLES[1])
        capture, _ = await next_capture(events)
        assert capture.payload == SAMPLES[1].encode()


async def test_reports_in_bursts_with_gaps() -> None:
    async with HidPosSim(seed=4) as sim, HidPosDriver(sim.url) as driver:
        sim.set_chunking((1, 3), (0.0, 0.01))
        sent = await sim.present(SAMPLES[2], repeat=3)
        for _ in range(3):
            capture, _ = await next_capture(driver.events())
            assert capture.raw == sent


async def test_end_to_end_boarding_pass_to_a_record(data_dir: Path) -> None:
    async with HidPosSim() as sim:
        config = make_config(
            data_dir,
            devices=[{"name": "hidpos", "driver": "barcode-hidpos", "url": sim.url}],
        )
        async with running(config, Registry()) as app:
            (sup,) = app.supervisors
            await wait_for(lambda: sup.health.state.value == "ready")
            sent = await sim.present(SAMPLES[2])
            await wait_for(lambda: app.store.writer.last_seq >= 1)
            (record,) = await stored(app)
    assert record.kind == "barcode"
    assert record.format == "bcbp"
    assert record.verdict == "valid"
    assert record.raw == sent
    assert record.raw == input_reports(SAMPLES[2].encode(), aim=b"]Q1", code_id=0x73)
    assert record.device.identity["vendor_id"] == "0c2e"


def test_one_fake_bus() -> None:
    assert fake_bus() is fake_bus()
