"""The sealing task: every committed record is sealed into the signed chain, in order.

Sealing runs beside the capture path, never in it: a record is acknowledged at its commit, and
sealed a moment later (before any sink may send it). Signatures are computed in a worker thread
in small batches, so the event loop never waits on them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from agent.chain import Seal, Sealer
from edge.records import Record
from edge.store import Store
from edge.wire import GENESIS

log = logging.getLogger("midas_edge.sealing")

# Records sealed per worker-thread call and per transaction.
SEAL_BATCH = 64
INSERT_SEALS = "INSERT INTO seals (seq, prev, hash, sig, key_id) VALUES (?, ?, ?, ?, ?)"


class SealingTask:
    """Seals records as they commit; `run()` is one long-lived task."""

    def __init__(self, store: Store, sealer: Sealer) -> None:
        self._store = store
        self._sealer = sealer
        self._wake = asyncio.Event()
        self.last_sealed = 0
        store.on_commit(self._committed)

    def _committed(self, records: Sequence[Record], bodies: Sequence[bytes], secs: float) -> None:
        self._wake.set()

    async def resume(self) -> None:
        """Continue the chain where it stopped (a new chain when the key changed)."""
        rows = await self._store.query(
            "SELECT seq, hash, key_id FROM seals ORDER BY seq DESC LIMIT 1"
        )
        if rows:
            seq, digest, key = rows[0]
            self.last_sealed = int(seq)
            same_key = key == self._sealer.key_id
            self._sealer.last = bytes(digest) if same_key else GENESIS
            if not same_key:
                log.warning("workstation key changed: a new chain starts", extra={"seq": seq})

    async def run(self) -> None:
        await self.resume()
        while True:
            # Cleared before the query: a commit while it runs wakes the next wait at once.
            self._wake.clear()
            rows = await self._store.query(
                "SELECT seq, body FROM records WHERE seq > ? ORDER BY seq LIMIT ?",
                (self.last_sealed, SEAL_BATCH),
            )
            if not rows:
                await self._wake.wait()
                continue
            work = [(int(seq), bytes(body)) for seq, body in rows]
            seals = await asyncio.to_thread(self._seal_all, work)
            key = self._sealer.key_id
            await self._store.apply(
                [(INSERT_SEALS, [(s.seq, s.prev, s.hash, s.sig, key) for s in seals])]
            )
            self.last_sealed = seals[-1].seq

    def _seal_all(self, work: list[tuple[int, bytes]]) -> list[Seal]:
        return [self._sealer.seal(seq, body) for seq, body in work]
