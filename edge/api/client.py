"""Reaching the running daemon's local API from a command on the same machine."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from edge.api.token import TOKEN_FILE
from edge.config import Config, split_listen

API_TIMEOUT_S = 2.0


def api_base(config: Config) -> str | None:
    """`http://host:port` of `[api] listen` (loopback for a wildcard); None for port 0."""
    host, port = split_listen(config.api.listen)
    if port == 0:
        return None
    if host in ("0.0.0.0", "::", ""):  # noqa: S104  # listening everywhere: ask on loopback
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def read_token(config: Config) -> str:
    """The API token from the data dir; OSError when this user may not read it."""
    return (config.data_dir / TOKEN_FILE).read_text().strip()


def get_json(config: Config, path: str) -> dict[str, Any] | None:
    """GET `path` from the running daemon; None when it does not run or answer in time."""
    answer = call_json(config, path)
    return answer[1] if answer is not None and answer[0] == 200 else None


def call_json(config: Config, path: str, method: str = "GET") -> tuple[int, dict[str, Any]] | None:
    """`method` on `path` of the running daemon: its HTTP status and JSON object (error answers
    included); None when it does not run, answer in time or answer JSON."""
    base = api_base(config)
    if base is None:
        return None
    try:
        token = read_token(config)
    except OSError:
        return None
    # An http:// URL on the loopback address of the config, never one given from outside.
    request = urllib.request.Request(  # noqa: S310
        base + path, headers={"Authorization": f"Bearer {token}"}, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=API_TIMEOUT_S) as response:  # noqa: S310
            status, body = response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            status, body = exc.code, json.load(exc)
        except ValueError:
            return None
        finally:
            exc.close()
    except (OSError, urllib.error.URLError, ValueError):
        return None
    return (status, body) if isinstance(body, dict) else None
