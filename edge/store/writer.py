"""The single writer: group commit of queued records, one transaction and one fsync per batch;
blob files are removed only in its turn, between transactions."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiosqlite
import msgspec

from edge import records
from edge.errors import StorageFullError, StoreError
from edge.records import Record
from edge.store.blobs import BlobFiles

log = logging.getLogger("midas_edge.store")

MAX_BATCH = 512
# After this long without writes, checkpoint the WAL so it does not hold the day's captures.
IDLE_CHECKPOINT_S = 5.0


@dataclass(slots=True)
class Pending:
    """A record waiting for its commit; `done` resolves to the committed record."""

    record: Record
    done: asyncio.Future[Record]


# (SQL, rows): run with executemany; one row per execution.
Statement = tuple[str, Sequence[Sequence[object]]]


@dataclass(slots=True)
class Op:
    """State changes of other components (seals, delivery states, purges), applied by the
    writer in a transaction of their own right after the records it is committing."""

    statements: Sequence[Statement]
    done: asyncio.Future[int]  # the rows the statements changed


@dataclass(slots=True)
class BlobRemoval:
    """Blob files to delete unless a row references them; `done` resolves to how many went.

    The writer runs it between transactions: no commit can add a reference between its check
    and its unlinks, and a capture not yet committed holds a pin that keeps its file.
    """

    shas: frozenset[str]
    done: asyncio.Future[int]


class _Stop:
    pass


_STOP = _Stop()

# Called before each batch with the bytes it adds; returns a refusal reason or None.
SpaceCheck = Callable[[int], str | None]
# (committed records, their JSON bodies, seconds the commit took)
CommitListener = Callable[[Sequence[Record], Sequence[bytes], float], None]

REFERENCED_SQL = "SELECT sha256 FROM blobs WHERE sha256 IN (SELECT value FROM json_each(?))"


class Writer:
    """Owns the write connection. Records are acknowledged only after their COMMIT returns."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        blobs: BlobFiles,
        last_seq: int,
        sinks: Sequence[str],
        queue_size: int,
        check_space: SpaceCheck,
        on_commit: CommitListener,
        on_refused: Callable[[str], None],
    ) -> None:
        self._conn = conn
        self._blobs = blobs
        self._seq = last_seq
        self._sinks = tuple(sinks)
        self._queue: asyncio.Queue[Pending | Op | BlobRemoval | _Stop] = asyncio.Queue(
            maxsize=queue_size
        )
        self._check_space = check_space
        self._on_commit = on_commit
        self._on_refused = on_refused
        self.busy_since: float | None = None
        self.last_progress = time.monotonic()
        self.commits = 0

    @property
    def last_seq(self) -> int:
        return self._seq

    def depth(self) -> int:
        return self._queue.qsize()

    async def submit(self, pending: Pending | Op | BlobRemoval) -> None:
        """Queue a record, an op or a removal; waits while the queue is full (backpressure)."""
        await self._queue.put(pending)

    def submit_nowait(self, removal: BlobRemoval) -> None:
        """Queue a removal before the writer runs (the start-up sweep); QueueFull if full."""
        self._queue.put_nowait(removal)

    async def stop(self) -> None:
        """Ask the writer to finish everything queued so far and return."""
        await self._queue.put(_STOP)

    async def run(self) -> None:
        dirty = False
        while True:
            try:
                if dirty:
                    async with asyncio.timeout(IDLE_CHECKPOINT_S):
                        item = await self._queue.get()
                else:
                    item = await self._queue.get()
            except TimeoutError:
                await self._checkpoint()
                dirty = False
                continue
            self.last_progress = time.monotonic()
            stop = isinstance(item, _Stop)
            batch: list[Pending] = [item] if isinstance(item, Pending) else []
            ops: list[Op] = [item] if isinstance(item, Op) else []
            removals: list[BlobRemoval] = [item] if isinstance(item, BlobRemoval) else []
            while not stop and len(batch) + len(ops) + len(removals) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if isinstance(nxt, _Stop):
                    stop = True
                elif isinstance(nxt, Op):
                    ops.append(nxt)
                elif isinstance(nxt, BlobRemoval):
                    removals.append(nxt)
                else:
                    batch.append(nxt)
            if batch:
                await self._commit(batch)
                dirty = True
            if ops:
                await self._apply(ops)
                dirty = True
            if removals:
                await self._remove(removals)
            if stop:
                if dirty:
                    await self._checkpoint()
                return

    async def _checkpoint(self) -> None:
        try:
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            # A checkpoint that fails (disk full, reader holding the WAL) is retried next idle.
            log.warning("wal checkpoint failed", extra={"error": str(exc)})

    def _refuse(self, batch: Sequence[Pending], error: StoreError) -> None:
        for pending in batch:
            if not pending.done.done():
                pending.done.set_exception(error)
        self._on_refused(str(error))

    async def _commit(self, batch: list[Pending]) -> None:
        started = time.monotonic()
        self.busy_since = started
        try:
            await self._commit_batch(batch, started)
        finally:
            # Committed, a row now protects each blob; refused, nothing should.
            held = [ref.sha256 for pending in batch for ref in pending.record.blobs]
            if held:
                self._blobs.release(held)
            self.busy_since = None
            self.last_progress = time.monotonic()

    async def _commit_batch(self, batch: list[Pending], started: float) -> None:
        # A caller that stopped waiting does not withdraw its capture: it is still committed.
        live = batch
        first_seq = self._seq + 1
        committed: list[Record] = []
        bodies: list[bytes] = []
        rows: list[tuple[int, str, str, str, str, bytes]] = []
        blob_rows: list[tuple[str, int, str, str]] = []
        link_rows: list[tuple[int, str, str]] = []
        size = 0
        for offset, pending in enumerate(live):
            record = msgspec.structs.replace(pending.record, seq=first_seq + offset)
            body = records.encode(record)
            size += len(body)
            committed.append(record)
            bodies.append(body)
            rows.append(
                (record.seq, record.id, record.captured_at, record.device.name, record.kind, body)
            )
            for ref in record.blobs:
                blob_rows.append((ref.sha256, ref.size, ref.media_type, record.captured_at))
                link_rows.append((record.seq, ref.sha256, ref.role))
        refusal = self._check_space(size)
        if refusal is not None:
            self._refuse(live, StorageFullError(refusal))
            return
        delivery_rows = [(sink, r.seq) for sink in self._sinks for r in committed]
        try:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                await self._conn.executemany(
                    "INSERT INTO records (seq, id, captured_at, device, kind, body)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                if blob_rows:
                    await self._conn.executemany(
                        "INSERT OR IGNORE INTO blobs (sha256, size, media_type, created_at)"
                        " VALUES (?, ?, ?, ?)",
                        blob_rows,
                    )
                    await self._conn.executemany(
                        "INSERT OR IGNORE INTO record_blobs (seq, sha256, role) VALUES (?, ?, ?)",
                        link_rows,
                    )
                if delivery_rows:
                    await self._conn.executemany(
                        "INSERT INTO deliveries (sink, seq) VALUES (?, ?)", delivery_rows
                    )
                await self._conn.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise
        except sqlite3.Error as exc:
            full = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            if full:
                error: StoreError = StorageFullError("the disk is full")
            else:
                error = StoreError(f"commit failed: {exc}")
            log.error(
                "store commit failed",
                extra={"error": str(exc), "records": len(live), "first_seq": first_seq},
            )
            self._refuse(live, error)
            return
        self._seq = committed[-1].seq
        self.commits += 1
        for pending, record in zip(live, committed, strict=True):
            if not pending.done.done():
                pending.done.set_result(record)
        self._on_commit(committed, bodies, time.monotonic() - started)

    async def _apply(self, ops: list[Op]) -> None:
        """Apply ops in one transaction; if it fails, each alone, so one bad op fails alone."""
        self.busy_since = time.monotonic()
        try:
            try:
                counts = await self._transaction([st for op in ops for st in op.statements])
            except sqlite3.Error as exc:
                if len(ops) == 1:
                    _settle(ops[0], exc)
                    return
                for op in ops:
                    try:
                        alone = await self._transaction(op.statements)
                    except sqlite3.Error as one:
                        _settle(op, one)
                    else:
                        _settle(op, None, sum(alone))
                return
            for op in ops:
                _settle(op, None, sum(counts[: len(op.statements)]))
                counts = counts[len(op.statements) :]
        finally:
            self.busy_since = None
            self.last_progress = time.monotonic()

    async def _remove(self, removals: list[BlobRemoval]) -> None:
        """Delete the files of blobs no row references, in the order the removals came."""
        self.busy_since = time.monotonic()
        try:
            for removal in removals:
                wanted = sorted(removal.shas)
                try:
                    async with self._conn.execute(
                        REFERENCED_SQL, (msgspec.json.encode(wanted).decode(),)
                    ) as cur:
                        kept = {str(row[0]) async for row in cur}
                except sqlite3.Error as exc:
                    log.error("blob removal check failed", extra={"error": str(exc)})
                    if not removal.done.done():
                        removal.done.set_exception(StoreError(f"blob removal failed: {exc}"))
                    continue
                gone = [sha for sha in wanted if sha not in kept]
                deleted, failed = await asyncio.to_thread(self._blobs.remove, gone)
                if failed:
                    log.error(
                        "blob files not removed; the next start sweeps them",
                        extra={"blobs": failed},
                    )
                if not removal.done.done():
                    removal.done.set_result(deleted)
        finally:
            self.busy_since = None
            self.last_progress = time.monotonic()

    async def _transaction(self, statements: Sequence[Statement]) -> list[int]:
        """Run `statements` in one transaction; the rows each one changed."""
        counts: list[int] = []
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in statements:
                cursor = await self._conn.executemany(sql, rows)
                counts.append(max(cursor.rowcount, 0))
            await self._conn.execute("COMMIT")
        except BaseException:
            await self._rollback()
            raise
        return counts

    async def _rollback(self) -> None:
        try:
            await self._conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            # SQLite may already have rolled back (e.g. on SQLITE_FULL); nothing is left open.
            log.debug("rollback after failed commit", extra={"error": str(exc)})


def _settle(op: Op, error: sqlite3.Error | None, changed: int = 0) -> None:
    if op.done.done():
        return
    if error is None:
        op.done.set_result(changed)
    else:
        log.error("store op failed", extra={"error": str(error)})
        op.done.set_exception(StoreError(f"store update failed: {error}"))
