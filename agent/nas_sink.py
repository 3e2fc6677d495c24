"""The NAS sink: sealed records in files on a mounted share, a manifest per batch last.

Layout under the share root (directories created only below a verified root, never the root):

    <workstation>/<yyyy>/<mm>/<dd>/records-<first>-<last>-<sha8>.jsonl   the records' bytes
    <workstation>/<yyyy>/<mm>/<dd>/blobs/<sha256>.<ext>                  their images, by content
    <workstation>/<yyyy>/<mm>/<dd>/manifest-<first>-<last>-<sha8>.jsonl  the commit marker

The day is the record's capture day (UTC). A batch writes one records file per capture day it
covers (usually one): each record's exact JSON bytes followed by a newline, in seq order, named
after the first and last seq in it and its content's SHA-256. A file per record cost a drain
one fsync per record; a file per batch costs one, and what a resend of the same batch writes
has the same names. The manifest (JSON lines; paths relative to the workstation directory) lists
per record its id, seq, records file, offset and size there, SHA-256, schema version, the chain
fields (prev, hash, sig hex, key_id) and its images. It is the commit marker: published last,
named after its content, so a re-sent identical batch finds it already there; a records file no
manifest names is what a batch interrupted before its manifest left behind, and the records in
it were sent again. Every file is written as `<name>.part-<random>` in its own directory,
fsynced, closed, renamed to its lower-case name (never over an existing file: an existing one
is compared by SHA-256 instead), then the directories are fsynced (best effort). Every name
carries its content's digest, so a file with other content under it is damaged (a technician,
a truncation, an old backup): it is left alone and never trusted, and the content goes under
the next free name `<name>-<n>.<ext>` (the manifest names the file used); when all 16 names are
taken, an image rejects its record as "conflict" and a records file or manifest fails the batch.
`midas-edge outbox reconcile` (agent/nas_reconcile.py) finds what vanished or was damaged.

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
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import msgspec

from agent import faults
from agent.nas_files import Conflict, fsync_dir, place, publish, publish_all
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


def mount_required() -> bool:
    """Whether a NAS root must be a mount point (always, but in tests that say otherwise)."""
    return os.environ.get(UNMOUNTED_ENV) != "1"


def verify_share(root: Path, sentinel: str, require_mount: bool) -> None:
    """`SinkUnavailable` unless `root` is a mounted directory holding `sentinel` (stat only)."""
    try:
        st = os.stat(root)
        if not stat.S_ISDIR(st.st_mode):
            raise SinkUnavailable("the share root is not a directory")
        if require_mount and (
            not os.path.ismount(root) or st.st_dev == os.stat(root.parent).st_dev
        ):
            raise SinkUnavailable("the share is not mounted (bare mount point)")
        if not (root / sentinel).is_file():
            raise SinkUnavailable("the share's sentinel file is missing")
    except FileNotFoundError:
        raise SinkUnavailable("the share root does not exist") from None
    except OSError as exc:
        raise SinkUnavailable(f"the share cannot be checked ({exc.strerror})") from exc


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
            require_mount = mount_required()
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
            async with asyncio.timeout(self.timeout):
                return await future
        except TimeoutError:
            raise SinkUnavailable(
                f"the share did not answer within {self.timeout:g} s (hung mount?)"
            ) from None

    # -- blocking part (worker thread) -------------------------------------------------------

    def _verify(self) -> None:
        verify_share(self.root, self.sentinel, self.require_mount)

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
        kept: list[_Kept] = []
        groups: dict[str, list[bytes]] = {}  # day folder -> the bodies of its records file
        sizes: dict[str, int] = {}
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
                reason, blobs = self._write_blobs(out, base, rel, touched)
                if reason:
                    answers.append(Delivery(out.seq, Outcome.REJECTED, reason=reason))
                    continue
                offset = sizes.get(rel, 0)
                groups.setdefault(rel, []).extend((out.body, b"\n"))
                sizes[rel] = offset + len(out.body) + 1
                kept.append(_Kept(out, at.schema_version, rel, offset, blobs))
            if not kept:
                return answers
            names = self._write_records_files(base, groups, kept, touched)
            for folder in touched:
                fsync_dir(folder)
            faults.point("nas.before_manifest")
            manifest = b"".join(self._line(k, names[k.rel]) for k in kept)
            first, last = kept[0].out.seq, kept[-1].out.seq
            digest = hashlib.sha256(manifest).hexdigest()
            folder = os.path.join(base, kept[0].rel)
            name = f"manifest-{first:012d}-{last:012d}-{digest[:8]}.jsonl"
            try:
                used = publish(os.path.join(folder, name), manifest, digest)
            except Conflict:
                raise TransientError("every name of the manifest holds other content") from None
            fsync_dir(folder)
            name = self._passed_over(name, used)
        except OSError as exc:
            if exc.errno in _FULL:
                # The share's fault, not the records': no attempt is counted against them.
                raise SinkUnavailable(f"the share is full ({exc.strerror})") from exc
            raise TransientError(f"share write failed ({exc.strerror})") from exc
        receipt = f"{self.workstation}/{kept[0].rel}/{name}"
        answers.extend(Delivery(k.out.seq, Outcome.DELIVERED, receipt=receipt) for k in kept)
        answers.sort(key=lambda d: d.seq)
        return answers

    def _write_records_files(
        self, base: str, groups: dict[str, list[bytes]], kept: list[_Kept], touched: set[str]
    ) -> dict[str, str]:
        """Publish one records file per capture day of the batch (all fsynced before the first
        rename); each day folder's file name, relative to `base`."""
        names: dict[str, str] = {}
        todo: list[tuple[int, tuple[str, bytes, str]]] = []
        for rel, pieces in groups.items():
            seqs = [k.out.seq for k in kept if k.rel == rel]
            data = b"".join(pieces)
            digest = hashlib.sha256(data).hexdigest()
            name = f"records-{seqs[0]:012d}-{seqs[-1]:012d}-{digest[:8]}.jsonl"
            folder = os.path.join(base, rel)
            if folder not in touched:
                os.makedirs(folder, exist_ok=True)
                touched.add(folder)
            try:
                target, there = place(os.path.join(folder, name), digest)
            except Conflict:
                raise TransientError("every name of a records file holds other content") from None
            if not there:
                todo.append((len(todo), (target, data, digest)))
            names[rel] = f"{rel}/{self._passed_over(name, target)}"
        if publish_all(todo, _parts_written):
            raise TransientError("a records file of that name holds other content")
        return names

    def _passed_over(self, name: str, used: str) -> str:
        """The file name `used` for `name`; a damaged file passed over on the way is logged."""
        used = os.path.basename(used)
        if used != name:
            log.warning(
                "a damaged file on the share was passed over",
                extra={"sink": self.name, "file": name, "written": used},
            )
        return used

    def _write_blobs(
        self, out: Outgoing, base: str, rel: str, touched: set[str]
    ) -> tuple[str, list[dict[str, object]]]:
        """Publish one record's images; (rejection reason or "", their manifest entries)."""
        day = os.path.join(base, rel)
        entries: list[dict[str, object]] = []
        for blob in out.blobs:
            sha = blob.sha256.lower()
            name = f"{sha}.{_EXT.get(blob.media_type, 'bin')}"
            try:
                with open(blob.path, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                return BLOB_MISSING, []
            folder = os.path.join(day, "blobs")
            os.makedirs(folder, exist_ok=True)
            try:
                used = publish(os.path.join(folder, name), data, sha)
            except Conflict:
                return CONFLICT, []
            touched.add(folder)
            entries.append(
                {
                    "file": f"{rel}/blobs/{self._passed_over(name, used)}",
                    "size": len(data),
                    "sha256": sha,
                    "media_type": blob.media_type,
                }
            )
        return "", entries

    def _line(self, kept: _Kept, records_file: str) -> bytes:
        """The manifest line of one delivered record (its bytes are in `records_file`)."""
        out = kept.out
        entry = {
            "id": out.id,
            "seq": out.seq,
            "file": records_file,
            "offset": kept.offset,
            "size": len(out.body),
            "sha256": hashlib.sha256(out.body).hexdigest(),
            "schema_version": kept.schema_version,
            "workstation": self.workstation,
            "key_id": out.key_id or self.key_id,
            "prev": out.prev.hex(),
            "hash": out.hash.hex(),
            "sig": out.sig.hex(),
            "blobs": kept.blobs,
        }
        return _line.encode(entry) + b"\n"


@dataclass(frozen=True, slots=True)
class _Kept:
    """A record of the batch going into a records file: where, and its manifest details."""

    out: Outgoing
    schema_version: int
    rel: str  # its capture day's folder, relative to the workstation folder
    offset: int  # where its bytes start in that day's records file
    blobs: list[dict[str, object]]


def _parts_written() -> None:
    faults.point("nas.parts_written")
