"""Honeywell menu commands (`SYN M CR` + tag/subtag/data + `!`/`.`), their replies and triggers.

Shared by the families that take Honeywell syntax (mrz-line, access-stx): the host encodes a
command, the framer finds the device's reply in the byte stream (`reply_at`), the driver turns
the reply's status into a result or a typed `MenuRefused`; the simulators parse what the host
sent (`take_commands`) and answer like the device (`MenuState`).

A reply echoes the command with a status byte after each sub-command (ACK ok, ENQ unknown
tag/subtag, NAK data out of range) and ends with the command's terminator, e.g.
`TRGMOD0<ACK>.` or `ALLENA0<ACK>;OCRENA1<ACK>!`; an echoed `SYN M CR` before it is accepted.
Multi-line answers (REVINF) are not supported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from drivers.base import ProtocolError
from drivers.framing import Frame, FrameKind
from drivers.options import Option
from drivers.stream import StreamDriver

SYN, CR = 0x16, 0x0D
MENU = b"\x16M\r"
TRIGGER = b"\x16T\r"
UNTRIGGER = b"\x16U\r"
ACK, ENQ, NAK = 0x06, 0x05, 0x15
STATUS: dict[int, str] = {ACK: "ack", ENQ: "enq", NAK: "nak"}
TERMINATORS = b".!"
QUERIES = "?^*"  # current value, default value, range
# Longer than any menu command or reply we send or expect.
MAX_COMMAND = 256
# A menu command must be answered within this time (the device echoes at once).
MENU_TIMEOUT_S = 2.0
# probe(): a device that speaks Honeywell syntax answers a query within this time.
HANDSHAKE_TIMEOUT_S = 0.5

CONFIGURE_OPTION = Option(
    "configure", "", "menu commands sent at connect (a list, or a string split at whitespace)"
)


class MenuRefused(ProtocolError):
    """The device refused a menu command: `status` is "enq" (bad tag) or "nak" (bad data)."""

    def __init__(self, status: str) -> None:
        super().__init__(f"the device refused a menu command ({status})")
        self.status = status


# -- host side: commands -----------------------------------------------------------------------


def menu_bytes(text: str) -> bytes:
    """`SYN M CR` + `text`; a missing terminator becomes `.` after a query, `!` otherwise."""
    body = text.strip()
    if not body or len(body) > MAX_COMMAND:
        raise ValueError(f"a menu command has 1 to {MAX_COMMAND} characters")
    if not all(0x20 < ord(c) < 0x7F for c in body):
        raise ValueError("a menu command is printable ASCII without spaces")
    if not body[:3].isalnum():
        raise ValueError("a menu command starts with its 3-character tag")
    if body[-1] not in ".!":
        body += "." if body[-1] in QUERIES else "!"
    return MENU + body.encode("ascii")


def store_text(command: str, *, store: bool) -> str:
    """`command` stripped; `store` (non-volatile) ends it in `.` unless it has a terminator
    (otherwise `menu_bytes` picks `.` for a query, else `!`)."""
    text = command.strip()
    if store and text[-1:] not in (".", "!"):
        text += "."
    return text


def menu_argument(args: Mapping[str, Any]) -> tuple[str, bool]:
    """The text and `store` flag of `command("menu", text=..., store=...)`."""
    text = args.get("text")
    if not isinstance(text, str):
        raise ValueError("menu: text= takes the menu command text, e.g. 'BEPLVL1'")
    return text, bool(args.get("store", False))


def configure_commands(value: object) -> tuple[str, ...]:
    """The `configure` option as a tuple of commands (each checked); ValueError naming it."""
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(c, str) for c in items):
        raise ValueError("configure: expected a string or a list of strings")
    for command in items:
        try:
            menu_bytes(command)
        except ValueError as exc:
            raise ValueError(f"configure: {exc}") from None
    return tuple(c.strip() for c in items if c.strip())


def with_configure_text(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """`options` with a list-valued `configure` joined into the one string the option takes."""
    out = dict(options or {})
    if "configure" in out:
        out["configure"] = " ".join(configure_commands(out["configure"]))
    return out


# -- host side: replies ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MenuReply:
    """A parsed reply: each sub-command's echoed text with its status."""

    items: tuple[tuple[str, str], ...]

    @property
    def status(self) -> str:
        """ "ack" when every sub-command was taken, else the first refusal's status."""
        return next((s for _, s in self.items if s != "ack"), "ack")

    @property
    def text(self) -> str:
        return ",".join(t for t, _ in self.items)


def parse_reply(raw: bytes | bytearray) -> MenuReply | None:
    """The reply `raw` holds exactly, or None when it is not one."""
    body = bytes(raw).removeprefix(MENU)
    if len(body) < 5 or body[-1] not in TERMINATORS or body[-2] not in STATUS:
        return None
    items: list[tuple[str, str]] = []
    text = bytearray()
    for byte in body[:-1]:
        if byte in STATUS:
            if not text:
                return None
            items.append((text.decode("ascii"), STATUS[byte]))
            text.clear()
        elif byte in b",;" and not text and items:
            continue  # the next sub-command (same tag / new tag) follows
        elif 0x20 <= byte < 0x7F:
            text.append(byte)
        else:
            return None
    # The first echo starts with a tag: a lone status byte in line noise is not a reply.
    if len(items[0][0]) < 3 or not items[0][0][:3].isalnum():
        return None
    return MenuReply(tuple(items))


def reply_at(buf: bytes | bytearray, end: int, *, floor: int = 0) -> int | None:
    """Where a reply ending at `buf[end - 1]` starts (not before `floor`), or None."""
    if end - floor < 5 or buf[end - 1] not in TERMINATORS or buf[end - 2] not in STATUS:
        return None
    start = end - 2
    while start > floor and (0x20 <= buf[start - 1] < 0x7F or buf[start - 1] in STATUS):
        start -= 1
        if end - start > MAX_COMMAND:
            return None
    if start - len(MENU) >= floor and buf[start - len(MENU) : start] == MENU:
        start -= len(MENU)
    return start if parse_reply(buf[start:end]) is not None else None


def reply_frame(raw: bytes | bytearray) -> Frame:
    """The REPLY frame of a reply `raw` (which `reply_at` found)."""
    reply = parse_reply(raw)
    if reply is None:
        raise ValueError("not a menu reply")
    fields = {"status": reply.status, "echo": reply.text}
    return Frame(FrameKind.REPLY, bytes(raw), payload=reply.text.encode("ascii"), fields=fields)


def frame_raw(frame: Frame) -> bytes:
    """Where a REPLY frame keeps the reply's bytes on a plain byte stream."""
    return frame.raw


async def menu(
    driver: StreamDriver,
    text: str,
    wait: float = MENU_TIMEOUT_S,
    *,
    reply_of: Callable[[Frame], bytes] = frame_raw,
) -> MenuReply:
    """Send a menu command and return its reply (`reply_of`: the reply's bytes in the REPLY
    frame); MenuRefused on ENQ/NAK, ProtocolError when nothing (or something else) answers."""
    frame = await driver.request(menu_bytes(text), wait)
    reply = parse_reply(reply_of(frame))
    if reply is None or reply.text[:3].upper() != text.strip()[:3].upper():
        raise ProtocolError(f"{driver.name}: the reply does not echo the menu command")
    if reply.status != "ack":
        raise MenuRefused(reply.status)
    return reply


MENU_COMMANDS = ("menu", "query")


async def run_command(driver: StreamDriver, name: str, args: Mapping[str, Any]) -> str:
    """`command("menu", text=...)`: "ack"; `command("query", text=...)`: the device's answer
    (e.g. "TRGMOD0"); MenuRefused on ENQ/NAK."""
    text = args.get("text")
    if not isinstance(text, str):
        raise ValueError(f'{name}: expected text="..." with the menu command')
    reply = await menu(driver, text)
    return reply.status if name == "menu" else reply.text


def without_configure(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options for probing: a probe must not reprogram the device."""
    return {k: v for k, v in options.items() if k != "configure"}


async def configure(driver: StreamDriver, commands: tuple[str, ...]) -> None:
    """Send each command at connect; a refusal fails the connection (MenuRefused)."""
    for command in commands:
        await menu(driver, command)


async def answers_query(
    driver: StreamDriver, query: str, *, reply_of: Callable[[Frame], bytes] = frame_raw
) -> bool:
    """Whether the device answers `query` with any reply (ACK, ENQ or NAK) in a short time."""
    try:
        await menu(driver, query, HANDSHAKE_TIMEOUT_S, reply_of=reply_of)
    except MenuRefused:
        return True  # it refused, but in Honeywell syntax: it is a Honeywell-style device
    except ProtocolError:
        return False
    return True


# -- device side (simulators) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostCommand:
    """One command the host sent: kind "menu" (with its body), "trigger" or "untrigger"."""

    kind: str
    raw: bytes
    body: bytes = b""


def take_commands(inbox: bytearray) -> list[HostCommand]:
    """The complete commands at the front of `inbox` (consumed); stray bytes are dropped."""
    out: list[HostCommand] = []
    while True:
        at = inbox.find(SYN)
        if at < 0:
            inbox.clear()
            return out
        del inbox[:at]
        if len(inbox) < 3:
            return out
        head = bytes(inbox[:3])
        if head in (TRIGGER, UNTRIGGER):
            del inbox[:3]
            out.append(HostCommand("trigger" if head == TRIGGER else "untrigger", head))
            continue
        if head != MENU:
            del inbox[:1]
            continue
        ends = [i for i in (inbox.find(b".", 3), inbox.find(b"!", 3)) if i >= 0]
        if not ends:
            if len(inbox) > MAX_COMMAND:
                del inbox[:1]
                continue
            return out
        end = min(ends) + 1
        raw = bytes(inbox[:end])
        del inbox[:end]
        out.append(HostCommand("menu", raw, raw[3:]))


@dataclass
class MenuState:
    """A device's menu settings: tag+subtag → (allowed values or None for any, current)."""

    allowed: dict[str, tuple[str, ...] | None]
    values: dict[str, str]

    def answer(self, body: bytes, *, refuse: bool = False) -> bytes:
        """The reply to a menu command body (`refuse`: NAK every sub-command, change nothing)."""
        # A refused command is answered from a copy of the settings, so it changes nothing.
        state = MenuState(self.allowed, dict(self.values)) if refuse else self
        text, term = body[:-1].decode("ascii", "replace"), body[-1:]
        reply = bytearray()
        tag = ""
        for n, (sep, item) in enumerate(_items(text)):
            rest = item
            if sep != ",":
                tag, rest = item[:3].upper(), item[3:]
            subtag, data = rest[:3].upper(), rest[3:]
            value, status = state._one(tag + subtag, data)
            echo = (sep if n else "") + ("" if sep == "," else tag) + subtag + value
            reply += echo.encode("ascii", "replace")
            reply.append(NAK if refuse else status)
        return bytes(reply + term)

    def _one(self, key: str, data: str) -> tuple[str, int]:
        """The echoed value and the status of one sub-command."""
        if key not in self.allowed:
            return data, ENQ
        allowed = self.allowed[key]
        if data in ("?", "^"):  # the simulator keeps no separate stored values
            return self.values[key], ACK
        if data == "*":
            return "|".join(allowed) if allowed else "*", ACK
        if not data or (allowed is not None and data not in allowed):
            return data, NAK
        self.values[key] = data
        return data, ACK


def _items(text: str) -> list[tuple[str, str]]:
    """Sub-commands with the separator before each ("" first, "," same tag, ";" new tag)."""
    out: list[tuple[str, str]] = []
    sep, item = "", ""
    for char in text:
        if char in ",;":
            out.append((sep, item))
            sep, item = char, ""
        else:
            item += char
    out.append((sep, item))
    return out
