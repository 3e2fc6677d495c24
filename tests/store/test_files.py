"""write_private: whole files, owner-only from the first byte, nothing left behind on failure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from edge.store.files import write_private


def test_replaces_the_file_whole_and_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "workstation.key"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    data = bytes(range(256)) * 40_000  # ~10 MB: more than one write() may take
    write_private(target, data)
    assert target.read_bytes() == data
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["workstation.key"]


def test_a_failed_rename_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # a directory cannot be replaced by a file
    (target / "inside").write_text("kept")
    with pytest.raises(IsADirectoryError):
        write_private(target, b"new")
    assert (target / "inside").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
