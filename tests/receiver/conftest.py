"""Receiver fixtures: a storage of each backend, a trust directory, a receiver on a free port,
a PostgreSQL schema of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from receiver.app import serve
from receiver.checks import Trust
from receiver.storage import Storage
from tests.receiver.support import BACKENDS, Workstation, drop_schema, postgres_dsn, storage_of


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
async def storage(backend: str, tmp_path: Path) -> AsyncIterator[Storage]:
    async with storage_of(backend, tmp_path) as store:
        yield store


@pytest.fixture
def trust_dir(tmp_path: Path) -> Path:
    path = tmp_path / "trust"
    path.mkdir()
    return path


@pytest.fixture
def ws(trust_dir: Path) -> Workstation:
    station = Workstation("ws-1")
    station.trust(trust_dir)
    return station


@pytest.fixture
async def url(storage: Storage, trust_dir: Path) -> AsyncIterator[str]:
    async with serve(storage, Trust(trust_dir)) as where:
        yield where.url


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=True) as session:
        yield session


@pytest.fixture
def schema() -> Iterator[str]:
    """A PostgreSQL schema of its own, dropped afterwards."""
    dsn = postgres_dsn()
    name = f"midas_test_{uuid.uuid4().hex[:12]}"
    yield name
    drop_schema(dsn, name)
