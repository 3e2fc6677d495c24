"""Versioned schema migrations, applied in one transaction each, after a backup copy."""

from __future__ import annotations

# Each migration: (version, statements). Never edit a released migration; append a new one.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE meta (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            ) WITHOUT ROWID""",
            """CREATE TABLE records (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                captured_at TEXT NOT NULL,
                device TEXT NOT NULL,
                kind TEXT NOT NULL,
                body BLOB NOT NULL,
                purged_at TEXT
            )""",
            """CREATE TABLE blobs (
                sha256 TEXT PRIMARY KEY,
                size INTEGER NOT NULL,
                media_type TEXT NOT NULL,
                created_at TEXT NOT NULL
            ) WITHOUT ROWID""",
            """CREATE TABLE record_blobs (
                seq INTEGER NOT NULL REFERENCES records (seq),
                sha256 TEXT NOT NULL REFERENCES blobs (sha256),
                role TEXT NOT NULL,
                PRIMARY KEY (seq, sha256)
            ) WITHOUT ROWID""",
            "CREATE INDEX record_blobs_by_sha ON record_blobs (sha256)",
            """CREATE TABLE sinks (
                name TEXT PRIMARY KEY,
                required INTEGER NOT NULL,
                added_at TEXT NOT NULL
            ) WITHOUT ROWID""",
            """CREATE TABLE deliveries (
                sink TEXT NOT NULL REFERENCES sinks (name),
                seq INTEGER NOT NULL REFERENCES records (seq),
                state TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'dead')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at REAL NOT NULL DEFAULT 0,
                last_error TEXT,
                delivered_at TEXT,
                receipt TEXT,
                PRIMARY KEY (sink, seq)
            ) WITHOUT ROWID""",
            "CREATE INDEX deliveries_due ON deliveries (sink, state, next_attempt_at)",
        ),
    ),
    (
        # The signed chain: per sealed record its predecessor's hash, its own hash, the
        # workstation key's signature (`edge.wire` defines them) and the key's id.
        2,
        (
            """CREATE TABLE seals (
                seq INTEGER PRIMARY KEY REFERENCES records (seq),
                prev BLOB NOT NULL,
                hash BLOB NOT NULL,
                sig BLOB NOT NULL,
                key_id TEXT NOT NULL
            )""",
        ),
    ),
    (
        # Deliveries gain the 'dropped' state (an operator gave a dead letter up for that sink:
        # `midas-edge outbox drop`), kept apart from 'delivered' so nothing claims a receipt it
        # never had. SQLite cannot alter a CHECK: the table is rebuilt. Partial indexes keep the
        # scheduler's and retention's scans proportional to the backlog, not to the history.
        3,
        (
            """CREATE TABLE deliveries_v3 (
                sink TEXT NOT NULL REFERENCES sinks (name),
                seq INTEGER NOT NULL REFERENCES records (seq),
                state TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'dead', 'dropped')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at REAL NOT NULL DEFAULT 0,
                last_error TEXT,
                delivered_at TEXT,
                receipt TEXT,
                PRIMARY KEY (sink, seq)
            ) WITHOUT ROWID""",
            "INSERT INTO deliveries_v3 SELECT sink, seq, state, attempts, next_attempt_at,"
            " last_error, delivered_at, receipt FROM deliveries",
            "DROP TABLE deliveries",
            "ALTER TABLE deliveries_v3 RENAME TO deliveries",
            "CREATE INDEX deliveries_due ON deliveries (sink, state, next_attempt_at)",
            "CREATE INDEX deliveries_pending ON deliveries (sink, seq) WHERE state = 'pending'",
            "CREATE INDEX deliveries_by_seq ON deliveries (seq)",
            "CREATE INDEX records_unpurged ON records (seq) WHERE purged_at IS NULL",
        ),
    ),
)

LATEST = MIGRATIONS[-1][0]
