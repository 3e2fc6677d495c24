"""Content-addressed blob files: temp file, fsync, rename, fsync the directory; pins against
removal while a capture that uses a blob is not yet committed."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("midas_edge.store")

_TMP_PREFIX = ".tmp-"


class BlobFiles:
    """Blob files under `root`, named by SHA-256 and fanned out by the first two hex digits.

    `write` pins its blob before it looks at the file; the pin holds until `release` (the writer
    settled the record that references it). `remove` never deletes a pinned blob. Pins and
    removals share one lock, held for a counter update or a single unlink, never across an
    fsync. Every method except `release` is blocking: callers run them in a worker thread.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._pins: dict[str, int] = {}

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def write(self, data: bytes) -> str:
        """Store `data` durably, pinned; return its SHA-256. An existing identical blob is kept."""
        sha = hashlib.sha256(data).hexdigest()
        # Pinned before the file is looked at: a removal either ran before (the file is written
        # again below) or sees the pin and keeps the file.
        with self._lock:
            self._pins[sha] = self._pins.get(sha, 0) + 1
        try:
            self._store(sha, data)
        except BaseException:
            self.release((sha,))
            raise
        return sha

    def _store(self, sha: str, data: bytes) -> None:
        final = self.path(sha)
        if final.exists() and final.stat().st_size == len(data):
            return
        final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = final.parent / f"{_TMP_PREFIX}{sha[:16]}-{os.getpid()}-{time.monotonic_ns()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, final)
        _fsync_dir(final.parent)

    def release(self, shas: Iterable[str]) -> None:
        """Drop one pin per digest (one per `write`); never blocks on I/O."""
        with self._lock:
            for sha in shas:
                left = self._pins.get(sha, 0) - 1
                if left > 0:
                    self._pins[sha] = left
                else:
                    self._pins.pop(sha, None)

    def remove(self, shas: Iterable[str]) -> tuple[int, int]:
        """Delete the files of `shas` that no capture pinned; returns (deleted, failed).

        The caller guarantees that no row references them and that none can commit meanwhile
        (the store's writer, between transactions). A file that cannot be deleted is counted
        and left for the next start's sweep.
        """
        deleted = failed = 0
        for sha in shas:
            error: OSError | None = None
            with self._lock:
                if sha in self._pins:
                    continue
                try:
                    self.path(sha).unlink()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    error = exc
            if error is None:
                deleted += 1
            else:
                failed += 1
                log.error("blob file not removed", extra={"error": error.strerror})
        return deleted, failed

    def orphans(self, referenced: set[str], temp_older_than_s: float = 60.0) -> list[str]:
        """Delete temp files older than `temp_older_than_s` and return the blobs not in
        `referenced`, for `remove` to delete in the writer's turn.

        A young temp file may belong to a write in flight; a blob's age says nothing (a capture
        of identical bytes reuses an old file), pins and the writer's re-check protect it.
        """
        if not self.root.is_dir():
            return []
        limit = time.time() - temp_older_than_s
        found: list[str] = []
        for sub in self.root.iterdir():
            if not sub.is_dir():
                continue
            for entry in sub.iterdir():
                if entry.name.startswith(_TMP_PREFIX):
                    if entry.stat().st_mtime < limit:
                        entry.unlink(missing_ok=True)
                elif entry.name not in referenced:
                    found.append(entry.name)
        return found


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
