"""TOML text from plain data (what `tomllib` reads back to the same data), for written configs.

Tables become `[a.b]` sections, lists of tables `[[a]]` sections; a table inside a list or a
value that mixes types is written inline. Keys are quoted when they are not bare keys.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key)


def value_text(value: Any) -> str:
    """One TOML value, inline."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("a config value cannot be NaN or infinite")
        return repr(value)
    if isinstance(value, str):
        # JSON string escapes are valid TOML basic-string escapes (\uXXXX included).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(str(k))} = {value_text(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise ValueError(f"no TOML form for a {type(value).__name__}")


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _nested(value: Any, in_list: bool) -> bool:
    if isinstance(value, Mapping):
        return bool(value) and not in_list
    return _is_table_list(value)


def _section(
    path: list[str], table: Mapping[str, Any], out: list[str], header: str, in_list: bool = False
) -> None:
    """A table's own values, then its sub-tables; inside `[[...]]`, tables stay inline."""
    if header:
        out.append("")
        out.append(header)
    for key, value in table.items():
        if not _nested(value, in_list):
            out.append(f"{_key(key)} = {value_text(value)}")
    for key, value in table.items():
        if not _nested(value, in_list):
            continue
        sub = [*path, key]
        name = ".".join(_key(p) for p in sub)
        if isinstance(value, Mapping):
            _section(sub, value, out, f"[{name}]")
        else:
            for item in value:
                _section(sub, item, out, f"[[{name}]]", in_list=True)


def dumps(data: Mapping[str, Any], header: str = "") -> str:
    """The TOML document for `data`, after an optional comment header."""
    out: list[str] = [f"# {line}" if line else "#" for line in header.splitlines()]
    _section([], data, out, "")
    text = "\n".join(out).lstrip("\n")
    return text + "\n"
