"""Retention: personal data leaves the workstation once every required sink has it.

A record whose deliveries to every required sink are settled (delivered, or dropped by the
operator) since `retention.delivered_days` is purged: its body becomes a tombstone (id, seq,
captured_at, kind, raw_sha256, chain hash, receipts), `purged_at` is set, its blob links go, and
the deliveries still open for optional sinks are dropped (a tombstone no longer matches its
seal, so it must never be sent). The records row and its seal stay: the chain stays verifiable
by hash. A record with no required sink is never purged (nobody confirmed it).

Each batch is one `Store.apply` transaction that re-checks the condition. After it committed,
`Store.remove_blobs` deletes the batch's blob files in the writer's turn, re-checking that no
row references them: a new capture of byte-identical image bytes (same SHA-256) committed
meanwhile, or still on its way to its commit, keeps its file. A crash in between leaves orphan
files, which the store's start-up sweep removes (their rows are gone).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

import msgspec

from agent.outbox import utc_text
from edge.errors import StoreError
from edge.store import Store

log = logging.getLogger("midas_edge.retention")

RETENTION_EVERY_S = 3600.0
PURGE_BATCH = 200
DAY_S = 86400.0

# A record is due when it has a required sink and every required delivery was settled
# (delivered, or dropped by the operator) before the cutoff ?1.
DUE_SQL = (
    "purged_at IS NULL"
    " AND EXISTS (SELECT 1 FROM deliveries d JOIN sinks k ON k.name = d.sink"
    "   WHERE d.seq = records.seq AND k.required = 1)"
    " AND NOT EXISTS (SELECT 1 FROM deliveries d JOIN sinks k ON k.name = d.sink"
    "   WHERE d.seq = records.seq AND k.required = 1"
    "   AND (d.state NOT IN ('delivered', 'dropped') OR d.delivered_at IS NULL"
    "   OR d.delivered_at > ?1))"
)
CANDIDATES_SQL = (
    "SELECT records.seq, id, captured_at, kind, body, seals.hash FROM records"  # noqa: S608  # constant SQL only
    " JOIN seals ON seals.seq = records.seq WHERE " + DUE_SQL + " ORDER BY records.seq LIMIT ?2"
)
# The same condition, checked again inside the purge transaction.
PURGE_SQL = "UPDATE records SET body = ?2, purged_at = ?3 WHERE seq = ?4 AND " + DUE_SQL  # noqa: S608  # constant SQL only
# The next statements touch only records the purge above actually purged (?1 = its stamp).
CLOSE_OPTIONAL_SQL = (
    "UPDATE deliveries SET state = 'dropped', last_error = 'purged by retention',"
    " delivered_at = ?1 WHERE seq = ?2 AND state IN ('pending', 'dead')"
    " AND (SELECT purged_at FROM records WHERE seq = ?2) = ?1"
)
UNLINK_SQL = (
    "DELETE FROM record_blobs WHERE seq = ?2"
    " AND (SELECT purged_at FROM records WHERE seq = ?2) = ?1"
)
DROP_BLOB_SQL = (
    "DELETE FROM blobs WHERE sha256 = ?"
    " AND NOT EXISTS (SELECT 1 FROM record_blobs rb WHERE rb.sha256 = blobs.sha256)"
)


class _Raw(msgspec.Struct):
    raw_sha256: str = ""


class Retention:
    """Purges settled records in small batches; `run()` is one long-lived task."""

    def __init__(
        self,
        store: Store,
        delivered_days: float,
        *,
        every_s: float = RETENTION_EVERY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._keep_s = delivered_days * DAY_S
        self._every_s = every_s
        self._clock = clock
        self._raw = msgspec.json.Decoder(_Raw)
        self.purged = 0

    async def run(self) -> None:
        while True:
            try:
                count = await self.run_once()
            except StoreError as exc:
                # A store refusing writes (full disk) delays purging; it never stops the daemon.
                log.error("retention purge failed; retrying later", extra={"error": str(exc)})
            else:
                if count:
                    log.info("records purged", extra={"records": count})
            await asyncio.sleep(self._every_s)

    async def run_once(self) -> int:
        """Purge everything due now, batch by batch; returns how many records were purged."""
        total = 0
        while True:
            count = await self._purge_batch()
            total += count
            if count < PURGE_BATCH:
                self.purged += total
                return total

    async def _purge_batch(self) -> int:
        now = self._clock()
        cutoff = utc_text(now - self._keep_s)
        rows = await self._store.query(CANDIDATES_SQL, (cutoff, PURGE_BATCH))
        if not rows:
            return 0
        seqs = [int(r[0]) for r in rows]
        receipts = await self._receipts(seqs)
        shas = await self._blob_shas(seqs)
        stamp = utc_text(now)
        purge: list[Sequence[object]] = []
        for seq, rid, captured_at, kind, body, digest in rows:
            tomb = {
                "id": rid,
                "seq": seq,
                "captured_at": captured_at,
                "kind": kind,
                "raw_sha256": self._raw_sha256(bytes(body)),
                "hash": bytes(digest).hex(),
                "receipts": receipts.get(int(seq), {}),
                "purged_at": stamp,
            }
            purge.append((cutoff, msgspec.json.encode(tomb), stamp, seq))
        keyed = [(stamp, seq) for seq in seqs]
        await self._store.apply(
            [
                (PURGE_SQL, purge),
                (CLOSE_OPTIONAL_SQL, keyed),
                (UNLINK_SQL, keyed),
                (DROP_BLOB_SQL, [(sha,) for sha in sorted(shas)]),
            ]
        )
        await self._remove_blob_files(shas)
        purged = await self._store.query(
            "SELECT count(*) FROM records WHERE purged_at = ?"
            " AND seq IN (SELECT value FROM json_each(?))",
            (stamp, _json_list(seqs)),
        )
        return int(purged[0][0])

    def _raw_sha256(self, body: bytes) -> str:
        try:
            return self._raw.decode(body).raw_sha256
        except msgspec.DecodeError:
            return ""

    async def _receipts(self, seqs: Sequence[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {}
        for seq, sink, state, receipt in await self._store.query(
            "SELECT seq, sink, state, receipt FROM deliveries"
            " WHERE seq IN (SELECT value FROM json_each(?))",
            (_json_list(seqs),),
        ):
            out.setdefault(int(seq), {})[str(sink)] = str(receipt) if receipt else str(state)
        return out

    async def _blob_shas(self, seqs: Sequence[int]) -> set[str]:
        rows = await self._store.query(
            "SELECT DISTINCT sha256 FROM record_blobs"
            " WHERE seq IN (SELECT value FROM json_each(?))",
            (_json_list(seqs),),
        )
        return {str(r[0]) for r in rows}

    async def _remove_blob_files(self, shas: set[str]) -> None:
        """After the purge committed: delete the files whose blob rows are gone."""
        if not shas:
            return
        removed = await self._store.remove_blobs(shas)
        await self._store.recount_blobs()  # the quota counts what is really left
        if removed:
            log.info("blobs removed", extra={"blobs": removed})


def _json_list(items: Sequence[object]) -> str:
    return msgspec.json.encode(list(items)).decode()
