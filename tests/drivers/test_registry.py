"""Driver registry: our families and a third-party package are found through entry points."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.base import Driver
from drivers.registry import GROUP, DriverLoadError, Registry, UnknownDriver

FAMILIES = ("mrz-rte", "mrz-line", "access-stx", "barcode-serial", "barcode-hidpos", "wedge")


@pytest.fixture
def third_party(tmp_path: Path) -> Iterator[Path]:
    """An installed distribution, outside this project, that adds two drivers."""
    (tmp_path / "acme_reader.py").write_text(
        textwrap.dedent(
            '''
            """A vendor's driver package."""
            from drivers.rte.driver import RteDriver

            class AcmeReader(RteDriver):
                """ACME swipe reader: RTE framing at 19200 baud."""
                name = "acme-swipe"
            '''
        )
    )
    (tmp_path / "acme_broken.py").write_text("raise ImportError('missing vendor SDK')\n")
    dist = tmp_path / "acme_reader-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-reader\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{GROUP}]\nacme-swipe = acme_reader:AcmeReader\nacme-sdk = acme_broken:Reader\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("acme_reader", None)
        sys.modules.pop("acme_broken", None)


def test_our_families_are_registered_as_entry_points() -> None:
    registry = Registry()
    assert set(FAMILIES) <= set(registry.names())
    for name in FAMILIES:
        cls = registry.get(name)
        assert issubclass(cls, Driver)
        assert cls.name == name


def test_a_third_party_driver_is_found_without_touching_our_code(third_party: Path) -> None:
    registry = Registry()
    assert {"acme-swipe", "acme-sdk"} <= set(registry.names())
    assert "acme_reader" not in sys.modules  # imported lazily, on first use
    cls = registry.get("acme-swipe")
    assert cls.__name__ == "AcmeReader"
    assert registry.get("mrz-rte").name == "mrz-rte"  # ours still load
    # A broken third-party driver fails only the devices that use it, with a typed error.
    with pytest.raises(DriverLoadError, match="acme-sdk"):
        registry.get("acme-sdk")


def test_unknown_driver_names_the_known_ones() -> None:
    with pytest.raises(UnknownDriver, match="mrz-rte"):
        Registry().get("no-such-driver")
