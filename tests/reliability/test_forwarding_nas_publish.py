"""The NAS sink's parallel publish: every record file durable before any rename; a failed
fsync leaves nothing behind (no part, no record file, no manifest) and fails the batch."""

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


async def test_every_record_file_is_fsynced_before_the_first_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, root = nas(tmp_path)
    events: list[str] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        events.append("fsync")
        real_fsync(fd)

    def rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        events.append("rename")
        real_rename(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    answers = await sink.send(batch(40))
    assert len(answers) == 40
    assert events.index("rename") >= 40  # 40 record fsyncs came first
    assert len([p for p in root.rglob("*.json")]) == 40


async def test_a_failed_fsync_leaves_nothing_and_fails_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, root = nas(tmp_path)
    calls = 0
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 7:
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(TransientError, match="share write failed"):
        await sink.send(batch(20))
    assert [p for p in root.rglob("*") if p.is_file()] == [root / ".midas-share"]
    monkeypatch.setattr(os, "fsync", real_fsync)
    answers = await sink.send(batch(20))  # the retry publishes everything
    assert len(answers) == 20
