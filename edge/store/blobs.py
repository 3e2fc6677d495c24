"""Content-addressed blob files: temp file, fsync, rename, fsync the directory."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

_TMP_PREFIX = ".tmp-"


class BlobFiles:
    """Blob files under `root`, named by SHA-256 and fanned out by the first two hex digits.

    Every method is blocking: callers run them in a worker thread.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def write(self, data: bytes) -> str:
        """Store `data` durably and return its SHA-256; an existing identical blob is kept."""
        sha = hashlib.sha256(data).hexdigest()
        final = self.path(sha)
        if final.exists() and final.stat().st_size == len(data):
            return sha
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
        return sha

    def sweep(self, referenced: set[str], older_than_s: float = 60.0) -> int:
        """Delete temp files and unreferenced blobs older than `older_than_s`; return the count.

        A blob is written before the row that references it commits, so a young unreferenced
        blob may belong to a commit in flight: only old ones are removed.
        """
        if not self.root.is_dir():
            return 0
        limit = time.time() - older_than_s
        removed = 0
        for sub in self.root.iterdir():
            if not sub.is_dir():
                continue
            for entry in sub.iterdir():
                stale = entry.name.startswith(_TMP_PREFIX) or entry.name not in referenced
                if stale and entry.stat().st_mtime < limit:
                    entry.unlink(missing_ok=True)
                    removed += 1
        return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
