"""HID POS input reports → reads: 64-byte reports, joined while "more data follows" is set.

Input report (ID 2, 64 bytes, Access-IS / Honeywell HID POS): byte 0 report id, byte 1 data
length (0-56), bytes 2-4 AIM id (`]` code modifier), bytes 5-60 data, byte 61 Honeywell code
id, byte 62 reserved, byte 63 bit 0 "more data follows"; unused bytes are zero.

Menu replies to commands sent in output report 253 come back as input reports with an empty
AIM id and a Honeywell reply as data (the exact form is unverified: the Honeywell reply
grammar decides, see `drivers.honeywell`).

Output reports: ID 4 (one byte: 0x04 trigger, 0x02 untrigger, 0x20 error beep) and ID 253
(length + up to 62 bytes of serial command, e.g. `SYN M CR ...`).
"""

from __future__ import annotations

from drivers import honeywell
from drivers.barcode.framer import aim_ok
from drivers.framing import DEFAULT_MAX_FRAME, Frame, FrameKind, error_frame
from drivers.symbology import HONEYWELL_CODES, aim_symbology

REPORT_SIZE = 64
INPUT_ID = 2
MAX_DATA = 56
DATA_AT = 5
CODE_ID_AT, FLAGS_AT = 61, 63
MORE = 0x01
TRIGGER_ID, COMMAND_ID = 4, 0xFD
TRIGGER, UNTRIGGER, ERROR_BEEP = 0x04, 0x02, 0x20
MAX_COMMAND_DATA = REPORT_SIZE - 2


def input_reports(data: bytes, *, aim: bytes = b"", code_id: int = 0) -> bytes:
    """The input reports a scanner sends for one read (at least one, even with no data)."""
    chunks = [data[i : i + MAX_DATA] for i in range(0, len(data), MAX_DATA)] or [b""]
    out = bytearray()
    for n, chunk in enumerate(chunks):
        report = bytearray(REPORT_SIZE)
        report[0] = INPUT_ID
        report[1] = len(chunk)
        report[2:5] = aim.ljust(3, b"\0")[:3]
        report[DATA_AT : DATA_AT + len(chunk)] = chunk
        report[CODE_ID_AT] = code_id
        report[FLAGS_AT] = MORE if n < len(chunks) - 1 else 0
        out += report
    return bytes(out)


def trigger_report(action: int) -> bytes:
    """Output report 4 with one action byte (TRIGGER, UNTRIGGER, ERROR_BEEP)."""
    return bytes([TRIGGER_ID, action])


def command_reports(command: bytes) -> list[bytes]:
    """Output reports 253 carrying raw serial command bytes, 62 per report."""
    parts = [command[i : i + MAX_COMMAND_DATA] for i in range(0, len(command), MAX_COMMAND_DATA)]
    return [bytes([COMMAND_ID, len(p)]) + p.ljust(MAX_COMMAND_DATA, b"\0") for p in parts]


class HidPosFramer:
    """64-byte input reports → DATA (a read), REPLY (a menu reply) or ERROR frames."""

    def __init__(self, *, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()  # bytes of a report not yet complete
        self._raw = bytearray()  # the reports of the read being joined
        self._data = bytearray()
        self._head = b""  # the first report's AIM id and code id

    def pending(self) -> bool:
        return bool(self._buf or self._raw)

    def reset(self) -> None:
        self._buf.clear()
        self._drop()

    def _drop(self) -> None:
        """Forget the read being joined (not the bytes of the next report)."""
        self._raw.clear()
        self._data.clear()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        out: list[Frame] = []
        while len(self._buf) >= REPORT_SIZE:
            report = bytes(self._buf[:REPORT_SIZE])
            del self._buf[:REPORT_SIZE]
            frame = self._report(report)
            if frame is not None:
                out.append(frame)
        return out

    def idle(self) -> list[Frame]:
        if not self.pending():
            return []
        raw = bytes(self._raw + self._buf)
        cut_report = bool(self._buf)
        self.reset()
        if cut_report:
            return [error_frame(raw, "truncated", f"a report stopped after {len(raw)} bytes")]
        return [error_frame(raw, "truncated", "the rest of a multi-report read never came")]

    def _report(self, report: bytes) -> Frame | None:
        if report[0] != INPUT_ID:
            return self._fail(report, "bad_report", f"unexpected report id {report[0]}")
        length = report[1]
        if length > MAX_DATA:
            return self._fail(report, "bad_length", f"report length byte {length} exceeds 56")
        if not self._raw:
            self._head = report[2:5] + report[CODE_ID_AT : CODE_ID_AT + 1]
        self._raw += report
        self._data += report[DATA_AT : DATA_AT + length]
        if len(self._raw) > self.max_frame:
            raw = bytes(self._raw)
            self._drop()
            return error_frame(raw, "overflow", f"a read longer than {self.max_frame} bytes")
        if report[FLAGS_AT] & MORE:
            return None
        raw, data, head = bytes(self._raw), bytes(self._data), self._head
        self._drop()
        return self._frame(raw, data, head)

    def _fail(self, report: bytes, code: str, detail: str) -> Frame:
        raw = bytes(self._raw) + report
        self._drop()
        return error_frame(raw, code, detail)

    @staticmethod
    def _frame(raw: bytes, data: bytes, head: bytes) -> Frame:
        aim, code_id = head[:3], head[3]
        fields: dict[str, str] = {}
        if aim == b"\0\0\0" and (reply := honeywell.parse_reply(data)) is not None:
            return Frame(FrameKind.REPLY, raw, data, {"status": reply.status, "echo": reply.text})
        if aim_ok(aim):
            fields["aim"] = aim.decode("ascii")
            fields["symbology"] = aim_symbology(fields["aim"])
        if code_id:
            fields["code_id"] = chr(code_id)
            if fields.get("symbology", "unknown") == "unknown":
                fields["symbology"] = HONEYWELL_CODES.get(code_id, "unknown")
        return Frame(FrameKind.DATA, raw, data, fields)
