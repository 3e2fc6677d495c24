"""Where lists come from: the regional server (HTTP, the sink's TLS) and a technician's drop dir.

The server is asked `GET <target>/v1/alert-lists/latest` with `If-None-Match` set to the list
in force; 304 and 404 (nothing published yet) change nothing. A drop dir is scanned for files;
each file is offered once per (name, size, modification time), so a refused file is reported
once and a corrected copy under the same name is read again.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from pathlib import Path

import aiohttp

from edge.alerts.errors import ListRefused
from edge.alerts.keeper import ListKeeper, Offered
from edge.alerts.listfile import MAX_LIST_BYTES, peek

log = logging.getLogger("midas_edge.alerts")

LATEST_PATH = "v1/alert-lists/latest"
DROP_SOURCE = "drop"


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

    async def poll(self) -> Offered | None:
        """Ask once; the outcome of offering a new list, or None when there was nothing new."""
        if self._ssl is None and self.url.startswith("https:"):
            try:
                self._ssl = self._tls()
            except Exception as exc:  # the sink's TLS factory: a bad CA or certificate file
                raise FetchError(f"TLS settings unusable: {exc}") from exc
        headers = {}
        current = self._keeper.current
        if current is not None:
            headers["If-None-Match"] = f'"{current.listed.sha256}"'
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.get(
                    self.url, headers=headers, ssl=self._ssl if self._ssl is not None else True
                ) as resp,
            ):
                if resp.status in (304, 404):
                    return None
                if resp.status != 200:
                    raise FetchError(f"the server answered {resp.status}")
                if (resp.content_length or 0) > MAX_LIST_BYTES:
                    raise FetchError("the server's list is larger than a list may be")
                data = await _read_bounded(resp)
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}") from exc
        return await self._keeper.offer(data, self.source)


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
        """Offer every new or changed file once, in version order; their outcomes."""
        files: list[tuple[int, str, bytes]] = []
        for path in await asyncio.to_thread(self._changed):
            try:
                data = await asyncio.to_thread(_read_file, path)
            except OSError as exc:
                log.error(
                    "dropped alert list unreadable",
                    extra={"file": path.name, "detail": exc.strerror},
                )
                continue
            files.append((_version_of(data), path.name, data))
        # Oldest first: several lists dropped together are each put in force in turn.
        files.sort(key=lambda f: (f[0], f[1]))
        return [await self._keeper.offer(data, f"{DROP_SOURCE}:{name}") for _, name, data in files]


def _version_of(data: bytes) -> int:
    try:
        return peek(data).version
    except ListRefused:
        return -1


def _read_file(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(MAX_LIST_BYTES + 1)
