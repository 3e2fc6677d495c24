"""The NAS sink: sealed records as files on a mounted share, a manifest per batch last.

Layout under the share root (directories created only below a verified root, never the root):

    <workstation>/<yyyy>/<mm>/<dd>/<id>.json                the record's exact JSON bytes
    <workstation>/<yyyy>/<mm>/<dd>/blobs/<sha256>.<ext>     its images, by content
    <workstation>/<yyyy>/<mm>/<dd>/manifest-<first>-<last>-<sha8>.jsonl

The day is the record's capture day (UTC), so a resend lands on the same names. One file per
record (not per batch) keeps names unique per record and lets "an existing file with the same
SHA-256 is delivered" work record by record; the chain fields (prev, hash, sig hex, seq, key_id)
live in the manifest line of each record, so each record costs one fsync, not two. A batch's
record files are written (agent/nas_files.py: up to `FSYNC_CHUNK` at a time, kept open), then
fsynced by up to `FSYNC_THREADS` threads at once (fsyncs of data already written share the
filesystem's journal commits; write-fsync one file at a time capped a drain at ~1,000-3,500
records/s on a local disk), and renamed only once all of them are durable. The manifest
(JSON lines; paths relative to the workstation directory) is the commit marker: published last,
named after its content, so a re-sent identical batch finds it already there. Every file is
written as `<name>.part-<random>` in its own directory, fsynced, closed, renamed to its lower-case
name (never over an existing file: an existing one is compared by SHA-256 instead; different
content → the record is rejected as "conflict"), then the directories are fsynced (best effort).

Before each batch the root must be a mount point (`os.path.ismount` and a `st_dev` other than
its parent's) holding the sentinel file. All share I/O runs in daemon threads under the sink's
timeout: a hung mount (or a full share: ENOSPC, EDQUOT) makes the batch fail with
`SinkUnavailable` (no attempt counted) and never blocks the loop; at most `max_workers` threads
may be stuck before the sink refuses to start more.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import msgspec

from agent import faults
from agent.nas_files import Conflict, digest_of, fsync_dir, publish, publish_all
from agent.sink import Delivery, Outcome, Outgoing, Sink, SinkUnavailable, TransientError
from edge.config import SinkConfig

log = logging.getLogger("midas_edge.nas")

T = TypeVar("T")

# Tests run on plain directories; production never sets this (a bare directory is refused).
UNMOUNTED_ENV = "MIDAS_EDGE_TEST_NAS_UNMOUNTED"
STALE_PART_S = 3600.0
MAX_WORKERS = 2
CONFLICT = "conflict"
BLOB_MISSING = "blob_missing"
UNREADABLE = "unreadable_record"
_FULL = (errno.ENOSPC, errno.EDQUOT)
_line = msgspec.json.Encoder()
_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/jp2": "jp2", "image/webp": "webp"}


class _Head(msgspec.Struct):
    captured_at: str
    schema_version: int = 1


class NasSink(Sink):
    """Delivers batches into `config.target`, a mounted share with the sentinel at its root."""

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
        # Plain strings, not Path objects: path handling was most of a record's CPU cost.
        base = os.path.join(self.root, self.workstation)
        days: dict[str, str] = {}  # capture day -> its folder relative to `base`
        touched: set[str] = set()
        answers: list[Delivery] = []
        lines: list[tuple[Outgoing, str, bytes]] = []
        pending: dict[int, tuple[str, bytes, str]] = {}
        try:
            for out in batch:
                try:
                    at = self._decode.decode(out.body)
                except msgspec.DecodeError:
                    answers.append(Delivery(out.seq, Outcome.REJECTED, reason=UNREADABLE))
                    continue
                rel = days.get(at.captured_at[:10])
                if rel is None:
                    c = at.captured_at
                    rel = days[c[:10]] = os.path.join(c[:4], c[5:7], c[8:10])
                reason, line, todo = self._write_record(out, at, base, rel, touched)
                if reason:
                    answers.append(Delivery(out.seq, Outcome.REJECTED, reason=reason))
                    continue
                lines.append((out, rel, line))
                if todo is not None:
                    pending[out.seq] = todo
            conflicts = publish_all(list(pending.items()), _parts_written)
            if conflicts:
                answers.extend(
                    Delivery(seq, Outcome.REJECTED, reason=CONFLICT) for seq in conflicts
                )
                lines = [entry for entry in lines if entry[0].seq not in conflicts]
            for folder in touched:
                fsync_dir(folder)
            if not lines:
                return answers
            faults.point("nas.before_manifest")
            manifest = b"".join(line for _, _, line in lines)
            first, last = lines[0][0].seq, lines[-1][0].seq
            digest = hashlib.sha256(manifest).hexdigest()
            folder = os.path.join(base, lines[0][1])
            name = f"manifest-{first:012d}-{last:012d}-{digest[:8]}.jsonl"
            try:
                publish(os.path.join(folder, name), manifest, digest)
            except Conflict:
                raise TransientError("a manifest of that name holds other content") from None
            fsync_dir(folder)
        except OSError as exc:
            if exc.errno in _FULL:
                # The share's fault, not the records': no attempt is counted against them.
                raise SinkUnavailable(f"the share is full ({exc.strerror})") from exc
            raise TransientError(f"share write failed ({exc.strerror})") from exc
        receipt = f"{self.workstation}/{lines[0][1]}/{name}"
        answers.extend(Delivery(out.seq, Outcome.DELIVERED, receipt=receipt) for out, _, _ in lines)
        answers.sort(key=lambda d: d.seq)
        return answers

    def _write_record(
        self, out: Outgoing, head: _Head, base: str, rel: str, touched: set[str]
    ) -> tuple[str, bytes, tuple[str, bytes, str] | None]:
        """Publish one record's blobs; (rejection reason or "", its manifest line, its body file
        still to publish as (target, bytes, sha256), or None when it is already there)."""
        day = os.path.join(base, rel)
        blob_entries: list[dict[str, object]] = []
        for blob in out.blobs:
            sha = blob.sha256.lower()
            name = f"blobs/{sha}.{_EXT.get(blob.media_type, 'bin')}"
            try:
                with open(blob.path, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                return BLOB_MISSING, b"", None
            folder = os.path.join(day, "blobs")
            os.makedirs(folder, exist_ok=True)
            try:
                publish(os.path.join(day, name), data, sha)
            except Conflict:
                return CONFLICT, b"", None
            touched.add(folder)
            blob_entries.append(
                {
                    "file": f"{rel}/{name}",
                    "size": len(data),
                    "sha256": sha,
                    "media_type": blob.media_type,
                }
            )
        if day not in touched:
            os.makedirs(day, exist_ok=True)
            touched.add(day)
        name = f"{out.id.lower()}.json"
        target = os.path.join(day, name)
        digest = hashlib.sha256(out.body).hexdigest()
        existing = digest_of(target)
        if existing is not None and existing != digest:
            return CONFLICT, b"", None
        todo = None if existing is not None else (target, out.body, digest)
        entry = {
            "id": out.id,
            "seq": out.seq,
            "file": f"{rel}/{name}",
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
        return "", _line.encode(entry) + b"\n", todo


def _parts_written() -> None:
    faults.point("nas.parts_written")
