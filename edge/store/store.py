"""The Store facade: open, append (group-committed), read, blobs, usage against the quota."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import aiosqlite

from edge.errors import StorageFullError, StoreError
from edge.records import BlobRef, Record
from edge.store.blobs import BlobFiles
from edge.store.db import has_quarantined, open_database
from edge.store.writer import BlobRemoval, CommitListener, Op, Pending, Statement, Writer

log = logging.getLogger("midas_edge.store")

DB_NAME = "records.db"
# Held (flock, exclusive) while a store is open: two daemons never share one data dir.
LOCK_NAME = "records.db.lock"


class StoreInUseError(StoreError):
    """Another midas-edge daemon has this data dir open."""


def lock_data_dir(data_dir: Path) -> int:
    """The descriptor holding the data dir's lock; StoreInUseError when another holds it."""
    path = data_dir / LOCK_NAME
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise StoreError(f"the lock file {path} cannot be opened ({exc.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreInUseError(
            f"another midas-edge daemon uses this data dir ({data_dir})"
        ) from None
    return fd


@dataclass(frozen=True, slots=True)
class StoreUsage:
    """Bytes the store occupies and the free space left on its filesystem."""

    database: int
    wal: int
    blobs: int
    free: int

    @property
    def total(self) -> int:
        return self.database + self.wal + self.blobs


class Store:
    """Durable records and blobs in `data_dir`; an async context manager.

    Writes go through one writer task (`run_writer()`, owned by the caller's TaskGroup);
    reads use their own connection and never wait for the writer.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        quota: int,
        min_free: int,
        sinks: Sequence[tuple[str, bool]] = (),
        queue_size: int = 1024,
    ) -> None:
        self.data_dir = data_dir
        self.path = data_dir / DB_NAME
        self.quota = quota
        self.min_free = min_free
        self._sinks = tuple(sinks)
        self._queue_size = queue_size
        self._blobs = BlobFiles(data_dir / "blobs")
        self._blob_bytes = 0
        self._reader: aiosqlite.Connection | None = None
        self._writer_conn: aiosqlite.Connection | None = None
        self._writer: Writer | None = None
        self.quarantined: Path | None = None
        self.full_reason: str | None = None
        self._commit_listeners: list[CommitListener] = []
        self._space_listeners: list[Callable[[str | None], None]] = []
        self._lock_fd: int | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock_fd = lock_data_dir(self.data_dir)
        try:
            opened = await open_database(self.path)
        except BaseException:
            self._unlock()
            raise
        self.quarantined = opened.quarantined
        conn = opened.conn
        try:
            await self._register_sinks(conn)
            async with conn.execute("SELECT coalesce(max(seq), 0) FROM records") as cur:
                row = await cur.fetchone()
            last_seq = max(int(row[0]) if row else 0, opened.seq_floor)
            async with conn.execute("SELECT coalesce(sum(size), 0) FROM blobs") as cur:
                row = await cur.fetchone()
            self._blob_bytes = int(row[0]) if row else 0
            async with conn.execute("SELECT sha256 FROM blobs") as cur:
                referenced = {str(r[0]) async for r in cur}
            orphans = await asyncio.to_thread(self._blobs.orphans, referenced)
            if orphans and has_quarantined(self.path):
                # The quarantined database's records may reference them: kept for its salvage.
                log.warning(
                    "orphan blobs kept beside a quarantined database", extra={"blobs": len(orphans)}
                )
                orphans = []
            self._reader = await aiosqlite.connect(f"file:{self.path}?mode=ro", uri=True)
            await self._reader.execute("PRAGMA busy_timeout = 5000")
        except BaseException:
            await conn.close()
            self._unlock()
            raise
        self._writer_conn = conn
        self._writer = Writer(
            conn,
            self._blobs,
            last_seq,
            [name for name, _ in self._sinks],
            self._queue_size,
            self._check_space,
            self._committed,
            self._refused,
        )
        if orphans:
            # The writer's first turn deletes them, re-checked: a capture of the same bytes
            # made before that keeps its file.
            swept: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            swept.add_done_callback(_log_sweep)
            self._writer.submit_nowait(BlobRemoval(frozenset(orphans), swept))

    async def close(self) -> None:
        """Close both connections. The writer must have been stopped (or never started)."""
        for conn in (self._reader, self._writer_conn):
            if conn is not None:
                await conn.close()
        self._reader = self._writer_conn = None
        self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    async def _register_sinks(self, conn: aiosqlite.Connection) -> None:
        """Record the configured sinks; a sink no longer configured stops being required.

        Its delivery rows stay (the outbox shows them), but it no longer holds back the
        retention of records that every configured required sink has confirmed.
        """
        names = [name for name, _ in self._sinks]
        await conn.execute("BEGIN IMMEDIATE")
        try:
            if self._sinks:
                await conn.executemany(
                    "INSERT INTO sinks (name, required, added_at) VALUES (?, ?, datetime('now'))"
                    " ON CONFLICT (name) DO UPDATE SET required = excluded.required",
                    [(name, int(required)) for name, required in self._sinks],
                )
            marks = ", ".join("?" * len(names))
            async with conn.execute(
                f"UPDATE sinks SET required = 0 WHERE required = 1 AND name NOT IN ({marks})"  # noqa: S608  # placeholders only
                " RETURNING name",
                names,
            ) as cur:
                retired = [str(row[0]) async for row in cur]
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        for name in retired:
            log.warning("sink no longer configured: not required any more", extra={"sink": name})

    # -- writing ---------------------------------------------------------------------------

    @property
    def writer(self) -> Writer:
        if self._writer is None:
            raise StoreError("the store is not open")
        return self._writer

    async def run_writer(self) -> None:
        """The writer loop; returns after `stop_writer()` once everything queued is committed."""
        await self.writer.run()

    async def stop_writer(self) -> None:
        await self.writer.stop()

    async def append(self, record: Record) -> asyncio.Future[Record]:
        """Queue `record` for commit; the future resolves once it is durable (or is refused).

        Waits while the writer's queue is full: backpressure, never loss.
        """
        done: asyncio.Future[Record] = asyncio.get_running_loop().create_future()
        await self.writer.submit(Pending(record, done))
        return done

    async def apply(self, statements: Sequence[Statement]) -> int:
        """Run statements in one transaction through the single writer; returns once durable,
        with the number of rows they changed.

        For other components' state (seals, delivery states, purges): they never open a
        second write connection, so a capture never waits for their locks.
        """
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        await self.writer.submit(Op(statements, done))
        return await done

    async def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the reader connection (never waits for the writer)."""
        try:
            async with self._read().execute(sql, params) as cur:
                return [tuple(row) async for row in cur]
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {exc}") from exc

    async def remove_blobs(self, shas: Iterable[str]) -> int:
        """Delete the files of these blobs unless a row references them or a capture not yet
        committed holds them; runs in the writer's turn. Returns how many files went."""
        wanted = frozenset(shas)
        if not wanted:
            return 0
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        await self.writer.submit(BlobRemoval(wanted, done))
        return await done

    async def recount_blobs(self) -> None:
        """Recount the bytes of stored blobs (after retention removed some) for the quota."""
        rows = await self.query("SELECT coalesce(sum(size), 0) FROM blobs")
        self._blob_bytes = int(rows[0][0])

    async def put_blob(self, data: bytes, media_type: str, role: str) -> BlobRef:
        """Write a blob durably before the record that references it; refused when full.

        The blob is held against removal until the writer settled the record appended with
        this ref (committed or refused); a caller that gives the record up calls
        `release_blobs`.
        """
        refusal = self._check_space(len(data))
        if refusal is not None:
            self._refused(refusal)
            raise StorageFullError(refusal)
        writing = asyncio.ensure_future(asyncio.to_thread(self._blobs.write, data))
        try:
            sha = await asyncio.shield(writing)
        except asyncio.CancelledError:
            # The write goes on in its thread and pins the blob: give that pin back once done.
            writing.add_done_callback(self._release_written)
            raise
        except OSError as exc:
            reason = (
                "the disk is full"
                if exc.errno == errno.ENOSPC
                else f"blob write failed ({exc.strerror})"
            )
            self._refused(reason)
            raise StorageFullError(reason) from exc
        self._blob_bytes += len(data)
        return BlobRef(sha256=sha, media_type=media_type, size=len(data), role=role)

    def _release_written(self, writing: asyncio.Future[str]) -> None:
        if not writing.cancelled() and writing.exception() is None:
            self._blobs.release((writing.result(),))

    def release_blobs(self, refs: Iterable[BlobRef]) -> None:
        """Give up blobs put for a record that will not be appended."""
        self._blobs.release(ref.sha256 for ref in refs)

    def read_blob_path(self, sha256: str) -> Path:
        return self._blobs.path(sha256)

    # -- space -----------------------------------------------------------------------------

    def on_commit(self, listener: CommitListener) -> None:
        self._commit_listeners.append(listener)

    def on_space(self, listener: Callable[[str | None], None]) -> None:
        """`listener(reason)` when captures start being refused, `listener(None)` when not."""
        self._space_listeners.append(listener)

    def usage(self) -> StoreUsage:
        def size(path: Path) -> int:
            try:
                return path.stat().st_size
            except FileNotFoundError:
                return 0

        stats = os.statvfs(self.data_dir)
        return StoreUsage(
            database=size(self.path),
            wal=size(self.path.with_name(DB_NAME + "-wal")),
            blobs=self._blob_bytes,
            free=stats.f_bavail * stats.f_frsize,
        )

    def _check_space(self, incoming: int) -> str | None:
        usage = self.usage()
        if usage.total + incoming > self.quota:
            return "storage quota reached"
        if usage.free - incoming < self.min_free:
            return "free disk space below the configured minimum"
        if self.full_reason is not None:
            self.full_reason = None
            for listener in self._space_listeners:
                listener(None)
        return None

    def _refused(self, reason: str) -> None:
        if self.full_reason != reason:
            self.full_reason = reason
            for listener in self._space_listeners:
                listener(reason)

    def _committed(
        self, committed: Sequence[Record], bodies: Sequence[bytes], seconds: float
    ) -> None:
        for listener in self._commit_listeners:
            listener(committed, bodies, seconds)

    # -- reading ---------------------------------------------------------------------------

    def _read(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise StoreError("the store is not open")
        return self._reader

    async def get_body(self, record_id: str) -> bytes | None:
        """The JSON body of one record, or None."""
        try:
            async with self._read().execute(
                "SELECT body FROM records WHERE id = ?", (record_id,)
            ) as cur:
                row = await cur.fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {exc}") from exc
        return bytes(row[0]) if row else None

    async def bodies_after(self, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        """(seq, JSON body) of up to `limit` records with seq > `after_seq`, in order."""
        try:
            async with self._read().execute(
                "SELECT seq, body FROM records WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ) as cur:
                return [(int(r[0]), bytes(r[1])) async for r in cur]
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {exc}") from exc

    async def count(self) -> int:
        async with self._read().execute("SELECT count(*) FROM records") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def integrity_ok(self) -> bool:
        """Full `PRAGMA integrity_check` on the read connection."""
        async with self._read().execute("PRAGMA integrity_check") as cur:
            rows = await cur.fetchall()
        return [str(r[0]) for r in rows] == ["ok"]


def _log_sweep(swept: asyncio.Future[int]) -> None:
    if swept.cancelled():
        return
    error = swept.exception()
    if error is not None:
        log.error("orphan blob sweep failed", extra={"error": str(error)})
    elif swept.result():
        log.info("orphan blobs removed", extra={"blobs": swept.result()})
