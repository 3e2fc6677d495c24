"""Headquarters' side: clear identifiers (CSV or JSON) to the entries of a signed list.

Input columns (CSV with a header row, a JSON array of objects, or JSON lines):

    category          lost_stolen | person_of_interest
    ref               opaque reference for headquarters ([A-Za-z0-9._:/-], 1-64 characters)
    issuing_country   } the document: issuing state (MRZ code), document type (MRZ code such
    document_type     } as P, ID, AC, V, or passport / id_card / visa; optional: without it
    document_number   } the number matches on a passport, an ID card or a visa) and number
    surname           } the person: names in clear (any Latin script) and birth date as
    given_names       } YYYY-MM-DD, YYYY-MM or YYYY ("00" or "XX" for an unknown month/day)
    birth_date        } or the MRZ's YYMMDD

A row gives a document key, person keys, or both; at least one. Errors name the row and the
column, never a value: the input is personal data and nothing of it reaches a log. Digits are
ASCII 0-9 only: a date or number written with other digits (Arabic-Indic, full-width) is an
error for its row, as no MRZ holds them.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.alerts.errors import BuildError
from edge.alerts.listfile import HMAC_KEY_BYTES, REF, Category, Entry, build
from edge.alerts.normalize import (
    birth,
    country_input_ok,
    digest,
    document_keys,
    number_input_ok,
    person_keys,
)

COLUMNS = (
    "category",
    "ref",
    "issuing_country",
    "document_type",
    "document_number",
    "surname",
    "given_names",
    "birth_date",
)
_CATEGORIES = {c.label: c for c in Category}


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV, JSON array or JSON-lines file (by its first non-blank character)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise BuildError(f"{path.name} cannot be read ({reason})") from None
    start = text.lstrip()[:1]
    if start == "[":
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BuildError(f"{path.name}: not valid JSON (line {exc.lineno})") from None
        return [_row(item, n) for n, item in enumerate(loaded, 1)]
    if start == "{":
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(_row(json.loads(line), n))
                except json.JSONDecodeError:
                    raise BuildError(f"{path.name}: line {n} is not a JSON object") from None
        return rows
    reader = csv.DictReader(io.StringIO(text))
    unknown = set(reader.fieldnames or ()) - set(COLUMNS)
    if unknown:
        raise BuildError(f"{path.name}: unknown columns {', '.join(sorted(unknown))}")
    return [_row(row, n) for n, row in enumerate(reader, 2)]


def _row(item: object, n: int) -> dict[str, str]:
    if not isinstance(item, Mapping):
        raise BuildError(f"row {n}: expected an object with the list's columns")
    unknown = set(item) - set(COLUMNS)
    if unknown:
        raise BuildError(f"row {n}: unknown columns {', '.join(sorted(map(str, unknown)))}")
    row = {"_row": str(n)}
    for key, value in item.items():
        if value is None:
            continue
        if not isinstance(value, str | int):
            raise BuildError(f"row {n}: {key} must be text")
        row[str(key)] = str(value).strip()
    return row


def entries_of(rows: Iterable[Mapping[str, str]], hmac_key: bytes) -> list[Entry]:
    """The entries of every row: its document key and each form of its person key."""
    entries: list[Entry] = []
    for index, row in enumerate(rows, 1):
        where = f"row {row.get('_row', index)}"
        category = _CATEGORIES.get(row.get("category", ""))
        if category is None:
            raise BuildError(f"{where}: category must be one of {', '.join(_CATEGORIES)}")
        ref = row.get("ref", "")
        if not REF.match(ref):
            raise BuildError(f"{where}: ref must be 1-64 characters of A-Z a-z 0-9 . _ : / -")
        keys = _keys(row, where)
        entries += [Entry(digest(hmac_key, key), category, ref) for key in keys]
    return entries


def _keys(row: Mapping[str, str], where: str) -> list[str]:
    keys: list[str] = []
    state, kind, number = (
        row.get(c, "") for c in ("issuing_country", "document_type", "document_number")
    )
    if state or kind or number:
        if not country_input_ok(state):
            raise BuildError(f"{where}: issuing_country must be an MRZ code of letters A-Z")
        if not number_input_ok(number):
            raise BuildError(
                f"{where}: document_number must be letters A-Z and digits 0-9 "
                "(spaces, hyphens and fillers are dropped)"
            )
        found = document_keys(state, kind, number)
        if not found:
            raise BuildError(
                f"{where}: issuing_country and document_number go together "
                "(document_type is optional)"
            )
        keys += found
    surname, given, born = (row.get(c, "") for c in ("surname", "given_names", "birth_date"))
    if surname or born:
        if birth(born) is None:
            raise BuildError(
                f"{where}: birth_date must be YYYY-MM-DD, YYYY-MM, YYYY or YYMMDD in digits 0-9"
            )
        forms = person_keys(surname, given, born)
        if not forms:
            raise BuildError(f"{where}: surname has no letter an MRZ can hold")
        keys += forms
    if not keys:
        raise BuildError(f"{where}: neither a document nor a person")
    if not all(key.isascii() for key in keys):
        raise BuildError(f"{where}: holds characters no MRZ can hold")
    return keys


def build_list(
    rows: Iterable[Mapping[str, str]],
    *,
    version: int,
    issued: datetime,
    expires: datetime,
    private_key: Ed25519PrivateKey,
    region: str = "",
) -> tuple[bytes, int]:
    """The signed list file of `rows` under a fresh random HMAC key, and its entry count."""
    hmac_key = os.urandom(HMAC_KEY_BYTES)
    entries = entries_of(rows, hmac_key)
    try:
        data = build(
            entries,
            version=version,
            issued=issued,
            expires=expires,
            hmac_key=hmac_key,
            private_key=private_key,
            region=region,
        )
    except ValueError as exc:
        raise BuildError(str(exc)) from None
    return data, len(entries)
