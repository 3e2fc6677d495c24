"""The keeper: the last good list stays in force and on disk; every refusal is reported."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.alerts.keeper import LIST_FILE, InForce, ListKeeper, Offered, Refusal
from tests.alerts.support import STOLEN, signed_list

KEY = Ed25519PrivateKey.generate()


class Watch:
    """The keeper's listeners, recorded."""

    def __init__(self, keeper: ListKeeper) -> None:
        self.changes: list[tuple[int, int | None]] = []
        self.refusals: list[Refusal] = []
        keeper.on_change(self.changed)
        keeper.on_refused(self.refusals.append)

    def changed(self, new: InForce, previous: InForce | None) -> None:
        self.changes.append((new.version, previous.version if previous else None))


async def test_a_good_list_is_kept_privately_and_survives_a_restart(data_dir: Path) -> None:
    keeper = ListKeeper(data_dir, KEY.public_key())
    watch = Watch(keeper)
    data = signed_list(KEY, version=3)
    assert await keeper.offer(data, "drop:a") is Offered.ACCEPTED
    assert keeper.current is not None and keeper.current.version == 3
    assert watch.changes == [(3, None)]
    path = data_dir / LIST_FILE
    assert path.read_bytes() == data
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [p for p in os.listdir(data_dir) if p.startswith(".")]  # no temporary left
    assert await keeper.offer(data, "server") is Offered.SAME
    assert watch.changes == [(3, None)] and watch.refusals == []

    again = ListKeeper(data_dir, KEY.public_key())
    await again.load_stored()
    assert again.current is not None
    assert again.current.version == 3 and again.current.source == "data_dir"


async def test_refused_lists_keep_the_previous_one(data_dir: Path) -> None:
    keeper = ListKeeper(data_dir, KEY.public_key())
    watch = Watch(keeper)
    good = signed_list(KEY, version=5)
    await keeper.offer(good, "server")
    other_key = Ed25519PrivateKey.generate()
    tampered = bytearray(signed_list(KEY, version=9))
    tampered[-5] ^= 0xFF
    offers = [
        (signed_list(KEY, version=4), "older_version", 4),
        (signed_list(KEY, [STOLEN], version=5), "version_conflict", 5),
        (signed_list(other_key, version=8), "wrong_key", 8),
        (bytes(tampered), "bad_signature", 9),
        (signed_list(KEY, version=10)[:-20], "truncated", 10),
        (b"not a list at all", "malformed", None),
    ]
    for data, _, _ in offers:
        assert await keeper.offer(data, "drop:x") is Offered.REFUSED
    assert [(r.code, r.version) for r in watch.refusals] == [(c, v) for _, c, v in offers]
    assert all(r.source == "drop:x" and r.message for r in watch.refusals)
    assert keeper.last_refusal == watch.refusals[-1]
    assert keeper.current is not None and keeper.current.version == 5
    assert (data_dir / LIST_FILE).read_bytes() == good
    assert watch.changes == [(5, None)]


async def test_newer_lists_replace_the_one_in_force(data_dir: Path) -> None:
    keeper = ListKeeper(data_dir, KEY.public_key())
    watch = Watch(keeper)
    lists = {version: signed_list(KEY, version=version) for version in (2, 3, 10)}
    for data in lists.values():
        assert await keeper.offer(data, "server") is Offered.ACCEPTED
    assert watch.changes == [(2, None), (3, 2), (10, 3)]
    assert (data_dir / LIST_FILE).read_bytes() == lists[10]


async def test_a_kept_list_under_another_region_key_is_refused_at_start(data_dir: Path) -> None:
    keeper = ListKeeper(data_dir, KEY.public_key())
    await keeper.offer(signed_list(KEY, version=2), "server")
    rotated = ListKeeper(data_dir, Ed25519PrivateKey.generate().public_key())
    watch = Watch(rotated)
    await rotated.load_stored()
    assert rotated.current is None
    assert [(r.source, r.code) for r in watch.refusals] == [("data_dir", "wrong_key")]


async def test_a_list_the_data_dir_cannot_keep_is_not_put_in_force(data_dir: Path) -> None:
    keeper = ListKeeper(data_dir, KEY.public_key())
    await keeper.offer(signed_list(KEY, version=1), "server")
    (data_dir / LIST_FILE).unlink()
    (data_dir / LIST_FILE).mkdir()  # the rename onto it fails
    watch = Watch(keeper)
    assert await keeper.offer(signed_list(KEY, version=2), "server") is Offered.REFUSED
    assert [r.code for r in watch.refusals] == ["not_stored"]
    assert keeper.current is not None and keeper.current.version == 1
