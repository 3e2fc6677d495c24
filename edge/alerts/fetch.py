"""Where lists come from: the regional server (HTTP, the sink's TLS) and a technician's drop dir.

The server is asked `GET <target>/v1/alert-lists/latest?since=<version in force>` with
`If-None-Match` naming the list in force and the last server list this workstation refused:
the server answers 304 when it has nothing newer, so an older or refused list is not downloaded
and verified again at every poll (the server being behind is logged once per version). 404
(nothing published yet) changes nothing.

A drop dir is scanned for files; each is looked at once per (name, size, modification time).
Its header is read first: a file no newer than the list in force is set aside unread into
`refused/`, without a signature check. The newest file is offered first; once one is in force,
the older ones are set aside the same way, and so is a copy of the list in force (its version
is not newer). A list put in force is deleted from the drop dir, as the data dir keeps it; a
refused one is moved into `refused/`, except a truncated one, which may still be being copied
and is read again when it changes, and one the data dir could not store, left to be tried again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import ssl
from collections.abc import Callable
from pathlib import Path

import aiohttp

from edge.alerts.errors import ListRefused
from edge.alerts.keeper import InForce, ListKeeper, Offered
from edge.alerts.listfile import MAGIC, MAX_HEADER_BYTES, MAX_LIST_BYTES, peek

log = logging.getLogger("midas_edge.alerts")

LATEST_PATH = "v1/alert-lists/latest"
DROP_SOURCE = "drop"
REFUSED_DIR = "refused"
# Server lists refused here whose ETags are sent back, so the server answers 304 for them.
KEEP_REFUSED_ETAGS = 4
# Refusals that leave a dropped file where it is: it may still be being copied, or the data
# dir could not keep it and a later look may.
_LEAVE_IN_PLACE = frozenset({"truncated", "not_stored"})


class FetchError(Exception):
    """The regional server could not be asked (network, TLS, an unexpected answer)."""


class Fetcher:
    """Pulls the latest list from one regional server."""

    def __init__(
        self,
        keeper: ListKeeper,
        target: str,
        tls: Callable[[], ssl.SSLContext | None],
        timeout: float,
    ) -> None:
        self._keeper = keeper
        self.url = target.rstrip("/") + "/" + LATEST_PATH
        self.source = "server"
        self._tls = tls
        self._ssl: ssl.SSLContext | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._refused_etags: list[str] = []
        self._behind_logged: int | None = None

    def _request(self) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and query: what this workstation holds and what it refused."""
        current = self._keeper.current
        etags = ([f'"{current.listed.sha256}"'] if current is not None else []) + list(
            self._refused_etags
        )
        headers = {"If-None-Match": ", ".join(etags)} if etags else {}
        params = {"since": str(current.version)} if current is not None else {}
        return headers, params

    async def poll(self) -> Offered | None:
        """Ask once; the outcome of offering a new list, or None when there was nothing new."""
        if self._ssl is None and self.url.startswith("https:"):
            try:
                self._ssl = self._tls()
            except Exception as exc:  # the sink's TLS factory: a bad CA or certificate file
                raise FetchError(f"TLS settings unusable: {exc}") from exc
        headers, params = self._request()
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.get(
                    self.url,
                    headers=headers,
                    params=params,
                    ssl=self._ssl if self._ssl is not None else True,
                ) as resp,
            ):
                if resp.status == 404:
                    return None
                served = _served_version(resp)
                if resp.status == 304 or (resp.status == 200 and self._not_newer(served)):
                    self._note_behind(served)
                    return None
                if resp.status != 200:
                    raise FetchError(f"the server answered {resp.status}")
                if (resp.content_length or 0) > MAX_LIST_BYTES:
                    raise FetchError("the server's list is larger than a list may be")
                data = await _read_bounded(resp)
                etag = resp.headers.get("ETag")
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}") from exc
        outcome = await self._keeper.offer(data, self.source)
        if outcome is Offered.REFUSED:
            # Logged once by the keeper; sent back so the server answers 304 until it changes.
            tag = etag or f'"{hashlib.sha256(data).hexdigest()}"'
            self._refused_etags = [*self._refused_etags, tag][-KEEP_REFUSED_ETAGS:]
        return outcome

    def _not_newer(self, served: int | None) -> bool:
        """A server that ignores `since` still names its version: no download of an older one."""
        current = self._keeper.current
        return current is not None and served is not None and served <= current.version

    def _note_behind(self, served: int | None) -> None:
        current: InForce | None = self._keeper.current
        if current is None or served is None or served >= current.version:
            return
        if self._behind_logged != served:
            self._behind_logged = served
            log.info(
                "the regional server's alert list is older than the one in force",
                extra={"server_version": served, "version": current.version},
            )


def _served_version(resp: aiohttp.ClientResponse) -> int | None:
    text = resp.headers.get("X-Alert-List-Version", "")
    return int(text) if text.isdigit() and len(text) <= 18 else None


async def _read_bounded(resp: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(1 << 20):
        size += len(chunk)
        if size > MAX_LIST_BYTES:
            raise FetchError("the server's list is larger than a list may be")
        chunks.append(chunk)
    return b"".join(chunks)


class DropWatcher:
    """Offers the files a technician placed in `directory` (names starting with "." skipped)."""

    def __init__(self, keeper: ListKeeper, directory: Path) -> None:
        self._keeper = keeper
        self.directory = directory
        self.refused_dir = directory / REFUSED_DIR
        self._seen: dict[str, tuple[int, int]] = {}

    def _changed(self) -> list[Path]:
        found: list[Path] = []
        try:
            entries = sorted(self.directory.iterdir())
        except OSError:
            return found
        for path in entries:
            if path.name.startswith("."):
                continue
            try:
                stat = path.stat()
            except OSError:
                continue
            if not path.is_file():
                continue
            mark = (stat.st_size, stat.st_mtime_ns)
            if self._seen.get(path.name) != mark:
                self._seen[path.name] = mark
                found.append(path)
        return found

    async def poll(self) -> list[Offered]:
        """Offer the new or changed files, newest first; their outcomes (files set aside by
        their header alone are not offered)."""
        headed: list[tuple[int, str, Path]] = []
        for path in await asyncio.to_thread(self._changed):
            try:
                version = await asyncio.to_thread(_header_version, path)
            except OSError as exc:
                _unreadable(path, exc)
                continue
            headed.append((version, path.name, path))
        headed.sort(key=lambda f: (-f[0], f[1]))
        outcomes: list[Offered] = []
        for version, _, path in headed:
            current = self._keeper.current
            if current is not None and 0 <= version <= current.version:
                await self._set_aside(path, "not_newer", version)
                continue
            try:
                data = await asyncio.to_thread(_read_file, path)
            except OSError as exc:
                _unreadable(path, exc)
                continue
            outcome = await self._keeper.offer(data, f"{DROP_SOURCE}:{path.name}")
            outcomes.append(outcome)
            refusal = self._keeper.last_refusal
            if outcome is not Offered.REFUSED:
                await self._remove(path)
            elif refusal is not None and refusal.code not in _LEAVE_IN_PLACE:
                await self._set_aside(path, refusal.code, version if version >= 0 else None)
        return outcomes

    async def _remove(self, path: Path) -> None:
        """A list the data dir now keeps leaves the drop dir."""
        try:
            await asyncio.to_thread(path.unlink)
        except OSError as exc:
            log.warning(
                "dropped alert list not removed", extra={"file": path.name, "detail": exc.strerror}
            )
            return
        self._seen.pop(path.name, None)

    async def _set_aside(self, path: Path, reason: str, version: int | None) -> None:
        """Into `refused/`, so that it is not looked at again at every start."""
        try:
            await asyncio.to_thread(_move_into, path, self.refused_dir)
        except OSError as exc:
            log.warning(
                "dropped alert list not set aside",
                extra={"file": path.name, "detail": exc.strerror},
            )
            return
        self._seen.pop(path.name, None)
        log.info(
            "dropped alert list set aside",
            extra={"file": path.name, "reason": reason, "version": version, "into": REFUSED_DIR},
        )


def _unreadable(path: Path, exc: OSError) -> None:
    log.error("dropped alert list unreadable", extra={"file": path.name, "detail": exc.strerror})


def _header_version(path: Path) -> int:
    """The version in a file's header, read without the rest (-1: no readable header)."""
    with path.open("rb") as handle:
        prefix = handle.read(len(MAGIC) + 4)
        length = int.from_bytes(prefix[len(MAGIC) :], "big") if len(prefix) == len(MAGIC) + 4 else 0
        head = prefix + handle.read(min(length, MAX_HEADER_BYTES))
    try:
        return peek(head).version
    except ListRefused:
        return -1


def _move_into(path: Path, directory: Path) -> None:
    directory.mkdir(mode=0o700, exist_ok=True)
    os.replace(path, directory / path.name)


def _read_file(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(MAX_LIST_BYTES + 1)
