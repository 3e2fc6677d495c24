"""Durable record store: SQLite (WAL, synchronous=FULL) with group commit, blobs by SHA-256."""

from edge.store.store import Store, StoreUsage

__all__ = ["Store", "StoreUsage"]
