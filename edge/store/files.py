"""Small files kept beside the store (keys, token, lists): written whole or not at all."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def write_private(path: Path, data: bytes, *, owner: tuple[int, int] | None = None) -> None:
    """Replace `path` with `data`, readable by its owner only (0600) from the first byte.

    A new temporary file (never an existing one or a link) is written in full, fsynced, given
    `owner` (uid, gid) when asked, renamed over `path`, and the directory fsynced: a crash
    leaves the old file or the new one, never half of either. OSError on failure, with the
    temporary file removed.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if owner is not None:
                os.fchown(fd, *owner)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
