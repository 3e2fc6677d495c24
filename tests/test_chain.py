"""The signed record chain: sealing, verification of runs, tampering, reordering and gaps."""

from __future__ import annotations

import itertools
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.chain import PUBLIC_FILE, ChainError, Sealer, load_or_create_key
from edge.wire import GENESIS, Link, WireError, chain_hash, load_public_key, verify_run

WS = "bz-pgia-01"


def sealed(n: int, start: int = 1) -> tuple[Sealer, list[Link]]:
    sealer = Sealer(WS, Ed25519PrivateKey.generate())
    links = []
    for seq in range(start, start + n):
        body = b'{"seq":%d,"payload":"fictional"}' % seq
        s = sealer.seal(seq, body)
        links.append(Link(seq, body, s.prev, s.hash, s.sig))
    return sealer, links


def test_a_sealed_chain_verifies_and_links() -> None:
    sealer, links = sealed(50)
    assert links[0].prev == GENESIS
    assert all(b.prev == a.hash for a, b in itertools.pairwise(links))
    assert verify_run(WS, sealer.public, links) == [""] * 50
    assert sealer.last == links[-1].hash


def test_hash_covers_workstation_seq_prev_and_body() -> None:
    body = b"{}"
    base = chain_hash(WS, 7, GENESIS, body)
    assert chain_hash("other", 7, GENESIS, body) != base
    assert chain_hash(WS, 8, GENESIS, body) != base
    assert chain_hash(WS, 7, b"\x01" * 32, body) != base
    assert chain_hash(WS, 7, GENESIS, b"{ }") != base


def test_a_tampered_body_is_named() -> None:
    sealer, links = sealed(10)
    bad = links[4]
    links[4] = Link(bad.seq, bad.body.replace(b"fictional", b"forged"), bad.prev, bad.hash, bad.sig)
    reasons = verify_run(WS, sealer.public, links)
    assert reasons[4] == "hash_mismatch"
    assert [r for i, r in enumerate(reasons) if i != 4] == [""] * 9


def test_a_rehashed_forgery_fails_its_signature_and_its_successor_stands() -> None:
    sealer, links = sealed(10)
    bad = links[4]
    body = bad.body.replace(b"fictional", b"forged")
    forged_hash = chain_hash(WS, bad.seq, bad.prev, body)
    links[4] = Link(bad.seq, body, bad.prev, forged_hash, bad.sig)
    reasons = verify_run(WS, sealer.public, links)
    assert reasons[4] == "bad_signature"
    assert [r for i, r in enumerate(reasons) if i != 4] == [""] * 9


def test_two_signed_histories_are_a_broken_chain() -> None:
    sealer, links = sealed(6)
    # The same key re-seals seq 4..6 from another predecessor: a fork (e.g. a restored backup).
    fork = Sealer(WS, sealer._key, last=b"\x07" * 32)
    for i in range(3, 6):
        s = fork.seal(links[i].seq, links[i].body)
        links[i] = Link(links[i].seq, links[i].body, s.prev, s.hash, s.sig)
    assert verify_run(WS, sealer.public, links) == ["", "", "", "chain_broken", "", ""]


def test_another_key_is_rejected() -> None:
    _, links = sealed(5)
    stranger = Ed25519PrivateKey.generate().public_key()
    assert set(verify_run(WS, stranger, links)) == {"bad_signature"}


def test_gaps_split_runs_but_each_run_verifies() -> None:
    sealer, links = sealed(20)
    with_gap = links[:5] + links[9:]
    assert verify_run(WS, sealer.public, with_gap) == [""] * len(with_gap)


def test_load_or_create_key_is_private_and_stable(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path)
    mode = stat.S_IMODE(os.stat(tmp_path / "workstation.key").st_mode)
    assert mode == 0o600
    again = load_or_create_key(tmp_path)
    assert again.public_key() == key.public_key()
    public = load_public_key((tmp_path / PUBLIC_FILE).read_bytes())
    assert public == key.public_key()


def test_a_bad_key_file_is_a_typed_error(tmp_path: Path) -> None:
    (tmp_path / "workstation.key").write_text("not a key")
    with pytest.raises(ChainError, match="not a PEM private key"):
        load_or_create_key(tmp_path)
    with pytest.raises(WireError):
        load_public_key(b"junk")
