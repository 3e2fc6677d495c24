"""The device catalog: USB ids and interface → device kind, driver family, default options.

The data lives in `catalog.toml` beside this module (its header documents the fields);
`Catalog.load()` reads and checks it, `Catalog.match(...)` picks the most specific entry for a
discovered device: a vendor match beats a pure class match, then matching the interface
(class, protocol, kernel driver) beats matching the product id alone, since PIDs change with
the mode a scanner is programmed into.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import msgspec

from drivers.base import DeviceKind
from provisioning.errors import CatalogError
from provisioning.system import DeviceClass

_HEX4 = re.compile(r"^[0-9a-f]{4}$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_DRIVER = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class _Raw(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    key: str
    name: str
    kind: str
    family: str | None = None
    unsupported: str | None = None
    node: str | None = None
    vendor_id: str | None = None
    product_ids: list[str] = msgspec.field(default_factory=list)
    interface_class: int | None = None
    interface_protocol: int | None = None
    drivers: list[str] = msgspec.field(default_factory=list)
    alternatives: list[str] = msgspec.field(default_factory=list)
    options: dict[str, Any] = msgspec.field(default_factory=dict)
    needs_answer: bool = False


class _File(msgspec.Struct, forbid_unknown_fields=True):
    device: list[_Raw]


def usb_id(value: str | int | None) -> str | None:
    """A USB vendor or product id as 4 lower-case hex digits; None when it is not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:04x}" if 0 <= value <= 0xFFFF else None
    if isinstance(value, str) and _HEX4.match(value.lower()):
        return value.lower()
    return None


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """What the catalog knows of one kind of device, and how it recognizes it."""

    key: str
    name: str
    kind: DeviceKind
    family: str | None  # the driver entry point; None when unsupported
    unsupported: str | None  # why no driver reads it
    node: DeviceClass | None  # the device class the driver opens (None: no node of ours)
    vendor_id: str | None = None
    product_ids: tuple[str, ...] = ()
    interface_class: int | None = None
    interface_protocol: int | None = None
    drivers: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    # Matched by a class any serial device has (a modem's too): opening it proves nothing,
    # only a family's answer or the technician's word confirms it.
    needs_answer: bool = False

    @property
    def supported(self) -> bool:
        return self.family is not None

    @property
    def families(self) -> tuple[str, ...]:
        """The families to probe, in order."""
        return ((self.family,) if self.family else ()) + self.alternatives

    def match_keys(self) -> tuple[object, ...]:
        """What this entry matches on; two entries never share it."""
        return (
            self.vendor_id,
            tuple(sorted(self.product_ids)),
            self.interface_class,
            self.interface_protocol,
            tuple(sorted(self.drivers)),
        )

    def specificity(self) -> tuple[bool, bool, bool, int]:
        """Sort key of a match: vendor, then interface, then product id, then more criteria."""
        criteria = sum(
            (
                self.interface_class is not None,
                self.interface_protocol is not None,
                bool(self.drivers),
            )
        )
        return (self.vendor_id is not None, criteria > 0, bool(self.product_ids), criteria)

    def matches(
        self,
        vendor_id: str | None,
        product_id: str | None,
        interface_class: int | None,
        interface_protocol: int | None,
        driver: str | None,
    ) -> bool:
        """Whether every criterion this entry names holds for the device (ids normalized)."""
        return (
            (self.vendor_id is None or self.vendor_id == vendor_id)
            and (not self.product_ids or product_id in self.product_ids)
            and (self.interface_class is None or self.interface_class == interface_class)
            and (self.interface_protocol is None or self.interface_protocol == interface_protocol)
            and (not self.drivers or driver in self.drivers)
        )


def _entry(raw: _Raw, where: str) -> CatalogEntry:
    def bad(key: str, expected: str) -> CatalogError:
        return CatalogError(f"{where}.{key}: expected {expected}")

    if not _KEY.match(raw.key):
        raise bad("key", "lower-case letters, digits and '-'")
    if not raw.name.strip() or not raw.name.isprintable():
        raise bad("name", "a printable human name")
    try:
        kind = DeviceKind(raw.kind)
    except ValueError:
        raise bad("kind", "one of " + ", ".join(k.value for k in DeviceKind)) from None
    if (raw.family is None) == (raw.unsupported is None):
        raise bad("family", "either a driver family or an `unsupported` reason")
    if raw.unsupported is not None and (
        raw.node or raw.options or raw.alternatives or raw.needs_answer
    ):
        raise bad(
            "unsupported",
            "no node, options, alternatives or needs_answer for an unsupported device",
        )
    try:
        node = DeviceClass(raw.node) if raw.node is not None else None
    except ValueError:
        raise bad("node", "one of " + ", ".join(c.value for c in DeviceClass)) from None
    if raw.vendor_id is not None and usb_id(raw.vendor_id) != raw.vendor_id:
        raise bad("vendor_id", "4 lower-case hex digits")
    if any(usb_id(p) != p for p in raw.product_ids):
        raise bad("product_ids", "4 lower-case hex digits each")
    if raw.product_ids and raw.vendor_id is None:
        raise bad("product_ids", "a vendor_id with them")
    for key in ("interface_class", "interface_protocol"):
        value = getattr(raw, key)
        if value is not None and not 0 <= value <= 255:
            raise bad(key, "a number from 0 to 255")
    if not all(_DRIVER.match(d) for d in raw.drivers):
        raise bad("drivers", "kernel driver names")
    entry = CatalogEntry(
        key=raw.key,
        name=raw.name,
        kind=kind,
        family=raw.family,
        unsupported=raw.unsupported,
        node=node,
        vendor_id=raw.vendor_id,
        product_ids=tuple(raw.product_ids),
        interface_class=raw.interface_class,
        interface_protocol=raw.interface_protocol,
        drivers=tuple(raw.drivers),
        alternatives=tuple(raw.alternatives),
        options=dict(raw.options),
        needs_answer=raw.needs_answer,
    )
    if entry.vendor_id is None and entry.specificity()[3] == 0:
        raise bad("vendor_id", "a vendor_id or an interface criterion to match on")
    return entry


class Catalog:
    """The entries, checked: unique keys, no two entries matching on the same criteria."""

    def __init__(self, entries: Sequence[CatalogEntry]) -> None:
        self.entries = tuple(entries)
        keys: set[str] = set()
        criteria: dict[tuple[object, ...], str] = {}
        for entry in self.entries:
            if entry.key in keys:
                raise CatalogError(f"device {entry.key!r}: expected a unique key")
            keys.add(entry.key)
            other = criteria.setdefault(entry.match_keys(), entry.key)
            if other != entry.key:
                raise CatalogError(f"device {entry.key!r}: matches on the same ids as {other!r}")

    @classmethod
    def loads(cls, text: str, source: str = "<catalog>") -> Catalog:
        """Parse catalog TOML; CatalogError naming the entry and key on any problem."""
        try:
            data = msgspec.convert(tomllib.loads(text), _File, strict=True)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogError(f"{source}: not valid TOML ({exc})") from None
        except msgspec.ValidationError as exc:
            raise CatalogError(f"{source}: {exc}") from None
        return cls([_entry(raw, f"{source}: device[{i}]") for i, raw in enumerate(data.device)])

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        """The catalog at `path`, by default the one shipped with midas-edge."""
        if path is None:
            resource = files("provisioning").joinpath("catalog.toml")
            return cls.loads(resource.read_text(encoding="utf-8"), "catalog.toml")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{path}: cannot be read ({exc})") from None
        return cls.loads(text, str(path))

    def get(self, key: str) -> CatalogEntry:
        for entry in self.entries:
            if entry.key == key:
                return entry
        raise KeyError(key)

    def match(
        self,
        vendor_id: str | int | None,
        product_id: str | int | None,
        interface_class: int | None = None,
        driver: str | None = None,
        *,
        interface_protocol: int | None = None,
    ) -> CatalogEntry | None:
        """The most specific entry every criterion of which the device meets, or None.

        Ids are hex strings (any case) or integers; an id that is not one matches nothing.
        """
        vid, pid = usb_id(vendor_id), usb_id(product_id)
        found = [
            e
            for e in self.entries
            if e.matches(vid, pid, interface_class, interface_protocol, driver)
        ]
        # max() keeps the first of equals: file order breaks (impossible) ties.
        return max(found, key=CatalogEntry.specificity, default=None)

    def check_families(self, known: Iterable[str]) -> list[str]:
        """Problems: a family or alternative that no installed driver provides."""
        names = set(known)
        return [
            f"device {e.key!r}: no installed driver named {f!r}"
            for e in self.entries
            for f in e.families
            if f not in names
        ]
