"""A portrait capture as a record: each quality measure a check, the hints as warnings.

The portrait JPEG itself is a blob of the record; the record's payload keeps the measures, the
crop geometry and the capture's figures, never image data. Its verdict is `valid` when the
stored frame is acceptable (one face, score at least `min_score`), otherwise `invalid`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from drivers.base import Capture
from edge.documents.result import Check, Issue, ParseResult
from edge.normalize import Parser
from edge.portrait.results import QualityVerdict
from edge.portrait.session import META_ANALYSIS, META_DOCUMENT, META_SESSION, PortraitSummary

FORMAT = "portrait_jpeg"
_CHECKS = {
    QualityVerdict.OK: Check.PASSED,
    QualityVerdict.TOO_LOW: Check.FAILED,
    QualityVerdict.TOO_HIGH: Check.FAILED,
    QualityVerdict.UNDETERMINED: Check.UNDETERMINED,
}
_decode = msgspec.json.Decoder(PortraitSummary)


def portrait_parser(min_score: float) -> Parser:
    """The parser of portrait captures for the normalizer (see `edge.normalize.Parser`)."""

    def parse(capture: Capture, today: date) -> ParseResult:
        del today  # a portrait does not expire
        raw = capture.meta.get(META_ANALYSIS)
        if raw is None:
            return ParseResult(
                valid=False,
                format=FORMAT,
                errors=[Issue("no_analysis", "the portrait came without its quality analysis")],
            )
        try:
            summary = _decode.decode(raw)
        except msgspec.DecodeError:
            return ParseResult(
                valid=False,
                format=FORMAT,
                errors=[Issue("bad_analysis", "the portrait's quality analysis is unreadable")],
            )
        analysis = summary.analysis
        checks = {name: _CHECKS[m.verdict] for name, m in analysis.measures.items()}
        fields: dict[str, Any] = {
            "score": round(analysis.score, 3),
            "measures": {name: m.value for name, m in analysis.measures.items()},
            "face": msgspec.to_builtins(analysis.face),
            "eyes": msgspec.to_builtins(analysis.eyes),
            "frame": {"width": analysis.frame_width, "height": analysis.frame_height},
            "crop": msgspec.to_builtins(summary.crop),
            "frames_analysed": summary.frames_analysed,
            "frames_dropped": summary.frames_dropped,
            "duration_s": summary.duration_s,
            "session": capture.meta.get(META_SESSION),
            "document_record": capture.meta.get(META_DOCUMENT),
        }
        warnings = [Issue(h.code.value, h.text) for h in analysis.hints]
        if analysis.measures.inter_eye.verdict is QualityVerdict.UNDETERMINED:
            warnings.append(
                Issue(
                    "eyes_not_found",
                    "the eyes were not found: eye distance and head tilt were not measured",
                )
            )
        if summary.crop.padded:
            warnings.append(
                Issue("padded", "the face was near the edge of the picture; the crop was padded")
            )
        return ParseResult(
            valid=analysis.one_face and analysis.score >= min_score,
            format=FORMAT,
            fields=fields,
            checks=checks,
            warnings=warnings,
        )

    return parse
