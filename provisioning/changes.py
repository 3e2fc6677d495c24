"""Changes to the system, made only where something differs, and shown instead under --dry-run.

An `Applier` writes files (atomically, with mode and owner), creates directories and runs
commands, each only when the system differs from what is wanted, and records every change it
made (or, in a dry run, would make): a second run over the same system records none. With a
root (`--root DIR`) every path is staged under it and accounts are looked up in its own
`etc/passwd` and `etc/group`. An owner whose account does not exist yet (the service account
before the install step creates it) is set once `settle_owners()` runs after it was created.
"""

from __future__ import annotations

import difflib
import os
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath

from provisioning.errors import ProvisioningError
from provisioning.safefile import LinkRefused, chown_tree, read_file, set_meta, write_file
from provisioning.units import staged

COMMAND_TIMEOUT_S = 120.0
# Diffs longer than this are summarised: a dry run stays readable.
MAX_DIFF_LINES = 80

Owner = tuple[str, str]  # (user, group)


class Verdict(StrEnum):
    OK = "ok"  # checked, nothing to do
    CHANGED = "changed"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Change:
    """One change: `action` (write, backup, mkdir, chmod, chown, run), its target, a detail."""

    action: str
    target: str
    detail: str = ""


def _read_ids(path: Path) -> dict[str, int]:
    """name -> id from a passwd or group file (missing file: empty)."""
    out: dict[str, int] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        parts = line.split(":")
        if len(parts) >= 3 and parts[2].isdigit():
            out[parts[0]] = int(parts[2])
    return out


class Accounts:
    """User and group ids of the target system (the staged root's own files under --root)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def _files(self) -> tuple[dict[str, int], dict[str, int]]:
        etc = (self.root or Path("/")) / "etc"
        return _read_ids(etc / "passwd"), _read_ids(etc / "group")

    def ids(self, owner: Owner) -> tuple[int, int] | None:
        users, groups = self._files()
        user = 0 if owner[0] == "root" else users.get(owner[0])
        group = 0 if owner[1] == "root" else groups.get(owner[1])
        if user is None or group is None:
            return None
        return user, group

    def has_user(self, name: str) -> bool:
        return name in self._files()[0]


def _diff(target: str, old: bytes | None, new: bytes) -> str:
    try:
        before = (old or b"").decode().splitlines(keepends=True)
        after = new.decode().splitlines(keepends=True)
    except UnicodeDecodeError:
        return f"{len(new)} bytes"
    lines = list(difflib.unified_diff(before, after, f"{target} (now)", f"{target} (new)"))
    if len(lines) > MAX_DIFF_LINES:
        return f"{len(after)} lines ({len(lines)} diff lines not shown)"
    return "".join(lines).rstrip("\n")


@dataclass
class Applier:
    """Makes (or, with `dry_run`, lists) the changes that bring the system where it should be."""

    root: Path | None = None
    dry_run: bool = False
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _pending: list[tuple[PurePosixPath, Owner]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.accounts = Accounts(self.root)
        self.is_root = os.geteuid() == 0

    @property
    def staging(self) -> bool:
        return self.root is not None

    def path(self, target: PurePosixPath | str) -> Path:
        """Where a system path is on this machine (under the root when staging)."""
        target = PurePosixPath(target)
        return staged(self.root, target) if self.root is not None else Path(target)

    def record(self, action: str, target: PurePosixPath | str, detail: str = "") -> None:
        self.changes.append(Change(action, str(target), detail))

    # -- files -----------------------------------------------------------------------------

    def write(
        self,
        target: PurePosixPath,
        data: bytes,
        *,
        mode: int,
        owner: Owner | None = None,
        secret: bool = False,
        summary: str | None = None,
        backup: str | None = None,
    ) -> bool:
        """Make `target` hold `data` with `mode` and `owner`; whether anything changed.

        `secret` content is never shown, `summary` is shown instead of a diff; `backup` (a
        suffix) keeps a differing old file.
        """
        path = self.path(target)
        try:
            old = read_file(path)
        except LinkRefused:  # the write replaces the link itself
            old = None
        before = len(self.changes)
        if old != data:
            if backup is not None and old is not None:
                kept = target.with_name(f"{target.name}.{backup}")
                self.record("backup", kept, f"the previous {target.name}")
                if not self.dry_run:
                    os.link(path, self.path(kept))
            if secret:
                detail = f"{mode:04o}, secret: content not shown"
            else:
                detail = summary or _diff(str(target), old, data)
            self.record("write", target, detail)
            if not self.dry_run:
                self._write_atomic(path, data, mode)
        if path.exists() or not self.dry_run:
            self._meta(target, mode, owner)
        return len(self.changes) > before

    def _write_atomic(self, path: Path, data: bytes, mode: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, data, mode)

    def directory(self, target: PurePosixPath, *, mode: int, owner: Owner | None = None) -> bool:
        """Make `target` a directory with `mode` and `owner`; whether anything changed."""
        path = self.path(target)
        before = len(self.changes)
        if not path.is_dir():
            self.record("mkdir", target, f"{mode:04o}")
            if not self.dry_run:
                path.mkdir(mode=mode, parents=True)
        if path.is_dir():
            self._meta(target, mode, owner)
        elif owner is not None and self.dry_run:
            self.record("chown", target, ":".join(owner))
        return len(self.changes) > before

    def ensure_meta(self, target: PurePosixPath, *, mode: int, owner: Owner | None) -> bool:
        """Set mode and owner of an existing file written by other code."""
        before = len(self.changes)
        if self.path(target).exists():
            self._meta(target, mode, owner)
        return len(self.changes) > before

    def _meta(self, target: PurePosixPath, mode: int, owner: Owner | None) -> None:
        path = self.path(target)
        try:
            st = path.lstat()
        except FileNotFoundError:  # a dry run's file that does not exist yet
            if owner is not None:
                self.record("chown", target, ":".join(owner))
            return
        if stat.S_ISLNK(st.st_mode):
            raise LinkRefused(f"{target} is a symbolic link: not following it; move it aside")
        if st.st_mode & 0o7777 != mode:
            self.record("chmod", target, f"{st.st_mode & 0o7777:04o} -> {mode:04o}")
            if not self.dry_run:
                set_meta(path, mode, None)
        if owner is not None:
            self._chown(target, owner, (st.st_uid, st.st_gid))

    def _chown(self, target: PurePosixPath, owner: Owner, now: tuple[int, int]) -> None:
        if not self.is_root:
            note = "owners left as they are: not running as root"
            if note not in self.notes:
                self.notes.append(note)
            return
        ids = self.accounts.ids(owner)
        if ids is None:  # the account comes with the install step
            self._pending.append((target, owner))
            if self.dry_run:
                self.record("chown", target, ":".join(owner))
            return
        if ids != now:
            self.record("chown", target, ":".join(owner))
            if not self.dry_run:
                set_meta(self.path(target), None, ids)

    def settle_owners(self) -> None:
        """Set the owners that waited for their account (call once the account exists)."""
        pending, self._pending = self._pending, []
        if self.dry_run:
            return
        for target, owner in pending:
            try:
                st = self.path(target).lstat()
            except FileNotFoundError:
                continue
            self._chown(target, owner, (st.st_uid, st.st_gid))

    def chown_tree(self, target: PurePosixPath, owner: Owner) -> None:
        """Give everything under a directory to `owner` (what a root-run self-test created)."""
        ids = self.accounts.ids(owner) if self.is_root else None
        if ids is None or self.dry_run or not self.path(target).is_dir():
            return
        chown_tree(self.path(target), ids)

    # -- commands --------------------------------------------------------------------------

    def run(self, argv: Sequence[str], why: str = "") -> None:
        """Run a command (recorded; only listed in a dry run); ProvisioningError on failure."""
        self.record("run", " ".join(argv), why)
        if self.dry_run:
            return
        try:
            result = subprocess.run(  # noqa: S603  # fixed system tools, no shell
                list(argv), capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ProvisioningError(f"{argv[0]} cannot be run ({exc})") from None
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise ProvisioningError(
                f"{' '.join(argv)} exited {result.returncode}: {' / '.join(tail)}"
            )
