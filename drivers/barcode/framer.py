"""Serial barcode framing: `[prefix][code id][data][suffix]`, menu replies when one is awaited.

A message starts at the configured prefix (followed by a well-formed code id) or, with no
prefix, at an AIM id (`code_id_mode="aim"`) or anywhere (otherwise); it ends at the
terminator, or at silence (`idle()`) when there is none. Bytes before a start are noise.

Binary payloads (a VDS seal is 0xDC + binary) pass through unchanged only when nothing in
them can be taken for framing: with `terminator=none` and no prefix (silence ends a message)
or in Host-ACK mode with a terminator the data cannot hold. A terminator byte inside binary
data ends the message early (the rest arrives as a separate, wrong read); a prefix followed by
a well-formed code id inside the data is taken for a new message (the first one reported as
truncated). That is a limit of the wire format, not of this framer.
"""

from __future__ import annotations

from drivers import honeywell
from drivers.framing import DEFAULT_MAX_FRAME, Frame, FrameKind, error_frame
from drivers.symbology import HONEYWELL_CODES, aim_symbology

CODE_ID_MODES = ("none", "aim", "honeywell")
TERMINATORS: dict[str, bytes] = {
    "none": b"",
    "CR": b"\r",
    "LF": b"\n",
    "CRLF": b"\r\n",
    "ETX": b"\x03",
}


def aim_ok(head: bytes | bytearray) -> bool:
    """Whether 3 bytes are a well-formed AIM id: `]`, a letter, a letter or digit."""
    return (
        len(head) == 3
        and head[0] == 0x5D
        and chr(head[1]).isascii()
        and chr(head[1]).isalpha()
        and chr(head[2]).isascii()
        and chr(head[2]).isalnum()
    )


def reply_start(buf: bytes | bytearray) -> int | None:
    """The end of a whole Honeywell menu reply at the very start of `buf`, or None."""
    at = 1
    while (at := _next_reply_end(buf, at)) > 0:
        if honeywell.reply_at(buf, at + 1) == 0:
            return at + 1
        at += 1
    return None


def _next_reply_end(buf: bytes | bytearray, at: int) -> int:
    """The next index >= `at` holding a menu terminator right after a status byte, or -1."""
    for i in range(at, min(len(buf), honeywell.MAX_COMMAND + len(honeywell.MENU))):
        if buf[i] in honeywell.TERMINATORS and buf[i - 1] in honeywell.STATUS:
            return i
    return -1


class BarcodeFramer:
    """Bytes → barcode messages (DATA), menu replies (REPLY) and noise/cut frames (ERROR)."""

    def __init__(
        self,
        *,
        prefix: bytes = b"",
        code_id_mode: str = "aim",
        terminator: bytes = b"\r",
        max_frame: int = DEFAULT_MAX_FRAME,
    ) -> None:
        if code_id_mode not in CODE_ID_MODES:
            raise ValueError(f"code_id_mode: expected one of {', '.join(CODE_ID_MODES)}")
        self.prefix = prefix
        self.code_id_mode = code_id_mode
        self.terminator = terminator
        self.max_frame = max_frame
        # Set by the driver while a menu command waits for its reply: replies carry no
        # prefix or code id, so they are only looked for then.
        self.expect_reply = False
        self._buf = bytearray()

    @property
    def _id_len(self) -> int:
        return {"none": 0, "aim": 3, "honeywell": 1}[self.code_id_mode]

    def pending(self) -> bool:
        return bool(self._buf)

    def reset(self) -> None:
        self._buf.clear()

    def _id_ok(self, head: bytes | bytearray) -> bool:
        if self.code_id_mode == "aim":
            return aim_ok(head)
        if self.code_id_mode == "honeywell":
            return len(head) == 1 and 0x21 <= head[0] <= 0x7E
        return True

    def _start(self, at: int) -> int:
        """The first complete message start at or after `at`, or -1."""
        buf, prefix, n = self._buf, self.prefix, self._id_len
        if not prefix and self.code_id_mode != "aim":
            return at if at < len(buf) else -1
        marker = prefix or b"]"
        i = buf.find(marker, at)
        while i >= 0:
            head = buf[i + len(prefix) : i + len(prefix) + n]
            if len(head) < n:
                return -1  # the id has not arrived yet
            if self._id_ok(head):
                return i
            i = buf.find(marker, i + 1)
        return -1

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        out: list[Frame] = []
        buf = self._buf
        while buf:
            if self.expect_reply and (end := reply_start(buf)) is not None:
                out.append(honeywell.reply_frame(buf[:end]))
                del buf[:end]
                continue
            start = self._start(0)
            if start < 0:
                if len(buf) > self.max_frame:
                    out.append(error_frame(buf, "overflow", f"{len(buf)} bytes without a read"))
                    buf.clear()
                break
            if start > 0:
                out.append(error_frame(buf[:start], "noise", f"{start} bytes before a read"))
                del buf[:start]
            body = len(self.prefix) + self._id_len
            # A new start before the end: with a terminator the first read was cut off;
            # without one, the start is what ends the first read.
            restart = self._start(body) if self.prefix else -1
            end = buf.find(self.terminator, body) if self.terminator else -1
            if end >= 0 and (restart < 0 or end < restart):
                cut = end + len(self.terminator)
                out.append(self._message(bytes(buf[:cut])))
                del buf[:cut]
                continue
            if restart >= 0:
                if self.terminator:
                    out.append(error_frame(buf[:restart], "truncated", "a read was cut off"))
                else:
                    out.append(self._message(bytes(buf[:restart])))
                del buf[:restart]
                continue
            if len(buf) > self.max_frame:
                out.append(error_frame(buf, "overflow", f"a read longer than {self.max_frame}"))
                buf.clear()
            break
        return out

    def idle(self) -> list[Frame]:
        if not self._buf:
            return []
        starts_a_read = self._start(0) == 0 or bool(
            self.prefix and self._buf.startswith(self.prefix)
        )
        raw = bytes(self._buf)
        self._buf.clear()
        if not starts_a_read:
            if self.expect_reply:
                return [error_frame(raw, "bad_reply", f"a {len(raw)}-byte reply was cut off")]
            return [error_frame(raw, "noise", f"{len(raw)} bytes outside any read discarded")]
        if self.terminator:
            return [error_frame(raw, "truncated", f"a read stopped after {len(raw)} bytes")]
        return [self._message(raw)]

    def _message(self, raw: bytes) -> Frame:
        """A DATA frame for one whole message (or ERROR if its code id is malformed)."""
        body = raw[len(self.prefix) : len(raw) - len(self.terminator)]
        fields: dict[str, str] = {}
        if self.code_id_mode == "aim":
            head = body[:3]
            if not aim_ok(head):
                return error_frame(raw, "bad_code_id", "a read without a valid AIM id")
            fields["aim"] = head.decode("ascii")
            fields["symbology"] = aim_symbology(fields["aim"])
            body = body[3:]
        elif self.code_id_mode == "honeywell":
            if not self._id_ok(body[:1]):
                return error_frame(raw, "bad_code_id", "a read without a valid code id")
            fields["code_id"] = chr(body[0])
            fields["symbology"] = HONEYWELL_CODES.get(body[0], "unknown")
            body = body[1:]
        return Frame(FrameKind.DATA, raw, body, fields)


def encode(
    data: bytes,
    *,
    prefix: bytes = b"",
    code_id: bytes = b"",
    terminator: bytes = b"\r",
) -> bytes:
    """The bytes a scanner sends for one read."""
    return prefix + code_id + data + terminator
