"""Keyboard-wedge simulator: text typed as evdev key events of the scanner's layout.

Every character is a press and a release, each followed by a SYN_REPORT, wrapped in Shift
(left and right alternately) or AltGr as the layout needs; dead keys are followed by space;
Enter ends each line (or only the whole read, `separators=False`, as readers that type the
three TD1 lines in one go). Events are `evdev.InputEvent` objects serialised as the kernel's
`struct input_event` onto the pty or socket; there is no uinput on a machine without input
devices, so this is the only way to exercise the decoder with real records.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from drivers.sim.device import SimDevice
from drivers.wedge.framer import EV_KEY, EV_SYN, KEY_PRESS, KEY_RELEASE, KEY_REPEAT, pack_event
from drivers.wedge.keymaps import ALTGR, KEYPAD_DIGITS, LAYOUTS, PLAIN, SHIFT
from drivers.wedge.transport import load_evdev

_KEYPAD = {digit: code for code, digit in KEYPAD_DIGITS.items()}
# Nominal time between two characters in the event timestamps (a fast scanner).
CHAR_PERIOD_US = 2000


class WedgeSim(SimDevice):
    """A keyboard-emulation MRZ reader (`kind="document"`) or barcode scanner."""

    profile: ClassVar[str] = "wedge"
    description: ClassVar[str] = "keyboard-wedge reader or scanner: evdev key events, US/UK/DE/FR"
    driver: ClassVar[str] = "wedge"

    def __init__(
        self,
        *,
        layout: str = "us",
        kind: str = "document",
        separators: bool = True,
        aim: str = "",
        caps_lock: bool = False,
        keypad_digits: bool = False,
        repeats: int = 0,
        typing_gaps: tuple[float, float] = (0.0, 0.0),
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.layout = LAYOUTS[layout]
        self.kind = kind
        self.separators = separators
        self.aim = aim  # e.g. "]L2": typed before every barcode
        self.caps_lock = caps_lock  # the scanner toggles Caps Lock around a read
        self.keypad_digits = keypad_digits
        self.repeats = repeats  # auto-repeat events after every press (value 2)
        self.typing_gaps = typing_gaps  # seconds between characters, when above zero
        self._evdev = load_evdev()
        self._ecodes = self._evdev.ecodes  # the kernel's own names for the keys it wraps with
        self._shifts = 0
        self._clock_us = 0

    def options(self) -> dict[str, object]:
        options: dict[str, object] = {"kind": self.kind, "layout": self.layout.name}
        if self.aim:
            options["aim"] = True
        return options

    # -- typing ----------------------------------------------------------------------------

    def text_of(self, item: str | bytes) -> list[str]:
        """The lines the device types for one read, each ended by Enter."""
        text = item.decode("utf-8") if isinstance(item, bytes) else item
        if self.kind == "barcode":
            return [self.aim + text]
        lines = text.split("\n")
        return lines if self.separators else ["".join(lines)]

    def keystrokes(self, item: str | bytes) -> list[list[Any]]:
        """The evdev events for one read, one group per character typed (Enter included)."""
        groups: list[list[Any]] = []
        # Typing takes (simulated) time: a read never starts before the previous one ended.
        stamp = [max(time.time_ns() // 1000, self._clock_us)]
        if self.caps_lock:
            groups.append(self._tap(self._ecodes.KEY_CAPSLOCK, stamp))
        lines = self.text_of(item)
        for number, line in enumerate(lines, 1):
            groups.extend(self._char(char, stamp) for char in line)
            if self.caps_lock and number == len(lines):
                groups.append(self._tap(self._ecodes.KEY_CAPSLOCK, stamp))  # off before Enter
            groups.append(self._tap(self._ecodes.KEY_ENTER, stamp))
        self._clock_us = stamp[0] + CHAR_PERIOD_US
        return groups

    def encode(self, item: str | bytes) -> bytes:
        return b"".join(self.serialise(group) for group in self.keystrokes(item))

    @staticmethod
    def serialise(events: list[Any]) -> bytes:
        return b"".join(pack_event(e.sec, e.usec, e.type, e.code, e.value) for e in events)

    async def present(self, item: str | bytes, *, repeat: int = 1, truncate: int = 0) -> bytes:
        groups = [self.serialise(group) for group in self.keystrokes(item)]
        frame = b"".join(groups)
        if truncate:
            frame, groups = frame[:truncate], [frame[:truncate]]
        for _ in range(repeat):
            if self.typing_gaps[1] <= 0:
                await self.write(frame)
                continue
            for group in groups:
                await self.write(group)
                await asyncio.sleep(self.rng.uniform(*self.typing_gaps))
        return frame

    def _char(self, char: str, stamp: list[int]) -> list[Any]:
        if self.keypad_digits and char in _KEYPAD:
            return self._tap(_KEYPAD[char], stamp)
        typed = self.layout.typing(char)
        if typed is None:
            raise ValueError(f"the {self.layout.name!r} layout has no key for a character")
        code, level = typed
        if self.caps_lock and level in (PLAIN, SHIFT) and self.layout.is_letter(code):
            level = SHIFT if level == PLAIN else PLAIN  # Caps Lock will invert it back
        modifier = 0
        if level == SHIFT:
            self._shifts += 1
            modifier = (
                self._ecodes.KEY_RIGHTSHIFT if self._shifts % 2 else self._ecodes.KEY_LEFTSHIFT
            )
        elif level == ALTGR:
            modifier = self._ecodes.KEY_RIGHTALT
        events = self._key(modifier, KEY_PRESS, stamp) if modifier else []
        events += self._tap(code, stamp)
        if modifier:
            events += self._key(modifier, KEY_RELEASE, stamp)
        if (code, level) in self.layout.dead:
            # A dead key gives its own character when space follows.
            events += self._tap(self._ecodes.KEY_SPACE, stamp)
        stamp[0] += CHAR_PERIOD_US
        return events

    def _tap(self, code: int, stamp: list[int]) -> list[Any]:
        events = [*self._key(code, KEY_PRESS, stamp)]
        for _ in range(self.repeats):
            events += self._key(code, KEY_REPEAT, stamp)
        return events + self._key(code, KEY_RELEASE, stamp)

    def _key(self, code: int, value: int, stamp: list[int]) -> list[Any]:
        stamp[0] += 100
        sec, usec = divmod(stamp[0], 1_000_000)
        input_event = self._evdev.InputEvent
        # The kernel's sync after an auto-repeat carries 1.
        sync = 1 if value == KEY_REPEAT else 0
        return [
            input_event(sec, usec, EV_KEY, code, value),
            input_event(sec, usec, EV_SYN, 0, sync),
        ]
