"""One delivery loop per sink over the store's per-sink delivery states (no head-of-line
blocking between sinks).

Each pass loads this sink's due pending deliveries of sealed, unpurged records in seq order
(at most `batch_records`, about `batch_bytes`), sends them, and writes every outcome in ONE
`Store.apply` transaction: delivered (receipt), rejected (dead letter, reason code), left
without an answer (attempts + 1, per-record backoff). While one batch's outcomes commit, the
next batch (the records after its last seq) is loaded and sent: the sink still gets one batch at
a time, in seq order, and outcomes commit in the order batches were sent. A batch that failed
as a whole backs the sink off (full jitter, or the sink's Retry-After) and counts an attempt
for each of its records; a `SinkUnavailable` (no share, no server) counts none. After a success
the backlog continues at once; when idle the loop waits for a commit or `interval`. Logs carry
sink names, counts and seqs, never bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from agent import faults
from agent.deliveries import (
    BACKLOG_SQL,
    DELIVER_SQL,
    NEXT_DUE_SQL,
    REJECT_SQL,
    RETRY_SQL,
    load_batch,
)
from agent.outbox import epoch_of, utc_text
from agent.sink import (
    BatchTooLarge,
    Delivery,
    Outcome,
    Outgoing,
    Sink,
    SinkConfigError,
    SinkUnavailable,
    TransientError,
)
from agent.sink_status import Observer, SinkState, SinkStatus
from drivers.backoff import Backoff
from edge.config import ForwardingConfig, SinkConfig
from edge.errors import StoreError
from edge.records import Record
from edge.store import Store

log = logging.getLogger("midas_edge.forwarding")

# Statistics (backlog count, oldest age) are refreshed at most this often while busy.
STATS_EVERY_S = 1.0
SETTLE_ON_EXIT_S = 2.0  # how long a stopping loop lets the outcomes of its last batch commit
# The sealing task wakes the sinks after each batch; this is only the fallback re-check.
SEAL_POLL_S = 1.0


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
        # The settle of the last batch sent, still writing its outcomes (and its last seq).
        self._settling: asyncio.Task[None] | None = None
        self._settling_last = 0
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
        try:
            while True:
                await self._turn()
        finally:  # stopping: the last batch's outcomes may land (or it is simply sent again)
            if (task := self._settling) is not None:
                await asyncio.wait({task}, timeout=SETTLE_ON_EXIT_S)
                task.cancel()  # no-op when it is done
                task.add_done_callback(self._settle_ended)

    async def _turn(self) -> None:
        try:
            progressed = await self._pass()
            if not progressed:
                await self._settled()
        except StoreError as exc:
            log.error(
                "sink pass failed on the store", extra={"sink": self.config.name, "error": str(exc)}
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
        """One pass: send one batch if one is due and write its outcomes before returning;
        True when the backlog should go on at once."""
        try:
            return await self._pass()
        finally:
            await self._settled()

    async def _pass(self) -> bool:
        """Send one batch if one is due; its outcomes may still be being written on return."""
        self._wake.clear()  # before the query: a commit while it runs wakes the next wait
        now = self._clock()
        if now < self._blocked_until:
            return False
        batch, attempts = await load_batch(
            self._store,
            self.config.name,
            now,
            after=self._settling_last,
            limit=self._limit,
            budget=self.config.batch_bytes_int,
        )
        if not batch:
            if self._settling is not None:
                # The settle in progress may leave records due again (no answer): look again.
                await self._settled()
                return True
            # Nothing due: the backlog is (about to be) shown as it is, not throttled.
            await self._refresh(force=self.status.backlog != 0)
            return False
        try:
            answers = await self.sink.send(batch)
        except Exception as exc:  # even a sink bug must not stop the other sinks or captures
            await self._settled()
            return await self._send_failed(batch, attempts, exc)
        faults.point("sink.sent")
        await self._settled()  # outcomes are written in the order the batches were sent
        self._settling = asyncio.create_task(
            self._settle(batch, answers, attempts), name=f"settle:{self.config.name}"
        )
        self._settling_last = batch[-1].seq
        return True

    def _settle_ended(self, task: asyncio.Task[None]) -> None:
        """A settle left behind by a stopping loop: its error is logged, never lost silently."""
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning(
                "outcomes of the last batch not written; it is sent again",
                extra={"sink": self.config.name, "error": str(exc)},
            )

    async def _send_failed(
        self, batch: Sequence[Outgoing], attempts: dict[int, int], exc: Exception
    ) -> bool:
        if isinstance(exc, BatchTooLarge):
            return await self._too_large(batch, exc)
        if isinstance(exc, SinkUnavailable):  # not the records' fault: no attempt counted
            await self._failed(batch, exc, SinkState.UNAVAILABLE, attempts=None)
        elif isinstance(exc, TransientError):
            await self._failed(batch, exc, SinkState.DEGRADED, attempts=attempts)
        elif isinstance(exc, SinkConfigError):
            await self._failed(batch, exc, SinkState.FAILED, attempts=None)
        else:
            log.error(
                "sink raised an unexpected error", exc_info=exc, extra={"sink": self.config.name}
            )
            await self._failed(batch, exc, SinkState.DEGRADED, attempts=attempts)
        return False

    async def _settled(self) -> None:
        """Wait for the settle in progress, if any (its StoreError is raised here), shielded."""
        task = self._settling
        if task is None:
            return
        try:
            await asyncio.shield(task)
        finally:
            if task.done():
                self._settling, self._settling_last = None, 0

    async def _settle(
        self, batch: Sequence[Outgoing], answers: Sequence[Delivery], attempts: dict[int, int]
    ) -> None:
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
        retry, exhausted = self._retry_rows(missing, attempts, now, "no answer", per_record=True)
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
        self,
        seqs: Sequence[int],
        attempts_of: dict[int, int],
        now: float,
        error: str,
        *,
        per_record: bool,
        delay: float = 0,
    ) -> tuple[list[tuple[object, ...]], list[int]]:
        limit = self._forwarding.max_attempts
        rows: list[tuple[object, ...]] = []
        exhausted: list[int] = []
        fwd = self._forwarding
        one = Backoff(fwd.backoff_base, fwd.backoff_cap, self._rng)
        for seq in seqs:
            attempts = attempts_of.get(seq, 0)
            if per_record:
                one.attempt = attempts  # the delay after this record's own count of failures
                delay = one.next_delay()
            rows.append((now + delay, limit, error, self.config.name, seq))
            if limit > 0 and attempts + 1 >= limit:
                exhausted.append(seq)
        return rows, exhausted

    async def _failed(
        self,
        batch: Sequence[Outgoing],
        exc: Exception,
        state: SinkState,
        *,
        attempts: dict[int, int] | None,
    ) -> None:
        """The batch failed as a whole; `attempts` None: it counts no attempt (not the records'
        fault)."""
        now = self._clock()
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        delay = retry_after if retry_after is not None else self._backoff.next_delay()
        self._blocked_until = now + delay
        error = _describe(exc)
        exhausted: list[int] = []
        if attempts is not None:
            rows, exhausted = self._retry_rows(
                [o.seq for o in batch], attempts, now, error[:200], per_record=False, delay=delay
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
            async with asyncio.timeout(timeout):
                await self._wake.wait()

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
