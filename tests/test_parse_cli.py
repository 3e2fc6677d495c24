"""`midas-edge parse`: stdin documents to JSON lines, exit 0 only when every input is valid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from drivers.sim.driver import IATA_BCBP, ICAO_TD1, ICAO_TD3
from edge.parse import bcbp_inputs, mrz_inputs, vds_inputs


def parse(kind: str, data: bytes, *extra: str) -> tuple[int, list[dict[str, object]]]:
    result = subprocess.run(
        [sys.executable, "-m", "edge", "parse", kind, *extra],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]


def test_mrz_blocks() -> None:
    data = f"{ICAO_TD3}\n\n  \n{ICAO_TD1}\r\n".encode()
    code, results = parse("mrz", data)
    assert code == 0
    assert [r["format"] for r in results] == ["td3", "td1"]
    for result in results:
        assert set(result) == {
            "valid",
            "format",
            "fields",
            "checks",
            "errors",
            "warnings",
            "corrections",
        }


def test_mrz_invalid_and_ocr() -> None:
    broken = ICAO_TD3.replace("7408122F", "74O8122F")
    code, (result,) = parse("mrz", broken.encode())
    assert code == 1
    assert result["valid"] is False
    code, (result,) = parse("mrz", broken.encode(), "--ocr")
    assert code == 0
    assert result["corrections"]


def test_bcbp_lines_and_malformed() -> None:
    code, results = parse("bcbp", f"{IATA_BCBP}\n{IATA_BCBP[:40]}\n".encode())
    assert code == 1
    assert [r["valid"] for r in results] == [True, False]
    errors = results[1]["errors"]
    assert isinstance(errors, list)
    assert errors


def test_vds_hex_and_nothing() -> None:
    code, (result,) = parse("vds", b"DC03 0102\n")
    assert code == 1
    assert result["valid"] is False
    code, results = parse("vds", b"")
    assert code == 1
    assert results == []


def test_unreadable_certificate_store_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edge", "parse", "vds", "--certs", str(tmp_path / "missing")],
        input=b"dc03\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert b"missing" in result.stderr
    assert b"Traceback" not in result.stderr


def test_input_splitting() -> None:
    assert mrz_inputs(b"A\nB\n\nC\n") == [b"A\nB", b"C\n"]
    assert bcbp_inputs(b"M1X  \r\n\nM1Y\n") == [b"M1X  ", b"M1Y"]
    assert vds_inputs(b"\xdc\x03\n\x00") == [b"\xdc\x03\n\x00"]
    assert vds_inputs(b'{\n "a": 1\n}\n') == [b'{\n "a": 1\n}']
    assert vds_inputs(b"dc03\n\ndc02\n") == [b"dc03", b"dc02"]
