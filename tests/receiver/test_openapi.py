"""receiver/openapi.yaml describes every route of the app and the exact fields of its shapes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
import yaml

import receiver
from edge.wire import Batch, Receipt, Receipts, WireRecord
from receiver.app import create_app
from receiver.checks import Trust
from receiver.sqlite_store import SqliteStorage
from receiver.storage import (
    ChainStatus,
    KeyUse,
    RecordOut,
    RecordPage,
    WorkstationOut,
    Workstations,
)
from tests.receiver.support import Workstation, drain, send

SPEC = Path(receiver.__file__).with_name("openapi.yaml")


def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return loaded


def test_every_route_is_described_and_nothing_else(tmp_path: Path) -> None:
    app = create_app(SqliteStorage(tmp_path / "unused.db"), Trust(tmp_path))
    routes = {
        (r.method.lower(), r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None
    }
    described = {
        (method, path)
        for path, item in spec()["paths"].items()
        for method in item
        if method in {"get", "put", "post", "head", "delete", "patch"}
    }
    assert routes == described


@pytest.mark.parametrize(
    ("name", "struct"),
    [
        ("Batch", Batch),
        ("WireRecord", WireRecord),
        ("Receipts", Receipts),
        ("Receipt", Receipt),
        ("Record", RecordOut),
        ("RecordPage", RecordPage),
        ("Workstation", WorkstationOut),
        ("Workstations", Workstations),
        ("ChainStatus", ChainStatus),
        ("KeyUse", KeyUse),
    ],
)
def test_schemas_match_the_structs(name: str, struct: type[msgspec.Struct]) -> None:
    schema = spec()["components"]["schemas"][name]
    fields = {f.encode_name for f in msgspec.structs.fields(struct)}
    assert set(schema["properties"]) == fields
    required = {f.encode_name for f in msgspec.structs.fields(struct) if f.required}
    assert required <= set(schema["required"])


def test_every_reference_resolves() -> None:
    doc = spec()
    refs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                refs.append(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert refs
    for ref in refs:
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        assert isinstance(target, dict), ref


async def test_the_after_pattern_and_empty_pages_are_what_the_server_does(
    http: aiohttp.ClientSession, url: str, ws: Workstation
) -> None:
    listing = spec()["paths"]["/v1/records"]["get"]
    (after,) = [p for p in listing["parameters"] if p["name"] == "after"]
    pattern = re.compile(after["schema"]["pattern"])
    async with http.get(f"{url}/v1/records") as resp:  # nothing stored yet
        assert (await resp.json()) == {"records": [], "next": "0.0"}
    assert await send(http, url, ws, ws.records(2)) == [("stored", "")] * 2
    _, last = await drain(http, url, None, 2)
    # Within the bounds the description gives, the pattern matches exactly what is answered.
    samples = ["5", "0.5", last, f"{2**63 - 1}", f"{2**64 - 1}.{2**63 - 1}", "9" * 20]
    samples += ["1.2.3", ".1", "1.", "x", " 1", "+1", "\u0661", f"{2**64 - 1}.{2**63 - 1}.1"]
    for token in samples:
        async with http.get(f"{url}/v1/records", params={"after": token}) as resp:
            assert (resp.status == 200) is bool(pattern.fullmatch(token)), token
    for token in (f"{2**63}", f"{2**64}.1"):  # the pattern's digits, above those bounds
        assert pattern.fullmatch(token)
        async with http.get(f"{url}/v1/records", params={"after": token}) as resp:
            assert resp.status == 400, token
    # With a workstation: a seq, digits only.
    for token, status in (
        ("5", 200),
        (f"{2**63 - 1}", 200),
        (f"{2**63}", 400),
        ("0.5", 400),
        ("+5", 400),
        (" 5", 400),
    ):
        params = {"workstation": "ws-1", "after": token}
        async with http.get(f"{url}/v1/records", params=params) as resp:
            assert resp.status == status, token
    # `next` of an empty page, as RecordPage.next describes it.
    empty = (({"workstation": "ws-9"}, "0"), ({"workstation": "ws-9", "after": "7"}, "7"))
    for params, expected in empty:
        async with http.get(f"{url}/v1/records", params=params) as resp:
            assert (await resp.json())["next"] == expected
    async with http.get(f"{url}/v1/records", params={"after": last}) as resp:
        assert (await resp.json()) == {"records": [], "next": last}
