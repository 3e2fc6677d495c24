"""The list in force: the last good list, kept in the data dir; bad or older lists are refused.

A list offered from the regional server, a technician's drop or the data dir at start is
compared by its header with the one in force (an older version, or the same version with other
content, is refused before anything else), verified against the region key in a worker thread
(a million entries take a moment), written atomically as `<data_dir>/alert-list.bin` (0600)
and only then put in force.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.alerts.errors import ListRefused
from edge.alerts.index import AlertIndex
from edge.alerts.listfile import ListFile, peek, utc_iso, verify
from edge.alerts.normalize import Keyer
from edge.store.files import write_private

log = logging.getLogger("midas_edge.alerts")

LIST_FILE = "alert-list.bin"


@dataclass(frozen=True, slots=True)
class InForce:
    """A verified list with its index, where it came from and when it was put in force."""

    listed: ListFile
    index: AlertIndex
    keyer: Keyer
    source: str
    loaded_at: float

    @property
    def version(self) -> int:
        return self.listed.header.version

    def stale(self, now: float) -> bool:
        return now >= self.listed.expires.timestamp()

    def status(self, now: float) -> dict[str, object]:
        header = self.listed.header
        return {
            "version": header.version,
            "issued_at": header.issued_at,
            "expires_at": header.expires_at,
            "stale": self.stale(now),
            "entries": header.entries,
            "age_s": round(now - self.listed.issued.timestamp(), 1),
            "expires_in_s": round(self.listed.expires.timestamp() - now, 1),
            "region": header.region,
            "key_id": header.key_id,
            "sha256": self.listed.sha256,
            "source": self.source,
            "loaded_at": utc_iso(datetime.fromtimestamp(self.loaded_at, UTC)),
        }


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a list was refused (no personal data: codes, versions, sources)."""

    source: str
    code: str
    message: str
    version: int | None
    at: str


class Offered(StrEnum):
    ACCEPTED = "accepted"
    SAME = "same"  # the list in force again: nothing to do
    REFUSED = "refused"


def _load(
    data: bytes, public_key: Ed25519PublicKey, current: tuple[int, str] | None
) -> tuple[ListFile, AlertIndex] | None:
    """The verified list and its index, or None for the list in force again (`current`: its
    version and SHA-256). The version is compared from the header first, so an older list
    costs no signature check and no index."""
    if current is not None:
        version, sha256 = current
        offered = peek(data).version
        if offered < version:
            raise ListRefused(
                "older_version", f"version {offered} is older than {version} in force"
            )
        if offered == version:
            if hashlib.sha256(data).hexdigest() == sha256:
                return None
            raise ListRefused(
                "version_conflict", f"version {offered} is in force with other content"
            )
    listed = verify(data, public_key)
    try:
        return listed, AlertIndex(listed)
    except ValueError as exc:  # numpy on a body the checks above let through
        raise ListRefused("malformed", "the body is inconsistent") from exc


class ListKeeper:
    """Holds the list in force; `offer()` is serialised, listeners run on the event loop."""

    def __init__(self, data_dir: Path, public_key: Ed25519PublicKey) -> None:
        self.path = data_dir / LIST_FILE
        self._public_key = public_key
        self._lock = asyncio.Lock()
        self.current: InForce | None = None
        self.last_refusal: Refusal | None = None
        self._changed: list[Callable[[InForce, InForce | None], None]] = []
        self._refused: list[Callable[[Refusal], None]] = []

    def on_change(self, listener: Callable[[InForce, InForce | None], None]) -> None:
        """`listener(new, previous)` after a list was put in force."""
        self._changed.append(listener)

    def on_refused(self, listener: Callable[[Refusal], None]) -> None:
        self._refused.append(listener)

    async def load_stored(self) -> None:
        """Put the list kept in the data dir in force, if there is one and it still verifies."""
        try:
            data = await asyncio.to_thread(self.path.read_bytes)
        except FileNotFoundError:
            return
        except OSError as exc:
            self._refuse("data_dir", ListRefused("malformed", f"unreadable ({exc.strerror})"), b"")
            return
        await self.offer(data, "data_dir", persist=False)

    async def offer(self, data: bytes, source: str, *, persist: bool = True) -> Offered:
        """Verify `data` and put it in force if it is newer; a refusal is logged and published."""
        async with self._lock:
            current = self.current
            try:
                held = (current.version, current.listed.sha256) if current is not None else None
                loaded = await asyncio.to_thread(_load, data, self._public_key, held)
                if loaded is None:
                    return Offered.SAME
                listed, index = loaded
                if persist:
                    await asyncio.to_thread(write_private, self.path, data)
            except ListRefused as exc:
                self._refuse(source, exc, data)
                return Offered.REFUSED
            except OSError as exc:
                # The list is good but cannot be kept: keep the previous one rather than hold a
                # list in force that a restart would lose.
                why = ListRefused("not_stored", f"the data dir cannot keep it ({exc.strerror})")
                self._refuse(source, why, data)
                return Offered.REFUSED
            new = InForce(listed, index, Keyer(listed.hmac_key), source, time.time())
            # Listeners run in the same step as the swap (no await between): a listener that
            # notes the store's position knows exactly which records were committed before.
            self.current = new
            for listener in self._changed:
                listener(new, current)
        log.info(
            "alert list in force",
            extra={
                "version": listed.header.version,
                "entries": listed.header.entries,
                "source": source,
                "previous": current.version if current else None,
            },
        )
        return Offered.ACCEPTED

    def _refuse(self, source: str, exc: ListRefused, data: bytes) -> None:
        try:
            version: int | None = peek(data).version
        except ListRefused:
            version = None
        refusal = Refusal(source, exc.code, exc.message, version, utc_iso(datetime.now(UTC)))
        self.last_refusal = refusal
        log.error(
            "alert list refused",
            extra={"source": source, "reason": exc.code, "detail": exc.message, "version": version},
        )
        for listener in self._refused:
            listener(refusal)
