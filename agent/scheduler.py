"""One delivery loop per sink over the store's per-sink delivery states (no head-of-line
blocking between sinks).

Each pass loads this sink's due pending deliveries of sealed, unpurged records in seq order
(at most `batch_records`, about `batch_bytes`), sends them, and writes every outcome in ONE
`Store.apply` transaction: delivered (receipt), rejected (dead letter, reason code), left
without an answer (attempts + 1, per-record backoff). A batch that failed as a whole backs the
sink off (full jitter, or the sink's Retry-After) and counts an attempt for each of its records;
a `SinkUnavailable` (no share, no server) counts none: the records did nothing wrong. After a
success the backlog continues at once; when idle the loop waits for a commit or `interval`.
Logs carry sink names, counts and seqs, never bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from agent import faults
from agent.outbox import epoch_of, utc_text
from agent.sink import (
    BatchTooLarge,
    BlobFile,
    Delivery,
    Outcome,
    Outgoing,
    Sink,
    SinkConfigError,
    SinkUnavailable,
    TransientError,
)
from drivers.backoff import Backoff
from edge.config import ForwardingConfig, SinkConfig
from edge.errors import StoreError
from edge.records import Record
from edge.store import Store

log = logging.getLogger("midas_edge.forwarding")

# Statistics (backlog count, oldest age) are refreshed at most this often while busy.
STATS_EVERY_S = 1.0
# The sealing task wakes the sinks after each batch; this is only the fallback re-check.
SEAL_POLL_S = 1.0

LOAD_SQL = (
    "SELECT d.seq, r.id, r.body, s.prev, s.hash, s.sig, d.attempts, s.key_id FROM deliveries d"
    " JOIN records r ON r.seq = d.seq JOIN seals s ON s.seq = d.seq"
    " WHERE d.sink = ? AND d.state = 'pending' AND d.next_attempt_at <= ?"
    " AND r.purged_at IS NULL ORDER BY d.seq LIMIT ?"
)
BLOBS_SQL = (
    "SELECT rb.seq, b.sha256, b.media_type, b.size FROM record_blobs rb"
    " JOIN blobs b ON b.sha256 = rb.sha256 WHERE rb.seq BETWEEN ? AND ? ORDER BY rb.seq, rb.role"
)
DELIVER_SQL = (
    "UPDATE deliveries SET state = 'delivered', delivered_at = ?, receipt = ?, last_error = NULL"
    " WHERE sink = ? AND seq = ? AND state = 'pending'"
)
REJECT_SQL = (
    "UPDATE deliveries SET state = 'dead', last_error = ?, attempts = attempts + 1"
    " WHERE sink = ? AND seq = ? AND state = 'pending'"
)
# Right-hand sides see the old row, so `attempts + 1` is the attempt that just failed.
RETRY_SQL = (
    "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?1,"
    " state = CASE WHEN ?2 > 0 AND attempts + 1 >= ?2 THEN 'dead' ELSE state END,"
    " last_error = CASE WHEN ?2 > 0 AND attempts + 1 >= ?2 THEN 'too many attempts' ELSE ?3 END"
    " WHERE sink = ?4 AND seq = ?5 AND state = 'pending'"
)
BACKLOG_SQL = "SELECT count(*), min(seq) FROM deliveries WHERE sink = ? AND state = 'pending'"
NEXT_DUE_SQL = "SELECT min(next_attempt_at) FROM deliveries WHERE sink = ? AND state = 'pending'"


class SinkState(StrEnum):
    STARTING = "starting"
    OK = "ok"
    DEGRADED = "degraded"  # batches fail for now (network, 5xx, timeouts)
    UNAVAILABLE = "unavailable"  # the target is not there (unmounted share, hung mount)
    FAILED = "failed"  # the sink cannot work as configured


@dataclass(frozen=True, slots=True)
class SinkStatus:
    """What a sink looks like now: published as "sink" events and metrics, shown in health."""

    sink: str
    state: SinkState
    backlog: int
    oldest_age_s: float | None
    error: str = ""


class Observer(Protocol):
    """Where the scheduler reports (the composition root turns it into metrics and events)."""

    def sink_counted(self, sink: str, delivered: int, rejected: int, failed: int) -> None: ...

    def sink_changed(self, status: SinkStatus) -> None: ...


class SinkScheduler:
    """Delivers one sink's backlog; `run()` is one long-lived task."""

    def __init__(
        self,
        sink: Sink,
        config: SinkConfig,
        forwarding: ForwardingConfig,
        store: Store,
        observer: Observer,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.sink = sink
        self.config = config
        self._store = store
        self._observer = observer
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311  # jitter, not cryptography
        self._backoff = Backoff(forwarding.backoff_base, forwarding.backoff_cap, self._rng)
        self._forwarding = forwarding
        self._limit = config.batch_records
        self._wake = asyncio.Event()
        self._blocked_until = 0.0
        self._committed_seq = 0
        self._stats_at = -STATS_EVERY_S
        self._attempts: dict[int, int] = {}
        self.status = SinkStatus(config.name, SinkState.STARTING, 0, None)
        store.on_commit(self._on_commit)

    def _on_commit(self, records: Sequence[Record], bodies: Sequence[bytes], secs: float) -> None:
        if records:
            self._committed_seq = max(self._committed_seq, records[-1].seq)
        self._wake.set()

    def wake(self) -> None:
        """Look at the backlog now (also ends a backoff: the operator or a test knows better)."""
        self._blocked_until = 0.0
        self._wake.set()

    async def run(self) -> None:
        await self._open()
        await self._set_state(SinkState.OK, "", force=True)
        while True:
            try:
                progressed = await self.step()
            except StoreError as exc:
                log.error(
                    "sink pass failed on the store",
                    extra={"sink": self.config.name, "error": str(exc)},
                )
                progressed = False
                self._blocked_until = self._clock() + self._backoff.next_delay()
            if not progressed:
                await self._idle()

    async def _open(self) -> None:
        while True:
            try:
                await self.sink.open()
                return
            except SinkConfigError as exc:
                await self._set_state(SinkState.FAILED, _describe(exc), force=True, count=False)
                delay = self._forwarding.backoff_cap
            except TransientError as exc:
                await self._set_state(
                    SinkState.UNAVAILABLE, _describe(exc), force=True, count=False
                )
                delay = exc.retry_after or self._backoff.next_delay()
            await asyncio.sleep(delay)

    async def step(self) -> bool:
        """One pass: send one batch if one is due; True when the backlog should go on at once."""
        self._wake.clear()  # before the query: a commit while it runs wakes the next wait
        now = self._clock()
        if now < self._blocked_until:
            return False
        batch = await self._load(now)
        if not batch:
            # Nothing due: the backlog is (about to be) shown as it is, not throttled.
            await self._refresh(force=self.status.backlog != 0)
            return False
        try:
            answers = await self.sink.send(batch)
        except BatchTooLarge as exc:
            return await self._too_large(batch, exc)
        except SinkUnavailable as exc:
            await self._failed(batch, exc, SinkState.UNAVAILABLE, count_attempts=False)
            return False
        except TransientError as exc:
            await self._failed(batch, exc, SinkState.DEGRADED, count_attempts=True)
            return False
        except SinkConfigError as exc:
            await self._failed(batch, exc, SinkState.FAILED, count_attempts=False)
            return False
        except Exception as exc:  # a sink bug must not stop the other sinks or the captures
            log.exception("sink raised an unexpected error", extra={"sink": self.config.name})
            await self._failed(batch, exc, SinkState.DEGRADED, count_attempts=True)
            return False
        faults.point("sink.sent")
        await self._settle(batch, answers)
        return True

    async def _load(self, now: float) -> list[Outgoing]:
        rows = await self._store.query(LOAD_SQL, (self.config.name, now, self._limit))
        if not rows:
            return []
        blobs: dict[int, list[BlobFile]] = {}
        for seq, sha, media_type, size in await self._store.query(
            BLOBS_SQL, (rows[0][0], rows[-1][0])
        ):
            path = str(self._store.read_blob_path(str(sha)))
            blobs.setdefault(int(seq), []).append(BlobFile(str(sha), str(media_type), size, path))
        batch: list[Outgoing] = []
        self._attempts = {}
        size = 0
        budget = self.config.batch_bytes_int
        # The columns come back as int, str and bytes already (INTEGER, TEXT, BLOB written so).
        for seq, rid, body, prev, digest, sig, attempts, key in rows:
            files = blobs.get(seq)
            cost = len(body) + sum(f.size for f in files) if files else len(body)
            if batch and (size + cost > budget or key != batch[0].key_id):
                break  # a batch names one signing key: records sealed after a new key wait
            size += cost
            batch.append(
                Outgoing(seq, rid, body, prev, digest, sig, tuple(files) if files else (), key)
            )
            self._attempts[seq] = attempts
        return batch

    async def _settle(self, batch: Sequence[Outgoing], answers: Sequence[Delivery]) -> None:
        now = self._clock()
        name = self.config.name
        sent = {o.seq for o in batch}
        by_seq = {a.seq: a for a in answers if a.seq in sent}
        stamp = utc_text(now)
        delivered = [
            (stamp, a.receipt, name, a.seq)
            for a in by_seq.values()
            if a.outcome is Outcome.DELIVERED
        ]
        rejected = [
            (a.reason or "rejected", name, a.seq)
            for a in by_seq.values()
            if a.outcome is Outcome.REJECTED
        ]
        missing = [o.seq for o in batch if o.seq not in by_seq]
        retry, exhausted = self._retry_rows(missing, now, "no answer", per_record=True)
        statements: list[tuple[str, Sequence[Sequence[object]]]] = []
        for sql, rows in ((DELIVER_SQL, delivered), (REJECT_SQL, rejected), (RETRY_SQL, retry)):
            if rows:
                statements.append((sql, rows))
        await self._store.apply(statements)
        self._backoff.reset()
        self._limit = min(self.config.batch_records, self._limit * 2)
        dead = len(rejected) + len(exhausted)
        if rejected or exhausted:
            log.warning(
                "dead letters",
                extra={
                    "sink": name,
                    "seqs": [r[2] for r in rejected] + exhausted,
                    "reasons": sorted({r[0] for r in rejected}),
                },
            )
        if missing:
            log.warning("records left without an answer", extra={"sink": name, "seqs": missing})
        self._observer.sink_counted(name, len(delivered), dead, 0)
        await self._set_state(SinkState.OK, "", force=self.status.state is not SinkState.OK)

    def _retry_rows(
        self, seqs: Sequence[int], now: float, error: str, *, per_record: bool, delay: float = 0
    ) -> tuple[list[tuple[object, ...]], list[int]]:
        limit = self._forwarding.max_attempts
        rows: list[tuple[object, ...]] = []
        exhausted: list[int] = []
        fwd = self._forwarding
        one = Backoff(fwd.backoff_base, fwd.backoff_cap, self._rng)
        for seq in seqs:
            attempts = self._attempts.get(seq, 0)
            if per_record:
                one.attempt = attempts  # the delay after this record's own count of failures
                delay = one.next_delay()
            rows.append((now + delay, limit, error, self.config.name, seq))
            if limit > 0 and attempts + 1 >= limit:
                exhausted.append(seq)
        return rows, exhausted

    async def _failed(
        self, batch: Sequence[Outgoing], exc: Exception, state: SinkState, *, count_attempts: bool
    ) -> None:
        now = self._clock()
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        delay = retry_after if retry_after is not None else self._backoff.next_delay()
        self._blocked_until = now + delay
        error = _describe(exc)
        exhausted: list[int] = []
        if count_attempts:
            rows, exhausted = self._retry_rows(
                [o.seq for o in batch], now, error[:200], per_record=False, delay=delay
            )
            await self._store.apply([(RETRY_SQL, rows)])
        self._observer.sink_counted(self.config.name, 0, len(exhausted), 1)
        extra: dict[str, Any] = {
            "sink": self.config.name,
            "error": error,
            "records": len(batch),
            "first_seq": batch[0].seq,
            "last_seq": batch[-1].seq,
            "retry_in_s": round(delay, 3),
        }
        if exhausted:
            extra["dead_seqs"] = exhausted
        if self.status.state is not state:
            log.warning("sink failing", extra=extra)
        else:
            log.debug("sink still failing", extra=extra)
        await self._set_state(state, error, force=True)

    async def _too_large(self, batch: Sequence[Outgoing], exc: BatchTooLarge) -> bool:
        if len(batch) > 1:
            self._limit = max(1, len(batch) // 2)
            log.info(
                "batch too large, halving", extra={"sink": self.config.name, "records": self._limit}
            )
            return True
        seq = batch[0].seq
        await self._store.apply([(REJECT_SQL, [("too large", self.config.name, seq)])])
        log.warning(
            "dead letters",
            extra={"sink": self.config.name, "seqs": [seq], "reasons": ["too large"]},
        )
        self._observer.sink_counted(self.config.name, 0, 1, 0)
        return True

    async def _idle(self) -> None:
        now = self._clock()
        if now < self._blocked_until:
            # Backing off: new commits do not shorten it (each would be one more failure),
            # but the backlog and its age stay current for metrics and health.
            await asyncio.sleep(min(self._blocked_until - now, self.config.interval))
            await self._refresh()
            return
        timeout = self.config.interval
        rows = await self._store.query(NEXT_DUE_SQL, (self.config.name,))
        if rows and rows[0][0] is not None:
            timeout = min(timeout, max(0.0, float(rows[0][0]) - now))
        if self._committed_seq > await self._sealed_seq():
            timeout = min(timeout, SEAL_POLL_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _sealed_seq(self) -> int:
        rows = await self._store.query("SELECT coalesce(max(seq), 0) FROM seals")
        return int(rows[0][0])

    async def _refresh(self, force: bool = False) -> None:
        await self._set_state(self.status.state, self.status.error, force=force)

    async def _set_state(
        self, state: SinkState, error: str, *, force: bool = False, count: bool = True
    ) -> None:
        mono = time.monotonic()
        if not force and state is self.status.state and mono - self._stats_at < STATS_EVERY_S:
            return
        self._stats_at = mono
        age: float | None = None
        backlog = self.status.backlog
        if count:
            rows = await self._store.query(BACKLOG_SQL, (self.config.name,))
            backlog = int(rows[0][0])
            if rows[0][1] is not None:
                captured = await self._store.query(
                    "SELECT captured_at FROM records WHERE seq = ?", (rows[0][1],)
                )
                if captured:
                    age = max(0.0, self._clock() - epoch_of(str(captured[0][0])))
        was = self.status.state
        if state is SinkState.OK and was not in (SinkState.OK, SinkState.STARTING):
            log.info("sink recovered", extra={"sink": self.config.name, "backlog": backlog})
        self.status = SinkStatus(self.config.name, state, backlog, age, error)
        self._observer.sink_changed(self.status)


def _describe(exc: Exception) -> str:
    """A short error text (sinks' messages carry no record content)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
