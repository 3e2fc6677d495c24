"""HID POS framer: exact reports, multi-report reads, bad reports, cut reads, replies."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.framing import FrameKind
from drivers.hidpos.framer import (
    REPORT_SIZE,
    HidPosFramer,
    command_reports,
    input_reports,
    trigger_report,
)
from drivers.testing import feed_all
from edge.documents.bcbp_gen import random_bcbp

PASS = random_bcbp(random.Random(5), scan_date=date(2026, 3, 1), legs=2).encode("ascii")
SEAL = bytes([0xDC]) + bytes(range(256)) * 2


def test_report_layout_matches_the_manual() -> None:
    reports = input_reports(PASS[:60], aim=b"]Q0", code_id=ord("s"))
    assert len(reports) == 2 * REPORT_SIZE
    first, second = reports[:64], reports[64:]
    assert first[0] == 2 and first[1] == 56 and first[2:5] == b"]Q0"
    assert first[5:61] == PASS[:56]
    assert first[61] == ord("s") and first[62] == 0 and first[63] == 1
    assert second[1] == 4 and second[5:9] == PASS[56:60] and second[63] == 0
    assert second[9:61] == bytes(52)  # unused bytes are zero


@pytest.mark.parametrize("payload", [b"", b"1", PASS, SEAL], ids=["empty", "one", "pass", "seal"])
def test_one_read(payload: bytes) -> None:
    reports = input_reports(payload, aim=b"]d7")
    (frame,) = feed_all(HidPosFramer(), [reports])
    assert frame.kind is FrameKind.DATA
    assert frame.raw == reports
    assert frame.payload == payload
    assert frame.fields == {"aim": "]d7", "symbology": "datamatrix"}


@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_any_chunking_and_two_reads_in_one_write(data: st.DataObject) -> None:
    a = input_reports(PASS, aim=b"]L2")
    b = input_reports(b"0123456789", aim=b"]C0", code_id=ord("j"))
    stream = a + b
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[x:y] for x, y in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    frames = feed_all(HidPosFramer(), chunks)
    assert [f.raw for f in frames] == [a, b]
    assert [f.payload for f in frames] == [PASS, b"0123456789"]
    assert frames[1].fields["code_id"] == "j"


def test_honeywell_code_id_when_no_aim_id() -> None:
    (frame,) = HidPosFramer().feed(input_reports(b"x", code_id=ord("r")))
    assert frame.fields == {"code_id": "r", "symbology": "pdf417"}


def test_bad_length_and_bad_report_id_are_errors_and_the_next_read_is_kept() -> None:
    framer = HidPosFramer()
    bad = bytes([2, 57]) + bytes(62)
    other = bytes([3]) + bytes(63)
    good = input_reports(b"ok", aim=b"]Q1")
    frames = framer.feed(bad + other + good)
    assert [(f.kind, f.error) for f in frames] == [
        (FrameKind.ERROR, "bad_length"),
        (FrameKind.ERROR, "bad_report"),
        (FrameKind.DATA, ""),
    ]
    assert frames[0].raw == bad and frames[2].raw == good


def test_bad_report_inside_a_multi_report_read_drops_the_partial_read() -> None:
    reports = input_reports(PASS, aim=b"]Q1")
    framer = HidPosFramer()
    (frame,) = framer.feed(reports[:64] + bytes([2, 99]) + bytes(62))
    assert frame.error == "bad_length"
    assert frame.raw[:64] == reports[:64]
    assert not framer.pending()


def test_a_continuation_that_never_ends_is_truncated_on_idle() -> None:
    framer = HidPosFramer()
    reports = input_reports(PASS, aim=b"]Q1")
    assert framer.feed(reports[:64]) == []
    assert framer.pending()
    (frame,) = framer.idle()
    assert frame.error == "truncated"
    assert frame.raw == reports[:64]
    assert framer.idle() == []
    assert framer.feed(b"\x02\x05") == []
    assert framer.idle()[0].error == "truncated"


def test_flood_of_continuations_overflows() -> None:
    framer = HidPosFramer(max_frame=256)
    more = bytearray(input_reports(b"x" * 56, aim=b"]Q1"))
    more[63] = 1
    frames = framer.feed(bytes(more) * 5)
    assert [f.error for f in frames] == ["overflow"]


def test_menu_reply_has_an_empty_aim_id() -> None:
    framer = HidPosFramer()
    (frame,) = framer.feed(input_reports(b"BEPLVL1\x06!"))
    assert frame.kind is FrameKind.REPLY
    assert frame.fields["status"] == "ack"
    # The same bytes as a barcode (with an AIM id) are a read.
    (read,) = framer.feed(input_reports(b"BEPLVL1\x06!", aim=b"]C0"))
    assert read.kind is FrameKind.DATA


def test_output_reports() -> None:
    assert trigger_report(0x04) == b"\x04\x04"
    long = b"\x16M\r" + b"A" * 70 + b"!"
    reports = command_reports(long)
    assert [len(r) for r in reports] == [64, 64]
    assert reports[0][:2] == b"\xfd\x3e" and reports[1][1] == len(long) - 62
    assert b"".join(r[2 : 2 + r[1]] for r in reports) == long
