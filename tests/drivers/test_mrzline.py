"""mrz-line: framer properties (shapes, separators, row gaps, noise, replies), conformance."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.framing import Frame, FrameKind
from drivers.mrzline.driver import MrzLineDriver
from drivers.mrzline.framer import MAX_BUFFER, SEPARATORS, MrzLineFramer, encode
from drivers.mrzline.sim import HoneywellOcrSim
from drivers.testing import CHECKS, Case, Check, check_names, feed_all
from edge.documents.mrz_gen import FORMATS, random_mrz
from tests.drivers.support import chunks, expect_document

RNG = random.Random(9303)
DOCS = {fmt: random_mrz(RNG, fmt) for fmt in FORMATS}
SAMPLES = [DOCS["td3"], DOCS["td1"], DOCS["td2"], DOCS["mrva"], DOCS["fra_id"], DOCS["mrvb"]]
ACK_REPLY = b"TRGMOD0\x06."


def frame_of(mrz: str, sep: bytes = b"\r", prefix: bytes = b"", suffix: bytes = b"") -> bytes:
    return encode(mrz.splitlines(), separator=sep, prefix=prefix, suffix=suffix)


def kinds(frames: list[Frame]) -> list[tuple[str, str]]:
    return [(f.kind.value, f.error or f.fields.get("shape") or f.fields["status"]) for f in frames]


# -- framer ------------------------------------------------------------------------------------


def test_every_format_is_read_the_moment_it_is_complete() -> None:
    shapes = {"td1": "3x30", "td2": "2x36", "td3": "2x44", "mrva": "2x44", "mrvb": "2x36"}
    framer = MrzLineFramer()
    for fmt, mrz in DOCS.items():
        raw = frame_of(mrz)
        out = [f for byte in raw for f in framer.feed(bytes([byte]))]
        (frame,) = out
        assert frame.kind is FrameKind.DATA and frame.raw == raw
        assert frame.payload.decode().split("\r") == mrz.splitlines()
        assert frame.fields["shape"] == shapes.get(fmt, "2x36")
        assert not framer.pending()  # no idle needed: there is no trailer to wait for
    assert len(frame_of(DOCS["td3"])) == 89
    assert len(frame_of(DOCS["td1"])) == 92


@pytest.mark.parametrize("sep", list(SEPARATORS.values()), ids=list(SEPARATORS))
@pytest.mark.parametrize(("prefix", "suffix"), [(b"", b""), (b"\x02", b"\r\n"), (b"OCR:", b"\x03")])
def test_separators_prefix_and_suffix(sep: bytes, prefix: bytes, suffix: bytes) -> None:
    framer = MrzLineFramer(separator=sep, prefix=prefix, suffix=suffix)
    raws = [frame_of(m, sep, prefix, suffix) for m in SAMPLES]
    out = framer.feed(b"".join(raws))
    assert [f.raw for f in out] == raws
    assert [f.payload for f in out] == [sep.join(m.encode().splitlines()) for m in SAMPLES]


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), noise=st.binary(min_size=1, max_size=30))
def test_any_chunking_with_noise_before(seed: int, noise: bytes) -> None:
    rng = random.Random(seed)
    docs = rng.sample(SAMPLES, 2)
    raws = [frame_of(d) for d in docs]
    out = feed_all(MrzLineFramer(), chunks(noise + raws[0] + raws[1], rng))
    data = [f for f in out if f.kind is FrameKind.DATA]
    errors = [f for f in out if f.kind is FrameKind.ERROR]
    assert [f.raw for f in data] == raws
    assert b"".join(e.raw for e in errors) + b"".join(f.raw for f in data) == noise + b"".join(raws)
    assert errors


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32), cut=st.integers(1, 200))
def test_a_read_cut_inside_a_row_then_a_whole_one(seed: int, cut: int) -> None:
    rng = random.Random(seed)
    first, second = (frame_of(d) for d in rng.sample(SAMPLES, 2))
    # Cut inside a row: rows come whole, so the silence after it ends the read at once.
    rows = first.split(b"\r")
    inside = [
        sum(len(r) + 1 for r in rows[:n]) + at
        for n, row in enumerate(rows)
        for at in range(1, len(row))
    ]
    part = first[: inside[cut % len(inside)]]
    framer = MrzLineFramer(gap_idles=5)
    out = feed_all(framer, chunks(part, rng)) + feed_all(framer, chunks(second, rng))
    assert kinds(out) == [("error", "truncated"), ("data", out[-1].fields["shape"])]
    assert [f.raw for f in out] == [part, second]


def test_rows_sent_separately_are_joined_across_quiet_periods() -> None:
    td3, td1 = frame_of(DOCS["td3"]), frame_of(DOCS["td1"])
    framer = MrzLineFramer(gap_idles=3)
    assert framer.feed(td3[:45]) == []  # row 1 and its separator
    assert framer.idle() == [] and framer.idle() == []
    assert kinds(framer.feed(td3[45:])) == [("data", "2x44")]
    assert framer.feed(td1[:30]) == []  # row 1 without its separator yet
    assert framer.idle() == []
    assert framer.feed(td1[30:62]) == []
    assert framer.idle() == [] and framer.idle() == []
    assert [f.raw for f in framer.feed(td1[62:])] == [td1]


def test_a_row_that_never_comes_is_reported_after_the_gap() -> None:
    td1 = frame_of(DOCS["td1"])
    framer = MrzLineFramer(gap_idles=2)
    assert framer.feed(td1[:62]) == []
    assert framer.idle() == [] and framer.idle() == []
    (cut,) = framer.idle()
    assert cut.error == "truncated" and cut.raw == td1[:62]
    assert DOCS["td1"][:10] not in cut.detail
    assert not framer.pending()


def test_a_td3_is_not_cut_short_at_36_characters() -> None:
    td3, td2 = frame_of(DOCS["td3"]), frame_of(DOCS["td2"])
    framer = MrzLineFramer(gap_idles=0)
    # 44 + CR + 36: a TD2 shape by length, but the first row is a TD3 row: wait for more.
    assert framer.feed(td3[:81]) == []
    assert [f.raw for f in framer.feed(td3[81:])] == [td3]
    # A TD2 whose first row has MRZ characters glued before it reads only at silence ...
    assert framer.feed(b"AB" + td2) == []
    assert kinds(framer.idle()) == [("error", "truncated"), ("data", "2x36")]
    # ... and never when they make a 44-character row: that is a TD3 missing its end.
    assert framer.feed(b"ABCDEFGH" + td2) == []
    assert kinds(framer.idle()) == [("error", "truncated")]
    # Once the next read shows the second row is not a TD3 row, the TD2 is read at once.
    # (Eight glued characters and a TD2 followed by more rows are a TD3 by shape: only the
    # check digits can tell, and that is the parser's job.)
    out = framer.feed(b"AB" + td2 + td3)
    assert kinds(out) == [("error", "truncated"), ("data", "2x36"), ("data", "2x44")]
    assert [f.raw for f in out] == [b"AB", td2, td3]
    out = framer.feed(b"7" + td2 + b"\xff" + td3)
    assert [f.raw for f in out] == [b"7", td2, b"\xff", td3]


def test_a_three_line_read_is_not_cut_after_two_lines() -> None:
    td1 = frame_of(DOCS["td1"])
    framer = MrzLineFramer()
    assert framer.feed(td1[:61]) == []  # two 30-character rows: not an MRZ shape yet
    assert framer.feed(td1[61:-1]) == []
    assert [f.raw for f in framer.feed(td1[-1:])] == [td1]


def test_characters_outside_the_mrz_alphabet_are_noise_never_a_read() -> None:
    bad = bytearray(frame_of(DOCS["td3"]))
    bad[50] = ord("a")
    good = frame_of(DOCS["td1"])
    framer = MrzLineFramer(gap_idles=0)
    out = framer.feed(bytes(bad)) + framer.idle() + framer.feed(good)
    assert kinds(out) == [("error", "noise"), ("data", "3x30")]
    assert out[0].raw == bytes(bad)
    assert DOCS["td3"][:10] not in out[0].detail


def test_flood_is_bounded() -> None:
    framer = MrzLineFramer()
    out = framer.feed(b"<" * (MAX_BUFFER + 10))
    assert [f.error for f in out] == ["overflow"]
    assert framer.feed(frame_of(DOCS["td3"]))[-1].kind is FrameKind.DATA


def test_replies_are_separated_from_reads() -> None:
    td3 = frame_of(DOCS["td3"])
    framer = MrzLineFramer()
    out = framer.feed(ACK_REPLY + td3 + b"\x16M\rOCRENA1\x06;ALLENA2\x15!" + td3)
    assert kinds(out) == [("reply", "ack"), ("data", "2x44"), ("reply", "nak"), ("data", "2x44")]
    assert out[0].raw == ACK_REPLY and out[0].fields["echo"] == "TRGMOD0"
    # A reply arriving while a read waits for its next row leaves the read whole.
    out = framer.feed(td3[:45] + b"REVXXX\x05." + td3[45:])
    assert kinds(out) == [("reply", "enq"), ("data", "2x44")]
    assert out[1].raw == td3
    # A lone status byte and terminator in noise is not a reply.
    assert kinds(framer.feed(b"\xff\x06.") + framer.idle()) == [("error", "noise")]


def test_framer_rejects_an_unknown_separator() -> None:
    with pytest.raises(ValueError, match="separator"):
        MrzLineFramer(separator=b";")


# -- driver + simulator ------------------------------------------------------------------------


def _case(**sim_options: Any) -> Case:
    return Case(
        driver=MrzLineDriver,
        make_sim=lambda d: HoneywellOcrSim(link=d / "ocr0", seed=11, **sim_options),
        samples=SAMPLES,
        expect=expect_document(source="ocr"),
    )


CASES = {
    "cr": _case(),
    "crlf-prefix-suffix": _case(separator="CRLF", prefix=b"\x02", suffix=b"\r\n"),
    "lf-row-gap": _case(separator="LF", row_gap=0.03),
}


@pytest.mark.parametrize("check", CHECKS, ids=check_names())
@pytest.mark.parametrize("variant", list(CASES))
async def test_conformance(variant: str, check: Check, tmp_path: Path) -> None:
    await check(CASES[variant], tmp_path)


def test_options_are_checked() -> None:
    MrzLineDriver.validate_options(
        {"separator": "CRLF", "prefix": "\\x02", "configure": ["OCRENA1!", "TRGMOD0"]}
    )
    MrzLineDriver.validate_options({"configure": "ALLENA0! OCRENA1!", "trigger_mode": "manual"})
    with pytest.raises(ValueError, match="separator"):
        MrzLineDriver.validate_options({"separator": "TAB"})
    with pytest.raises(ValueError, match="trigger_mode"):
        MrzLineDriver.validate_options({"trigger_mode": "sometimes"})
    with pytest.raises(ValueError, match="configure"):
        MrzLineDriver.validate_options({"configure": ["OCR ENA1"]})
    with pytest.raises(ValueError, match="configure"):
        MrzLineDriver.validate_options({"configure": 5})
    with pytest.raises(ValueError, match="prefix"):
        MrzLineDriver.validate_options({"prefix": "\\x"})
    driver = MrzLineDriver("/dev/null", {})
    settings_ = driver.serial_settings()
    assert (settings_.baudrate, settings_.bytesize, settings_.parity) == (115200, 8, "N")
    assert MrzLineDriver("/dev/null", {"baudrate": 9600}).serial_settings().baudrate == 9600
