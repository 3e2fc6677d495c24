"""The alert lists inside the daemon: the list in force, the check hook, re-checks, sources, events.

Events on the local API's stream (no personal data in any of them):

    alert_list          a list was put in force: version, issued_at, expires_at, entries,
                        stale, source, previous (the version it replaced)
    alert_list_refused  source, reason (a stable code), message, version (when readable)
    alert_hit           record_id, seq, list_version, categories, references, stale,
                        unverified (read with failed check digits), late (found by a
                        re-check), amends (the original record's id, if late)

Alarms: `alert_list_stale` while the list in force is past its expiry; `alert_list_missing`
while no list is in force and `[alerts] required = true`; `alert_late_hit:<amendment id>` for
each late hit until an officer acknowledges it (`edge.alerts.late`).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from prometheus_client import CollectorRegistry

from edge.alarms import Alarms
from edge.alerts.check import HIT, AlertChecker
from edge.alerts.config import AlertsConfig, checked_key
from edge.alerts.fetch import DropWatcher, Fetcher, FetchError
from edge.alerts.keeper import InForce, ListKeeper, Refusal
from edge.alerts.late import LateHit, LateHits
from edge.alerts.metrics import AlertMetrics
from edge.alerts.recheck import Rechecker, needs_recheck, read_mark, write_mark
from edge.config import Config, SinkConfig
from edge.errors import ConfigError, EdgeError
from edge.events import Event, Hub
from edge.records import Kind, Record
from edge.store import Store

log = logging.getLogger("midas_edge.alerts")

DROP_DIR = "alert-drop"
_json = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class FetchFrom:
    """The regional server to pull lists from: URL, pinned TLS, timeout (from an http sink)."""

    target: str
    tls: Callable[[], ssl.SSLContext | None]
    timeout: float


class AlertService:
    """Owns the keeper and its sources; `checker` is the pipeline's hook. Async context: none;
    `open()` before the pipeline runs, `run()` in the daemon's task group."""

    def __init__(
        self,
        config: AlertsConfig,
        public_key: Ed25519PublicKey,
        *,
        data_dir: Path,
        workstation: str,
        store: Store,
        hub: Hub,
        alarms: Alarms,
        registry: CollectorRegistry,
        fetch_from: FetchFrom | None = None,
    ) -> None:
        self.config = config
        self._data_dir = data_dir
        self._store = store
        self._hub = hub
        self._alarms = alarms
        self.metrics = AlertMetrics(registry)
        self.keeper = ListKeeper(data_dir, public_key)
        self.checker = AlertChecker(self.keeper, self.metrics)
        self.drop = DropWatcher(self.keeper, Path(config.drop_dir or data_dir / DROP_DIR))
        self.fetcher = (
            Fetcher(self.keeper, fetch_from.target, fetch_from.tls, fetch_from.timeout)
            if fetch_from is not None
            else None
        )
        self._rechecker = Rechecker(store, workstation, config.recheck_days)
        self._recheck_wanted = asyncio.Event()
        self._rechecks_idle = asyncio.Event()
        self._rechecks_idle.set()
        self._mark = 0
        # The store's last sequence when the list in force was put in force: its re-check scan
        # covers the records up to it, `_late_records` those committed after it that were
        # checked under an older list.
        self._through_seq = 0
        self._late_records: list[Record] = []
        self.rechecking = False
        self.late = LateHits(data_dir, alarms)
        self.last_fetch: dict[str, object] | None = None
        self.keeper.on_change(self._changed)
        self.keeper.on_refused(self._refused)
        store.on_commit(self._committed)

    async def open(self) -> None:
        """Put the kept list (or a newer dropped one) in force before the first capture."""
        self._mark = await asyncio.to_thread(read_mark, self._data_dir)
        await self.late.load()
        await self.keeper.load_stored()
        await self.drop.poll()
        self._update_alarms()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._every(self.config.drop_interval, self._drop), name="alerts:drop")
            tg.create_task(self._recheck_loop(), name="alerts:recheck")
            tg.create_task(self.late.run(), name="alerts:late-hits")
            if self.fetcher is not None:
                tg.create_task(
                    self._every(self.config.fetch_interval, self._fetch), name="alerts:fetch"
                )

    async def _every(self, seconds: float, step: Callable[[], Awaitable[None]]) -> None:
        while True:
            await step()
            await asyncio.sleep(seconds)

    async def _drop(self) -> None:
        await self.drop.poll()
        self._update_alarms()

    async def _fetch(self) -> None:
        assert self.fetcher is not None
        at = time.time()
        try:
            outcome = await self.fetcher.poll()
        except FetchError as exc:
            error = str(exc)
            if self.last_fetch is None or self.last_fetch.get("error") != error:
                log.warning("alert list fetch failed", extra={"detail": error})
            self.last_fetch = {"at": at, "ok": False, "error": error}
            return
        self.last_fetch = {"at": at, "ok": True, "outcome": outcome or "unchanged"}

    def _want_recheck(self) -> None:
        self._rechecks_idle.clear()
        self._recheck_wanted.set()

    async def rechecks_done(self) -> None:
        """Returns once no re-check is waiting or running."""
        await self._rechecks_idle.wait()

    async def _recheck_loop(self) -> None:
        while True:
            if not self._recheck_wanted.is_set():
                self._rechecks_idle.set()
            await self._recheck_wanted.wait()
            self._recheck_wanted.clear()
            in_force = self.keeper.current
            if in_force is None:
                continue
            self.rechecking = True
            try:
                if in_force.version > self._mark:
                    await self._recheck_scan(in_force)
                await self._recheck_late_records(in_force)
            except EdgeError:
                # The store failed (loudly, in its own log lines); the next list or start retries.
                log.exception("alert re-check failed", extra={"version": in_force.version})
            finally:
                self.rechecking = False

    async def _recheck_scan(self, in_force: InForce) -> None:
        report = await self._rechecker.run(in_force, self._through_seq)
        self.metrics.rechecked.inc(report.rechecked)
        self._mark = report.version
        try:
            await asyncio.to_thread(write_mark, self._data_dir, report.version)
        except OSError as exc:
            # The amendments are stored; the next start re-checks and finds them made.
            log.error("alert re-check mark not kept", extra={"detail": exc.strerror})
        log.info(
            "alert re-check done",
            extra={
                "version": report.version,
                "scanned": report.scanned,
                "rechecked": report.rechecked,
                "amendments": len(report.amendments),
            },
        )

    async def _recheck_late_records(self, in_force: InForce) -> None:
        """The records committed after `in_force` was put in force but checked before."""
        # Those up to `_through_seq` belong to the scan of a list put in force since.
        late = [r for r in self._late_records if r.seq > self._through_seq]
        self._late_records = []
        if not late:
            return
        amendments = await self._rechecker.recheck_records(late, in_force)
        self.metrics.rechecked.inc(len(late))
        log.info(
            "alert re-check of records committed after the list changed",
            extra={
                "version": in_force.version,
                "rechecked": len(late),
                "amendments": len(amendments),
            },
        )

    def _changed(self, new: InForce, previous: InForce | None) -> None:
        header = new.listed.header
        now = time.time()
        self.metrics.version.set(header.version)
        self.metrics.entries.set(header.entries)
        self.metrics.expires.set(new.listed.expires.timestamp())
        data = {
            "version": header.version,
            "issued_at": header.issued_at,
            "expires_at": header.expires_at,
            "entries": header.entries,
            "stale": new.stale(now),
            "source": new.source,
            "previous": previous.version if previous else None,
        }
        # Called in the same step as the swap: every record committed so far was checked
        # under an older list (or none), every later commit is seen by `_committed`.
        self._through_seq = self._store.writer.last_seq
        self._hub.publish(Event("alert_list", _json.encode(data)))
        self._update_alarms()
        if self.config.recheck_days > 0 and new.version > self._mark:
            self._want_recheck()

    def _refused(self, refusal: Refusal) -> None:
        self.metrics.refused.labels(reason=refusal.code).inc()
        data = {
            "source": refusal.source,
            "reason": refusal.code,
            "message": refusal.message,
            "version": refusal.version,
        }
        self._hub.publish(Event("alert_list_refused", _json.encode(data)))

    def _update_alarms(self) -> None:
        current = self.keeper.current
        stale = current is not None and current.stale(time.time())
        self.metrics.stale.set(1 if stale else 0)
        if stale:
            self._alarms.raise_(
                "alert_list_stale", "the alert list in force is past its expiry: checks are stale"
            )
        else:
            self._alarms.clear("alert_list_stale")
        if current is None and self.config.required:
            self._alarms.raise_(
                "alert_list_missing", "no alert list is in force: documents are not checked"
            )
        else:
            self._alarms.clear("alert_list_missing")

    def _committed(
        self, committed: Sequence[Record], bodies: Sequence[bytes], seconds: float
    ) -> None:
        current = self.keeper.current
        for record in committed:
            if (
                current is not None
                and self.config.recheck_days > 0
                and record.seq > self._through_seq
                and needs_recheck(record, current.version)
            ):
                # Checked before the list in force arrived, committed after its scan began.
                self._late_records.append(record)
                self._want_recheck()
            alert = record.payload.get("alert")
            if isinstance(alert, dict) and alert.get("verdict") == HIT:
                # After this commit's `record` events, which other listeners publish now.
                asyncio.get_running_loop().call_soon(self._hit, record, alert)

    def _hit(self, record: Record, alert: dict[str, object]) -> None:
        late = record.kind is Kind.AMENDMENT
        amends = record.payload.get("amends") if late else None
        amended = amends.get("id") if isinstance(amends, dict) else None
        categories = alert.get("categories")
        categories = [str(c) for c in categories] if isinstance(categories, list) else []
        version = alert.get("list_version")
        version = version if isinstance(version, int) else None
        for category in categories:
            self.metrics.hits.labels(category=category, late=str(late).lower()).inc()
        data = {
            "record_id": record.id,
            "seq": record.seq,
            "list_version": version,
            "categories": categories,
            "references": alert.get("references", []),
            "stale": alert.get("stale", False),
            "unverified": alert.get("unverified", False),
            "late": late,
            "amends": amended,
        }
        log.warning(
            "alert list hit",
            extra={
                "record_id": record.id,
                "seq": record.seq,
                "version": version,
                "late": late,
                "categories": ",".join(categories),
            },
        )
        self._hub.publish(Event("alert_hit", _json.encode(data)))
        if late:
            # The traveller has left: an alarm that stays until an officer acknowledges it.
            hit = LateHit(
                amendment=record.id,
                seq=record.seq,
                amends=amended if isinstance(amended, str) else None,
                list_version=version,
                categories=categories,
            )
            self.late.add(hit)

    def status(self) -> dict[str, object]:
        """`GET /v1/alerts/status`: the list in force (or nulls), refusals, fetches, re-checks."""
        now = time.time()
        current = self.keeper.current
        listed: dict[str, object] = (
            current.status(now)
            if current is not None
            else {"version": None, "issued_at": None, "expires_at": None, "stale": False}
        )
        refusal = self.keeper.last_refusal
        return {
            **listed,
            "entries": current.listed.header.entries if current is not None else 0,
            "in_force": current is not None,
            "required": self.config.required,
            "last_refusal": asdict(refusal) if refusal is not None else None,
            "last_fetch": self.last_fetch,
            "recheck": {"through_version": self._mark, "running": self.rechecking},
        }


async def open_service(
    config: Config,
    source: str,
    *,
    store: Store,
    hub: Hub,
    alarms: Alarms,
    registry: CollectorRegistry,
    tls: Callable[[SinkConfig], ssl.SSLContext | None],
) -> AlertService | None:
    """The opened service for `config.alerts` (None when the section is absent).

    A fetch sink that is not an http sink, or a region key that cannot be read, is a
    ConfigError naming the key: the daemon does not start half checked.
    """
    alerts = config.alerts
    if alerts is None:
        return None
    sinks = {s.name: s.kind for s in config.sinks}
    public_key = await asyncio.to_thread(checked_key, alerts, sinks, source)
    fetch_from = None
    sink = next((s for s in config.sinks if s.name == alerts.fetch_sink), None)
    if sink is not None:
        fetch_from = FetchFrom(sink.target, lambda: tls(sink), sink.timeout)
    service = AlertService(
        alerts,
        public_key,
        data_dir=config.data_dir,
        workstation=config.workstation.id,
        store=store,
        hub=hub,
        alarms=alarms,
        registry=registry,
        fetch_from=fetch_from,
    )
    try:
        await asyncio.to_thread(
            service.drop.directory.mkdir, mode=0o700, parents=True, exist_ok=True
        )
    except OSError as exc:
        expected = f"expected a directory the daemon can create ({exc.strerror})"
        raise ConfigError(source, "alerts.drop_dir", expected) from None
    await service.open()
    return service
