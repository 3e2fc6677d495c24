"""Access-IS framing: Standard Access Configuration `STX sym data CR ETX` (7-bit) and Raw Data.

Standard: a frame runs from STX to the first `CR ETX`; the symbology byte after STX is looked
up in ACCESS_CODES. The line is 7E1, so every byte is 7-bit ASCII: a byte with the high bit
set is line noise (a parity slip), and a frame holding one is an ERROR, never a read. An STX
inside an open frame means the device restarted: the open part is reported as truncated.
Bytes between frames are noise unless they are a Honeywell menu reply.

Raw Data: `<Honeywell code id>data`, 8N1, ended by the configured terminator or, with none,
by silence. Binary data passes through; a line with no frame markers cannot tell noise from
data, so nothing is reported as noise in this mode.
"""

from __future__ import annotations

from drivers.framing import BufferedFramer, Frame, FrameKind, error_frame
from drivers.honeywell import STATUS, reply_at, reply_frame
from drivers.symbology import ACCESS_CODES, HONEYWELL_CODES

STX, ETX, CR = 0x02, 0x03, 0x0D
END = bytes([CR, ETX])
# The longest barcode payloads (a full PDF417 or QR) stay well below this.
MAX_FRAME = 8192
# Bytes kept between frames while they may still turn out to be a menu reply.
MAX_GAP = 512


def _is_reply_end(buf: bytearray) -> bool:
    return len(buf) > 1 and buf[-1] in b".!" and buf[-2] in STATUS


def _data(raw: bytes, payload: bytes, table: dict[int, str], code: int) -> Frame:
    fields = {"symbology": table.get(code, "unknown"), "code_id": f"{code:02x}"}
    return Frame(FrameKind.DATA, raw, payload=payload, fields=fields)


class AccessStxFramer(BufferedFramer):
    """Bytes → `STX sym data CR ETX` reads, menu replies, and ERROR frames for the rest."""

    # _buf: an open frame (starting with STX) or bytes between frames.

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        buf = self._buf
        for byte in data:
            if byte == STX:
                if buf:
                    out.extend(self.idle())  # the open part, as silence would end it
                buf.append(byte)
                continue
            buf.append(byte)
            if buf[0] == STX:
                if byte == ETX and buf.endswith(END):
                    out.append(self._frame(bytes(buf)))
                    buf.clear()
                elif len(buf) > MAX_FRAME:
                    out.append(error_frame(buf, "overflow", f"a frame ran past {MAX_FRAME} bytes"))
                    buf.clear()
            elif _is_reply_end(buf) and (start := reply_at(buf, len(buf))) is not None:
                if start:
                    out.append(error_frame(buf[:start], "noise", f"{start} bytes before a reply"))
                out.append(reply_frame(buf[start:]))
                buf.clear()
            elif len(buf) > MAX_GAP:
                out.append(error_frame(buf, "noise", f"{len(buf)} bytes outside any frame"))
                buf.clear()
        return out

    def leftover(self, raw: bytes) -> Frame:
        if raw[0] == STX:
            return error_frame(raw, "truncated", f"a frame stopped after {len(raw)} bytes")
        return error_frame(raw, "noise", f"{len(raw)} bytes outside any frame discarded")

    @staticmethod
    def _frame(raw: bytes) -> Frame:
        if any(b > 0x7F for b in raw):
            return error_frame(raw, "noise", "a byte with the high bit set in a 7-bit frame")
        if len(raw) < 4:
            return error_frame(raw, "bad_frame", "a frame without a symbology byte")
        return _data(raw, raw[2:-2], ACCESS_CODES, raw[1])


class AccessRawFramer(BufferedFramer):
    """Bytes → `<code id>data[terminator]` reads; silence ends a read when no terminator is set."""

    def __init__(self, terminator: bytes = b"") -> None:
        super().__init__()
        self.terminator = terminator

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        buf, term = self._buf, self.terminator
        for byte in data:
            buf.append(byte)
            # A reply stands alone: it is taken only from the start of a message.
            if _is_reply_end(buf) and reply_at(buf, len(buf)) == 0:
                out.append(reply_frame(buf))
                buf.clear()
            elif term and buf.endswith(term):
                out.append(self._frame(bytes(buf), len(term)))
                buf.clear()
            elif len(buf) > MAX_FRAME:
                out.append(error_frame(buf, "overflow", f"a read ran past {MAX_FRAME} bytes"))
                buf.clear()
        return out

    def leftover(self, raw: bytes) -> Frame:
        if self.terminator:
            return error_frame(raw, "truncated", f"a read stopped after {len(raw)} bytes")
        return self._frame(raw, 0)

    @staticmethod
    def _frame(raw: bytes, trailer: int) -> Frame:
        message = raw[: len(raw) - trailer]
        if not message:
            return Frame(FrameKind.DATA, raw, fields={"symbology": "unknown"})
        return _data(raw, message[1:], HONEYWELL_CODES, message[0])


def encode_stx(data: bytes, symbology: str) -> bytes:
    """`STX sym data CR ETX`; ValueError for a symbology without a code or non-7-bit data."""
    if any(b > 0x7F for b in data):
        raise ValueError("7-bit framing cannot carry bytes with the high bit set")
    return bytes([STX, _code(ACCESS_CODES, symbology)]) + data + END


def encode_raw(data: bytes, symbology: str, terminator: bytes = b"") -> bytes:
    """`<Honeywell code id>data[terminator]`."""
    return bytes([_code(HONEYWELL_CODES, symbology)]) + data + terminator


def _code(table: dict[int, str], symbology: str) -> int:
    for code, name in table.items():
        if name == symbology:
            return code
    raise ValueError(f"no code for the symbology {symbology!r}")
