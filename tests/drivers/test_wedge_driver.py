"""The wedge driver over real ptys and sockets: conformance, layouts, options, the daemon."""

from __future__ import annotations

import itertools
import random
from datetime import date
from pathlib import Path

import pytest

from drivers.base import Capture, DeviceKind, DeviceUnavailable, Notice, NotSupported
from drivers.registry import default_registry
from drivers.sim.profiles import profile_class
from drivers.testing import CHECKS, Case, Check, check_names, next_capture, next_event
from drivers.wedge.driver import WedgeBarcodeScanner, WedgeDocumentReader, WedgeDriver
from drivers.wedge.keymaps import LAYOUT_NAMES
from drivers.wedge.sim import WedgeSim
from edge.documents.bcbp_gen import random_bcbp
from edge.documents.mrz_gen import random_mrz
from edge.records import Kind, Verdict
from tests.drivers.support import (
    device,
    expect_barcode,
    expect_document,
    registry_with,
    stored,
    wait_for,
)
from tests.helpers import make_config, running

RNG = random.Random(20240611)
MRZS = [random_mrz(RNG, fmt) for fmt in ("td3", "td1", "td2", "mrva", "mrvb", "fra_id")]
TODAY = date.today()
PASSES = [random_bcbp(RNG, scan_date=TODAY, legs=2, conditional=True) for _ in range(2)]
# Truncation shows as a pause in the events' own timestamps, so the host's timer can be lax.
FAST = {"idle_timeout": 0.5, "key_gap": 0.03}


def document_case(*, socket: bool, layout: str) -> Case:
    def make(scratch: Path) -> WedgeSim:
        link = None if socket else scratch / "usb-Reader-event-kbd"
        return WedgeSim(layout=layout, link=link, socket=socket, seed=1)

    return Case(WedgeDriver, make, MRZS[:2], expect_document(), options=dict(FAST))


def barcode_case(*, socket: bool, layout: str) -> Case:
    def make(scratch: Path) -> WedgeSim:
        link = None if socket else scratch / "usb-Scanner-event-kbd"
        return WedgeSim(layout=layout, kind="barcode", aim="]L2", link=link, socket=socket, seed=2)

    return Case(WedgeBarcodeScanner, make, PASSES, expect_barcode("pdf417"), options=dict(FAST))


CASES = {
    "document-pty-de": document_case(socket=False, layout="de"),
    "document-socket-fr": document_case(socket=True, layout="fr"),
    "barcode-pty-uk": barcode_case(socket=False, layout="uk"),
    "barcode-socket-us": barcode_case(socket=True, layout="us"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
@pytest.mark.parametrize("check", CHECKS, ids=check_names())
async def test_conformance(check: Check, case: str, tmp_path: Path) -> None:
    await check(CASES[case], tmp_path)


# -- one entry point, two behaviours ---------------------------------------------------------


def test_kind_option_selects_the_behaviour() -> None:
    assert default_registry.get("wedge") is WedgeDriver
    assert profile_class("wedge") is WedgeSim
    reader = WedgeDriver("socket://127.0.0.1:1", {"kind": "document"})
    scanner = WedgeDriver("socket://127.0.0.1:1", {"kind": "barcode", "aim": True})
    assert type(reader) is WedgeDocumentReader and reader.kind is DeviceKind.MRZ_READER
    assert type(scanner) is WedgeBarcodeScanner and scanner.kind is DeviceKind.BARCODE
    assert isinstance(WedgeDriver("/dev/input/x"), WedgeDocumentReader)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"layout": "dvorak"}, "layout"),
        ({"aim": True}, "aim"),
        ({"kind": "barcode", "line_length": 30}, "line_length"),
        ({"kind": "camera"}, "kind"),
        ({"baudrate": 9600}, "baudrate"),
    ],
)
def test_bad_options_are_refused_by_name(options: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        WedgeDriver.validate_options(options)
    with pytest.raises(ValueError, match="kind"):
        WedgeBarcodeScanner.validate_options({"kind": "document"})


# -- layouts through the real driver ---------------------------------------------------------


async def read_with(sim: WedgeSim, options: dict[str, object], items: list[str]) -> list[object]:
    """Every event (Capture or Notice) the driver gives for `items`, typed by `sim`."""
    async with sim, WedgeDriver(sim.url, {**sim.options(), **FAST, **options}) as driver:
        events = driver.events()
        out: list[object] = []
        for item in items:
            await sim.present(item)
            out.append(await next_event(events))
            await sim.present("ENDMARK" if sim.kind == "barcode" else MRZS[0])
            marker = await next_event(events)
            assert isinstance(marker, Capture), "the driver must recover after each read"
        return out


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
async def test_every_format_in_every_layout(layout: str, tmp_path: Path) -> None:
    sim = WedgeSim(layout=layout, link=tmp_path / "kbd", seed=3)
    events = await read_with(sim, {}, MRZS)
    assert [e.text for e in events if isinstance(e, Capture)] == MRZS


async def test_layout_mismatch_de_scanner_us_driver_is_detected(tmp_path: Path) -> None:
    sim = WedgeSim(layout="de", socket=True, seed=4)
    async with sim:
        options = {**sim.options(), **FAST, "layout": "us"}
        async with WedgeDriver(sim.url, options) as driver:
            events = driver.events()
            for mrz in MRZS:
                await sim.present(mrz)
                notice = await next_event(events)
                assert isinstance(notice, Notice)
                assert notice.code == "unmapped_key"
                assert "<" not in notice.message and "us" in notice.message
            assert driver.health().reads == 0


@pytest.mark.parametrize(
    ("typed", "configured"),
    [(a, b) for a, b in itertools.permutations(LAYOUT_NAMES, 2)],
)
async def test_no_layout_mismatch_gives_a_wrong_mrz(typed: str, configured: str) -> None:
    sim = WedgeSim(layout=typed, socket=True, seed=5)
    async with sim:
        options = {**sim.options(), **FAST, "layout": configured}
        async with WedgeDriver(sim.url, options) as driver:
            events = driver.events()
            for mrz in MRZS:
                await sim.present(mrz)
                event = await next_event(events)
                # US and UK type every MRZ character alike: right text; else a Notice.
                assert isinstance(event, Notice) or event.text == mrz
                if {typed, configured} != {"us", "uk"}:
                    assert isinstance(event, Notice)
                    assert event.code in ("unmapped_key", "bad_charset", "dead_key")


async def test_td1_without_separators_and_per_char_gaps(tmp_path: Path) -> None:
    td1 = MRZS[1]
    sim = WedgeSim(layout="fr", separators=False, typing_gaps=(0.001, 0.010), socket=True)
    async with sim, WedgeDriver(sim.url, {**sim.options(), **FAST}) as driver:
        sent = await sim.present(td1)
        capture, notices = await next_capture(driver.events())
        assert not notices
        assert capture.text == td1 and capture.raw == sent


async def test_split_by_configured_line_length(tmp_path: Path) -> None:
    sim = WedgeSim(layout="us", separators=False, socket=True)
    async with sim:
        options = {**sim.options(), **FAST, "line_length": 30}
        async with WedgeDriver(sim.url, options) as driver:
            await sim.present(MRZS[1])
            capture, _ = await next_capture(driver.events())
            assert capture.text == MRZS[1]


async def test_scanner_without_suffix_ends_reads_on_silence() -> None:
    class NoEnter(WedgeSim):
        def keystrokes(self, item: str | bytes) -> list[list[object]]:
            return super().keystrokes(item)[:-1]  # no Enter after the data

    sim = NoEnter(layout="de", kind="barcode", socket=True)
    async with sim:
        options = {**sim.options(), "terminator": "none", "idle_timeout": 0.05}
        async with WedgeDriver(sim.url, options) as driver:
            sent = await sim.present(PASSES[0])
            capture, _ = await next_capture(driver.events())
            assert capture.payload == PASSES[0].encode() and capture.raw == sent
            assert capture.text == PASSES[0]
            assert capture.symbology == "unknown"


async def test_aim_expected_but_missing_is_a_notice() -> None:
    sim = WedgeSim(kind="barcode", socket=True)
    async with sim, WedgeDriver(sim.url, {**sim.options(), **FAST, "aim": True}) as driver:
        await sim.present("0123456789")
        notice = await next_event(driver.events())
        assert isinstance(notice, Notice) and notice.code == "no_aim"


async def test_no_commands_and_nothing_sent_to_the_device(tmp_path: Path) -> None:
    sim = WedgeSim(link=tmp_path / "kbd")
    async with sim:
        driver = WedgeDriver(sim.url, sim.options())
        async with driver:
            for name in ("beep", "trigger", "enable"):
                with pytest.raises(NotSupported):
                    await driver.command(name)
            await sim.present(MRZS[0])
            await next_capture(driver.events())
            identity = driver.identify()
            assert identity.transport == "pty" and identity.stable_path == str(sim.link)
            assert driver.host_hints["grab"].startswith("not applicable")
    assert sim.host_sent == b""


async def test_garbage_then_unplug_loses_no_capture(tmp_path: Path) -> None:
    sim = WedgeSim(layout="de", link=tmp_path / "kbd", seed=9)
    async with sim, WedgeDriver(sim.url, {**sim.options(), **FAST}) as driver:
        events = driver.events()
        await sim.inject_garbage(b"\x00\xff" * 9)
        await sim.present(MRZS[2])
        capture, notices = await next_capture(events)
        assert [n.code for n in notices] == ["noise"] and capture.text == MRZS[2]
        await sim.unplug()
        with pytest.raises(DeviceUnavailable):
            await next_event(events)


# -- through the daemon --------------------------------------------------------------------


async def test_end_to_end_document_and_boarding_pass(data_dir: Path, tmp_path: Path) -> None:
    reader = WedgeSim(layout="de", link=tmp_path / "usb-Reader-event-kbd", seed=11)
    scanner = WedgeSim(layout="fr", kind="barcode", aim="]L2", socket=True, seed=12)
    async with reader, scanner:
        config = make_config(
            data_dir,
            devices=[
                device("mrz", "wedge", reader),
                device("bp", "wedge", scanner),
            ],
        )
        async with running(config, registry_with("wedge", WedgeDriver)) as app:
            await wait_for(lambda: all(s.identity for s in app.supervisors))
            sent_mrz = await reader.present(MRZS[0])
            sent_pass = await scanner.present(PASSES[0])
            await wait_for(lambda: app.store.writer.last_seq >= 2)
            records = {r.device.name: r for r in await stored(app)}
    document, boarding = records["mrz"], records["bp"]
    assert document.kind is Kind.DOCUMENT and document.format == "td3"
    assert document.verdict in (Verdict.VALID, Verdict.EXPIRED)
    assert document.raw == sent_mrz and document.payload["text"] == MRZS[0]
    assert document.device.identity["stable_path"] == str(reader.link)
    assert boarding.kind is Kind.BARCODE and boarding.format == "bcbp"
    assert boarding.verdict is Verdict.VALID and boarding.raw == sent_pass
    assert boarding.payload["symbology"] == "pdf417"
    assert len(PASSES[0]) >= 60
