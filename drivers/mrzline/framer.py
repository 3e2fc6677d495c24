"""MRZ line framing: `[prefix] L1 SEP L2 [SEP L3] [suffix]`, no trailer, Honeywell menu replies.

A read is complete when the bytes received end with a known MRZ shape: three 30-character
lines (TD1) or two lines of 36 (TD2, MRV-B, French ID) or 44 (TD3, MRV-A), every character in
the MRZ alphabet. No shape is a prefix of another, so a complete read is cut at once, except
for one ambiguity: a 36-character second line after a 44-character first line may be a TD3
row still arriving, so 2x36 is taken at once only when its first line is exactly 36
characters long (delimited by a separator, the prefix or a non-MRZ byte); with MRZ characters
glued before it, once the second line proves not to be a TD3 row (it stops short of 44 or
reaches 44 without making a TD3) or, at silence, unless those characters make a 44-character
line.

Anything else ends at silence. When the bytes stop at the end of a row, `idle()` first waits
`gap_idles` more quiet periods for the next row (an engine that re-reads a failed row sends
rows apart); rows come whole, so silence inside a row ends the read at once. What ends at
silence is an ERROR: "truncated" when it looks like a partial read, "noise" when it holds
bytes outside the MRZ alphabet. Bytes before a read are reported the same way.

Limit of the wire format: the end of a row cannot be told from the start of the next read,
so a read cut right after a row and followed by a new read within `gap_idles` takes the new
read's first row (its check digits then fail) and the rest of the new read is reported.

A reply to a menu command (echo + ACK/ENQ/NAK + terminator) anywhere in the stream becomes a
REPLY frame.
"""

from __future__ import annotations

from drivers.framing import Frame, FrameKind, error_frame
from drivers.honeywell import STATUS, reply_at, reply_frame

ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
# line width → number of lines of the MRZ shapes ICAO 9303 defines
SHAPES: dict[int, int] = {30: 3, 36: 2, 44: 2}
SEPARATORS: dict[str, bytes] = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}
# Three 44-character lines with framing fit many times over; more is a flood.
MAX_BUFFER = 1024
LONGEST = max(SHAPES)
# The first character of every MRZ (ICAO 9303: passports, visas, identity cards).
DOCUMENT_CODES = frozenset(b"PVIAC")


def _mrz(data: bytes | bytearray) -> bool:
    return all(b in ALPHABET for b in data)


class MrzLineFramer:
    """Bytes → MRZ reads (DATA), menu replies (REPLY) and ERROR frames for everything else."""

    def __init__(
        self,
        *,
        separator: bytes = b"\r",
        prefix: bytes = b"",
        suffix: bytes = b"",
        gap_idles: int = 3,
    ) -> None:
        if separator not in SEPARATORS.values():
            raise ValueError("separator: expected CR, LF or CRLF")
        self.sep = separator
        self.prefix = prefix
        self.suffix = suffix
        self.gap_idles = gap_idles
        # A prefix holding a non-MRZ byte delimits the first line by itself.
        self._prefix_delimits = not _mrz(prefix)
        self._suffix_delimits = not _mrz(suffix)
        self._framing = frozenset(separator + prefix + suffix) | ALPHABET
        self._buf = bytearray()
        self._idles = 0

    def pending(self) -> bool:
        return bool(self._buf)

    def reset(self) -> None:
        self._buf.clear()
        self._idles = 0

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        buf = self._buf
        self._idles = 0
        for byte in data:
            buf.append(byte)
            if byte in b".!" and len(buf) > 1 and buf[-2] in STATUS:
                start = reply_at(buf, len(buf))
                if start is not None:
                    out.append(reply_frame(buf[start:]))
                    del buf[start:]  # what came before may still become a read
                    continue
            match = self._match(strict=True) if byte in ALPHABET or self.suffix else None
            if match is None and not self.suffix:
                match = self._settled_36(byte)
            if match is not None:
                out.extend(self._emit(*match))
            elif len(buf) > MAX_BUFFER:
                out.append(error_frame(buf, "overflow", f"{len(buf)} bytes without a read"))
                buf.clear()
        return out

    def idle(self) -> list[Frame]:
        buf = self._buf
        if not buf:
            return []
        match = self._match(strict=False)
        if match is not None:
            return self._emit(*match)
        if self._idles < self.gap_idles and self._at_row_end():
            self._idles += 1  # the next row may follow: rows come whole, perhaps apart
            return []
        frames = [self._junk(buf)]
        self.reset()
        return frames

    def _at_row_end(self) -> bool:
        """Whether the buffer ends where a row (or its separator) does, not inside one."""
        rows = [self._strip_prefix(row) for row in self._buf.split(self.sep)[-2:]]
        row = rows[-1]
        if not row:
            return True
        if not _mrz(row):
            return False
        # The rows of one read share a width: after a whole row, only that width ends a row.
        if len(rows) == 2 and len(rows[0]) in SHAPES and _mrz(rows[0]):
            return len(row) == len(rows[0])
        return len(row) in SHAPES

    def _strip_prefix(self, row: bytes | bytearray) -> bytes | bytearray:
        return row[len(self.prefix) :] if self.prefix and row.startswith(self.prefix) else row

    # -- matching ------------------------------------------------------------------------------

    def _settled_36(self, byte: int) -> tuple[int, str, int] | None:
        """A 2x36 read left waiting (MRZ characters before its first row) once its second row
        has proven not to be a TD3 row: it reached 44 characters without making a TD3, or it
        stopped at 36 to 43 characters. The bytes after it stay for the next read."""
        buf, sep = self._buf, self.sep
        if byte in ALPHABET:
            row_start = self._after_sep(len(buf))
            if len(buf) - row_start != LONGEST:
                return None
            any_extra = True
        else:
            row_start = self._after_sep(len(buf) - 1)
            row_len = len(buf) - 1 - row_start
            if not 36 <= row_len < LONGEST:
                return None
            any_extra = byte in sep or row_len > 36
        match = self._match(strict=False, end=row_start + 36, any_extra=any_extra)
        if match is None or match[1] != "2x36":
            return None
        if byte in ALPHABET and not self._starts_read(row_start + 36):
            return None  # a TD3 with a misread character, not a TD2 and the next read
        return match

    def _starts_read(self, at: int) -> bool:
        """Whether the bytes from `at` may begin a read: the prefix, then a document code."""
        rest, prefix = self._buf[at:], self.prefix
        if rest[: len(prefix)] != prefix[: len(rest)]:
            return False
        return len(rest) <= len(prefix) or rest[len(prefix)] in DOCUMENT_CODES

    def _after_sep(self, end: int) -> int:
        """Where the row that ends at `end` starts: after the last separator before it."""
        at = self._buf.rfind(self.sep, 0, end)
        return at + len(self.sep) if at >= 0 else 0

    def _match(
        self, *, strict: bool, end: int | None = None, any_extra: bool = False
    ) -> tuple[int, str, int] | None:
        """(start, shape, end) of a complete read ending at `end` (the end of the buffer)."""
        buf, sep = self._buf, self.sep
        stop = len(buf) if end is None else end
        end = stop - len(self.suffix)
        if self.suffix and not buf[:stop].endswith(self.suffix):
            return None
        # A suffix ends the last row: it cannot be a TD3 row still arriving.
        strict = strict and not self._suffix_delimits
        cut = buf.rfind(sep, 0, end)
        width = end - cut - len(sep)
        if cut < 0 or width not in SHAPES or not _mrz(buf[cut + len(sep) : end]):
            return None
        for _ in range(SHAPES[width] - 2):  # the middle line of a TD1
            before = buf.rfind(sep, 0, cut)
            if before < 0 or cut - before - len(sep) != width:
                return None
            if not _mrz(buf[before + len(sep) : cut]):
                return None
            cut = before
        first = cut - width
        start = first - len(self.prefix)
        if start < 0 or not _mrz(buf[first:cut]) or buf[start:first] != self.prefix:
            return None
        if not (any_extra or self._first_line_ok(start, width, strict)):
            return None
        return start, f"{SHAPES[width]}x{width}", stop

    def _first_line_ok(self, start: int, width: int, strict: bool) -> bool:
        """Whether the first line may begin where the shape says, given what precedes it."""
        buf, extra = self._buf, 0
        if not self._prefix_delimits:
            while start > extra and extra <= LONGEST and buf[start - extra - 1] in ALPHABET:
                extra += 1
        if extra == 0:
            return True
        if width != 36:
            # MRZ characters glued before a 30- or 44-character line are left-overs: no
            # longer line exists, and 30 is the only three-line width.
            return True
        # Before a 36-character line they may be the start of a 44-character TD3 row whose
        # second row is still arriving: only at silence, and never when they make 44 exactly.
        return not strict and width + extra != LONGEST

    def _emit(self, start: int, shape: str, end: int) -> list[Frame]:
        buf = self._buf
        raw = bytes(buf[start:end])
        frames = [self._junk(buf[:start])] if start else []
        payload = raw[len(self.prefix) : len(raw) - len(self.suffix)]
        frames.append(
            Frame(FrameKind.DATA, raw, payload=payload, fields={"shape": shape, "source": "ocr"})
        )
        del buf[:end]
        self._idles = 0
        return frames

    def _junk(self, data: bytes | bytearray) -> Frame:
        if all(b in self._framing for b in data):
            return error_frame(data, "truncated", f"{len(data)} bytes of an incomplete read")
        return error_frame(data, "noise", f"{len(data)} bytes outside the MRZ alphabet or any read")


def encode(
    lines: list[str], *, separator: bytes = b"\r", prefix: bytes = b"", suffix: bytes = b""
) -> bytes:
    """The bytes an engine sends for an MRZ read (TD3 with no prefix/suffix: 89 bytes)."""
    return prefix + separator.join(line.encode("latin-1") for line in lines) + suffix
