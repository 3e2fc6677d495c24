"""Root never follows a link the service account left in its data dir.

The account owns the data dir, so it can replace any file there by a symbolic link to a file
of root's. Provisioning (as root) writes the self-test snapshot, the report and the chain
key's public half there and sets modes and owners: none of it may reach the link's target.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

import pytest

from provisioning.changes import Applier
from provisioning.safefile import LinkRefused, chown_tree, read_file, set_meta, write_file
from tests.provisioning.staging import bench

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="owners need root")
VICTIM = b"root's own file\n"


def victim(tmp_path: Path, name: str = "victim") -> Path:
    path = tmp_path / name
    path.write_bytes(VICTIM)
    path.chmod(0o600)
    return path


def test_a_write_replaces_a_link_and_leaves_its_target_alone(tmp_path: Path) -> None:
    target = victim(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    (data / "report.txt").symlink_to(target)
    write_file(data / "report.txt", b"new\n", 0o640)
    assert target.read_bytes() == VICTIM and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not (data / "report.txt").is_symlink()
    assert (data / "report.txt").read_bytes() == b"new\n"
    assert stat.S_IMODE((data / "report.txt").stat().st_mode) == 0o640
    assert sorted(p.name for p in data.iterdir()) == ["report.txt"]  # no temporary left


def test_reads_and_mode_changes_refuse_a_link(tmp_path: Path) -> None:
    target = victim(tmp_path)
    link = tmp_path / "workstation.key"
    link.symlink_to(target)
    with pytest.raises(LinkRefused, match="symbolic link"):
        read_file(link)
    with pytest.raises(LinkRefused, match="symbolic link"):
        set_meta(link, 0o644, None)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    applier = Applier(tmp_path)
    with pytest.raises(LinkRefused, match="symbolic link"):
        applier.ensure_meta(PurePosixPath("/workstation.key"), mode=0o644, owner=None)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert read_file(tmp_path / "missing") is None


@needs_root
def test_a_tree_is_given_away_without_leaving_it_through_a_link(tmp_path: Path) -> None:
    outside = tmp_path / "etc"
    outside.mkdir()
    kept = victim(outside, "passwd")
    data = tmp_path / "data"
    (data / "blobs").mkdir(parents=True)
    (data / "blobs" / "ab.jpg").write_bytes(b"x")
    (data / "linked").symlink_to(outside)
    (data / "file-link").symlink_to(kept)
    chown_tree(data, (4242, 4243))
    assert (data / "blobs" / "ab.jpg").stat().st_uid == 4242
    assert (data / "blobs").stat().st_gid == 4243
    assert (data / "linked").lstat().st_uid == 4242  # the link itself
    assert (kept.stat().st_uid, outside.stat().st_uid) == (0, 0)


@needs_root
async def test_provisioning_as_root_does_not_follow_links_in_the_data_dir(
    tmp_path: Path,
) -> None:
    async with bench(tmp_path) as b:
        first = await b.provision(enroll_token=b.token())
        assert first.ok, b.outputs[-1]
        data = b.root / "var/lib/midas-edge"
        targets = {
            name: victim(tmp_path, f"victim-{name}")
            for name in ("selftest-camera.jpg", "provision-report.txt", "workstation.pub")
        }
        for name, target in targets.items():
            (data / name).unlink()
            (data / name).symlink_to(target)
        again = await b.provision(selftest="always")
        assert again.ok, b.outputs[-1]
        for name, target in targets.items():
            assert target.read_bytes() == VICTIM, name
            assert (target.stat().st_uid, stat.S_IMODE(target.stat().st_mode)) == (0, 0o600)
            assert not (data / name).is_symlink(), name
        assert (data / "selftest-camera.jpg").read_bytes()[:2] == b"\xff\xd8"

        key = victim(tmp_path, "victim-key")
        (data / "workstation.key").rename(tmp_path / "saved.key")
        (data / "workstation.key").symlink_to(key)
        refused = await b.provision(selftest="never")
        identity = next(s for s in refused.steps if s.name == "identity")
        assert identity.verdict.value == "failed"
        assert "symbolic link" in identity.summary
        assert (key.stat().st_uid, stat.S_IMODE(key.stat().st_mode)) == (0, 0o600)
