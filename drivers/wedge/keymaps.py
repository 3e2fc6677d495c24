"""Keyboard layouts a wedge scanner can be set to: key code → (plain, shift, altgr) characters.

Built from the standard Linux layouts (xkb `us`, `gb`, `de`, `fr`) for what scanners type:
letters, digits, the MRZ filler `<`, space, tab and the printable ASCII punctuation, plus the
layout's own letters where a key carries them. An empty string means the key gives nothing at
that level; such a press is an unmapped key, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# Kernel key codes (linux/input-event-codes.h, a stable ABI; the tests check them against
# evdev.ecodes, which is an optional dependency the decoder must not need).
KEY_1, KEY_0, KEY_MINUS, KEY_EQUAL, KEY_TAB = 2, 11, 12, 13, 15
KEY_Q, KEY_LEFTBRACE, KEY_RIGHTBRACE, KEY_ENTER, KEY_LEFTCTRL = 16, 26, 27, 28, 29
KEY_A, KEY_SEMICOLON, KEY_APOSTROPHE, KEY_GRAVE = 30, 39, 40, 41
KEY_LEFTSHIFT, KEY_BACKSLASH, KEY_Z, KEY_COMMA, KEY_DOT, KEY_SLASH = 42, 43, 44, 51, 52, 53
KEY_RIGHTSHIFT, KEY_KPASTERISK, KEY_LEFTALT, KEY_SPACE, KEY_CAPSLOCK = 54, 55, 56, 57, 58
KEY_NUMLOCK, KEY_KPMINUS, KEY_KPPLUS, KEY_KPDOT, KEY_102ND = 69, 74, 78, 83, 86
KEY_KPENTER, KEY_RIGHTCTRL, KEY_KPSLASH, KEY_RIGHTALT = 96, 97, 98, 100
KEY_LEFTMETA, KEY_RIGHTMETA = 125, 126
KEYPAD_DIGITS = {
    82: "0", 79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9",
}  # fmt: skip
KEYPAD = frozenset(KEYPAD_DIGITS) | {
    KEY_KPDOT,
    KEY_KPMINUS,
    KEY_KPPLUS,
    KEY_KPASTERISK,
    KEY_KPSLASH,
}

# Physical rows as key codes, left to right (the `102ND` key, left of Z on ISO boards, apart).
NUMBER_ROW = tuple(range(KEY_1, KEY_EQUAL + 1))  # 1 … 0, minus, equal
TOP_ROW = tuple(range(KEY_Q, KEY_RIGHTBRACE + 1))  # Q … P, [ ]
HOME_ROW = tuple(range(KEY_A, KEY_APOSTROPHE + 1))  # A … L, ; '
BOTTOM_ROW = tuple(range(KEY_Z, KEY_SLASH + 1))  # Z … M , . /

PLAIN, SHIFT, ALTGR = 0, 1, 2
LEVEL_NAMES = ("plain", "shift", "altgr")
LAYOUT_NAMES = ("us", "uk", "de", "fr")
ENTER_KEYS = frozenset({KEY_ENTER, KEY_KPENTER})
SHIFT_KEYS = frozenset({KEY_LEFTSHIFT, KEY_RIGHTSHIFT})
CTRL_KEYS = frozenset({KEY_LEFTCTRL, KEY_RIGHTCTRL})
# Held, these turn keys into shortcuts rather than text.
SHORTCUT_KEYS = frozenset({KEY_LEFTALT, KEY_LEFTMETA, KEY_RIGHTMETA})


@dataclass(frozen=True, slots=True)
class Layout:
    """One keyboard layout; `dead` keys give their character only when followed by space."""

    name: str
    keys: Mapping[int, tuple[str, str, str]]
    dead: frozenset[tuple[int, int]] = frozenset()
    _typing: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Main keys before the keypad, lower levels first, a dead key only as the last resort.
        for keypad, dead_pass in ((False, False), (False, True), (True, False)):
            for level in (PLAIN, SHIFT, ALTGR):
                for code, chars in self.keys.items():
                    char = chars[level]
                    dead = (code, level) in self.dead
                    if char and (code in KEYPAD) is keypad and dead is dead_pass:
                        self._typing.setdefault(char, (code, level))

    def char(self, code: int, level: int) -> str:
        """The character of `code` at `level`; "" if the key gives none there."""
        chars = self.keys.get(code)
        return chars[level] if chars else ""

    def is_letter(self, code: int) -> bool:
        """Whether Caps Lock applies to the key (an alphabetic key, as xkb decides)."""
        plain, shift, _ = self.keys.get(code, ("", "", ""))
        return len(plain) == 1 and plain.isalpha() and plain != shift == plain.upper()

    def typing(self, char: str) -> tuple[int, int] | None:
        """The key and level that type `char` (for simulators), None if the layout cannot."""
        return self._typing.get(char)

    def charset(self) -> frozenset[str]:
        return frozenset(self._typing)


def _rows(*rows: tuple[tuple[int, ...], str, str, str]) -> dict[int, tuple[str, str, str]]:
    """Key table from rows of (codes, plain chars, shift chars, altgr chars); space = none."""
    table: dict[int, tuple[str, str, str]] = {}
    for codes, plain, shift, altgr in rows:
        for i, code in enumerate(codes):
            plain_c, shift_c, altgr_c = (
                s[i] if i < len(s) and s[i] != " " else "" for s in (plain, shift, altgr)
            )
            table[code] = (plain_c, shift_c, altgr_c)
    return table


def _common(
    table: dict[int, tuple[str, str, str]], kp_decimal: str
) -> Mapping[int, tuple[str, str, str]]:
    table[KEY_SPACE] = (" ", " ", " ")
    table[KEY_TAB] = ("\t", "", "")
    # Keypad keys as with Num Lock on: the scanner means the digits whatever the host's LED.
    for code, digit in KEYPAD_DIGITS.items():
        table[code] = (digit, "", "")
    table[KEY_KPDOT] = (kp_decimal, "", "")
    table[KEY_KPMINUS] = ("-", "", "")
    table[KEY_KPPLUS] = ("+", "", "")
    table[KEY_KPASTERISK] = ("*", "", "")
    table[KEY_KPSLASH] = ("/", "", "")
    return MappingProxyType(table)


US = Layout(
    "us",
    _common(
        _rows(
            (NUMBER_ROW, "1234567890-=", "!@#$%^&*()_+", ""),
            (TOP_ROW, "qwertyuiop[]", "QWERTYUIOP{}", ""),
            (HOME_ROW, "asdfghjkl;'", 'ASDFGHJKL:"', ""),
            ((KEY_GRAVE, KEY_BACKSLASH), "`\\", "~|", ""),
            (BOTTOM_ROW, "zxcvbnm,./", "ZXCVBNM<>?", ""),
            # No 102ND key on an ANSI board: a US scanner never sends it.
        ),
        ".",
    ),
)

UK = Layout(
    "uk",
    _common(
        _rows(
            (NUMBER_ROW, "1234567890-=", '!"£$%^&*()_+', "   €"),
            (TOP_ROW, "qwertyuiop[]", "QWERTYUIOP{}", ""),
            (HOME_ROW, "asdfghjkl;'", "ASDFGHJKL:@", ""),
            ((KEY_GRAVE, KEY_BACKSLASH, KEY_102ND), "`#\\", "¬~|", ""),
            (BOTTOM_ROW, "zxcvbnm,./", "ZXCVBNM<>?", ""),
        ),
        ".",
    ),
)

DE = Layout(
    "de",
    _common(
        _rows(
            (
                NUMBER_ROW,
                "1234567890ß´",  # noqa: RUF001  # the German acute accent key
                '!"§$%&/()=?`',
                " ²³   {[]}\\",
            ),
            (TOP_ROW, "qwertzuiopü+", "QWERTZUIOPÜ*", "@ €        ~"),
            (HOME_ROW, "asdfghjklöä", "ASDFGHJKLÖÄ", ""),
            ((KEY_GRAVE, KEY_BACKSLASH, KEY_102ND), "^#<", "°'>", "  |"),
            (BOTTOM_ROW, "yxcvbnm,.-", "YXCVBNM;:_", "      µ"),
        ),
        ",",  # the German keypad's decimal key types a comma
    ),
    dead=frozenset({(KEY_GRAVE, PLAIN), (KEY_EQUAL, PLAIN), (KEY_EQUAL, SHIFT)}),
)

FR = Layout(
    "fr",
    _common(
        _rows(
            (NUMBER_ROW, "&é\"'(-è_çà)=", "1234567890°+", " ~#{[|`\\^@]}"),
            (TOP_ROW, "azertyuiop^$", "AZERTYUIOP¨£", "  €        ¤"),
            (HOME_ROW, "qsdfghjklmù", "QSDFGHJKLM%", ""),
            ((KEY_GRAVE, KEY_BACKSLASH, KEY_102ND), "²*<", " µ>", ""),
            (BOTTOM_ROW, "wxcvbn,;:!", "WXCVBN?./§", ""),
        ),
        ".",
    ),
    dead=frozenset({(KEY_LEFTBRACE, PLAIN), (KEY_LEFTBRACE, SHIFT)}),
)

LAYOUTS: Mapping[str, Layout] = MappingProxyType({"us": US, "uk": UK, "de": DE, "fr": FR})
