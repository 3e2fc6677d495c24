"""The NAS sink's publish order: the records file durable before its rename, the manifest
after it; a failed fsync leaves no part and no manifest, fails the batch, and the retry
publishes everything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.nas_sink import NasSink
from agent.sink import Outgoing, TransientError
from edge import records
from edge.config import SinkConfig
from tests.helpers import make_record


def nas(tmp_path: Path) -> tuple[NasSink, Path]:
    root = tmp_path / "share"
    root.mkdir()
    (root / ".midas-share").write_text("share\n")
    config = SinkConfig(name="nas", kind="nas", target=str(root))
    return NasSink(config, "test-ws", "key-1", require_mount=False), root


def batch(count: int) -> list[Outgoing]:
    out = []
    for n in range(count):
        record = make_record(n)
        out.append(
            Outgoing(n + 1, record.id, records.encode(record), b"\0" * 32, b"\1" * 32, b"\2" * 64)
        )
    return out


def records_files(root: Path) -> list[Path]:
    return list(root.rglob("records-*.jsonl"))


def manifests(root: Path) -> list[Path]:
    return list(root.rglob("manifest-*.jsonl"))


async def test_the_records_file_is_durable_before_its_rename_and_the_manifest_comes_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, root = nas(tmp_path)
    events: list[str] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        events.append("fsync")
        real_fsync(fd)

    def rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        events.append(f"rename {Path(dst).name.split('-')[0]}")
        real_rename(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    sent = batch(40)
    answers = await sink.send(sent)
    assert len(answers) == 40
    # records file, its folder, manifest, its folder: each file fsynced before its rename
    assert events == ["fsync", "rename records", "fsync", "fsync", "rename manifest", "fsync"]
    (records_file,) = records_files(root)
    assert records_file.read_bytes() == b"".join(o.body + b"\n" for o in sent)


async def test_a_failed_fsync_leaves_nothing_and_fails_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, root = nas(tmp_path)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(TransientError, match="share write failed"):
        await sink.send(batch(20))
    assert [p for p in root.rglob("*") if p.is_file()] == [root / ".midas-share"]
    monkeypatch.setattr(os, "fsync", real_fsync)
    answers = await sink.send(batch(20))  # the retry publishes everything
    assert len(answers) == 20
    assert len(records_files(root)) == len(manifests(root)) == 1


async def test_a_failed_manifest_fsync_publishes_no_manifest_and_the_retry_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, root = nas(tmp_path)
    calls = 0
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # after the records file's and its folder's: the manifest's
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    sent = batch(20)
    with pytest.raises(TransientError, match="share write failed"):
        await sink.send(sent)
    (records_file,) = records_files(root)
    assert manifests(root) == []
    assert not [p for p in root.rglob("*") if ".part-" in p.name]
    written = records_file.stat().st_mtime_ns
    answers = await sink.send(sent)  # the same batch: its records file is already there
    assert len(answers) == 20
    assert records_files(root) == [records_file]
    assert records_file.stat().st_mtime_ns == written
    assert len(manifests(root)) == 1
