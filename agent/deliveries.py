"""A sink's delivery rows in the store (`deliveries`): the SQL of a delivery pass, and loading
the next batch (agent/scheduler.py runs the passes).

Loading selects due pending deliveries of sealed, unpurged records in seq order, after a given
seq (the batch whose outcomes are still being written); outcomes change only rows still pending,
so a row settled by another path (the operator's `outbox drop`) is never overwritten.
"""

from __future__ import annotations

from agent.sink import BlobFile, Outgoing
from edge.store import Store

LOAD_SQL = (
    "SELECT d.seq, r.id, r.body, s.prev, s.hash, s.sig, d.attempts, s.key_id FROM deliveries d"
    " JOIN records r ON r.seq = d.seq JOIN seals s ON s.seq = d.seq"
    " WHERE d.sink = ? AND d.state = 'pending' AND d.next_attempt_at <= ?"
    " AND d.seq > ? AND r.purged_at IS NULL ORDER BY d.seq LIMIT ?"
)
BLOBS_SQL = (
    "SELECT rb.seq, b.sha256, b.media_type, b.size FROM record_blobs rb"
    " JOIN blobs b ON b.sha256 = rb.sha256 WHERE rb.seq BETWEEN ? AND ? ORDER BY rb.seq, rb.role"
)
DELIVER_SQL = (
    "UPDATE deliveries SET state = 'delivered', delivered_at = ?, receipt = ?, last_error = NULL"
    " WHERE sink = ? AND seq = ? AND state = 'pending'"
)
REJECT_SQL = (
    "UPDATE deliveries SET state = 'dead', last_error = ?, attempts = attempts + 1"
    " WHERE sink = ? AND seq = ? AND state = 'pending'"
)
# Right-hand sides see the old row, so `attempts + 1` is the attempt that just failed.
RETRY_SQL = (
    "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?1,"
    " state = CASE WHEN ?2 > 0 AND attempts + 1 >= ?2 THEN 'dead' ELSE state END,"
    " last_error = CASE WHEN ?2 > 0 AND attempts + 1 >= ?2 THEN 'too many attempts' ELSE ?3 END"
    " WHERE sink = ?4 AND seq = ?5 AND state = 'pending'"
)
BACKLOG_SQL = "SELECT count(*), min(seq) FROM deliveries WHERE sink = ? AND state = 'pending'"
NEXT_DUE_SQL = "SELECT min(next_attempt_at) FROM deliveries WHERE sink = ? AND state = 'pending'"


async def load_batch(
    store: Store, sink: str, now: float, *, after: int, limit: int, budget: int
) -> tuple[list[Outgoing], dict[int, int]]:
    """The next batch of due records after seq `after`: at most `limit` records, about `budget`
    bytes with their blobs, all sealed with one key; and each record's attempts so far."""
    rows = await store.query(LOAD_SQL, (sink, now, after, limit))
    if not rows:
        return [], {}
    blobs: dict[int, list[BlobFile]] = {}
    for seq, sha, media_type, size in await store.query(BLOBS_SQL, (rows[0][0], rows[-1][0])):
        path = str(store.read_blob_path(str(sha)))
        blobs.setdefault(int(seq), []).append(BlobFile(str(sha), str(media_type), size, path))
    batch: list[Outgoing] = []
    attempts_of: dict[int, int] = {}
    size = 0
    # The columns come back as int, str and bytes already (INTEGER, TEXT, BLOB written so).
    for seq, rid, body, prev, digest, sig, attempts, key in rows:
        files = blobs.get(seq)
        cost = len(body) + sum(f.size for f in files) if files else len(body)
        if batch and (size + cost > budget or key != batch[0].key_id):
            break  # a batch names one signing key: records sealed after a new key wait
        size += cost
        batch.append(
            Outgoing(seq, rid, body, prev, digest, sig, tuple(files) if files else (), key)
        )
        attempts_of[seq] = attempts
    return batch, attempts_of
