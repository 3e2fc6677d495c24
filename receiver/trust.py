"""The trust directory: the Ed25519 keys a receiver verifies each workstation's batches with.

    <trust>/<workstation>.pem                    the workstation's current key
    <trust>/retired/<workstation>.<key_id>.pem   keys it sealed with before a re-key
    <trust>/replaced/<workstation>.<key_id>      "<key id> <UTC time>": the key that replaced it

A workstation is trusted while its current key is there; a batch is verified with the key its
`key_id` names, current or retired, so the backlog a workstation sealed before a re-key is still
delivered (a retired key's records only below the first seq stored under a key that came after
it, `newer_keys`: the storage checks that). Registering a new key keeps the one it replaces as
retired and records which key replaced it (also for a revoked key: the order trusts nothing, it
says which keys are newer). Removing a file revokes that key (removing `<workstation>.pem`, the
whole workstation); the receiver notices at the next batch. Retired keys live in their own
directory: a key id has no dot, so no workstation's file name there can be read as another's,
and no current key's name can pass for a retired one.

Registrations take the directory's lock (`.register.lock`, flock) around reading the current
key, retiring it and replacing it, so two at once (two enrollments, or an enrollment and
`trust-key`) never lose a key: each one retires the key the other made current.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.wire import WireError, key_id, load_public_key
from receiver.region import write_public

log = logging.getLogger("receiver.trust")

RETIRED = "retired"
REPLACED = "replaced"
KEY_ID = re.compile(r"^[0-9a-f]{16}$")  # what `edge.wire.key_id` returns
# A workstation id starts with a letter or digit: no key file is ever named like the lock.
LOCK_FILE = ".register.lock"
LOCK_TIMEOUT_S = 30.0  # a registration holds the lock for a few fsyncs
LOCK_POLL_S = 0.05


def current_path(directory: Path, workstation: str) -> Path:
    return directory / f"{workstation}.pem"


def retired_path(directory: Path, workstation: str, kid: str) -> Path:
    """Where a retired key of `workstation` is kept; `kid` must match KEY_ID (it names a file)."""
    if not KEY_ID.match(kid):
        raise ValueError("not a key id")
    return directory / RETIRED / f"{workstation}.{kid}.pem"


def replaced_path(directory: Path, workstation: str, kid: str) -> Path:
    """Where the key that replaced `kid` is recorded; `kid` must match KEY_ID."""
    if not KEY_ID.match(kid):
        raise ValueError("not a key id")
    return directory / REPLACED / f"{workstation}.{kid}"


def successor(directory: Path, workstation: str, kid: str) -> str | None:
    """The id of the key that replaced `kid`, or None when none is recorded (an unreadable
    record is logged and counts as none)."""
    path = replaced_path(directory, workstation, kid)
    try:
        fields = path.read_bytes().split()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("key order file %s: %s", path.name, exc.strerror or exc)
        return None
    found = fields[0].decode("ascii", "replace") if fields else ""
    if not KEY_ID.fullmatch(found):
        log.warning("key order file %s does not name a key id; ignored", path.name)
        return None
    return found


def newer_keys(directory: Path, workstation: str, kid: str, current: str) -> tuple[str, ...] | None:
    """The keys that came after the retired key `kid`: the one that replaced it, the one that
    replaced that one, ..., and the current key, last. None when no successor of `kid` is
    recorded (a key retired before the order was recorded, or put in `retired/` by hand).
    A record missing further on (a key file replaced by hand) ends the walk at the current key."""
    step = successor(directory, workstation, kid)
    if step is None:
        return None
    seen: list[str] = []
    while step is not None and step not in (current, kid, *seen):
        seen.append(step)
        step = successor(directory, workstation, step)
    return (*seen, current)


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True, slots=True)
class Registered:
    """What `register_key` did: the key now current, and the one it kept as retired (or
    revoked)."""

    key_id: str
    retired: str | None  # the key id of the replaced key kept as retired, else None
    changed: bool  # False when the key was already the current one
    revoked: str | None = None  # the key id of the replaced key not kept (`keep_old=False`)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """The trust directory's registration lock, across threads and processes; TimeoutError
    (an OSError) when another registration holds it for LOCK_TIMEOUT_S."""
    # Read-only: the receiver's account and an administrator's may both take it.
    fd = os.open(directory / LOCK_FILE, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"{LOCK_FILE}: another registration held the trust directory's lock "
                        f"for {LOCK_TIMEOUT_S:g} s"
                    ) from None
                time.sleep(LOCK_POLL_S)
        yield
    finally:
        os.close(fd)  # and the lock with it


def register_key(
    directory: Path, workstation: str, public: Ed25519PublicKey, *, keep_old: bool = True
) -> Registered:
    """Make `public` the workstation's current key; the key it replaces is kept as retired
    (with `keep_old=False`, revoked: a key that leaked seals nothing more that is accepted).

    The retired copy, and the record of which key replaced it, are durable before the current
    key is replaced, so a crash in between never leaves the old key's backlog without its key
    nor its bound. A key registered again after it was
    retired becomes current again and leaves the retired directory. One registration of the
    directory at a time (its lock).
    """
    with _locked(directory):
        return _register(directory, workstation, public, keep_old)


def _register(
    directory: Path, workstation: str, public: Ed25519PublicKey, keep_old: bool
) -> Registered:
    kid = key_id(public)
    current = current_path(directory, workstation)
    try:
        old = current.read_bytes()
    except FileNotFoundError:
        old = None
    retired: str | None = None
    if old is not None:
        try:
            previous = load_public_key(old)
        except WireError:
            # It verified nothing: there is no backlog to keep it for.
            log.warning("the trusted key of %s is not an Ed25519 PEM key; replaced", workstation)
        else:
            if key_id(previous) == kid:
                return Registered(kid, None, changed=False)
            retired = key_id(previous)
            if keep_old:
                target = retired_path(directory, workstation, retired)
                target.parent.mkdir(mode=0o755, exist_ok=True)
                write_public(target, public_pem(previous))
            _record_successor(directory, workstation, retired, kid)
    write_public(current, public_pem(public))
    # Current again (a restored key): neither retired nor replaced any more.
    for stale in (
        retired_path(directory, workstation, kid),
        replaced_path(directory, workstation, kid),
    ):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    if keep_old or retired is None:
        return Registered(kid, retired, changed=True)
    log.warning("the replaced key %s of %s is revoked, not kept as retired", retired, workstation)
    return Registered(kid, None, changed=True, revoked=retired)


def _record_successor(directory: Path, workstation: str, old: str, new: str) -> None:
    """Record that `new` replaced `old`, durably, before `new` becomes current: a batch under
    `old` is bounded by what every key after it stored."""
    target = replaced_path(directory, workstation, old)
    target.parent.mkdir(mode=0o755, exist_ok=True)
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_public(target, f"{new} {when}\n".encode("ascii"))
