"""SQL both backends share (SQLite `?` placeholders; the PostgreSQL backend swaps them for `%s`)."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")

INSERT_BLOB = (
    "INSERT INTO blobs (sha256, data, size, received_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (sha256) DO NOTHING"
)
HAS_BLOB = "SELECT 1 FROM blobs WHERE sha256 = ?"
GET_BLOB = "SELECT data FROM blobs WHERE sha256 = ?"
GET_RECORD = (
    "SELECT n, workstation, seq, id, body, prev, hash, sig, key_id, received_at "
    "FROM records WHERE id = ?"
)
PAGE_WORKSTATION = (
    "SELECT n, workstation, seq, id, body, prev, hash, sig, key_id, received_at "
    "FROM records WHERE workstation = ? AND seq > ? "
    "ORDER BY seq, n LIMIT ?"
)
WORKSTATIONS = (
    "SELECT workstation, COUNT(*), MAX(seq), MAX(received_at) FROM records "
    "GROUP BY workstation ORDER BY workstation"
)
CHAIN_SUMMARY = "SELECT COUNT(*), MIN(seq), MAX(seq) FROM records WHERE workstation = ?"
CHAIN_GAPS = (
    "SELECT before + 1, seq - 1 FROM ("
    " SELECT seq, LAG(seq) OVER (ORDER BY seq) AS before"
    " FROM (SELECT DISTINCT seq FROM records WHERE workstation = ?) AS s) AS t "
    "WHERE seq - before > 1 ORDER BY seq LIMIT ?"
)
LATEST_ALERT_LIST = (
    "SELECT version, sha256, size, published_at FROM alert_lists ORDER BY version DESC LIMIT 1"
)
ALERT_LIST_SHA = "SELECT sha256 FROM alert_lists WHERE version = ?"
ALERT_LIST_BODY = "SELECT body FROM alert_lists WHERE version = ?"
INSERT_ALERT_LIST = (
    "INSERT INTO alert_lists (version, sha256, size, body, published_at) VALUES (?, ?, ?, ?, ?)"
)
PRUNE_ALERT_LISTS = (
    "DELETE FROM alert_lists WHERE version NOT IN"
    " (SELECT version FROM alert_lists ORDER BY version DESC LIMIT ?)"
)
CHAIN_STARTS = "SELECT seq FROM records WHERE workstation = ? AND prev = ? ORDER BY seq LIMIT ?"
# Parameters: workstation, the genesis hash twice, the limit. A record at seq - 1 sealed with the
# same key means a chain start there cut the chain; another key's record there, a re-key.
CHAIN_BREAKS = (
    "SELECT DISTINCT r.seq FROM records r WHERE r.workstation = ? AND ("
    " (r.prev = ? AND EXISTS (SELECT 1 FROM records p WHERE p.workstation = r.workstation"
    "  AND p.seq = r.seq - 1 AND p.key_id = r.key_id))"
    " OR (r.prev <> ? AND EXISTS (SELECT 1 FROM records p WHERE p.workstation = r.workstation"
    "  AND p.seq = r.seq - 1) AND NOT EXISTS (SELECT 1 FROM records p"
    "  WHERE p.workstation = r.workstation AND p.seq = r.seq - 1 AND p.hash = r.prev))"
    ") ORDER BY r.seq LIMIT ?"
)
# Chain starts under a key that was not the newest at that seq: another key's first record lies
# after the starting key's first and at or before the start. Parameters: workstation twice, the
# genesis hash, the limit.
CHAIN_REPLACED_KEY_STARTS = (
    "WITH f AS (SELECT key_id, MIN(seq) AS first_seq FROM records WHERE workstation = ?"
    " GROUP BY key_id) "
    "SELECT DISTINCT r.seq FROM records r JOIN f ON f.key_id = r.key_id "
    "WHERE r.workstation = ? AND r.prev = ? AND EXISTS (SELECT 1 FROM f AS o"
    " WHERE o.first_seq > f.first_seq AND o.first_seq <= r.seq) ORDER BY r.seq LIMIT ?"
)
CHAIN_KEYS = (
    "SELECT key_id, MIN(seq), MAX(seq), COUNT(*) FROM records WHERE workstation = ? "
    "GROUP BY key_id ORDER BY MIN(seq), key_id LIMIT ?"
)

# The bound of a batch sealed with a retired key (`Lookup.retired_from`): the first seq stored
# under one of the keys that replaced it in turn (`storage.Newer`), above the retired key's own
# first seq when it has records here (a key registered again has those of its first use below
# it). Each is a probe of the index (workstation, key_id, seq), never a scan of the records.
# Parameters: workstation, key, the seq the first is looked for above (0: any).
KEY_FIRST_SEQ = "SELECT MIN(seq) FROM records WHERE workstation = ? AND key_id = ? AND seq > ?"
# Without an order recorded for the retired key, the rule of before: a workstation seals with
# one key at a time, in seq order, so after the first record stored under the retired key the
# first record under any other key is a newer key's; with nothing stored under the retired
# key, the current key is the only one known to be newer (`KEY_FIRST_SEQ`).
# Parameters: workstation three times, the retired key's first seq, the retired key.
OTHER_KEY_AFTER = (
    "WITH RECURSIVE k (key_id) AS ("
    " SELECT MIN(key_id) FROM records WHERE workstation = ?"
    " UNION ALL SELECT (SELECT MIN(r.key_id) FROM records r"
    "  WHERE r.workstation = ? AND r.key_id > k.key_id)"
    " FROM k WHERE k.key_id IS NOT NULL) "
    "SELECT MIN(s.seq) FROM (SELECT (SELECT MIN(r.seq) FROM records r"
    "  WHERE r.workstation = ? AND r.key_id = k.key_id AND r.seq > ?) AS seq"
    " FROM k WHERE k.key_id IS NOT NULL AND k.key_id <> ?) AS s"
)


def chunks(items: list[T], size: int = 500) -> list[list[T]]:
    """Slices of `size`: SQLite `IN` lists and PostgreSQL multi-row INSERTs stay within limits."""
    return [items[i : i + size] for i in range(0, len(items), size)]
