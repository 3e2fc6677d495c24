"""systemd units: verified by systemd-analyze, exposure <= 2.0, sysusers and tmpfiles applied."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from edge.config import Config, from_mapping
from provisioning.errors import UnitError
from provisioning.system import DeviceClass
from provisioning.unit_text import BASE_CLASSES, SYSUSERS, TMPFILES
from provisioning.units import (
    DROPIN_PATH,
    SYSUSERS_PATH,
    TMPFILES_PATH,
    UNIT_PATH,
    config_classes,
    default_files,
    device_classes,
    mount_unit,
    render_dropin,
    render_units,
    staged,
)
from tests.provisioning.tools import exposure, fake_executable, require, run, stage

REPO = Path(__file__).resolve().parents[2]
EXPOSURE_GOAL = 2.0
ACL = re.compile(r"device ACL with some special devices: ([^\n]*?)\s+\d+\.\d+\s*$", re.MULTILINE)


def site(**changes: Any) -> Config:
    data: dict[str, Any] = {
        "workstation": {"id": "bz-pgia-01", "data_dir": "/srv/midas-edge"},
        "devices": [
            {"name": "mrz", "driver": "mrz-rte", "url": "/dev/ttyACM0"},
            {"name": "kbd", "driver": "wedge", "url": "/dev/midas-edge/kbd"},
            {"name": "seal", "driver": "barcode-hidpos", "url": "usb://0c2e:0b87"},
            {"name": "demo", "driver": "sim", "url": "sim://demo"},
            {"name": "spare", "driver": "barcode-serial", "url": "/dev/ttyUSB0", "enabled": False},
        ],
        "sinks": [
            {"name": "nas", "kind": "nas", "target": "/mnt/regional-nas"},
            {
                "name": "region",
                "kind": "http",
                "target": "https://region.example:8480/",
                "ca": "/etc/midas-edge/regional-ca.pem",
            },
        ],
    }
    data.update(changes)
    return from_mapping(data, "<test>")


def test_the_repository_systemd_folder_is_the_default_rendering() -> None:
    folder = REPO / "systemd"
    expected = default_files()
    assert sorted(p.name for p in folder.iterdir()) == sorted(expected)
    for name, text in expected.items():
        assert (folder / name).read_text() == text, (
            f"systemd/{name} differs from provisioning's rendering; regenerate it with "
            "python -c 'from provisioning.units import default_files as d; "
            '[open("systemd/" + n, "w").write(t) for n, t in d().items()]\''
        )


def test_rendered_unit_and_dropin_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = require("systemd-analyze")
    files = render_units(
        site(), executable=fake_executable(tmp_path / "bin"), ip_allow=["10.20.0.0/16"]
    )
    paths = stage(tmp_path / "root", files)
    result = run(analyze, "verify", "--man=no", str(paths[UNIT_PATH]))
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).strip() == ""
    # The drop-in beside the unit is read too: a bad key in it is reported.
    with paths[DROPIN_PATH].open("a") as f:
        f.write("NoSuchSetting=1\n")
    result = run(analyze, "verify", "--man=no", str(paths[UNIT_PATH]))
    assert "50-workstation.conf" in result.stderr
    assert "NoSuchSetting" in result.stderr


def test_exposure_of_the_base_unit_and_the_workstation_unit(tmp_path: Path) -> None:
    files = render_units(site(), executable=fake_executable(tmp_path / "bin"))
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    (base_dir / UNIT_PATH.name).write_text(files[UNIT_PATH])
    base, base_report = exposure(base_dir / UNIT_PATH.name)
    paths = stage(tmp_path / "root", files)
    site_level, site_report = exposure(paths[UNIT_PATH])
    print(f"systemd-analyze security: base unit {base}, with the workstation drop-in {site_level}")
    assert base <= EXPOSURE_GOAL, base_report
    assert site_level <= EXPOSURE_GOAL, site_report
    # systemd itself reads the drop-in's narrowed device list (ProtectClock= adds the rtc).
    base_acl = ACL.search(base_report)
    site_acl = ACL.search(site_report)
    assert base_acl is not None and site_acl is not None, site_report
    assert len(base_acl.group(1).split()) == len(BASE_CLASSES) + 1
    assert set(site_acl.group(1).split()) == {
        "char-rtc:r",
        "char-ttyACM:rw",
        "char-input:r",
        "char-usb_device:rw",
    }


def test_sysusers_and_tmpfiles_apply_under_a_staged_root(tmp_path: Path) -> None:
    sysusers, tmpfiles = require("systemd-sysusers"), require("systemd-tmpfiles")
    if os.geteuid() != 0:
        pytest.skip("systemd-tmpfiles can give files to the service account only as root")
    host_passwd = Path("/etc/passwd").read_bytes()
    root = tmp_path / "root"
    paths = stage(root, render_units(site()))
    # Explicit paths are read as given; users are created in, and resolved from, the root.
    result = run(sysusers, f"--root={root}", str(paths[SYSUSERS_PATH]))
    assert result.returncode == 0, result.stderr
    passwd = (root / "etc/passwd").read_text().splitlines()
    user = next(line.split(":") for line in passwd if line.startswith("midas-edge:"))
    assert user[5:] == ["/var/lib/midas-edge", "/usr/sbin/nologin"]
    group = next(
        line.split(":")
        for line in (root / "etc/group").read_text().splitlines()
        if line.startswith("midas-edge:")
    )
    result = run(tmpfiles, f"--root={root}", "--create", str(paths[TMPFILES_PATH]))
    assert result.returncode == 0, result.stderr
    conf = (root / "etc/midas-edge").stat()
    assert (stat.S_IMODE(conf.st_mode), conf.st_uid, conf.st_gid) == (0o750, 0, int(group[2]))
    data = (root / "srv/midas-edge").stat()
    assert (stat.S_IMODE(data.st_mode), data.st_uid) == (0o700, int(user[2]))
    # The host's own account database is untouched.
    assert Path("/etc/passwd").read_bytes() == host_passwd


@pytest.mark.parametrize(
    ("driver", "url", "classes"),
    [
        ("mrz-rte", "/dev/ttyACM0", {DeviceClass.TTY_ACM}),
        ("barcode-serial", "/dev/ttyUSB3", {DeviceClass.TTY_USB}),
        ("mrz-line", "/dev/ttyS1", {DeviceClass.TTY_S}),
        ("access-stx", "/dev/midas-edge/reader", {DeviceClass.TTY_ACM, DeviceClass.TTY_USB}),
        ("mrz-rte", "/dev/serial/by-id/usb-x-if00", {DeviceClass.TTY_ACM, DeviceClass.TTY_USB}),
        ("wedge", "/dev/input/by-id/usb-x-event-kbd", {DeviceClass.INPUT}),
        ("wedge", "/dev/midas-edge/kbd", {DeviceClass.INPUT}),
        ("barcode-hidpos", "usb://0c2e:0b87?serial=A1", {DeviceClass.USB_DEVICE}),
        ("camera", "/dev/v4l/by-id/usb-cam-video-index0", {DeviceClass.VIDEO}),
        ("camera", "/dev/midas-edge/cam0", {DeviceClass.VIDEO}),
        ("camera", "v4l2://0", {DeviceClass.VIDEO}),
        ("camera", "/srv/cam/frame%04d.png", set()),
        ("mrz-rte", "/dev/pts/4", set()),
        ("barcode-serial", "socket://127.0.0.1:7000", set()),
        ("sim", "sim://reader", set()),
        ("some-vendor-driver", "/dev/midas-edge/x", set()),
    ],
)
def test_device_classes_from_url_and_family(
    driver: str, url: str, classes: set[DeviceClass]
) -> None:
    assert device_classes(driver, url) == classes


def test_dropin_holds_what_the_config_needs() -> None:
    config = site()
    assert config_classes(config) == {
        DeviceClass.TTY_ACM,
        DeviceClass.INPUT,
        DeviceClass.USB_DEVICE,
    }  # the disabled ttyUSB scanner and the simulated reader open nothing
    text = render_dropin(config, extra_classes=[DeviceClass.VIDEO], ip_allow=["10.20.0.0/16"])
    lines = text.splitlines()
    assert "RequiresMountsFor=/mnt/regional-nas" in lines
    assert "ReadWritePaths=/srv/midas-edge /mnt/regional-nas" in lines
    allow = [line for line in lines if line.startswith("DeviceAllow=")]
    assert allow == [
        "DeviceAllow=",
        "DeviceAllow=char-ttyACM rw",
        "DeviceAllow=char-input r",
        "DeviceAllow=char-video4linux rw",
        "DeviceAllow=char-usb_device rw",
    ]
    assert lines[-2:] == ["IPAddressDeny=any", "IPAddressAllow=localhost 10.20.0.0/16"]
    assert render_units(site()) == render_units(site())
    # An on-board port: only the drop-in allows its major (shared with the virtual consoles).
    com1 = site(devices=[{"name": "com1", "driver": "mrz-rte", "url": "/dev/ttyS0"}])
    assert "DeviceAllow=char-ttyS rw" in render_dropin(com1).splitlines()
    assert "char-ttyS" not in render_units(com1)[UNIT_PATH]


def test_default_data_dir_and_no_nas_need_no_extra_paths() -> None:
    config = site(workstation={"id": "bz-pgia-01"}, sinks=[])
    files = render_units(config)
    assert "ReadWritePaths" not in files[DROPIN_PATH]
    assert "[Unit]" not in files[DROPIN_PATH]
    assert files[TMPFILES_PATH] == TMPFILES
    assert files[SYSUSERS_PATH] == SYSUSERS
    assert "/usr/bin/midas-edge run --config /etc/midas-edge/config.toml" in files[UNIT_PATH]


def test_wants_mode_names_the_mount_units_as_systemd_does() -> None:
    escape = require("systemd-escape")
    config = site(
        sinks=[
            {"name": "a", "kind": "nas", "target": "/mnt/regional-nas"},
            {"name": "b", "kind": "nas", "target": "/srv/.share/n@s_2"},
        ]
    )
    text = render_dropin(config, nas_dependency="wants")
    assert "RequiresMountsFor" not in text
    for target in ("/mnt/regional-nas", "/srv/.share/n@s_2"):
        result = run(escape, "--path", "--suffix=mount", target)
        assert result.returncode == 0, result.stderr
        assert mount_unit(PurePosixPath(target)) == result.stdout.strip()
        assert result.stdout.strip() in text


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"workstation": {"id": "ws", "data_dir": "/home/officer/data"}}, "workstation.data_dir"),
        ({"workstation": {"id": "ws", "data_dir": "/tmp/data"}}, "workstation.data_dir"),
        ({"workstation": {"id": "ws", "data_dir": "/srv/my data"}}, "workstation.data_dir"),
        ({"workstation": {"id": "ws", "data_dir": "/srv/100%"}}, "workstation.data_dir"),
        ({"workstation": {"id": "ws", "data_dir": "/srv/../etc"}}, "workstation.data_dir"),
        ({"sinks": [{"name": "n", "kind": "nas", "target": "/root/nas"}]}, "sinks[0].target"),
        ({"sinks": [{"name": "n", "kind": "nas", "target": "/mnt/nas/"}]}, "sinks[0].target"),
        ({"documents": {"certs_dir": "/var/tmp/certs"}}, "documents.certs_dir"),
    ],
)
def test_values_that_cannot_go_into_a_unit(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(UnitError, match=re.escape(key)):
        render_units(site(**changes))


def test_bad_executable_address_and_staging_target() -> None:
    with pytest.raises(UnitError, match="executable"):
        render_units(site(), executable="/opt/midas edge/bin/midas-edge")
    with pytest.raises(UnitError, match="ip_allow"):
        render_units(site(), ip_allow=["region.example"])
    with pytest.raises(UnitError, match=re.escape("'..'")):
        staged(Path("/stage"), PurePosixPath("/etc/../../outside"))
    assert staged(Path("/stage"), UNIT_PATH) == Path("/stage/etc/systemd/system/midas-edge.service")
