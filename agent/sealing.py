"""The sealing task: every committed record is sealed into the signed chain, in order.

Sealing runs beside the capture path, never in it: a record is acknowledged at its commit, and
sealed a moment later (before any sink may send it). Signatures are computed in a worker thread
in small batches, so the event loop never waits on them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from agent import faults
from agent.chain import Seal, Sealer
from drivers.backoff import Backoff
from edge.errors import StoreError
from edge.records import Record
from edge.store import Store
from edge.wire import GENESIS

log = logging.getLogger("midas_edge.sealing")

# Records sealed per worker-thread call and per transaction.
SEAL_BATCH = 64
# How long sealing waits after a commit woke it; well under any sink's batching interval.
SEAL_GATHER_S = 0.25
# A store that refuses writes (full disk) is retried this often, backing off.
RETRY_BASE_S = 0.5
RETRY_CAP_S = 30.0
INSERT_SEALS = "INSERT INTO seals (seq, prev, hash, sig, key_id) VALUES (?, ?, ?, ?, ?)"


class SealingTask:
    """Seals records as they commit; `run()` is one long-lived task."""

    def __init__(self, store: Store, sealer: Sealer) -> None:
        self._store = store
        self._sealer = sealer
        self._wake = asyncio.Event()
        self.last_sealed = 0
        self._listeners: list[Callable[[int], None]] = []
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

    def on_sealed(self, listener: Callable[[int], None]) -> None:
        """Call `listener(last sealed seq)` after each batch of seals is durable."""
        self._listeners.append(listener)

    async def run(self) -> None:
        await self.resume()
        retry = Backoff(base=RETRY_BASE_S, cap=RETRY_CAP_S)
        while True:
            try:
                sealed = await self._seal_next()
            except StoreError as exc:
                # A full disk or a failing store must not stop the daemon: the records stay
                # unsealed (and unsent) and are sealed once the store takes writes again.
                delay = retry.next_delay()
                log.error(
                    "sealing failed; retrying",
                    extra={"error": str(exc), "after_seq": self.last_sealed, "retry_s": delay},
                )
                await asyncio.sleep(delay)
                continue
            retry.reset()
            if sealed:
                for listener in self._listeners:
                    listener(self.last_sealed)
            else:
                await self._wake.wait()
                # Gather what commits next before sealing: one seal transaction for several
                # captures keeps the writer free for the captures themselves.
                await asyncio.sleep(SEAL_GATHER_S)

    async def _seal_next(self) -> bool:
        """Seal the next batch of records; False when there was nothing to seal."""
        # Cleared before the query: a commit while it runs wakes the next wait at once.
        self._wake.clear()
        rows = await self._store.query(
            "SELECT seq, body FROM records WHERE seq > ? ORDER BY seq LIMIT ?",
            (self.last_sealed, SEAL_BATCH),
        )
        if not rows:
            return False
        work = [(int(seq), bytes(body)) for seq, body in rows]
        before = self._sealer.last
        seals = await asyncio.to_thread(self._seal_all, work)
        faults.point("seal.signed")
        key = self._sealer.key_id
        try:
            await self._store.apply(
                [(INSERT_SEALS, [(s.seq, s.prev, s.hash, s.sig, key) for s in seals])]
            )
        except BaseException:
            self._sealer.last = before  # not written: the chain goes on from the last durable seal
            raise
        self.last_sealed = seals[-1].seq
        return True

    def _seal_all(self, work: list[tuple[int, bytes]]) -> list[Seal]:
        return [self._sealer.seal(seq, body) for seq, body in work]
