"""The trust directory records which key replaced which, so a receiver knows every key newer than
a retired one (the bound of its batches), also across several re-keys, a restored key, a revoked
key and registrations at once."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.wire import key_id, load_public_key
from receiver.trust import (
    Registered,
    current_path,
    newer_keys,
    register_key,
    replaced_path,
    retired_path,
    successor,
)

WAIT_S = 60.0


def new_key() -> Ed25519PublicKey:
    return Ed25519PrivateKey.generate().public_key()


def test_each_re_key_records_the_key_that_replaced_the_one_before(tmp_path: Path) -> None:
    a, b, c = (register_key(tmp_path, "ws-1", new_key()).key_id for _ in range(3))
    line = replaced_path(tmp_path, "ws-1", a).read_text()
    assert line.split()[0] == b and line.endswith("\n")
    when = dt.datetime.strptime(line.split()[1], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(when.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)) < dt.timedelta(hours=1)
    assert (successor(tmp_path, "ws-1", a), successor(tmp_path, "ws-1", b)) == (b, c)
    assert successor(tmp_path, "ws-1", c) is None  # current
    assert newer_keys(tmp_path, "ws-1", a, c) == (b, c)
    assert newer_keys(tmp_path, "ws-1", b, c) == (c,)
    # Another workstation's order is its own; a key with no order recorded has none.
    assert newer_keys(tmp_path, "ws-2", a, c) is None
    assert newer_keys(tmp_path, "ws-1", "0123456789abcdef", c) is None


def test_a_restored_key_and_a_revoked_key_keep_the_order(tmp_path: Path) -> None:
    keys = [new_key() for _ in range(3)]
    a, b, c = (register_key(tmp_path, "ws-1", k).key_id for k in keys)
    # The first key registered again (a restored backup): current, neither retired nor replaced.
    register_key(tmp_path, "ws-1", keys[0])
    assert not replaced_path(tmp_path, "ws-1", a).exists()
    assert not retired_path(tmp_path, "ws-1", a).exists()
    assert newer_keys(tmp_path, "ws-1", b, a) == (c, a)
    assert newer_keys(tmp_path, "ws-1", c, a) == (a,)
    # A key replaced without being kept (it leaked) is still in the order: what it stored is
    # newer than the keys before it.
    done = register_key(tmp_path, "ws-1", new_key(), keep_old=False)
    assert done.revoked == a
    assert not retired_path(tmp_path, "ws-1", a).exists()
    assert newer_keys(tmp_path, "ws-1", b, done.key_id) == (c, a, done.key_id)


def test_a_missing_or_unreadable_record_ends_the_walk(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a, b, c, d = (register_key(tmp_path, "ws-1", new_key()).key_id for _ in range(4))
    # A record lost further on (a key file replaced by hand): the current key is still newer.
    replaced_path(tmp_path, "ws-1", b).unlink()
    assert newer_keys(tmp_path, "ws-1", a, d) == (b, d)
    replaced_path(tmp_path, "ws-1", a).write_text("not a key id\n")
    with caplog.at_level(logging.WARNING, logger="receiver.trust"):
        assert newer_keys(tmp_path, "ws-1", a, d) is None
    assert f"key order file ws-1.{a} does not name a key id" in caplog.text
    assert newer_keys(tmp_path, "ws-1", c, d) == (d,)


def test_registrations_at_once_leave_one_order_through_every_key(tmp_path: Path) -> None:
    """Registrations take turns on the directory's lock: each one records the key it replaced,
    so the keys form one line from the first registered to the current one."""
    keys = [new_key() for _ in range(12)]
    start = threading.Barrier(len(keys))

    def register(public: Ed25519PublicKey) -> Registered:
        start.wait(timeout=WAIT_S)
        return register_key(tmp_path, "ws-1", public)

    with ThreadPoolExecutor(len(keys)) as pool:
        done = list(pool.map(register, keys))
    first = next(r.key_id for r in done if r.retired is None)
    current = key_id(load_public_key(current_path(tmp_path, "ws-1").read_bytes()))
    line = newer_keys(tmp_path, "ws-1", first, current)
    assert line is not None
    assert sorted(line) == sorted({r.key_id for r in done} - {first})
    assert line[-1] == current
    # Each key in it is the one that registration found current and retired.
    replaced = {r.key_id: r.retired for r in done}
    assert [replaced[kid] for kid in line] == [first, *line[:-1]]
