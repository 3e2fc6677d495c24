"""The API bearer token: created once in the data dir, readable by the daemon's user only."""

from __future__ import annotations

import secrets
from pathlib import Path

from edge.store.files import write_private

TOKEN_FILE = "api-token"  # noqa: S105  # a file name, not a secret


def load_or_create(data_dir: Path) -> str:
    """The token in `data_dir`, creating it (mode 0600, atomically) on first start."""
    path = data_dir / TOKEN_FILE
    try:
        token = path.read_text().strip()
        if token:
            return token
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    write_private(path, token.encode() + b"\n")
    return token
