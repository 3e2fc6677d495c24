"""Every committed record is sealed into the signed chain, which survives restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.chain import KEY_FILE, PUBLIC_FILE
from edge.app import App
from edge.errors import EdgeError
from edge.wire import GENESIS, Link, load_public_key, verify_run
from tests.helpers import make_config, running, sim_device


async def seals(app: App) -> list[Link]:
    rows = await app.store.query(
        "SELECT s.seq, r.body, s.prev, s.hash, s.sig FROM seals s JOIN records r USING (seq)"
        " ORDER BY s.seq"
    )
    return [Link(int(a), bytes(b), bytes(c), bytes(d), bytes(e)) for a, b, c, d, e in rows]


async def run_until_sealed(data_dir: Path, total: int, count: int) -> list[Link]:
    config = make_config(data_dir, devices=[sim_device("reader", interval=0.005, count=count)])
    async with running(config) as app:
        async with asyncio.timeout(20):
            while len(links := await seals(app)) < total:
                await asyncio.sleep(0.02)
        return links


async def test_records_are_sealed_in_order_and_verify(data_dir: Path) -> None:
    links = await run_until_sealed(data_dir, 30, 30)
    assert [ln.seq for ln in links] == list(range(1, 31))
    assert links[0].prev == GENESIS
    public = load_public_key((data_dir / PUBLIC_FILE).read_bytes())
    assert verify_run("test-ws", public, links) == [""] * 30


async def test_the_chain_continues_across_restarts(data_dir: Path) -> None:
    first = await run_until_sealed(data_dir, 10, 10)
    links = await run_until_sealed(data_dir, 25, 15)
    assert links[:10] == first
    assert links[10].prev == first[-1].hash  # no new chain: the same key goes on
    public = load_public_key((data_dir / PUBLIC_FILE).read_bytes())
    assert verify_run("test-ws", public, links) == [""] * 25


async def test_a_new_key_starts_a_new_chain(data_dir: Path) -> None:
    await run_until_sealed(data_dir, 5, 5)
    (data_dir / KEY_FILE).unlink()
    (data_dir / PUBLIC_FILE).unlink()
    links = await run_until_sealed(data_dir, 10, 5)
    assert links[5].prev == GENESIS
    public = load_public_key((data_dir / PUBLIC_FILE).read_bytes())
    assert verify_run("test-ws", public, links[5:]) == [""] * 5
    assert set(verify_run("test-ws", public, links[:5])) == {"bad_signature"}


async def test_an_unreadable_key_stops_the_start_with_a_clear_error(data_dir: Path) -> None:
    (data_dir / KEY_FILE).write_text("garbage")
    config = make_config(data_dir)
    with pytest.raises(EdgeError, match="workstation key cannot be used"):
        await App(config).run()
