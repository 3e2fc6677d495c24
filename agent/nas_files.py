"""Blocking file publication on a share: parts written, fsynced in parallel, renamed without
ever replacing an existing file (an existing one is compared by SHA-256 instead).

Every name on the share carries its content's digest, so a file holding other content under a
name is damaged (truncated, overwritten, restored from elsewhere): it is never trusted and never
replaced; the content goes under the next of its fresh names, `<stem>-<n><ext>`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence

FSYNC_THREADS = 32
FSYNC_CHUNK = 256  # files open at once while their fsyncs run
MAX_NAMES = 16  # a name and its fresh variants, tried before the content is given up


class Conflict(Exception):  # a verdict on a file, caught by the NAS sink
    """The target exists with other content."""


def digest_of(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with open(fd, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _part_of(target: str) -> str:
    return f"{target}.part-{secrets.token_hex(6)}"


def _write_part(tmp: str, data: bytes) -> int:
    """Create `tmp` with `data` (removed on failure); its open descriptor, to fsync and close."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        _discard(tmp)
        raise
    return fd


def _discard(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


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


def _rename_new(tmp: str, target: str, sha256: str) -> None:
    """Rename a durable part to `target` (dropped when `target` holds it already); `Conflict`."""
    # Not atomic against another writer of the same name, which only a concurrent resend of
    # the same record can be: both hold the same bytes (RENAME_NOREPLACE is no better on CIFS).
    existing = digest_of(target)
    if existing is None:
        os.rename(tmp, target)
        return
    _discard(tmp)
    if existing != sha256:
        raise Conflict


def names_of(target: str) -> Iterator[str]:
    """`target`, then its fresh variants `<stem>-1<ext>`, `<stem>-2<ext>`, ..."""
    yield target
    stem, ext = os.path.splitext(target)
    for n in range(1, MAX_NAMES):
        yield f"{stem}-{n}{ext}"


def place(target: str, sha256: str) -> tuple[str, bool]:
    """Where content of digest `sha256` goes: the first of `target`'s names that holds it already
    (True) or is free (False), passing over damaged files; `Conflict` when every name is taken."""
    for name in names_of(target):
        existing = digest_of(name)
        if existing == sha256:
            return name, True
        if existing is None:
            return name, False
    raise Conflict


def publish(target: str, data: bytes, sha256: str) -> str:
    """Write `data` atomically under the first of `target`'s names that is free, unless one holds
    it already; the name used. `Conflict` when every name holds other content."""
    name, there = place(target, sha256)
    if not there and publish_all([(0, (name, data, sha256))]):
        raise Conflict
    return name


def publish_all(
    files: Sequence[tuple[int, tuple[str, bytes, str]]],
    before_rename: Callable[[], None] | None = None,
) -> set[int]:
    """Publish many new files: written, fsynced (in parallel, `FSYNC_CHUNK` open at a time),
    `before_rename()` called, then renamed in order. Returns the keys whose target holds other
    content (conflicts)."""
    parts: list[str] = []
    try:
        for start in range(0, len(files), FSYNC_CHUNK):
            fds: list[int] = []
            try:
                for _, (target, data, _) in files[start : start + FSYNC_CHUNK]:
                    part = _part_of(target)
                    fds.append(_write_part(part, data))
                    parts.append(part)
                _fsync_all(fds)
            finally:
                for fd in fds:
                    os.close(fd)
    except BaseException:
        for part in parts:
            _discard(part)
        raise
    if before_rename is not None:
        before_rename()
    conflicts: set[int] = set()
    for (key, (target, _, sha256)), part in zip(files, parts, strict=True):
        try:
            _rename_new(part, target, sha256)
        except Conflict:
            conflicts.add(key)
    return conflicts


def fsync_dir(path: str) -> None:
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
