"""Provisioning's parts: discovery of silent and unknown devices, the config merge and backup,
the settings from flags, answers file and questions, the TOML writer, a failed enrollment."""

from __future__ import annotations

import importlib.util
import io
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.registry import default_registry
from provisioning.catalog import Catalog
from provisioning.changes import Applier, Verdict
from provisioning.configure import configure
from provisioning.discover import Found, discover
from provisioning.errors import ProvisioningError
from provisioning.provision import Machine, provision
from provisioning.settings import Settings, ask_missing, build, read_answers
from provisioning.sysfs import UsbIds
from provisioning.tomltext import dumps
from provisioning.ui import Console
from tests.provisioning.staging import node, usb_device

STAMP = "20260101T000000Z"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


async def test_a_silent_device_and_an_unknown_one_are_reported_not_configured(
    tmp_path: Path, catalog: Catalog
) -> None:
    root = tmp_path / "root"
    silent = usb_device(
        root,
        "1-4",
        ("0c2e", "0b61"),
        serial="S1",
        product="Honeywell Xenon",
        interface=(2, 1),
        driver="cdc_acm",
    )
    unknown = usb_device(
        root,
        "1-5",
        ("1234", "5678"),
        serial="U1",
        product="Modem Thing",
        interface=(255, 0),
        driver="option",
    )
    keyboard = usb_device(
        root,
        "1-6",
        ("0c2e", "0b61"),
        serial="K1",
        product="Honeywell Xenon",
        interface=(3, 1),
        driver="usbhid",
    )
    event_parent = keyboard / "0003:0C2E:0B61.0001/input/input3"  # as the kernel nests it
    event_parent.mkdir(parents=True)
    master, slave = os.openpty()  # nothing ever answers on it
    try:
        node(root, "tty", "ttyACM3", silent, "serial/by-id", "usb-Honeywell_S1-if00")
        node(root, "tty", "ttyUSB7", unknown, "serial/by-id", "usb-Modem_U1-if00")
        node(root, "input", "event3", event_parent, "input/by-id", "usb-Honeywell_K1-event-kbd")
        (root / "dev/event3").write_bytes(b"")  # not an input device: it cannot be opened
        (root / "dev/ttyACM3").symlink_to(os.ttyname(slave))
        (root / "dev/ttyUSB7").symlink_to(os.ttyname(slave))
        found = await discover(catalog, default_registry, root)
    finally:
        os.close(master)
        os.close(slave)
    by_url = {f.url: f for f in found.found}
    honeywell = by_url["/dev/serial/by-id/usb-Honeywell_S1-if00"]
    assert (honeywell.status, honeywell.family) == ("no answer", None)
    assert honeywell.entry is not None and honeywell.entry.key == "honeywell-cdc"
    modem = by_url["/dev/serial/by-id/usb-Modem_U1-if00"]
    assert (modem.status, modem.entry) == ("unmatched", None)
    assert modem.ids == UsbIds("1234", "5678", "U1", "Modem", "Modem Thing", 255, 0, "option")
    wedge = by_url["/dev/input/by-id/usb-Honeywell_K1-event-kbd"]
    assert wedge.entry is not None and wedge.entry.key == "honeywell-keyboard"
    assert wedge.ids is not None and (wedge.ids.interface_class, wedge.ids.driver) == (3, "usbhid")
    # The wedge family needs evdev, an optional extra: without it the family cannot load.
    has_evdev = importlib.util.find_spec("evdev") is not None
    assert wedge.status == ("no answer" if has_evdev else "no driver")
    assert found.confirmed == []
    assert any("HID POS" in n for n in found.notes)  # no pyusb bus under a root


def _found(url: str, family: str, **options: Any) -> Found:
    return Found("serial", url, url, family=family, status="confirmed", options=options)


def test_the_config_keeps_what_it_does_not_manage_and_backs_up_a_changed_one(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    target = root / "etc/midas-edge/config.toml"
    target.parent.mkdir(parents=True)
    target.write_text(
        '[workstation]\nid = "old"\n\n[retention]\ndelivered_days = 7.0\n\n'
        '[[devices]]\nname = "front-desk"\ndriver = "mrz-rte"\nurl = "/dev/serial/by-id/a"\n'
        "options = { bcc = false }\n\n"
        '[[devices]]\nname = "lab"\ndriver = "sim"\nurl = "sim://lab"\n'
    )
    settings = Settings(workstation="bz-new", root=root)
    found = [
        _found("/dev/serial/by-id/a", "mrz-rte"),
        _found("/dev/serial/by-id/b", "barcode-serial", code_id_mode="none"),
    ]
    applier = Applier(root)
    config, notes = configure(settings, found, default_registry, applier, STAMP)
    assert notes == []
    data = tomllib.loads(target.read_text())
    assert data["workstation"] == {"id": "bz-new", "data_dir": "/var/lib/midas-edge"}
    assert data["retention"] == {"delivered_days": 7.0}
    assert [(d["name"], d.get("options")) for d in data["devices"]] == [
        ("front-desk", {"bcc": False}),  # same path: its name and options kept
        ("lab", None),  # not found, kept
        ("barcode-scanner", {"code_id_mode": "none"}),
    ]
    assert [d.name for d in config.devices] == ["front-desk", "lab", "barcode-scanner"]
    backup = target.with_name(f"config.toml.{STAMP}.bak")
    assert 'id = "old"' in backup.read_text()
    assert {c.action for c in applier.changes} >= {"backup", "write"}
    again = Applier(root)
    configure(settings, found, default_registry, again, "20260102T000000Z")
    assert [c for c in again.changes if c.action in ("write", "backup")] == []


def test_a_config_the_check_refuses_is_never_written(tmp_path: Path) -> None:
    root = tmp_path / "root"
    settings = Settings(workstation="bz-1", root=root, region_url="ftp://region.example/")
    with pytest.raises(ProvisioningError, match=r"config check.*sinks\[0\]\.target"):
        configure(settings, [], default_registry, Applier(root), STAMP)
    assert not (root / "etc/midas-edge/config.toml").exists()


def test_flags_win_over_the_answers_file(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text(
        'workstation = "bz-from-file"\n[region]\nurl = "https://region.example:8480/"\n'
        'token = "t.s"\n[nas]\ntarget = "/mnt/nas"\n'
        '[devices]\nexclude = ["/dev/v4l/by-id/x"]\nnames = { "/dev/a" = "desk" }\n'
    )
    settings = build({"workstation": "bz-flag", "nas_target": None}, read_answers(answers))
    assert settings.workstation == "bz-flag"
    assert settings.region_url == "https://region.example:8480/"
    assert settings.enroll_token == "t.s"
    assert settings.nas_target == "/mnt/nas"
    assert settings.exclude == ["/dev/v4l/by-id/x"]
    assert settings.names == {"/dev/a": "desk"}
    answers.write_text('[region]\nurl = "x"\nfingerprint = "y"\n')
    with pytest.raises(ProvisioningError, match="fingerprint"):
        read_answers(answers)


def test_questions_offer_the_known_values_as_defaults() -> None:
    answers = io.StringIO("bz-typed\n\nhttps://region.example/\nTOKEN.S\n\n/mnt/nas\n")
    out = io.StringIO()
    settings = Settings(data_dir="/srv/midas", ca_fingerprint="sha256:" + "ab" * 32)
    ask_missing(settings, Console(out, answers, interactive=True))
    assert settings.workstation == "bz-typed"
    assert settings.data_dir == "/srv/midas"  # empty answer: the default
    assert settings.region_url == "https://region.example/"
    assert settings.enroll_token == "TOKEN.S"
    assert settings.ca_fingerprint == "sha256:" + "ab" * 32
    assert settings.nas_target == "/mnt/nas"
    assert "? data directory [/srv/midas]: " in out.getvalue()


async def test_enrollment_without_a_token_fails_with_the_command_that_gets_one(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    settings = Settings(
        workstation="bz-2",
        root=root,
        region_url="https://region.example:8480/",
        ca_fingerprint="sha256:" + "00" * 32,
    )
    out = io.StringIO()
    report = await provision(settings, Console(out), Machine())
    verdicts = {s.name: s.verdict for s in report.steps}
    assert verdicts["identity"] is Verdict.FAILED
    assert verdicts["self-test"] is Verdict.SKIPPED
    assert not report.ok
    assert "receiver enroll-token --workstation bz-2" in out.getvalue()
    saved = (root / "var/lib/midas-edge/provision-report.txt").read_text()
    assert "result: FAILED" in saved and "to fix:" in saved


@pytest.mark.parametrize(
    "data",
    [
        {"a": 1, "b": 'x"y\\z\n\u00e9', "c": [1.5, 2.0], "d": True},
        {"t": {"k": "v", "sub": {"n": 1}}, "list": [{"a": 1, "o": {"x": [1]}}, {"a": 2}]},
        {"weird key": {"dotted.name": "v"}, "empty": {}, "arr": []},
    ],
)
def test_written_toml_reads_back_the_same(data: dict[str, Any]) -> None:
    assert tomllib.loads(dumps(data, "header\nline")) == data


def test_the_config_passes_the_very_checks_of_config_check(tmp_path: Path) -> None:
    root = tmp_path / "root"
    target = root / "etc/midas-edge/config.toml"
    target.parent.mkdir(parents=True)
    target.write_text('[alerts]\npublic_key = "/etc/midas-edge/alerts.pub"\n')
    settings = Settings(workstation="bz-3", root=root)
    with pytest.raises(ProvisioningError, match=r"config check.*alerts\.public_key"):
        configure(settings, [], default_registry, Applier(root), STAMP)
    key = Ed25519PrivateKey.generate().public_key()
    (root / "etc/midas-edge/alerts.pub").write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )  # staged under the root, where the config's path leads there
    config, _ = configure(settings, [], default_registry, Applier(root), STAMP)
    assert config.alerts is not None
    target.write_text(
        '[alerts]\npublic_key = "/etc/midas-edge/alerts.pub"\nfetch_sink = "regional-nas"\n'
    )
    nas = Settings(workstation="bz-3", root=root, nas_target="/mnt/nas")
    with pytest.raises(ProvisioningError, match=r"alerts\.fetch_sink.*http sink"):
        configure(nas, [], default_registry, Applier(root), STAMP)
