"""`midas-edge parse mrz|bcbp|vds`: documents on stdin, one JSON result per document on stdout."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TextIO

import msgspec

from edge.documents.bcbp import parse_bcbp
from edge.documents.certstore import CertificateStore
from edge.documents.mrz import parse_mrz
from edge.documents.result import ParseResult
from edge.documents.vds import parse_seal

_BLANK_LINE = re.compile(r"\r?\n[ \t]*\r?\n")
_encoder = msgspec.json.Encoder()


def mrz_inputs(data: bytes) -> list[bytes]:
    """One MRZ per block of lines; blocks are separated by a blank line."""
    text = data.replace(b"\r\n", b"\n")
    return [block for block in re.split(rb"\n[ \t]*\n", text) if block.strip()]


def bcbp_inputs(data: bytes) -> list[bytes]:
    """One boarding pass per line; trailing spaces are part of the pass and are kept."""
    return [line.rstrip(b"\r") for line in data.split(b"\n") if line.strip()]


def vds_inputs(data: bytes) -> list[bytes]:
    """Raw seal bytes (one seal), one JSON VDS-NC document, or hex / JSON one per line."""
    if data[:1] == b"\xdc":
        return [data]
    stripped = data.strip()
    if stripped.startswith(b"{"):
        try:
            json.loads(stripped)
        except ValueError:
            pass
        else:
            return [stripped]
    return [line.strip() for line in data.split(b"\n") if line.strip()]


def run(
    kind: str,
    stdin: BinaryIO,
    stdout: TextIO,
    *,
    ocr: bool = False,
    certs_dir: Path | None = None,
) -> int:
    """Parse every document on stdin; 0 when all are valid, 1 otherwise (or when none)."""
    data = stdin.read()
    today = datetime.now(UTC).date()
    parser: Callable[[bytes], ParseResult]
    inputs: Iterable[bytes]
    if kind == "mrz":
        inputs = mrz_inputs(data)
        parser = lambda item: parse_mrz(item, ocr=ocr, today=today)  # noqa: E731  # local binding
    elif kind == "bcbp":
        inputs = bcbp_inputs(data)
        parser = lambda item: parse_bcbp(item, scan_date=today)  # noqa: E731  # local binding
    else:
        certs = CertificateStore.from_dir(certs_dir) if certs_dir else None
        inputs = vds_inputs(data)
        parser = lambda item: parse_seal(item, certs=certs)  # noqa: E731  # local binding
    all_valid = True
    count = 0
    for item in inputs:
        result = parser(item)
        count += 1
        all_valid = all_valid and result.valid
        stdout.write(_encoder.encode(result).decode() + "\n")
    return 0 if all_valid and count else 1
