"""The region's Ed25519 key: generated at headquarters, its public half configured everywhere."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.alerts.errors import AlertListError

_RAW_KEY_BYTES = 32


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key from PEM text or the base64 of its 32 raw bytes."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(stripped.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise AlertListError("expected a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise AlertListError("expected an Ed25519 public key")
        return key
    try:
        raw = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        raise AlertListError(
            "expected a PEM file path, PEM text or the base64 of a 32-byte Ed25519 key"
        ) from None
    if len(raw) != _RAW_KEY_BYTES:
        raise AlertListError("expected the base64 of a 32-byte Ed25519 key")
    return Ed25519PublicKey.from_public_bytes(raw)


def is_key_path(setting: str) -> bool:
    """Whether a `public_key` setting names a file: an absolute path, and not the base64 of a
    raw key, whose alphabet holds "/" too (one key in 64 starts with it)."""
    if not setting.startswith("/"):
        return False
    try:
        raw = base64.b64decode(setting.strip(), validate=True)
    except (binascii.Error, ValueError):
        return True
    return len(raw) != _RAW_KEY_BYTES


def load_public_key(setting: str) -> Ed25519PublicKey:
    """The configured key: an absolute path to a PEM file, else inline text."""
    if not is_key_path(setting):
        return parse_public_key(setting)
    try:
        text = Path(setting).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not text"
        raise AlertListError(f"the region key file cannot be read ({reason})") from None
    return parse_public_key(text)


def public_base64(key: Ed25519PublicKey) -> str:
    """The base64 of the key's 32 raw bytes, as a config's `public_key` may hold it."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate(path: Path) -> Ed25519PrivateKey:
    """A new region key written to `path` (PEM, 0600, never overwritten) and `path`.pub."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise AlertListError(f"{path} exists; a region key is never overwritten") from None
    except OSError as exc:
        raise AlertListError(f"{path} cannot be created ({exc.strerror})") from None
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    public_path(path).write_bytes(public_pem(key.public_key()))
    return key


def public_path(private: Path) -> Path:
    return private.with_name(private.name + ".pub")


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise AlertListError(f"{path} cannot be read ({exc.strerror})") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise AlertListError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AlertListError(f"{path} is not an Ed25519 key")
    return key
