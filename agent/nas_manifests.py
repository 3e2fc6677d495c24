"""Reading one workstation's folder on a NAS share for reconciliation: its manifests, line by
line, and whether the files each line names hold what it says (agent/nas_reconcile.py judges).

A `ShareReader` does all the share I/O in one daemon thread and hands its findings over a
bounded queue: per chunk of a sound manifest's lines an `Ask` (the caller answers how deeply to
look at each line: a `Depth`), then the chunk's `Seen` lines; and per manifest whether it is
damaged (its content no longer the one its name's digest was made of, or lines nobody can read:
then none of its lines is trusted, and the files they name are not looked at). A record still
held is read in full (`Depth.FULL`: its bytes and images against their SHA-256); a purged one,
which can only be reported lost, only by its files' sizes (`Depth.PRESENCE`: nothing read but
its manifest), so a daily check reads the records of the retention window, not the whole
history. The sink's own mount point and sentinel check comes first; nothing is created and
files are opened read-only (and non-blocking, so a FIFO left on the share cannot stall it).
No progress within the sink's `timeout` is a hung mount: `findings` raises instead of waiting.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import re
import stat
import threading
import time
from collections.abc import Generator, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import IO

import msgspec

from agent.nas_sink import verify_share
from agent.sink import SinkUnavailable

CHUNK = 500  # manifest lines handed over together (the store side looks them up at once)
QUEUE_CHUNKS = 4  # chunks read ahead of the store side
POLL_S = 0.2
READ_BYTES = 1 << 20
MAX_LINE = 1 << 20  # a manifest line is a few hundred bytes; a longer one is damage
MAX_RECORD = 64 << 20  # no record is this large: a size beyond it is damage, not read
_MANIFEST = re.compile(r"manifest-\d{12}-\d{12}-([0-9a-f]{8})(?:-\d+)?\.jsonl")
# A file that is not (all) there: its record is damaged. Any other error fails the check.
_GONE = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EIO, errno.ELOOP}


class ReconcileError(Exception):
    """The share cannot be checked (not mounted, no sentinel, hung, unreadable)."""


class Depth(IntEnum):
    """How deeply a manifest line's files are looked at."""

    NONE = 0  # not a record the check judges (or not the one the store holds): not looked at
    PRESENCE = 1  # purged here: its records file long enough and its images with their sizes
    FULL = 2  # still held: its bytes and images read and hashed


@dataclass(frozen=True, slots=True)
class Seen:
    """One manifest line: its record, and whether the share holds it as the line says (as far
    as its `Depth` looked; never at `Depth.NONE` or in a damaged manifest)."""

    id: str
    intact: bool


@dataclass(slots=True)
class Ask:
    """A chunk of a sound manifest's lines as (id, seq, sha256): `answer` takes their depths."""

    lines: list[tuple[str, int, str]]
    answer: Future[list[Depth]] = field(default_factory=Future)


# lines to judge, lines judged, a manifest's end (damaged?), the end
_Item = Ask | list[Seen] | bool | BaseException | None


class _Entry(msgspec.Struct):
    id: str
    seq: int
    file: str
    offset: int
    size: int
    sha256: str
    blobs: list[_Image] = []


class _Image(msgspec.Struct):
    file: str
    size: int
    sha256: str


class _Stopped(Exception):
    """The caller gave the reader up."""


class ShareReader:
    """Reads `<root>/<workstation>` on the share in a daemon thread; `findings()` consumes it."""

    def __init__(self, root: Path, sentinel: str, require_mount: bool, workstation: str) -> None:
        self.root = root
        self.sentinel = sentinel
        self.require_mount = require_mount
        self.base = os.path.join(root, workstation)
        self.queue: queue.Queue[_Item] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self.stopped = threading.Event()
        self.progress_at = time.monotonic()
        self._decode = msgspec.json.Decoder(_Entry)
        self._path: str | None = None
        self._file: IO[bytes] | None = None
        # This manifest's files looked at so far: images by (path, hashed?), sizes by path.
        self._images: dict[tuple[str, bool], bool] = {}
        self._sizes: dict[str, int | None] = {}

    def findings(
        self, timeout: float, stop: threading.Event | None = None
    ) -> Generator[Ask | list[Seen] | bool, None, None]:
        """Start reading; yield each chunk of lines to judge (an `Ask`, to be answered before
        the next item), each chunk judged and each manifest's end (True: damaged); the reader's
        error is raised here, `timeout` seconds without progress too, and `stop` once set (the
        caller gave up: a stopping daemon)."""
        threading.Thread(target=self._run, name="nas-reconcile", daemon=True).start()
        try:
            while True:
                if stop is not None and stop.is_set():
                    raise ReconcileError("the check was stopped")
                try:
                    item = self.queue.get(timeout=POLL_S)
                except queue.Empty:
                    if time.monotonic() - self.progress_at > timeout:
                        raise ReconcileError(
                            f"the share did not answer within {timeout:g} s (hung mount?)"
                        ) from None
                    continue
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
                self.progress_at = time.monotonic()  # the caller's own work is not the share's
        finally:
            self.stopped.set()

    # -- the reading thread ----------------------------------------------------------------

    def _run(self) -> None:
        item: _Item = None
        try:
            verify_share(self.root, self.sentinel, self.require_mount)
            self._tick()
            for path in self._manifests():
                self._manifest(path)
        except _Stopped:
            return
        except SinkUnavailable as exc:
            item = ReconcileError(str(exc))
        except OSError as exc:
            item = ReconcileError(f"the share cannot be read ({exc.strerror or exc})")
        except BaseException as exc:  # a bug: raised in the caller's thread
            item = exc
        finally:
            self._close()
        try:
            self._put(item)
        except _Stopped:
            return

    def _tick(self) -> None:
        self.progress_at = time.monotonic()
        if self.stopped.is_set():
            raise _Stopped

    def _put(self, item: _Item) -> None:
        while True:
            try:
                self.queue.put(item, timeout=POLL_S)
                return
            except queue.Full:
                if self.stopped.is_set():
                    raise _Stopped from None

    def _manifests(self) -> Iterator[str]:
        def fail(exc: OSError) -> None:
            if not isinstance(exc, FileNotFoundError):  # a folder gone meanwhile holds nothing
                raise exc

        for folder, dirs, files in os.walk(self.base, onerror=fail):
            self._tick()
            dirs[:] = sorted(d for d in dirs if d != "blobs")
            for name in sorted(files):
                if name.startswith("manifest-") and ".part-" not in name:
                    yield os.path.join(folder, name)

    def _manifest(self, path: str) -> None:
        named = _MANIFEST.fullmatch(os.path.basename(path))
        f = _open_regular(path)
        if f is None:
            return  # removed since the folder was listed (or not a file): not there
        digest = hashlib.sha256()
        chunk: list[_Entry] = []
        try:
            with f:
                while data := f.read(READ_BYTES):
                    digest.update(data)
                    self._tick()
                sound = named is not None and digest.hexdigest()[:8] == named.group(1)
                unreadable = False
                f.seek(0)
                for line in _lines(f):
                    try:
                        entry = self._decode.decode(line)
                    except msgspec.DecodeError:  # also a line of the wrong shape
                        unreadable = True
                        continue
                    chunk.append(entry)
                    if len(chunk) >= CHUNK:
                        self._judge(chunk, sound)
                        chunk = []
                if chunk:
                    self._judge(chunk, sound)
        finally:
            self._close()
            self._images.clear()
            self._sizes.clear()
        self._put(unreadable or not sound)

    def _judge(self, chunk: list[_Entry], sound: bool) -> None:
        """Ask the caller how deeply to look at each line of a sound manifest, look, hand over."""
        depths = [Depth.NONE] * len(chunk)
        if sound:  # a damaged manifest's lines are not trusted: their files are not looked at
            ask = Ask([(e.id, e.seq, e.sha256) for e in chunk])
            self._put(ask)
            depths = self._answer(ask)
        self._put(
            [
                Seen(e.id, depth is not Depth.NONE and self._ok(e, depth))
                for e, depth in zip(chunk, depths, strict=True)
            ]
        )

    def _answer(self, ask: Ask) -> list[Depth]:
        while True:
            try:
                depths = ask.answer.result(timeout=POLL_S)
            except TimeoutError:
                if self.stopped.is_set():
                    raise _Stopped from None
                continue
            self._tick()
            return depths

    def _ok(self, entry: _Entry, depth: Depth) -> bool:
        """The record's bytes and images are on the share as its manifest line says (for
        `Depth.PRESENCE`, as far as their sizes tell)."""
        self._tick()
        if entry.offset < 0 or not 0 <= entry.size <= MAX_RECORD:
            return False
        path = self._resolve(entry.file)
        if depth is Depth.FULL:
            data = self._read(path, entry.offset, entry.size)
            if data is None or hashlib.sha256(data).hexdigest() != entry.sha256.lower():
                return False
        else:
            held = None if path is None else self._size(path)
            if held is None or held < entry.offset + entry.size:
                return False
        full = depth is Depth.FULL
        return all(self._image_ok(image, full) for image in entry.blobs)

    def _image_ok(self, image: _Image, full: bool) -> bool:
        """The image is under its SHA-256 name with its size (and, `full`, that SHA-256)."""
        path = self._resolve(image.file)
        sha = image.sha256.lower()
        if path is None or not _named_for(os.path.basename(path), sha):
            return False
        ok = self._images.get((path, full))
        if ok is None:
            ok = self._images[(path, full)] = self._there(path, image.size, sha if full else None)
        return ok

    def _there(self, path: str, size: int, sha256: str | None) -> bool:
        """The file has `size` bytes (and, given `sha256`, that digest: it is read)."""
        if sha256 is None:
            return self._size(path) == size
        return self._digest(path, size) == sha256

    def _size(self, path: str) -> int | None:
        """A regular file's size, without reading it; None when it is not there or not one."""
        if path not in self._sizes:
            try:
                st = os.stat(path)
            except OSError as exc:
                if exc.errno not in _GONE:
                    raise
                self._sizes[path] = None
            else:
                self._sizes[path] = st.st_size if stat.S_ISREG(st.st_mode) else None
        return self._sizes[path]

    def _digest(self, path: str, size: int) -> str | None:
        f = _open_regular(path)
        if f is None:
            return None
        with f:
            if os.fstat(f.fileno()).st_size != size:
                return None
            digest = hashlib.sha256()
            while data := f.read(READ_BYTES):
                digest.update(data)
                self._tick()
            return digest.hexdigest()

    def _resolve(self, rel: str) -> str | None:
        """A manifest's path, relative to the workstation folder and never leaving it."""
        parts = rel.split("/")
        if any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
            return None
        return os.path.join(self.base, *parts)

    def _read(self, path: str | None, offset: int, size: int) -> bytes | None:
        """`size` bytes at `offset` (fewer at the end), None when the file is not there."""
        if path is None:
            return None
        if path != self._path:  # a manifest's lines name the same records file in a row
            self._close()
            self._path = path
            self._file = _open_regular(path)
        if self._file is None:
            return None
        try:
            self._file.seek(offset)
            return self._file.read(size)
        except OSError as exc:
            if exc.errno in _GONE:
                return None
            raise

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self._path = None


def _open_regular(path: str) -> IO[bytes] | None:
    """`path` opened read-only if it is a regular file; None if it is not there or not one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in _GONE:
            return None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _named_for(name: str, sha256: str) -> bool:
    """Whether an image's file name is its SHA-256 (`<sha256>.<ext>` or `<sha256>-<n>.<ext>`)."""
    return len(sha256) == 64 and name.startswith(sha256) and name[64:65] in (".", "-")


def _lines(f: IO[bytes]) -> Iterator[bytes]:
    """A file's lines, each at most MAX_LINE bytes (a longer one is given as b"": unreadable)."""
    while line := f.readline(MAX_LINE):
        if len(line) == MAX_LINE and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = f.readline(MAX_LINE)
            line = b""
        yield line
