"""Device catalog: every entry valid and readable by its driver; the most specific match wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.registry import default_registry
from provisioning.catalog import Catalog, CatalogEntry
from provisioning.errors import CatalogError
from provisioning.system import DeviceClass

ENTRY = """
[[device]]
key = "{key}"
name = "A device"
kind = "barcode"
family = "barcode-serial"
{extra}
"""


def entry(key: str, **criteria: object) -> str:
    lines = []
    for name, value in criteria.items():
        if isinstance(value, str):
            lines.append(f'{name} = "{value}"')
        elif isinstance(value, list):
            lines.append(
                f"{name} = [{', '.join(repr(v).replace(chr(39), chr(34)) for v in value)}]"
            )
        else:
            lines.append(f"{name} = {value}")
    return ENTRY.format(key=key, extra="\n".join(lines))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_every_family_is_an_installed_driver(catalog: Catalog) -> None:
    assert catalog.check_families(default_registry.names()) == []
    assert {e.family for e in catalog.entries if e.supported} <= set(default_registry.names())


def test_every_supported_entry_is_accepted_by_its_driver(catalog: Catalog) -> None:
    for e in catalog.entries:
        if not e.supported:
            assert e.unsupported and e.node is None and not e.options, e.key
            continue
        assert e.family is not None and e.node is not None, e.key
        cls = default_registry.get(e.family)
        cls.validate_options(e.options)
        # Constructors do no I/O: the driver a provisioned config would build, of the right kind.
        assert cls("/dev/midas-edge/probe", e.options).kind is e.kind, e.key
        for alternative in e.alternatives:
            assert alternative != e.family, e.key
            default_registry.get(alternative).validate_options({})


@pytest.mark.parametrize(
    ("ids", "key"),
    [
        # hardware reference, device landscape: vendor ids, product ids and interface modes
        (("0db5", "0139", 2, "cdc_acm", None), "access-is-cdc"),
        (("0DB5", 0x013A, 3, "usbhid", 1), "access-is-keyboard"),
        (("0db5", "013b", 3, "usbhid", 0), "access-is-hidpos"),
        (("0db5", "0164", 11, None, None), "access-is-chip"),
        (("1b52", "4204", 255, None, None), "arh-document-reader"),
        (("0c2e", "0b6a", 2, "cdc_acm", None), "honeywell-cdc"),
        (("0c2e", "0b61", 3, "usbhid", 1), "honeywell-keyboard"),
        (("0c2e", "0b87", 3, "usbhid", 0), "honeywell-hidpos"),
        (("0536", "02e1", 2, "cdc_acm", None), "metrologic-cdc"),
        (("05e0", "1701", 2, "cdc_acm", None), "zebra-cdc"),
        (("05e0", "1200", 3, "usbhid", 1), "zebra-keyboard"),
        (("05e0", "1900", 255, None, None), "zebra-snapi"),
        (("05f9", "4204", 2, "cdc_acm", None), "datalogic-cdc"),
        (("05f9", "2206", 3, "usbhid", 1), "datalogic-keyboard"),
        (("05f9", "1206", 3, "usbhid", 0), "datalogic-oem"),
        (("080c", "0300", 2, "cdc_acm", None), "datalogic-legacy-cdc"),
        (("1eab", "0106", 2, "cdc_acm", None), "newland-cdc"),
        (("1eab", "0103", 3, "usbhid", 1), "newland-keyboard"),
        (("1eab", "0110", 3, "usbhid", 0), "newland-hidpos"),
        (("0403", "6001", 255, "ftdi_sio", None), "usb-serial-adapter"),
        (("067b", "2303", 255, "pl2303", None), "usb-serial-adapter"),
        (("1a2b", "0001", 2, "cdc_acm", None), "cdc-acm-device"),
        (("076b", "5422", 11, None, None), "omnikey"),
        (("072f", "2200", 11, None, None), "acs-reader"),
        (("04e6", "5591", 11, None, None), "identiv-reader"),
        (("08e6", "5501", 11, None, None), "gemalto-reader"),
        (("09c3", "0014", 11, None, None), "hid-global-reader"),
        (("2ce3", "9563", 11, None, None), "ccid-reader"),
        (("046d", "0825", 14, "uvcvideo", None), "uvc-camera"),
        (("1b52", "8101", 14, "uvcvideo", None), "uvc-camera"),
    ],
)
def test_devices_of_the_hardware_reference_match(
    catalog: Catalog, ids: tuple[str | int, str | int, int, str | None, int | None], key: str
) -> None:
    vid, pid, interface_class, driver, protocol = ids
    found = catalog.match(vid, pid, interface_class, driver, interface_protocol=protocol)
    assert found is not None and found.key == key


def test_unknown_devices_and_malformed_ids_match_nothing(catalog: Catalog) -> None:
    assert catalog.match("1a2b", "0001") is None  # unknown vendor, no interface known
    assert catalog.match("1a2b", "0001", 3, "usbhid", interface_protocol=1) is None
    assert catalog.match("0c2e", "0b61") is None  # Honeywell, but which mode is unknown
    assert catalog.match("zz", "0139", 2, "cdc_acm") is not None  # the class still matches
    assert catalog.match("zz", "0139") is None
    assert catalog.match(-1, 0x10000) is None
    assert catalog.match(True, "0139") is None


def test_vendor_and_interface_beat_product_id_and_vendor_beats_class() -> None:
    catalog = Catalog.loads(
        entry("by-class", drivers=["cdc_acm"])
        + entry("by-pid", vendor_id="0c2e", product_ids=["0b6a"])
        + entry("by-interface", vendor_id="0c2e", drivers=["cdc_acm"])
        + entry("by-both", vendor_id="0c2e", product_ids=["0b6a"], drivers=["cdc_acm"])
    )
    assert _key(catalog.match("0c2e", "0b6a", 2, "cdc_acm")) == "by-both"
    without_both = Catalog([e for e in catalog.entries if e.key != "by-both"])
    assert _key(without_both.match("0c2e", "0b6a", 2, "cdc_acm")) == "by-interface"
    assert _key(without_both.match("0c2e", "0b6a", 2, "ftdi_sio")) == "by-pid"
    assert _key(without_both.match("1234", "0b6a", 2, "cdc_acm")) == "by-class"
    by_pid_or_class = Catalog([e for e in without_both.entries if e.key != "by-interface"])
    assert _key(by_pid_or_class.match("0c2e", "0b6a", 2, "cdc_acm")) == "by-pid"


def _key(found: CatalogEntry | None) -> str | None:
    return None if found is None else found.key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (entry("a", vendor_id="0c2e") + entry("a", vendor_id="05e0"), "unique key"),
        (entry("a", vendor_id="0c2e") + entry("b", vendor_id="0c2e"), "same ids as 'a'"),
        (entry("a", vendor_id="0C2E"), "device[0].vendor_id: expected 4 lower-case hex"),
        (entry("a", vendor_id="0c2e", product_ids=["12345"]), "device[0].product_ids"),
        (entry("a", product_ids=["1234"]), "product_ids: expected a vendor_id"),
        (entry("a"), "vendor_id: expected a vendor_id or an interface criterion"),
        (entry("a", vendor_id="0c2e", interface_class=300), "interface_class"),
        (entry("a", vendor_id="0c2e", drivers=["cdc acm"]), "drivers"),
        (entry("a", vendor_id="0c2e", node="ttyX"), "node: expected one of"),
        (entry("A b", vendor_id="0c2e"), "key: expected"),
        (entry("a", vendor_id="0c2e", unsupported="SDK only"), "either a driver family"),
        (entry("a", vendor_id="0c2e").replace('"barcode"', '"scale"'), "kind: expected one of"),
        (entry("a", vendor_id="0c2e", colour="red"), "colour"),
        ("[[device]\n", "not valid TOML"),
    ],
)
def test_malformed_catalogs_are_refused_naming_the_entry(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message.replace("[", r"\[").replace("(", r"\(")):
        Catalog.loads(text)


def test_a_catalog_file_elsewhere_and_a_missing_one(tmp_path: Path) -> None:
    path = tmp_path / "site-catalog.toml"
    path.write_text(entry("site-scanner", vendor_id="1a2b", drivers=["cdc_acm"]))
    site = Catalog.load(path)
    assert _key(site.match("1a2b", "0001", 2, "cdc_acm")) == "site-scanner"
    assert site.get("site-scanner").node is None
    with pytest.raises(CatalogError, match="cannot be read"):
        Catalog.load(tmp_path / "missing.toml")
    assert Catalog.load().get("uvc-camera").node is DeviceClass.VIDEO
