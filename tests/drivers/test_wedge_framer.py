"""Wedge keymaps and framer: simulator-typed text decodes back exactly, whatever the chunking."""

from __future__ import annotations

import ctypes
import random
import string

import pytest
from evdev import ecodes
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.framing import Frame, FrameKind
from drivers.testing import feed_all
from drivers.wedge import keymaps
from drivers.wedge.framer import (
    EV_KEY,
    EV_LED,
    EV_SYN,
    EVENT,
    KEY_PRESS,
    KEY_RELEASE,
    KEY_REPEAT,
    LED_CAPSL,
    SYN_DROPPED,
    WedgeFramer,
    pack_event,
)
from drivers.wedge.keymaps import LAYOUT_NAMES, LAYOUTS
from drivers.wedge.sim import WedgeSim
from tests.drivers.support import chunks

MRZ_ALPHABET = string.ascii_uppercase + string.digits + "<"
PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
TD3 = "P<UTOVANTERHOLM<<ANNA<<<<<<<<<<<<<<<<<<<<<<<\nX12345678<UTO8001014F3001012<<<<<<<<<<<<<<04"
TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nQUESTRAL<<ANNA<MARET<<<<<<<<<<"
)


def framer(layout: str = "us", **kw: object) -> WedgeFramer:
    return WedgeFramer(LAYOUTS[layout], **kw)  # type: ignore[arg-type]  # keyword pass-through


def sim(layout: str = "us", **kw: object) -> WedgeSim:
    return WedgeSim(layout=layout, seed=7, **kw)  # type: ignore[arg-type]  # keyword pass-through


def data(frames: list[Frame]) -> list[str]:
    assert all(f.kind is FrameKind.DATA for f in frames), [(f.error, f.detail) for f in frames]
    return [f.payload.decode("utf-8") for f in frames]


def ev(type_: int, code: int, value: int, sec: int = 1_700_000_000, usec: int = 0) -> bytes:
    return pack_event(sec, usec, type_, code, value)


def tap(code: int, usec: int = 0) -> bytes:
    return b"".join(
        ev(t, c, v, usec=usec)
        for t, c, v in ((EV_KEY, code, 1), (EV_SYN, 0, 0), (EV_KEY, code, 0), (EV_SYN, 0, 0))
    )


# -- the record layout and the key codes -----------------------------------------------------


def test_record_is_struct_input_event() -> None:
    class Timeval(ctypes.Structure):
        _fields_ = (("sec", ctypes.c_long), ("usec", ctypes.c_long))

    class InputEvent(ctypes.Structure):
        _fields_ = (
            ("time", Timeval),
            ("type", ctypes.c_uint16),
            ("code", ctypes.c_uint16),
            ("value", ctypes.c_int32),
        )

    native = InputEvent(Timeval(1_700_000_000, 123_456), 1, 30, 1)
    assert EVENT.size == ctypes.sizeof(InputEvent)
    assert pack_event(1_700_000_000, 123_456, 1, 30, 1) == bytes(native)


def test_key_codes_match_the_kernel() -> None:
    names = [n for n in dir(keymaps) if n.startswith("KEY_")]
    assert len(names) > 30
    for name in names:
        assert getattr(keymaps, name) == getattr(ecodes, name), name
    for code, digit in keymaps.KEYPAD_DIGITS.items():
        assert code == getattr(ecodes, f"KEY_KP{digit}")


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
def test_every_layout_types_all_printable_ascii(layout: str) -> None:
    assert set(PRINTABLE) <= LAYOUTS[layout].charset()


def test_the_filler_moves_between_layouts() -> None:
    shift_comma = (ecodes.KEY_COMMA, keymaps.SHIFT)
    assert LAYOUTS["us"].typing("<") == shift_comma
    assert LAYOUTS["uk"].typing("<") == shift_comma
    assert LAYOUTS["de"].typing("<") == (ecodes.KEY_102ND, keymaps.PLAIN)
    assert LAYOUTS["fr"].typing("<") == (ecodes.KEY_102ND, keymaps.PLAIN)
    assert LAYOUTS["uk"].char(ecodes.KEY_102ND, keymaps.PLAIN) == "\\"
    assert LAYOUTS["us"].char(ecodes.KEY_102ND, keymaps.PLAIN) == ""
    assert LAYOUTS["de"].typing("Z") == (ecodes.KEY_Y, keymaps.SHIFT)
    assert LAYOUTS["fr"].typing("1") == (ecodes.KEY_1, keymaps.SHIFT)
    assert LAYOUTS["de"].typing("@") == (ecodes.KEY_Q, keymaps.ALTGR)


# -- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
@pytest.mark.parametrize(
    "style",
    [{}, {"caps_lock": True}, {"keypad_digits": True}, {"repeats": 2}],
    ids=["plain", "caps_lock", "keypad", "repeats"],
)
def test_round_trip_every_layout(layout: str, style: dict[str, object]) -> None:
    mrz = framer(layout)
    assert data(mrz.feed(sim(layout, **style).encode(TD3))) == [TD3.replace("\n", "\r")]
    assert data(mrz.feed(sim(layout, **style).encode(TD1))) == [TD1.replace("\n", "\r")]
    code = framer(layout, lines=1)
    assert data(code.feed(sim(layout, kind="barcode", **style).encode(PRINTABLE))) == [PRINTABLE]
    assert not mrz.pending() and not code.pending()


@settings(max_examples=60, deadline=None)
@given(
    layout=st.sampled_from(LAYOUT_NAMES),
    text=st.text(MRZ_ALPHABET, min_size=1, max_size=90),
    seed=st.integers(0, 2**32 - 1),
)
def test_mrz_alphabet_survives_any_chunking(layout: str, text: str, seed: int) -> None:
    blob = sim(layout, kind="barcode").encode(text)
    frames = feed_all(framer(layout, lines=1), chunks(blob, random.Random(seed)))
    assert data(frames) == [text]
    assert frames[0].raw == blob


@settings(max_examples=40, deadline=None)
@given(layout=st.sampled_from(LAYOUT_NAMES), text=st.text(PRINTABLE, min_size=1, max_size=70))
def test_printable_ascii_round_trips(layout: str, text: str) -> None:
    blob = sim(layout, kind="barcode").encode(text)
    assert data(framer(layout, lines=1).feed(blob)) == [text]


def test_byte_at_a_time_and_two_reads_in_one_feed() -> None:
    device = sim("de")
    blob = device.encode(TD3) + device.encode(TD1)
    frames = feed_all(framer("de"), [blob[i : i + 1] for i in range(len(blob))])
    assert data(frames) == [TD3.replace("\n", "\r"), TD1.replace("\n", "\r")]
    assert b"".join(f.raw for f in frames) == blob


def test_records_split_across_chunks_keep_their_bytes() -> None:
    blob = sim("fr").encode(TD1)
    f = framer("fr")
    # Cut every record in two: 10 bytes, then the other 14 with the next record's first 10.
    pieces = [blob[:10]] + [blob[i : i + 24] for i in range(10, len(blob), 24)]
    frames = [frame for piece in pieces for frame in f.feed(piece)]
    assert data(frames) == [TD1.replace("\n", "\r")]
    assert frames[0].raw == blob


def test_td1_typed_without_separators_is_one_line() -> None:
    blob = sim("us", separators=False).encode(TD1)
    assert data(framer("us").feed(blob)) == [TD1.replace("\n", "")]


def test_lines_per_read_counts_enter_ended_lines() -> None:
    f = framer("us", lines=3)
    device = sim("us", kind="barcode")
    assert f.feed(device.encode("ONE") + device.encode("TWO")) == []
    assert data(f.feed(device.encode("THREE"))) == ["ONE\rTWO\rTHREE"]


# -- what ends a read ------------------------------------------------------------------------


def test_idle_ends_a_read_without_enter_when_configured() -> None:
    blob = sim("us", kind="barcode").encode("M1TEST")
    without_enter = blob[: -4 * EVENT.size]  # drop Enter's press, release and reports
    f = framer("us", lines=1, end_on_idle=True)
    assert f.feed(without_enter) == []
    assert f.pending()
    assert data(f.idle()) == ["M1TEST"]
    assert not f.pending()


def test_idle_before_enter_is_a_truncated_read() -> None:
    blob = sim("us").encode(TD3)
    f = framer("us")
    assert f.feed(blob[: len(blob) // 2]) == []
    (cut,) = f.idle()
    assert cut.kind is FrameKind.ERROR
    assert cut.error in ("truncated", "noise")
    assert cut.raw == blob[: len(blob) // 2]
    assert data(f.feed(sim("us").encode(TD1))) == [TD1.replace("\n", "\r")]


def test_a_pause_in_the_event_timestamps_cuts_a_read() -> None:
    f = framer("us", key_gap=0.05)
    first = sim("us").encode(TD3)
    half = first[: (len(first) // 2 // 24) * 24]
    later = bytearray()
    for i in range(0, len(first), 24):  # the same read typed again a second later
        sec, usec, t, c, v = EVENT.unpack_from(first, i)
        later += pack_event(sec + 1, usec, t, c, v)
    frames = f.feed(half) + f.feed(bytes(later))
    assert [fr.error for fr in frames] == ["truncated", ""]
    assert frames[0].raw == half
    assert data(frames[1:]) == [TD3.replace("\n", "\r")]


def test_the_rest_of_a_read_cut_by_a_stalled_host_is_not_a_read() -> None:
    blob = sim("us", kind="barcode").encode("M1CONTINUED")
    f = framer("us", lines=1, key_gap=0.05)
    cut = (len(blob) // 2 // 24) * 24
    f.feed(blob[:cut])
    assert [fr.error for fr in f.idle()] == ["truncated"]
    assert [fr.error for fr in f.feed(blob[cut:])] == ["truncated"]


def test_enter_alone_is_no_read_and_its_records_go_with_the_next() -> None:
    f = framer("us", lines=1)
    stray = tap(ecodes.KEY_ENTER)
    assert f.feed(stray) == []
    assert not f.pending()
    blob = sim("us", kind="barcode").encode("ABC")
    (frame,) = f.feed(blob)
    assert frame.payload == b"ABC"
    assert frame.raw == stray + blob


def test_a_lost_enter_release_still_ends_the_read() -> None:
    f = framer("us", lines=1)
    press_only = ev(EV_KEY, ecodes.KEY_A, 1) + ev(EV_KEY, ecodes.KEY_A, 0)
    press_only += ev(EV_KEY, ecodes.KEY_ENTER, 1) + ev(EV_SYN, 0, 0)
    assert f.feed(press_only) == []
    (frame,) = f.feed(tap(ecodes.KEY_B))  # the next read starts: the first is complete
    assert frame.payload == b"a"
    assert data(f.feed(tap(ecodes.KEY_ENTER))) == ["b"]


# -- keys --------------------------------------------------------------------------------------


def test_repeat_events_are_ignored() -> None:
    blob = ev(EV_KEY, ecodes.KEY_1, KEY_PRESS) + ev(EV_SYN, 0, 0)
    blob += ev(EV_KEY, ecodes.KEY_1, KEY_REPEAT) + ev(EV_SYN, 0, 1)
    blob += ev(EV_KEY, ecodes.KEY_1, KEY_REPEAT) + ev(EV_SYN, 0, 1)
    blob += ev(EV_KEY, ecodes.KEY_1, KEY_RELEASE) + tap(ecodes.KEY_KPENTER)
    assert data(framer("us", lines=1).feed(blob)) == ["1"]


def test_unmapped_key_is_reported_not_guessed() -> None:
    # A German scanner types the filler on the 102nd key, which a US board does not have.
    blob = sim("de", kind="barcode").encode("AB<<C")
    (frame,) = framer("us", lines=1).feed(blob)
    assert frame.kind is FrameKind.ERROR
    assert frame.error == "unmapped_key"
    assert "<" not in frame.detail and frame.raw == blob


def test_dead_key_followed_by_space_and_by_a_letter() -> None:
    assert data(framer("de", lines=1).feed(sim("de", kind="barcode").encode("^`"))) == ["^`"]
    accent = tap(ecodes.KEY_GRAVE) + tap(ecodes.KEY_E) + tap(ecodes.KEY_ENTER)
    (frame,) = framer("de", lines=1).feed(accent)
    assert frame.error == "dead_key"


def test_caps_lock_inverts_letters_only_and_shift_undoes_it() -> None:
    shift = ecodes.KEY_LEFTSHIFT
    blob = tap(ecodes.KEY_CAPSLOCK) + tap(ecodes.KEY_A) + tap(ecodes.KEY_1)
    blob += ev(EV_KEY, shift, 1) + tap(ecodes.KEY_B) + ev(EV_KEY, shift, 0)
    assert data(framer("us", lines=1).feed(blob + tap(ecodes.KEY_ENTER))) == ["A1b"]


def test_caps_lock_led_at_open_and_in_the_stream() -> None:
    assert data(framer("us", lines=1, caps_lock=True).feed(tap(30) + tap(28))) == ["A"]
    led_off = ev(EV_LED, LED_CAPSL, 0)
    assert data(framer("us", lines=1, caps_lock=True).feed(led_off + tap(30) + tap(28))) == ["a"]


def test_ctrl_types_control_characters() -> None:
    ctrl = ecodes.KEY_LEFTCTRL
    group_separator = ev(EV_KEY, ctrl, 1) + tap(ecodes.KEY_RIGHTBRACE) + ev(EV_KEY, ctrl, 0)
    blob = tap(ecodes.KEY_1) + group_separator + tap(ecodes.KEY_2) + tap(ecodes.KEY_ENTER)
    assert data(framer("us", lines=1).feed(blob)) == ["1\x1d2"]


def test_alt_shortcuts_are_not_text() -> None:
    alt = ecodes.KEY_LEFTALT
    blob = ev(EV_KEY, alt, 1) + tap(ecodes.KEY_F) + ev(EV_KEY, alt, 0) + tap(ecodes.KEY_ENTER)
    assert framer("us", lines=1).feed(blob)[0].error == "unmapped_key"


def test_right_shift_and_altgr() -> None:
    rshift, altgr = ecodes.KEY_RIGHTSHIFT, ecodes.KEY_RIGHTALT
    blob = ev(EV_KEY, rshift, 1) + tap(ecodes.KEY_102ND) + ev(EV_KEY, rshift, 0)
    blob += ev(EV_KEY, altgr, 1) + tap(ecodes.KEY_102ND) + ev(EV_KEY, altgr, 0)
    assert data(framer("de", lines=1).feed(blob + tap(ecodes.KEY_ENTER))) == [">|"]


# -- bad input -------------------------------------------------------------------------------


def test_noise_before_a_read_is_reported_and_the_stream_realigns() -> None:
    rng = random.Random(3)
    for _ in range(50):
        noise = rng.randbytes(rng.randint(1, 40))
        blob = sim("us").encode(TD1)
        frames = feed_all(framer("us"), chunks(noise + blob, rng))
        assert [f.kind for f in frames] == [FrameKind.ERROR, FrameKind.DATA]
        assert frames[0].error == "noise" and frames[0].raw == noise
        assert frames[1].raw == blob


def test_noise_inside_a_read_rejects_it() -> None:
    blob = sim("us").encode(TD3)
    middle = (len(blob) // 2 // 24) * 24
    (frame,) = framer("us").feed(blob[:middle] + b"\xff" * 7 + blob[middle:])
    assert frame.error == "noise"


def test_events_dropped_by_the_kernel_reject_the_read() -> None:
    blob = tap(ecodes.KEY_1) + ev(EV_SYN, SYN_DROPPED, 0) + tap(ecodes.KEY_2) + tap(28)
    assert framer("us", lines=1).feed(blob)[0].error == "dropped"


def test_flood_is_bounded() -> None:
    f = framer("us", lines=1, max_raw=4096)
    flood = tap(ecodes.KEY_A) * 200
    frames = f.feed(flood)
    assert frames and all(fr.error == "overflow" for fr in frames)
    assert all(len(fr.raw) <= 4096 + EVENT.size for fr in frames)
    rest = f.feed(tap(ecodes.KEY_ENTER))
    assert [fr.error for fr in rest] == ["overflow"]
    assert b"".join(fr.raw for fr in frames + rest) == flood + tap(ecodes.KEY_ENTER)
    assert data(f.feed(tap(ecodes.KEY_B) + tap(ecodes.KEY_ENTER))) == ["b"]


def test_reset_forgets_a_partial_read() -> None:
    f = framer("us")
    f.feed(sim("us").encode(TD3)[:500])
    f.reset()
    assert not f.pending()
    assert data(f.feed(sim("us").encode(TD1))) == [TD1.replace("\n", "\r")]


def test_a_pause_releases_modifiers_a_cut_read_left_held() -> None:
    f = framer("us", lines=1, key_gap=0.05)
    held = ev(EV_KEY, ecodes.KEY_LEFTSHIFT, 1) + ev(EV_KEY, ecodes.KEY_A, 1)  # reset mid-char
    assert f.feed(held) == []
    later = sim("us", kind="barcode").encode("ok")  # typed now, years after the fixed stamps
    frames = f.feed(later)
    assert [fr.error for fr in frames] == ["truncated", ""]
    assert frames[1].payload == b"ok"


def test_noise_flood_inside_a_read_is_bounded() -> None:
    f = framer("us", lines=1, max_raw=4096)
    f.feed(tap(ecodes.KEY_A))
    frames = [fr for _ in range(20) for fr in f.feed(b"\xff" * 1000)]
    assert frames and all(fr.error == "overflow" for fr in frames)
    assert all(len(fr.raw) <= 4096 + 1000 for fr in frames)
