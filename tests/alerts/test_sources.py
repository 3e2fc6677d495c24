"""Lists from the drop dir and the server are looked at once: older ones are set aside by their
header, never verified and refused again at every start or poll."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.alerts.fetch import REFUSED_DIR
from edge.alerts.keeper import LIST_FILE
from edge.alerts.service import AlertService
from receiver.app import serve
from receiver.checks import Trust
from tests.alerts.support import alerts_section, drop, signed_list
from tests.alerts.test_daemon import until
from tests.helpers import make_config, running
from tests.receiver.support import storage_of

KEY = Ed25519PrivateKey.generate()
LOGGER = "midas_edge.alerts"


def said(caplog: pytest.LogCaptureFixture, message: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.getMessage() == message]


def extra(record: logging.LogRecord, name: str) -> object:
    """A field the log line carries (`extra=`)."""
    return record.__dict__.get(name)


def in_force(service: AlertService | None) -> int | None:
    current = service.keeper.current if service is not None else None
    return current.version if current is not None else None


def names(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if p.is_file())


async def test_dropped_lists_are_read_once_newest_first(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    dropped = data_dir / "alert-drop"
    lists = {version: signed_list(KEY, version=version) for version in range(1, 6)}
    for version, data in lists.items():  # as `alerts import` leaves them
        drop(dropped, f"alert-list-{version}.bin", data)
    config = make_config(data_dir, alerts=alerts_section(KEY))
    async with running(config) as app:
        assert in_force(app.alerts) == 5
        assert [extra(r, "version") for r in said(caplog, "alert list in force")] == [5]
        assert said(caplog, "alert list refused") == []
        aside = said(caplog, "dropped alert list set aside")
        assert sorted((extra(r, "file"), extra(r, "reason")) for r in aside) == [
            (f"alert-list-{v}.bin", "not_newer") for v in range(1, 5)
        ]
        # The list in force is kept in the data dir; the older ones wait in refused/.
        assert names(dropped) == []
        assert names(dropped / REFUSED_DIR) == [f"alert-list-{v}.bin" for v in range(1, 5)]
        assert (data_dir / LIST_FILE).read_bytes() == lists[5]
    caplog.clear()
    async with running(config) as app:
        assert in_force(app.alerts) == 5
        assert said(caplog, "alert list refused") == []
        assert said(caplog, "dropped alert list set aside") == []


async def test_a_dropped_file_is_judged_by_its_header_before_it_is_verified(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    dropped = data_dir / "alert-drop"
    drop(dropped, "current.bin", signed_list(KEY, version=7))
    config = make_config(data_dir, alerts=alerts_section(KEY, drop_interval=0.02))
    async with running(config) as app:
        assert in_force(app.alerts) == 7
        # An older header over a body that would never verify: set aside unread.
        older = bytearray(signed_list(KEY, version=6))
        older[-10:] = b"\0" * 10
        drop(dropped, "older.bin", bytes(older))
        # A newer list signed by another key: verified, refused once, set aside.
        drop(dropped, "forged.bin", signed_list(Ed25519PrivateKey.generate(), version=8))
        # A newer list still being copied: refused as truncated, left for the rest to arrive.
        full = signed_list(KEY, version=9)
        (dropped / "copying.bin").write_bytes(full[: len(full) // 2])
        await until(lambda: len(names(dropped / REFUSED_DIR)) == 2)
        await until(lambda: len(said(caplog, "alert list refused")) == 2)
        refused = {
            extra(r, "source"): extra(r, "reason") for r in said(caplog, "alert list refused")
        }
        assert refused == {"drop:forged.bin": "wrong_key", "drop:copying.bin": "truncated"}
        assert names(dropped / REFUSED_DIR) == ["forged.bin", "older.bin"]
        assert names(dropped) == ["copying.bin"]
        (dropped / "copying.bin").write_bytes(full)  # the copy completes
        await until(lambda: in_force(app.alerts) == 9)
        await until(lambda: names(dropped) == [])
        assert len(said(caplog, "alert list refused")) == 2


async def test_the_server_is_asked_for_newer_lists_only(
    data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    drop(data_dir / "alert-drop", "v9.bin", signed_list(KEY, version=9))
    async with storage_of("sqlite", tmp_path) as storage, serve(storage, Trust(tmp_path)) as where:
        older = signed_list(KEY, version=7)
        await storage.publish_alert_list(7, hashlib.sha256(older).hexdigest(), older, time.time())
        config = make_config(
            data_dir,
            sinks=[{"name": "regional", "kind": "http", "target": where.url, "interval": 0.05}],
            alerts=alerts_section(KEY, fetch_sink="regional", fetch_interval=0.02),
        )
        async with running(config) as app:
            service = app.alerts
            assert service is not None
            # Several polls: each answered 304, none downloaded, verified and refused.
            await polls(service, 5)
            assert in_force(service) == 9
            assert said(caplog, "alert list refused") == []
            (behind,) = said(
                caplog, "the regional server's alert list is older than the one in force"
            )
            assert (extra(behind, "server_version"), extra(behind, "version")) == (7, 9)
            assert service.last_fetch is not None and service.last_fetch["ok"] is True

            # A newer list the workstation refuses is downloaded once, then answered 304.
            forged = signed_list(Ed25519PrivateKey.generate(), version=10)
            await storage.publish_alert_list(
                10, hashlib.sha256(forged).hexdigest(), forged, time.time()
            )
            await until(lambda: len(said(caplog, "alert list refused")) == 1)
            await polls(service, 5)
            assert [extra(r, "reason") for r in said(caplog, "alert list refused")] == ["wrong_key"]
            assert in_force(service) == 9


async def polls(service: AlertService, count: int) -> None:
    """Returns after `count` more fetches."""
    seen: set[object] = set()

    def more() -> bool:
        seen.add(service.last_fetch["at"] if service.last_fetch is not None else None)
        return len(seen) > count

    await until(more)
