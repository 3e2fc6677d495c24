"""receiver/openapi.yaml describes every route of the app and the exact fields of its shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
