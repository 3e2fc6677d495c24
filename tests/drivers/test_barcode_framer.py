"""Serial barcode framer: every option, any chunking, noise, cut reads, replies, binary data."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.barcode.framer import BarcodeFramer, encode, reply_start
from drivers.framing import Frame, FrameKind
from drivers.testing import feed_all
from edge.documents.bcbp_gen import random_bcbp

PASS = random_bcbp(random.Random(7), scan_date=date(2026, 3, 1), legs=2).encode("ascii")
SEAL = bytes([0xDC, 0x03, 0x0D, 0x0A, 0x02, 0x03]) + bytes(range(256))  # CR, LF, STX, ETX inside

CONFIGS = {
    "aim-cr": ({"code_id_mode": "aim", "terminator": b"\r"}, b"", b"]Q1"),
    "aim-crlf-prefix": (
        {"prefix": b"\x02", "code_id_mode": "aim", "terminator": b"\r\n"},
        b"\x02",
        b"]L2",
    ),
    "honeywell-etx": ({"code_id_mode": "honeywell", "terminator": b"\x03"}, b"", b"r"),
    "none-lf": ({"code_id_mode": "none", "terminator": b"\n"}, b"", b""),
    "custom": ({"prefix": b"<<", "code_id_mode": "aim", "terminator": b"#END#"}, b"<<", b"]z0"),
}


def framer_for(name: str) -> tuple[BarcodeFramer, bytes, bytes, bytes]:
    kwargs, prefix, code_id = CONFIGS[name]
    framer = BarcodeFramer(**kwargs)  # type: ignore[arg-type]  # a table of keyword sets
    return framer, prefix, code_id, framer.terminator


def data_of(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.kind is FrameKind.DATA]


@pytest.mark.parametrize("name", CONFIGS)
def test_one_read_whole_and_byte_at_a_time(name: str) -> None:
    framer, prefix, code_id, terminator = framer_for(name)
    message = encode(PASS, prefix=prefix, code_id=code_id, terminator=terminator)
    (whole,) = feed_all(framer, [message])
    assert whole.kind is FrameKind.DATA
    assert whole.raw == message
    assert whole.payload == PASS
    frames = feed_all(framer, [bytes([b]) for b in message])
    assert frames == [whole]


@pytest.mark.parametrize("name", CONFIGS)
@given(data=st.data())
@settings(max_examples=40, deadline=None)
def test_random_chunks_and_two_reads_in_one_write(name: str, data: st.DataObject) -> None:
    framer, prefix, code_id, terminator = framer_for(name)
    first = encode(PASS, prefix=prefix, code_id=code_id, terminator=terminator)
    second = encode(b"0123456789", prefix=prefix, code_id=code_id, terminator=terminator)
    stream = first + second
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    frames = feed_all(framer, chunks)
    assert [f.raw for f in frames] == [first, second]
    assert [f.payload for f in frames] == [PASS, b"0123456789"]


def test_aim_symbology_keys_on_the_code_character() -> None:
    framer = BarcodeFramer(code_id_mode="aim")
    frames = feed_all(framer, [b"]Q0abc\r]Q1abc\r]L2abc\r]d7abc\r]z0abc\r]C0abc\r]Y9abc\r"])
    assert [f.fields["symbology"] for f in frames] == [
        "qr",
        "qr",
        "pdf417",
        "datamatrix",
        "aztec",
        "code128",
        "unknown",
    ]
    assert frames[1].fields["aim"] == "]Q1"


def test_honeywell_code_id() -> None:
    framer = BarcodeFramer(code_id_mode="honeywell", terminator=b"\r")
    (frame,) = feed_all(framer, [b"rM1DATA\r"])
    assert frame.fields == {"code_id": "r", "symbology": "pdf417"}
    assert frame.payload == b"M1DATA"


def test_noise_before_a_read_is_an_error_frame() -> None:
    framer = BarcodeFramer(prefix=b"\x02", terminator=b"\r")
    frames = feed_all(framer, [b"\xff\x00junk", b"\x02]Q1data\r"])
    assert [f.kind for f in frames] == [FrameKind.ERROR, FrameKind.DATA]
    assert frames[0].error == "noise"
    assert frames[0].raw == b"\xff\x00junk"
    assert b"junk" not in frames[0].detail.encode()  # never quotes the bytes
    # Without a prefix the AIM id marks where a read starts.
    aim = BarcodeFramer(code_id_mode="aim")
    frames = feed_all(aim, [b"xx\r\x01", b"]C0123\r"])
    assert [f.kind for f in frames] == [FrameKind.ERROR, FrameKind.DATA]
    assert frames[1].raw == b"]C0123\r"


def test_bad_code_id_is_an_error_frame() -> None:
    framer = BarcodeFramer(prefix=b"\x02", code_id_mode="honeywell", terminator=b"\r")
    (frame,) = feed_all(framer, [b"\x02\x01data\r"])
    assert frame.kind is FrameKind.ERROR
    assert frame.raw == b"\x02\x01data\r"  # a prefix without a code id starts no read


def test_cut_read_followed_by_a_new_one() -> None:
    framer = BarcodeFramer(prefix=b"\x02", code_id_mode="aim", terminator=b"\r")
    frames = framer.feed(b"\x02]Q1half of it")
    frames += framer.feed(b"\x02]Q1whole\r")
    assert [f.kind for f in frames] == [FrameKind.ERROR, FrameKind.DATA]
    assert frames[0].error == "truncated"
    assert frames[1].raw == b"\x02]Q1whole\r"


def test_silence_before_the_terminator_is_a_truncated_read() -> None:
    framer = BarcodeFramer(code_id_mode="aim", terminator=b"\r\n")
    assert framer.feed(b"]Q1abc\r") == []
    assert framer.pending()
    (frame,) = framer.idle()
    assert frame.error == "truncated"
    assert not framer.pending()


def test_no_terminator_silence_ends_the_read_and_prefix_separates_reads() -> None:
    framer = BarcodeFramer(prefix=b"\x02", code_id_mode="aim", terminator=b"")
    frames = framer.feed(b"\x02]Q1one\x02]Q1two")
    assert [f.payload for f in frames] == [b"one"]
    assert [f.payload for f in framer.idle()] == [b"two"]


def test_binary_seal_passes_unchanged_without_terminator() -> None:
    framer = BarcodeFramer(code_id_mode="none", terminator=b"")
    frames = feed_all(framer, [SEAL[:7], SEAL[7:100], SEAL[100:]])
    assert [f.payload for f in frames] == [SEAL]
    aim = BarcodeFramer(code_id_mode="aim", terminator=b"")
    (frame,) = feed_all(aim, [b"]d7" + SEAL])
    assert frame.payload == SEAL
    assert frame.fields["symbology"] == "datamatrix"


def test_binary_seal_with_a_colliding_terminator_is_split() -> None:
    # The documented limit: a CR inside binary data ends the read early.
    framer = BarcodeFramer(code_id_mode="none", terminator=b"\r")
    frames = feed_all(framer, [SEAL + b"\r"])
    assert frames[0].payload != SEAL
    assert b"".join(f.raw for f in frames) == SEAL + b"\r"


def test_flood_overflows() -> None:
    framer = BarcodeFramer(prefix=b"\x02", terminator=b"\r", max_frame=100)
    frames = framer.feed(b"x" * 150)
    assert [f.error for f in frames] == ["overflow"]
    frames = framer.feed(b"\x02]Q1" + b"y" * 150)
    assert [f.error for f in frames] == ["overflow"]
    assert not framer.pending()
    assert [f.payload for f in framer.feed(b"\x02]Q1ok\r")] == [b"ok"]


def test_reset_forgets_a_partial_read() -> None:
    framer = BarcodeFramer()
    framer.feed(b"]Q1part")
    framer.reset()
    assert not framer.pending()
    assert [f.payload for f in framer.feed(b"]Q1new\r")] == [b"new"]


def test_menu_reply_only_when_awaited() -> None:
    framer = BarcodeFramer(code_id_mode="none", terminator=b"\r")
    framer.expect_reply = True
    frames = feed_all(framer, [bytes([b]) for b in b"BEPLVL3\x06!"])
    assert [(f.kind, f.fields.get("status")) for f in frames] == [(FrameKind.REPLY, "ack")]
    frames = framer.feed(b"BEPLVL9\x15;TRGMOD\x05;BEPBEP1\x06.")
    assert frames[0].fields["status"] == "nak"
    assert frames[0].payload == b"BEPLVL9,TRGMOD,BEPBEP1"
    # A read arriving while a reply is awaited is still a read.
    assert [f.kind for f in framer.feed(b"ABC123\r")] == [FrameKind.DATA]
    framer.expect_reply = False
    assert [f.kind for f in framer.feed(b"BEPLVL3\x06!\r")] == [FrameKind.DATA]


def test_reply_start() -> None:
    assert reply_start(b"\x16M\rBEPLVL3\x06.") == 12
    assert reply_start(b"BEPLVL3\x06!]Q1abc\r") == 9
    assert reply_start(b"\x16M\rBEP") is None
    assert reply_start(b"]Q1BEPLVL3\x06.") is None
    assert reply_start(b"\x06.") is None
