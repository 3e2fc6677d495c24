"""The NAS sink: sealed records as files on a mounted share, a manifest per batch last.

Layout under the share root (directories created only below a verified root, never the root):

    <workstation>/<yyyy>/<mm>/<dd>/<id>.json                the record's exact JSON bytes
    <workstation>/<yyyy>/<mm>/<dd>/blobs/<sha256>.<ext>     its images, by content
    <workstation>/<yyyy>/<mm>/<dd>/manifest-<first>-<last>-<sha8>.jsonl

The day is the record's capture day (UTC), so a resend lands on the same names. One file per
record (not per batch) keeps names unique per record and lets "an existing file with the same
SHA-256 is delivered" work record by record; the chain fields (prev, hash, sig hex, seq, key_id)
live in the manifest line of each record, so each record costs one fsync, not two. A batch's
record files are written (up to `FSYNC_CHUNK` at a time, kept open), then fsynced by up to
`FSYNC_THREADS` threads at once (fsyncs of data already written share the filesystem's journal
commits; write-fsync one file at a time capped a drain at ~1,000-3,500 records/s on a local
disk), and renamed only once all of them are durable. The manifest
(JSON lines; paths relative to the workstation directory) is the commit marker: published last,
named after its content, so a re-sent identical batch finds it already there. Every file is
written as `<name>.part-<random>` in its own directory, fsynced, closed, renamed to its lower-case
name (never over an existing file: an existing one is compared by SHA-256 instead; different
content → the record is rejected as "conflict"), then the directories are fsynced (best effort).

Before each batch the root must be a mount point (`os.path.ismount` and a `st_dev` other than
its parent's) holding the sentinel file. All share I/O runs in daemon threads under the sink's
timeout: a hung mount makes the batch fail with `SinkUnavailable` and never blocks the loop; at
most `max_workers` threads may be stuck before the sink refuses to start more.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
import stat
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import msgspec

from agent.sink import Delivery, Outcome, Outgoing, Sink, SinkUnavailable, TransientError
from edge.config import SinkConfig

log = logging.getLogger("midas_edge.nas")

T = TypeVar("T")

# Tests run on plain directories; production never sets this (a bare directory is refused).
UNMOUNTED_ENV = "MIDAS_EDGE_TEST_NAS_UNMOUNTED"
STALE_PART_S = 3600.0
MAX_WORKERS = 2
FSYNC_THREADS = 32
FSYNC_CHUNK = 256  # files open at once while their fsyncs run
CONFLICT = "conflict"
BLOB_MISSING = "blob_missing"
UNREADABLE = "unreadable_record"
_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/jp2": "jp2", "image/webp": "webp"}


class _Head(msgspec.Struct):
    captured_at: str
    schema_version: int = 1


class _Conflict(Exception):
    pass


class NasSink(Sink):
    """Delivers batches into `config.target`, a mounted share with the sentinel at its root."""

    kind = "nas"

    def __init__(
        self,
        config: SinkConfig,
        workstation: str,
        key_id: str,
        *,
        require_mount: bool | None = None,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        super().__init__(config.name)
        self.root = Path(config.target)
        self.sentinel = config.sentinel
        self.timeout = config.timeout
        self.workstation = workstation
        self.key_id = key_id
        if require_mount is None:
            require_mount = os.environ.get(UNMOUNTED_ENV) != "1"
        self.require_mount = require_mount
        self.max_workers = max_workers
        self.in_flight = 0
        self._cleaned = False
        self._decode = msgspec.json.Decoder(_Head)

    async def open(self) -> None:
        """Remove stale `.part-*` files when the share is there now (else at the next batch)."""
        with contextlib.suppress(TransientError):
            await self._clean()

    async def close(self) -> None:
        return None

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivery]:
        await self._clean()
        return await self._io(self._write_batch, batch)

    async def _clean(self) -> None:
        if not self._cleaned:
            removed = await self._io(self._remove_stale_parts)
            self._cleaned = True
            if removed:
                log.info("stale part files removed", extra={"sink": self.name, "files": removed})

    # -- worker threads ----------------------------------------------------------------------

    async def _io(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` in a daemon thread, at most `timeout` seconds; a stuck thread is left."""
        if self.in_flight >= self.max_workers:
            raise SinkUnavailable("the share is hung: earlier writes have not returned")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def finished(result: T | None, error: BaseException | None) -> None:
            self.in_flight -= 1
            if future.done():
                return  # timed out or cancelled: nobody waits for it any more
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]  # result is a T here

        def work() -> None:
            result: T | None = None
            error: BaseException | None = None
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the loop, which raises it
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop may be closed by now
                loop.call_soon_threadsafe(finished, result, error)

        self.in_flight += 1
        threading.Thread(target=work, name=f"nas:{self.name}", daemon=True).start()
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            raise SinkUnavailable(
                f"the share did not answer within {self.timeout:g} s (hung mount?)"
            ) from None

    # -- blocking part (worker thread) -------------------------------------------------------

    def _verify(self) -> None:
        try:
            st = os.stat(self.root)
            if not stat.S_ISDIR(st.st_mode):
                raise SinkUnavailable("the share root is not a directory")
            if self.require_mount and (
                not os.path.ismount(self.root) or st.st_dev == os.stat(self.root.parent).st_dev
            ):
                raise SinkUnavailable("the share is not mounted (bare mount point)")
            if not (self.root / self.sentinel).is_file():
                raise SinkUnavailable("the share's sentinel file is missing")
        except FileNotFoundError:
            raise SinkUnavailable("the share root does not exist") from None
        except OSError as exc:
            raise SinkUnavailable(f"the share cannot be checked ({exc.strerror})") from exc

    def _remove_stale_parts(self) -> int:
        self._verify()
        base = self.root / self.workstation
        limit = time.time() - STALE_PART_S
        removed = 0
        for folder, _, files in os.walk(base):
            for name in files:
                if ".part-" not in name:
                    continue
                path = Path(folder) / name
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < limit:
                        path.unlink()
                        removed += 1
        return removed

    def _write_batch(self, batch: Sequence[Outgoing]) -> list[Delivery]:
        self._verify()
        base = self.root / self.workstation
        touched: set[Path] = set()
        answers: list[Delivery] = []
        lines: list[tuple[Outgoing, str, bytes]] = []
        pending: dict[int, tuple[Path, bytes, str]] = {}
        try:
            for out in batch:
                try:
                    head = self._decode.decode(out.body)
                except msgspec.DecodeError:
                    answers.append(Delivery(out.seq, Outcome.REJECTED, reason=UNREADABLE))
                    continue
                day = base / head.captured_at[:4] / head.captured_at[5:7] / head.captured_at[8:10]
                reason, line, todo = self._write_record(out, head, day, base, touched)
                if reason:
                    answers.append(Delivery(out.seq, Outcome.REJECTED, reason=reason))
                    continue
                lines.append((out, str(day.relative_to(base)), line))
                if todo is not None:
                    pending[out.seq] = todo
            conflicts = _publish_all(list(pending.items()))
            if conflicts:
                answers.extend(
                    Delivery(seq, Outcome.REJECTED, reason=CONFLICT) for seq in conflicts
                )
                lines = [entry for entry in lines if entry[0].seq not in conflicts]
            for folder in touched:
                _fsync_dir(folder)
            if not lines:
                return answers
            manifest = b"".join(line for _, _, line in lines)
            first, last = lines[0][0].seq, lines[-1][0].seq
            digest = hashlib.sha256(manifest).hexdigest()
            folder = base / lines[0][1]
            name = f"manifest-{first:012d}-{last:012d}-{digest[:8]}.jsonl"
            try:
                _publish(folder / name, manifest, digest)
            except _Conflict:
                raise TransientError("a manifest of that name holds other content") from None
            _fsync_dir(folder)
        except OSError as exc:
            raise TransientError(f"share write failed ({exc.strerror})") from exc
        receipt = f"{self.workstation}/{lines[0][1]}/{name}"
        answers.extend(Delivery(out.seq, Outcome.DELIVERED, receipt=receipt) for out, _, _ in lines)
        answers.sort(key=lambda d: d.seq)
        return answers

    def _write_record(
        self, out: Outgoing, head: _Head, day: Path, base: Path, touched: set[Path]
    ) -> tuple[str, bytes, tuple[Path, bytes, str] | None]:
        """Publish one record's blobs; (rejection reason or "", its manifest line, its body file
        still to publish as (target, bytes, sha256), or None when it is already there)."""
        blob_entries: list[dict[str, object]] = []
        for blob in out.blobs:
            folder = day / "blobs"
            target = folder / f"{blob.sha256.lower()}.{_EXT.get(blob.media_type, 'bin')}"
            try:
                data = Path(blob.path).read_bytes()
            except FileNotFoundError:
                return BLOB_MISSING, b"", None
            folder.mkdir(parents=True, exist_ok=True)
            try:
                _publish(target, data, blob.sha256.lower())
            except _Conflict:
                return CONFLICT, b"", None
            touched.add(folder)
            blob_entries.append(
                {
                    "file": str(target.relative_to(base)),
                    "size": len(data),
                    "sha256": blob.sha256.lower(),
                    "media_type": blob.media_type,
                }
            )
        if day not in touched:
            day.mkdir(parents=True, exist_ok=True)
        target = day / f"{out.id.lower()}.json"
        digest = hashlib.sha256(out.body).hexdigest()
        existing = _digest_of(target)
        if existing is not None and existing != digest:
            return CONFLICT, b"", None
        todo = None if existing is not None else (target, out.body, digest)
        touched.add(day)
        entry = {
            "id": out.id,
            "seq": out.seq,
            "file": str(target.relative_to(base)),
            "size": len(out.body),
            "sha256": digest,
            "schema_version": head.schema_version,
            "workstation": self.workstation,
            "key_id": self.key_id,
            "prev": out.prev.hex(),
            "hash": out.hash.hex(),
            "sig": out.sig.hex(),
            "blobs": blob_entries,
        }
        return "", json.dumps(entry, separators=(",", ":")).encode() + b"\n", todo


def _digest_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def _part_of(target: Path) -> Path:
    return target.with_name(f"{target.name}.part-{secrets.token_hex(6)}")


def _write_part(tmp: Path, data: bytes, *, sync: bool = True) -> int:
    """Create `tmp` with `data` (removed on failure); fsynced and closed, or with `sync` False
    left open: its descriptor is returned for the caller to fsync and close."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    if sync:
        os.close(fd)
        return -1
    return fd


def _fsync_all(fds: Sequence[int]) -> None:
    """fsync every descriptor, up to FSYNC_THREADS at once; the first error is raised."""
    errors: list[OSError] = []

    def sync(indices: range) -> None:
        for i in indices:
            if errors:
                return
            try:
                os.fsync(fds[i])
            except OSError as exc:
                errors.append(exc)

    # Daemon threads: on a hung share they stay stuck without holding up the process's exit.
    count = min(FSYNC_THREADS, len(fds))
    threads = [
        threading.Thread(target=sync, args=(range(k, len(fds), count),), daemon=True)
        for k in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _rename_new(tmp: Path, target: Path, sha256: str) -> bool:
    """Rename a durable part to `target`; False when `target` holds it already; `_Conflict`."""
    # Not atomic against another writer of the same name, which only a concurrent resend of
    # the same record can be: both hold the same bytes (RENAME_NOREPLACE is no better on CIFS).
    existing = _digest_of(target)
    if existing is not None:
        tmp.unlink(missing_ok=True)
        if existing != sha256:
            raise _Conflict
        return False
    os.rename(tmp, target)
    return True


def _publish(target: Path, data: bytes, sha256: str) -> bool:
    """Write `target` atomically; False when it already holds `data`; `_Conflict` otherwise."""
    existing = _digest_of(target)
    if existing is not None:
        if existing != sha256:
            raise _Conflict
        return False
    tmp = _part_of(target)
    _write_part(tmp, data)
    return _rename_new(tmp, target, sha256)


def _publish_all(files: Sequence[tuple[int, tuple[Path, bytes, str]]]) -> set[int]:
    """Publish many new files: written, fsynced (in parallel, `FSYNC_CHUNK` open at a time),
    then renamed in order. Returns the keys whose target holds other content (conflicts)."""
    parts: list[Path] = []
    try:
        for start in range(0, len(files), FSYNC_CHUNK):
            fds: list[int] = []
            try:
                for _, (target, data, _) in files[start : start + FSYNC_CHUNK]:
                    part = _part_of(target)
                    fds.append(_write_part(part, data, sync=False))
                    parts.append(part)
                _fsync_all(fds)
            finally:
                for fd in fds:
                    os.close(fd)
    except BaseException:
        for part in parts:
            part.unlink(missing_ok=True)
        raise
    conflicts: set[int] = set()
    for (key, (target, _, sha256)), part in zip(files, parts, strict=True):
        try:
            _rename_new(part, target, sha256)
        except _Conflict:
            conflicts.add(key)
    return conflicts


def _fsync_dir(path: Path) -> None:
    # Best effort: some network filesystems refuse a directory fsync.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
