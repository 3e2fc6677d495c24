"""Barcodes in camera frames: zxing-cpp reads every symbology, zbar reads 1D codes and QR.

DriverError
├── DecoderUnavailable   the chosen decoder cannot be loaded (pyzbar or the system's libzbar0)
└── ProtocolError
    └── BadFrame         the frame is not an 8-bit grey, BGR or BGRA image the decoder accepts

Format names are the symbology names of `drivers.symbology` ("qr", "pdf417", "aztec",
"datamatrix", "code128", "code39", "itf", "ean_upc", "codabar", "code93", "gs1_databar").
A decoder is restricted to the formats it is given: an unrestricted zxing-cpp pass over a
smoothed 1080p frame costs two to four times as much (benchmarks/bench_frame_codes.py), and ten
times or more on an unsmoothed noisy one, most of it in the 1D scanners chasing noise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray

from drivers.base import DriverError, ProtocolError
from drivers.symbology import AIM_CODES

__all__ = [
    "BACKENDS",
    "KNOWN_FORMATS",
    "ZBAR_FORMATS",
    "ZXING_FORMATS",
    "BadFrame",
    "CodeRead",
    "Decoder",
    "DecoderUnavailable",
    "ZbarDecoder",
    "ZxingDecoder",
    "grey_frame",
    "make_decoder",
]

Grey = NDArray[np.uint8]
Point = tuple[int, int]


class DecoderUnavailable(DriverError):
    """The chosen barcode decoder cannot be loaded on this system."""


class BadFrame(ProtocolError):
    """A frame the decoders cannot take: wrong element type, shape or channel count."""


@dataclass(frozen=True, slots=True)
class CodeRead:
    """One barcode found in a frame, as the decoder read it (before validation)."""

    symbology: str  # our name, e.g. "pdf417", "ean_upc"
    payload: bytes  # the exact bytes the symbol carries
    text: str  # the payload as text (zxing-cpp: ECI or guessed charset; zbar: UTF-8)
    corners: tuple[Point, ...]  # outline in frame pixels (zxing-cpp: TL, TR, BR, BL of the symbol)
    orientation: int  # degrees clockwise the symbol is turned in the frame, 0..359
    variant: str = ""  # the decoder's own format, lower case: "ean13", "ean8", "upca", "upce"...


# Every name a configuration may use; some of them no camera decoder reads.
KNOWN_FORMATS: frozenset[str] = frozenset(AIM_CODES.values())

ZXING_FORMATS: dict[str, zxingcpp.BarcodeFormat] = {
    "qr": zxingcpp.BarcodeFormat.QRCode,  # with Micro QR and rMQR
    "pdf417": zxingcpp.BarcodeFormat.PDF417,
    "aztec": zxingcpp.BarcodeFormat.Aztec,
    "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    "code128": zxingcpp.BarcodeFormat.Code128,
    "code39": zxingcpp.BarcodeFormat.Code39,
    "code93": zxingcpp.BarcodeFormat.Code93,
    "codabar": zxingcpp.BarcodeFormat.Codabar,
    "itf": zxingcpp.BarcodeFormat.ITF,
    "ean_upc": zxingcpp.BarcodeFormat.EANUPC,
    "gs1_databar": zxingcpp.BarcodeFormat.DataBar,
}
# Names of pyzbar's ZBarSymbol members; resolved when the zbar decoder is built. zbar lists
# PDF417 but does not decode it from images, so it is not offered.
ZBAR_FORMATS: dict[str, tuple[str, ...]] = {
    "qr": ("QRCODE",),
    "code128": ("CODE128",),
    "code39": ("CODE39",),
    "code93": ("CODE93",),
    "codabar": ("CODABAR",),
    "itf": ("I25",),
    "ean_upc": ("EAN13", "EAN8", "UPCA", "UPCE"),
    "gs1_databar": ("DATABAR", "DATABAR_EXP"),
}
BACKENDS = ("zxing", "zbar")
# zbar reports how a symbol is turned as a word; zxing-cpp in signed degrees, clockwise.
_ZBAR_ORIENTATION = {"UP": 0, "RIGHT": 90, "DOWN": 180, "LEFT": 270}
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
# Symbologies with error correction, where a second look at a symbol that was located but not
# decoded cannot turn into a misread; at most this many second looks per frame.
SECOND_LOOK = frozenset({"pdf417", "aztec", "datamatrix", "qr"})
MAX_SECOND_LOOKS = 4
# A located symbol turned less than this is read again as it is, without deskewing.
MIN_DESKEW_DEGREES = 0.5


class Decoder(Protocol):
    """Finds the barcodes of its formats in a grey frame. Not thread-safe: one caller."""

    backend: str
    formats: tuple[str, ...]

    def decode(self, grey: Grey) -> list[CodeRead]: ...


def grey_frame(image: NDArray[Any]) -> Grey:
    """The frame as one 8-bit grey plane: grey and 1-channel frames as they are (no copy),
    BGR and BGRA converted once."""
    if not isinstance(image, np.ndarray):
        raise BadFrame(f"a frame must be a numpy array, not {type(image).__name__}")
    if image.dtype != np.uint8:
        raise BadFrame(f"a frame must hold 8-bit pixels, not {image.dtype}")
    if image.size == 0:
        raise BadFrame(f"the frame is empty ({'x'.join(map(str, image.shape))})")
    if image.ndim == 2:
        return image
    if image.ndim == 3:
        channels = image.shape[2]
        if channels == 1:
            return image[:, :, 0]
        if channels == 3:
            return cast("Grey", cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        if channels == 4:
            return cast("Grey", cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY))
        raise BadFrame(f"a frame must have 1, 3 or 4 channels, not {channels}")
    raise BadFrame(f"a frame must be 2- or 3-dimensional, not {image.ndim}-dimensional")


def _variant(name: str) -> str:
    return _NOT_ALNUM.sub("", name.lower())


def _checked_formats(
    formats: Iterable[str], offered: Iterable[str], backend: str
) -> tuple[str, ...]:
    """The formats in order without repeats; ValueError naming an unknown or unreadable one."""
    names = tuple(dict.fromkeys(formats))
    readable = set(offered)
    if not names:
        raise ValueError(f"the {backend} decoder needs at least one barcode format")
    for name in names:
        if name not in KNOWN_FORMATS:
            known = ", ".join(sorted(KNOWN_FORMATS))
            raise ValueError(f"unknown barcode format {name!r}; known formats: {known}")
        if name not in readable:
            raise ValueError(
                f"the {backend} decoder cannot read {name!r}; "
                f"it reads: {', '.join(sorted(readable))}"
            )
    return names


class ZxingDecoder:
    """zxing-cpp restricted to `formats`; every symbology of `ZXING_FORMATS`.

    `try_rotate` finds symbols turned by 90/180/270 degrees, `try_downscale` large or blurred
    ones in reduced copies, `try_invert` light-on-dark ones (phone screens in dark mode); the
    last one doubles the time of a frame without a code, so it is off unless asked for.
    `denoise` smooths the frame with a 3x3 Gaussian first (under a millisecond at 1080p):
    sensor noise on plain surfaces otherwise feeds the detectors thousands of candidates, 10
    to 20 times the decoding time, and breaks the rows of a turned PDF417 apart. (A median
    filter removes the noise as well but eats the corners of 3-pixel modules.)
    """

    backend = "zxing"

    def __init__(
        self,
        formats: Sequence[str],
        *,
        try_rotate: bool = True,
        try_downscale: bool = True,
        try_invert: bool = False,
        denoise: bool = True,
    ) -> None:
        self.formats = _checked_formats(formats, ZXING_FORMATS, self.backend)
        self._formats = zxingcpp.BarcodeFormats([ZXING_FORMATS[name] for name in self.formats])
        # Results name their symbology family (EAN/UPC for EAN-8, QR Code for Micro QR).
        self._names = {ZXING_FORMATS[name]: name for name in self.formats}
        self.try_rotate = try_rotate
        self.try_downscale = try_downscale
        self.try_invert = try_invert
        self.denoise = denoise
        self._filtered: Grey | None = None  # reused frame to frame: no allocation per frame

    def decode(self, grey: Grey) -> list[CodeRead]:
        """The symbols found in `grey`, in the decoder's order."""
        if self.denoise:
            grey = self._smooth(grey)
        try:
            found = self._read(grey, self._formats, zxingcpp.Binarizer.LocalAverage)
        except (TypeError, ValueError) as exc:
            raise BadFrame(f"zxing-cpp refused the frame ({type(exc).__name__})") from exc
        reads = []
        looks = 0
        for barcode in found:
            name = self._names.get(barcode.symbology)
            if name is None:  # outside the formats asked for; not expected from a restricted pass
                continue
            if barcode.valid:
                reads.append(_code_read(name, barcode, barcode))
            elif name in SECOND_LOOK and looks < MAX_SECOND_LOOKS:
                looks += 1
                again = self._second_look(grey, barcode)
                if again is not None:
                    reads.append(_code_read(name, again, barcode))
        return reads

    def _smooth(self, grey: Grey) -> Grey:
        if self._filtered is None or self._filtered.shape != grey.shape:
            self._filtered = np.empty(grey.shape, np.uint8)
        return cast("Grey", cv2.GaussianBlur(grey, (3, 3), 0, dst=self._filtered))

    def _read(
        self, grey: Grey, formats: zxingcpp.BarcodeFormats, binarizer: zxingcpp.Binarizer
    ) -> list[zxingcpp.Barcode]:
        return zxingcpp.read_barcodes(
            grey,
            formats=formats,
            try_rotate=self.try_rotate,
            try_downscale=self.try_downscale,
            try_invert=self.try_invert,
            text_mode=zxingcpp.TextMode.Plain,
            binarizer=binarizer,
            return_errors=True,
        )

    def _second_look(self, grey: Grey, found: zxingcpp.Barcode) -> zxingcpp.Barcode | None:
        """Decode a symbol located but not decoded, from its own deskewed patch of the frame.

        The frame's local-average binarizer breaks the rows of a slightly turned, blurred
        PDF417 apart; the patch, turned level, is read with it and then with a global
        histogram. Error correction still guards what comes out.
        """
        corners = _corners(found)
        xs = [x for x, _ in corners]
        ys = [y for _, y in corners]
        margin = max(16, (max(xs) - min(xs)) // 8, (max(ys) - min(ys)) // 8)
        height, width = grey.shape
        top, left = max(0, min(ys) - margin), max(0, min(xs) - margin)
        patch = grey[top : min(height, max(ys) + margin), left : min(width, max(xs) + margin)]
        if patch.shape[0] < 8 or patch.shape[1] < 8:
            return None
        (x0, y0), (x1, y1) = corners[0], corners[1]
        tilt = math.degrees(math.atan2(y1 - y0, x1 - x0))
        tilt -= 90 * round(tilt / 90)  # quarter turns are the decoder's own business
        if abs(tilt) >= MIN_DESKEW_DEGREES:
            centre = (patch.shape[1] / 2, patch.shape[0] / 2)
            turn = cv2.getRotationMatrix2D(centre, tilt, 1.0)
            size = (patch.shape[1], patch.shape[0])
            patch = cast("Grey", cv2.warpAffine(patch, turn, size, borderMode=cv2.BORDER_REPLICATE))
        formats = zxingcpp.BarcodeFormats([found.symbology])
        for binarizer in (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram):
            for barcode in self._read(patch, formats, binarizer):
                if barcode.valid:
                    return barcode
        return None


def _corners(barcode: zxingcpp.Barcode) -> tuple[Point, ...]:
    position = barcode.position
    return tuple(
        (point.x, point.y)
        for point in (
            position.top_left,
            position.top_right,
            position.bottom_right,
            position.bottom_left,
        )
    )


def _code_read(name: str, decoded: zxingcpp.Barcode, located: zxingcpp.Barcode) -> CodeRead:
    """A read of `decoded`'s content at `located`'s place in the frame."""
    return CodeRead(
        symbology=name,
        payload=decoded.bytes,
        text=decoded.text,
        corners=_corners(located),
        orientation=located.orientation % 360,
        variant=_variant(str(decoded.format)),
    )


class ZbarDecoder:
    """zbar (through pyzbar) restricted to `formats`: 1D codes and QR, never PDF417 or 2D codes.

    pyzbar and the system's libzbar0 are loaded here, so a missing library is reported when
    the decoder is built rather than at its first frame. zbar hands QR text back re-encoded as
    UTF-8, not the symbol's raw bytes.
    """

    backend = "zbar"

    def __init__(self, formats: Sequence[str]) -> None:
        self.formats = _checked_formats(formats, ZBAR_FORMATS, self.backend)
        try:
            from pyzbar import pyzbar  # noqa: PLC0415  # optional: loads libzbar0 on import
        except (ImportError, OSError) as exc:
            raise DecoderUnavailable(
                "the zbar decoder needs pyzbar and the system library libzbar0 "
                "(the midas-edge[zbar] extra and the libzbar0 package)"
            ) from exc
        self._pyzbar: Any = pyzbar
        self._symbols = [
            pyzbar.ZBarSymbol[symbol] for name in self.formats for symbol in ZBAR_FORMATS[name]
        ]
        self._names = {symbol: name for name in self.formats for symbol in ZBAR_FORMATS[name]}

    def decode(self, grey: Grey) -> list[CodeRead]:
        """The symbols found in `grey`, in the decoder's order."""
        try:
            found = self._pyzbar.decode(grey, symbols=self._symbols)
        except self._pyzbar.PyZbarError as exc:
            raise BadFrame("zbar refused the frame") from exc
        reads = []
        for symbol in found:
            name = self._names.get(symbol.type)
            if name is None:
                continue
            payload = bytes(symbol.data)
            reads.append(
                CodeRead(
                    symbology=name,
                    payload=payload,
                    text=payload.decode("utf-8", errors="replace"),
                    corners=tuple((int(p.x), int(p.y)) for p in symbol.polygon),
                    orientation=_ZBAR_ORIENTATION.get(str(symbol.orientation), 0),
                    variant=_variant(str(symbol.type)),
                )
            )
        return reads


def make_decoder(backend: str, formats: Sequence[str]) -> Decoder:
    """The decoder named `backend` ("zxing" or "zbar") restricted to `formats`."""
    if backend == "zxing":
        return ZxingDecoder(formats)
    if backend == "zbar":
        return ZbarDecoder(formats)
    raise ValueError(f"unknown barcode decoder {backend!r}; choose one of: {', '.join(BACKENDS)}")
