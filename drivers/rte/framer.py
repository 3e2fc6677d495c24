"""RTE framing: `SOH len_lo len_hi 'O' 'U' STX flag L1 CR L2 CR L3 CR ETX [BCC]`.

The length word has 14 significant bits, low byte first. Which bytes it counts is not
published; `length_covers` selects it ("body": from the device byte through ETX, the default;
"frame": SOH through ETX; "data": the flag and lines between STX and ETX). The optional BCC is
the XOR of every byte after SOH through ETX. Lines are padded with `_` to 30 or 44 characters;
the bottom document line is always line 3.
"""

from __future__ import annotations

from drivers.framing import BufferedFramer, Frame, FrameKind, error_frame

SOH, STX, ETX, CR = 0x01, 0x02, 0x03, 0x0D
PAD = "_"
LENGTH_COVERS = ("body", "frame", "data")
# Three 44-character lines and their framing fit easily; anything longer is not an RTE read.
MAX_FRAME = 512
HEADER = 7  # SOH, length word, device, type, STX, flag


def bcc_of(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def _etx_index(length: int, covers: str) -> int:
    """Where ETX must be, given the length word."""
    if covers == "frame":
        return length - 1
    if covers == "data":
        return HEADER - 1 + length
    return 3 + length - 1  # body: from index 3 (device byte) through ETX


def length_word(etx_index: int, covers: str) -> int:
    """The length word for a frame whose ETX is at `etx_index`."""
    if covers == "frame":
        return etx_index + 1
    if covers == "data":
        return etx_index - (HEADER - 1)
    return etx_index - 2


class RteFramer(BufferedFramer):
    """Bytes → RTE frames; noise, bad lengths, bad BCC and cut frames become ERROR frames."""

    def __init__(self, *, bcc: bool = False, length_covers: str = "body") -> None:
        if length_covers not in LENGTH_COVERS:
            raise ValueError(f"length_covers: expected one of {', '.join(LENGTH_COVERS)}")
        super().__init__()
        self.bcc = bcc
        self.covers = length_covers

    def leftover(self, raw: bytes) -> Frame:
        if raw[0] == SOH:
            return error_frame(raw, "truncated", f"a frame stopped after {len(raw)} bytes")
        return error_frame(raw, "noise", f"{len(raw)} bytes outside any frame discarded")

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        out: list[Frame] = []
        buf = self._buf
        while buf:
            start = buf.find(SOH)
            if start < 0:
                if len(buf) > MAX_FRAME:
                    out.append(error_frame(buf, "noise", f"{len(buf)} bytes without a frame"))
                    buf.clear()
                break  # wait: the rest of the noise or an SOH may follow
            if start > 0:
                out.append(error_frame(buf[:start], "noise", f"{start} bytes before a frame"))
                del buf[:start]
            if len(buf) < 3:
                break
            length = buf[1] | (buf[2] & 0x3F) << 8
            etx = _etx_index(length, self.covers)
            end = etx + 1 + (1 if self.bcc else 0)
            if etx < HEADER or end > MAX_FRAME:
                out.append(error_frame(buf[:3], "bad_length", f"length word {length} impossible"))
                del buf[:3]
                continue
            if len(buf) < end:
                break
            frame = bytes(buf[:end])
            if frame[etx] != ETX or frame[5] != STX:
                # Not a frame after all: drop the SOH and look for the next one.
                out.append(error_frame(frame[:1], "bad_frame", "SOH without a well-formed frame"))
                del buf[:1]
                continue
            del buf[:end]
            if self.bcc and bcc_of(frame[1 : etx + 1]) != frame[etx + 1]:
                out.append(error_frame(frame, "bad_bcc", "block check character mismatch"))
                continue
            out.append(
                Frame(
                    FrameKind.DATA,
                    frame,
                    payload=frame[HEADER:etx],
                    fields={
                        "device": chr(frame[3]),
                        "type": chr(frame[4]),
                        "flag": f"{frame[6]:02x}",
                    },
                )
            )
        return out


def encode(
    lines: list[str],
    *,
    flag: int = 0x30,
    device: str = "O",
    kind: str = "U",
    bcc: bool = False,
    length_covers: str = "body",
    corrupt_bcc: bool = False,
) -> bytes:
    """The frame a reader sends for `lines` (top to bottom), padded and bottom-aligned."""
    width = 30 if len(lines) == 3 else 44
    padded = [line[:width].ljust(width, PAD) for line in lines]
    rows = [""] * (3 - len(padded)) + padded
    body = bytes([flag]) + b"".join(row.encode("latin-1") + bytes([CR]) for row in rows)
    etx = HEADER - 1 + len(body)
    length = length_word(etx, length_covers)
    frame = bytes([SOH, length & 0xFF, (length >> 8) & 0x3F]) + device.encode() + kind.encode()
    frame += bytes([STX]) + body + bytes([ETX])
    if bcc:
        check = bcc_of(frame[1:])
        frame += bytes([check ^ 0xFF if corrupt_bcc else check])
    return frame
