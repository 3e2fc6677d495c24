"""Which devices a provisioning run uses: held ones kept, catch-alls asked, given ones taken.

- re-provisioning a workstation whose daemon holds the passport reader keeps the reader, its
  config entry and its udev rule ("kept: in use by the running daemon");
- a CDC-ACM device of unknown make that only opens (an LTE modem's AT port) is not a reader
  because it opens: without questions it is left out with the flag that forces it; the
  technician may say it is one; `--device NAME=PATH:DRIVER` uses a device as said.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from drivers.registry import default_registry
from provisioning.catalog import Catalog
from provisioning.changes import Applier
from provisioning.choose import IN_USE, choose, parse_given
from provisioning.configure import configure
from provisioning.discover import Discovery, discover
from provisioning.errors import ProvisioningError
from provisioning.settings import Settings
from provisioning.ui import Console
from tests.provisioning.staging import PASSPORT_LINK, bench, node, snapshot, usb_device

MODEM = "/dev/serial/by-id/usb-Telit_LE910_MODEM1-if00"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="staging owners needs root")


@needs_root
async def test_a_device_the_running_daemon_holds_is_kept(tmp_path: Path) -> None:
    async with bench(tmp_path) as b:
        first = await b.provision(enroll_token=b.token(), selftest="never")
        assert first.ok, b.outputs[-1]
        before = snapshot(b.root, ("var/lib/midas-edge/provision-report.",))
        # The daemon opens serial ports exclusively, as pyserial does here.
        link = b.root / "dev/serial/by-id" / PASSPORT_LINK
        with serial.Serial(str(link), exclusive=True):
            again = await b.provision(selftest="never")
        assert again.ok, b.outputs[-1]
        assert not again.changed
        passport = next(h for h in again.hardware if h["url"].endswith(PASSPORT_LINK))
        assert (passport["status"], passport["family"], passport["confirmed_by"]) == (
            "kept",
            "access-stx",
            IN_USE,
        )
        assert snapshot(b.root, ("var/lib/midas-edge/provision-report.",)) == before
        rules = (b.root / "etc/udev/rules.d/70-midas-edge.rules").read_text()
        assert 'SYMLINK+="midas-edge/passport-reader"' in rules
        assert f": kept (access-stx, {IN_USE})" in b.outputs[-1]


@pytest.fixture
def modem_root(tmp_path: Path) -> Iterator[Path]:
    """A staged LTE modem: its AT port is a CDC-ACM device that opens and says nothing."""
    root = tmp_path / "root"
    intf = usb_device(
        root,
        "1-7",
        ("1bc7", "1201"),
        serial="MODEM1",
        product="Telit LE910",
        interface=(2, 1),
        driver="cdc_acm",
    )
    master, slave = os.openpty()
    node(root, "tty", "ttyACM5", intf, "serial/by-id", "usb-Telit_LE910_MODEM1-if00")
    (root / "dev/ttyACM5").symlink_to(os.ttyname(slave))
    try:
        yield root
    finally:
        os.close(master)
        os.close(slave)


async def _discovered(root: Path) -> Discovery:
    found = await discover(Catalog.load(), default_registry, root)
    [modem] = found.found
    assert modem.entry is not None and modem.entry.key == "cdc-acm-device"
    assert (modem.status, modem.how, modem.candidate) == ("unconfirmed", "opens", "mrz-rte")
    return found


async def test_a_catch_all_serial_device_is_not_confirmed_by_opening(modem_root: Path) -> None:
    found = await _discovered(modem_root)
    settings = Settings(workstation="bz-1", root=modem_root)
    notes = choose(found, settings, Console(io.StringIO()), default_registry, {})
    assert found.confirmed == []
    assert notes == [
        f"{MODEM} opens but nothing proves it is a reader (a modem opens too): left out; "
        f"if it is one: --device NAME={MODEM}:mrz-rte"
    ]
    config, _ = configure(settings, found.confirmed, default_registry, Applier(modem_root), "T")
    assert config.devices == []


async def test_the_technician_may_say_what_a_catch_all_device_is(modem_root: Path) -> None:
    found = await _discovered(modem_root)
    out = io.StringIO()
    console = Console(out, io.StringIO("y\n"), interactive=True)
    choose(found, Settings(workstation="bz-1", root=modem_root), console, default_registry, {})
    [modem] = found.confirmed
    assert (modem.family, modem.how) == ("mrz-rte", "technician")
    assert "is it a reader read with mrz-rte? (y/N)" in out.getvalue()


async def test_a_given_device_is_used_as_said(modem_root: Path) -> None:
    found = await _discovered(modem_root)
    settings = Settings(
        workstation="bz-1",
        root=modem_root,
        given=[f"desk-reader={MODEM}:mrz-line", "rs232=/dev/ttyS0:mrz-rte"],
    )
    choose(found, settings, Console(io.StringIO()), default_registry, {})
    used = {f.url: (f.family, f.how) for f in found.confirmed}
    assert used == {MODEM: ("mrz-line", "given"), "/dev/ttyS0": ("mrz-rte", "given")}
    config, _ = configure(settings, found.confirmed, default_registry, Applier(modem_root), "T")
    assert {(d.name, d.driver, d.url) for d in config.devices} == {
        ("desk-reader", "mrz-line", MODEM),
        ("rs232", "mrz-rte", "/dev/ttyS0"),
    }


def test_a_given_device_names_its_name_path_and_driver() -> None:
    assert parse_given("a=usb://0c2e:0b87?serial=X:barcode-hidpos") == (
        "a",
        "usb://0c2e:0b87?serial=X",
        "barcode-hidpos",
    )
    for bad in ("a", "a=/dev/x", "=/dev/x:mrz-rte", "a=:mrz-rte", "a=/dev/x:"):
        with pytest.raises(ProvisioningError, match="NAME=PATH:DRIVER"):
            parse_given(bad)
    found = Discovery()
    settings = Settings(workstation="bz-1", given=["a=/dev/ttyS0:no-such-driver"])
    with pytest.raises(ProvisioningError, match="no-such-driver"):
        choose(found, settings, Console(io.StringIO()), default_registry, {})
