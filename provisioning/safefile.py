"""Files that root writes and changes where the service account could have put a link.

The data dir belongs to the `midas-edge` account: whoever runs as it can leave a symbolic
link (or a prepared temporary file) where provisioning, running as root, writes next, and
make root overwrite, chmod or chown any file on the system. So, everywhere provisioning
touches files:

- a file is written into a new temporary name (random, `O_CREAT | O_EXCL | O_NOFOLLOW`,
  relative to a descriptor of its directory), given its mode and owner on that descriptor,
  synced and renamed over the target: a rename replaces a link, never what it points to;
- an existing file is read, and its mode and owner changed, only through a descriptor opened
  with `O_NOFOLLOW`: a link there is refused (`LinkRefused`);
- a tree is given to an owner with `os.fwalk`, which never leaves the tree through a link,
  and `chown` relative to each directory's descriptor without following links.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from provisioning.errors import ProvisioningError

_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO left in place of a file must not hang provisioning; O_NOCTTY: nor may a
# terminal become its controlling one.
_INSPECT = os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
_TEMP_TRIES = 5


class LinkRefused(ProvisioningError):
    """A path provisioning would change is a symbolic link (or not a plain file or directory)."""


@contextlib.contextmanager
def opened(path: Path) -> Iterator[int]:
    """A read-only descriptor of `path` itself; LinkRefused when it is a symbolic link."""
    try:
        fd = os.open(path, _INSPECT)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LinkRefused(
                f"{path} is a symbolic link: not following it; move it aside"
            ) from None
        raise
    try:
        st = os.fstat(fd)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            raise LinkRefused(f"{path} is not a plain file or directory; move it aside")
        yield fd
    finally:
        os.close(fd)


def read_file(path: Path) -> bytes | None:
    """The content of a plain file, None when there is none; LinkRefused for a link."""
    try:
        with opened(path) as fd:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                raise LinkRefused(f"{path} is a directory, expected a file")
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
    except FileNotFoundError:
        return None


def set_meta(path: Path, mode: int | None, ids: tuple[int, int] | None) -> None:
    """Set mode and owner of `path` itself (never through a link)."""
    with opened(path) as fd:
        st = os.fstat(fd)
        if ids is not None and (st.st_uid, st.st_gid) != ids:
            os.fchown(fd, *ids)
        if mode is not None and stat.S_IMODE(st.st_mode) != mode:
            os.fchmod(fd, mode)


def write_file(path: Path, data: bytes, mode: int, ids: tuple[int, int] | None = None) -> None:
    """Make `path` a new file holding `data` with `mode` (and owner `ids`), atomically."""
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
    try:
        tmp, fd = _temporary(dir_fd, path.name)
        try:
            try:
                if ids is not None:
                    os.fchown(fd, *ids)
                os.fchmod(fd, mode)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _temporary(dir_fd: int, name: str) -> tuple[str, int]:
    """A new file of a name nobody could have prepared, readable by root only for now."""
    for _ in range(_TEMP_TRIES):
        tmp = f".{name}.{secrets.token_hex(8)}.tmp"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
            return tmp, os.open(tmp, flags, 0o600, dir_fd=dir_fd)
        except FileExistsError:
            continue
    raise ProvisioningError(f"no temporary file could be made for {name}")


def chown_tree(path: Path, ids: tuple[int, int]) -> None:
    """Give everything under the directory `path` to `ids`, never through a link."""
    for _, dirs, files, dir_fd in os.fwalk(path, follow_symlinks=False):
        for name in (*dirs, *files):
            with contextlib.suppress(FileNotFoundError):  # removed meanwhile
                os.chown(name, *ids, dir_fd=dir_fd, follow_symlinks=False)
