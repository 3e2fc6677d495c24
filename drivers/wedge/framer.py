"""Keyboard-wedge framing: `struct input_event` records → key presses → text lines → reads.

An evdev node (and the simulator's pty or socket) yields `struct input_event` records:
timeval (two native longs), u16 type, u16 code, s32 value, 24 bytes on 64-bit Linux. The
framer rebuilds records across chunk boundaries, skips bytes that cannot be records (noise)
until the stream is aligned again, and runs the keyboard state machine of the scanner's
layout: shift (left or right), AltGr, Caps Lock (letters only, as xkb), Ctrl (control
characters), dead keys followed by space, keypad digits; auto-repeat (value 2) is ignored.

A line ends at Enter; a read is `lines` lines (0: as many as the first line's length says in
ICAO 9303 — 30 characters: 3 lines, 36 or 44: 2, anything else: 1). The read's frame closes at
the report after Enter's release, so it holds every record the device sent for it. Silence
before the end is a truncated read, unless `end_on_idle` (a scanner with no suffix): then it
ends the read. A pause longer than `key_gap` in the records' own timestamps (the device's
clock, immune to a stalled host) ends or cuts a read too. A key the layout lacks, an accent key
followed by a letter, noise or events the kernel dropped inside a read make the whole read an
ERROR frame: nothing is guessed.
"""

from __future__ import annotations

import struct

from drivers.framing import Frame, FrameKind, error_frame
from drivers.wedge.keymaps import (
    ALTGR,
    CTRL_KEYS,
    ENTER_KEYS,
    KEY_CAPSLOCK,
    KEY_NUMLOCK,
    KEY_RIGHTALT,
    LEVEL_NAMES,
    PLAIN,
    SHIFT,
    SHIFT_KEYS,
    SHORTCUT_KEYS,
    Layout,
)

EVENT = struct.Struct("@llHHi")  # struct input_event, native sizes and byte order
EV_SYN, EV_KEY, EV_REL, EV_ABS, EV_MSC, EV_SW, EV_LED, EV_SND, EV_REP = (
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x11, 0x12, 0x14,
)  # fmt: skip
SYN_REPORT, SYN_DROPPED = 0, 3
LED_CAPSL = 1
KEY_RELEASE, KEY_PRESS, KEY_REPEAT = 0, 1, 2
# Highest code of each event type (linux/input-event-codes.h); other types are not records.
_CODE_MAX = {
    EV_SYN: 0x0F, EV_KEY: 0x2FF, EV_REL: 0x0F, EV_ABS: 0x3F, EV_MSC: 0x07,
    EV_SW: 0x10, EV_LED: 0x0F, EV_SND: 0x07, EV_REP: 0x01,
}  # fmt: skip
# The longest 2D barcode typed with a modifier around every character stays far below these.
MAX_RAW = 1 << 20
MAX_CHARS = 8192
MRZ_LINES = {30: 3, 36: 2, 44: 2}
_NOT_STARTED, _WAIT_RELEASE, _WAIT_REPORT = 0, 1, 2


def plausible(sec: int, usec: int, type_: int, code: int, value: int) -> bool:
    """Whether the fields can be a real input_event (noise and misaligned bytes are not)."""
    limit = _CODE_MAX.get(type_)
    if limit is None or code > limit or sec < 0 or not 0 <= usec < 1_000_000:
        return False
    if type_ == EV_SYN:
        return value in (0, 1)  # the kernel's sync after auto-repeat carries 1
    if type_ == EV_KEY:
        return value in (KEY_RELEASE, KEY_PRESS, KEY_REPEAT)
    return value in (0, 1) if type_ == EV_LED else True


def pack_event(sec: int, usec: int, type_: int, code: int, value: int) -> bytes:
    return EVENT.pack(sec, usec, type_, code, value)


class WedgeFramer:
    """input_event bytes → one DATA frame per read (lines joined by CR, UTF-8), raw kept."""

    def __init__(
        self,
        layout: Layout,
        *,
        lines: int = 0,
        end_on_idle: bool = False,
        caps_lock: bool = False,
        max_raw: int = MAX_RAW,
        max_chars: int = MAX_CHARS,
        key_gap: float = 0.0,
    ) -> None:
        if lines < 0:
            raise ValueError("lines: expected 0 (from the MRZ line length) or more")
        self.layout = layout
        self.lines = lines
        self.end_on_idle = end_on_idle
        self.initial_caps = caps_lock
        self.max_raw = max_raw
        self.max_chars = max_chars
        self.key_gap_us = round(key_gap * 1_000_000)  # 0: no limit
        self._last_us: int | None = None  # the previous record's own timestamp
        self._cut_at: int | None = None  # the last record of a read that silence cut
        self._buf = bytearray()  # bytes not yet decoded: a partial record or skipped noise
        self._noise = bytearray()
        self._raw = bytearray()  # records of the read in progress (and stray ones before it)
        self._lines: list[tuple[str, int]] = []  # (text, key presses) of each ended line
        self._line: list[str] = []
        self._presses = 0
        self._chars = 0
        self._started = False
        self._problem: tuple[str, str] | None = None
        self._state = _NOT_STARTED
        self._dead = ""
        self._shift: set[int] = set()
        self._ctrl: set[int] = set()
        self._shortcut: set[int] = set()
        self._altgr = False
        self._caps = caps_lock

    # -- the Framer protocol ---------------------------------------------------------------

    def reset(self) -> None:
        self._buf.clear()
        self._noise.clear()
        self._raw.clear()
        self._caps = self.initial_caps
        self._release_keys()
        self._new_read()

    def pending(self) -> bool:
        return bool(self._buf or self._noise or self._started)

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        buf = self._buf
        buf += data
        while len(buf) >= EVENT.size:
            fields = EVENT.unpack_from(buf)
            if not plausible(*fields):
                self._skip_noise()
                continue
            record = bytes(buf[: EVENT.size])
            del buf[: EVENT.size]
            if self._noise:
                self._flush_noise(out)
            self._timing(fields[0] * 1_000_000 + fields[1], out)
            self._record(record, fields[2], fields[3], fields[4], out)
        if len(self._noise) > self.max_raw:
            self._flush_noise(out)
        return out

    def idle(self) -> list[Frame]:
        out: list[Frame] = []
        if self._buf:
            self._noise += self._buf  # a record cut short: as good as noise
            self._buf.clear()
        if self._noise:
            self._flush_noise(out)
        # Nothing is held down through a silence: a scanner that reset let go of its keys.
        self._release_keys()
        if not self._started:
            return out
        if self._state == _NOT_STARTED and not self._problem:
            if self.end_on_idle:
                self._end_line()
            else:
                self._fail("truncated", f"a read stopped after {len(self._lines)} complete lines")
            self._cut_at = self._last_us
        self._emit(out)
        return out

    # -- records ---------------------------------------------------------------------------

    def _skip_noise(self) -> None:
        buf = self._buf
        for start in range(1, len(buf) - EVENT.size + 1):
            if plausible(*EVENT.unpack_from(buf, start)):
                break
        else:
            start = len(buf) - EVENT.size + 1  # the tail may still begin a record
        self._noise += buf[:start]
        del buf[:start]

    def _flush_noise(self, out: list[Frame]) -> None:
        count = len(self._noise)
        self._raw += self._noise
        self._noise.clear()
        if self._started:
            self._fail("noise", f"{count} bytes that are not input events inside a read")
            self._bound(out)
        else:
            out.append(error_frame(self._raw, "noise", f"{count} bytes that are not input events"))
            self._raw.clear()

    def _timing(self, at_us: int, out: list[Frame]) -> None:
        """Reads are bursts: a pause in the device's own timestamps ends or cuts one."""
        last, self._last_us = self._last_us, at_us
        if not self.key_gap_us:
            return
        if last is not None and at_us - last > self.key_gap_us:
            self._release_keys()  # as after a silence on the host: nothing is held that long
            if self._started:
                if self._state == _NOT_STARTED:
                    self._fail("truncated", "a read stopped before its end (a pause in its keys)")
                self._emit(out)
        cut, self._cut_at = self._cut_at, None
        if cut is not None and 0 <= at_us - cut <= self.key_gap_us:
            # The host's idle timer fired while the device was still typing (a stalled
            # host): this is the rest of that read, not a read of its own.
            self._fail("truncated", "the rest of a read that a silence on the host cut")

    def _record(self, record: bytes, type_: int, code: int, value: int, out: list[Frame]) -> None:
        if self._state != _NOT_STARTED and type_ == EV_KEY and value == KEY_PRESS:
            self._emit(out)  # Enter's release or report went missing: the read is complete
        self._raw += record
        if type_ == EV_KEY:
            self._key(code, value)
        elif type_ == EV_SYN and code == SYN_REPORT:
            if self._state == _WAIT_REPORT:
                self._emit(out)
                return
        elif type_ == EV_SYN and code == SYN_DROPPED:
            self._fail("dropped", "the kernel dropped input events: part of a read is lost")
        elif type_ == EV_LED and code == LED_CAPSL:
            self._caps = bool(value)
        self._bound(out)

    def _bound(self, out: list[Frame]) -> None:
        """Hand over what a flood buffered; the rest of the flood stays in error."""
        if len(self._raw) <= self.max_raw:
            return
        if self._started:
            out.append(error_frame(self._raw, "overflow", "a read longer than any barcode"))
            self._fail("overflow", "the rest of a read longer than any barcode")
        else:
            out.append(error_frame(self._raw, "noise", "input events without any read"))
        self._raw.clear()

    def _key(self, code: int, value: int) -> None:
        if value == KEY_REPEAT:
            return  # the kernel's auto-repeat: the scanner pressed the key once
        pressed = value == KEY_PRESS
        if code in SHIFT_KEYS:
            _hold(self._shift, code, pressed)
        elif code in CTRL_KEYS:
            _hold(self._ctrl, code, pressed)
        elif code in SHORTCUT_KEYS:
            _hold(self._shortcut, code, pressed)
        elif code == KEY_RIGHTALT:
            self._altgr = pressed
        elif code == KEY_CAPSLOCK:
            self._caps ^= pressed
        elif code == KEY_NUMLOCK:
            return  # keypad keys are read as digits whatever the lock says
        elif not pressed:
            if code in ENTER_KEYS and self._state == _WAIT_RELEASE:
                self._state = _WAIT_REPORT
        elif code in ENTER_KEYS:
            self._enter()
        else:
            self._press(code)

    def _press(self, code: int) -> None:
        self._started = True
        self._presses += 1
        if self._shortcut:
            self._fail("unmapped_key", "a key pressed with Alt or Meta held (a shortcut)")
            return
        level = ALTGR if self._altgr else SHIFT if self._shift else PLAIN
        if level != ALTGR and self._caps and self.layout.is_letter(code):
            level = PLAIN if level == SHIFT else SHIFT
        char = self.layout.char(code, level)
        if not char:
            self._fail(
                "unmapped_key",
                f"a key with no {LEVEL_NAMES[level]} character on the {self.layout.name!r} "
                "layout (check the keyboard country set in the scanner)",
            )
            return
        if (code, level) in self.layout.dead and not self._dead:
            self._dead = char
            return
        if self._dead:
            dead, self._dead = self._dead, ""
            if char != " ":
                self._fail("dead_key", "an accent key not followed by space (not decoded)")
                return
            char = dead
        if self._ctrl:
            upper = char.upper()
            if len(upper) != 1 or not "@" <= upper <= "_":
                self._fail("unmapped_key", "a key pressed with Ctrl held that is no control code")
                return
            char = chr(ord(upper) & 0x1F)
        self._line.append(char)
        self._chars += 1
        if self._chars > self.max_chars:
            self._fail("overflow", f"a read longer than {self.max_chars} characters")
            self._line.clear()

    def _enter(self) -> None:
        if not self._line and not self._lines and not self._problem:
            return  # Enter with nothing typed: no read (its records go with the next one)
        self._end_line()
        if self._problem or len(self._lines) >= self._expected():
            self._state = _WAIT_RELEASE

    def _end_line(self) -> None:
        if self._dead:
            self._fail("dead_key", "a read ended on an accent key")
        if self._presses:
            self._lines.append(("".join(self._line), self._presses))
        self._line.clear()
        self._presses = 0

    def _expected(self) -> int:
        if self.lines:
            return self.lines
        return MRZ_LINES.get(self._lines[0][1], 1)

    # -- state -----------------------------------------------------------------------------

    def _fail(self, code: str, detail: str) -> None:
        self._started = True
        if self._problem is None:
            self._problem = (code, detail)

    def _emit(self, out: list[Frame]) -> None:
        raw = bytes(self._raw)
        self._raw.clear()
        lines = [text for text, _ in self._lines]
        problem = self._problem
        self._new_read()
        if problem is not None:
            out.append(error_frame(raw, *problem))
            return
        payload = "\r".join(lines).encode("utf-8")
        fields = {"layout": self.layout.name, "lines": str(len(lines))}
        out.append(Frame(FrameKind.DATA, raw, payload=payload, fields=fields))

    def _new_read(self) -> None:
        self._lines = []
        self._line = []
        self._presses = 0
        self._chars = 0
        self._started = False
        self._problem = None
        self._state = _NOT_STARTED
        self._dead = ""

    def _release_keys(self) -> None:
        self._shift.clear()
        self._ctrl.clear()
        self._shortcut.clear()
        self._altgr = False
        self._dead = ""


def _hold(keys: set[int], code: int, pressed: bool) -> None:
    if pressed:
        keys.add(code)
    else:
        keys.discard(code)
