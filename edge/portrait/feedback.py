"""Hints for the officer, derived from the verdicts and ordered by importance.

Order: the face count first (nothing else means anything without exactly one face), then
distance and position (the traveller moves), then light (the officer adjusts the scene), then
the head's tilt and, last, blur (often gone by the next frame).
"""

from __future__ import annotations

from edge.portrait.results import Direction, Hint, HintCode, Measures, QualityVerdict

LOW = QualityVerdict.TOO_LOW
HIGH = QualityVerdict.TOO_HIGH

TEXTS: dict[HintCode, str] = {
    HintCode.NO_FACE: "No face in view: ask the traveller to look at the camera.",
    HintCode.TWO_FACES: "More than one face in view: only the traveller may be in the picture.",
    HintCode.MOVE_BACK: "Face too close: ask the traveller to step back a little.",
    HintCode.MOVE_CLOSER: "Face too small: ask the traveller to come closer.",
    HintCode.CENTRE_FACE: "Centre the face: it has to move {} in the picture.",
    HintCode.TOO_DARK: "Face too dark: add light on the face or face the light.",
    HintCode.TOO_BRIGHT: "Face too bright: reduce the light on the face.",
    HintCode.LOW_CONTRAST: "Face looks flat: check the lens and avoid light from behind.",
    HintCode.HEAD_TILTED: "Head tilted: ask the traveller to hold the head straight.",
    HintCode.HOLD_STILL: "Picture blurred: ask the traveller to hold still.",
}


def _hint(code: HintCode, directions: tuple[Direction, ...] = ()) -> Hint:
    text = TEXTS[code]
    if directions:
        text = text.format(" and ".join(directions))
    return Hint(code, text, directions)


def _centring(measures: Measures) -> tuple[Direction, ...]:
    """Directions the face has to move, the larger offset first."""
    moves: list[tuple[float, Direction]] = []
    for measure, towards_low, towards_high in (
        (measures.offset_x, Direction.RIGHT, Direction.LEFT),
        (measures.offset_y, Direction.DOWN, Direction.UP),
    ):
        if measure.value is None:
            continue
        if measure.verdict is LOW:
            moves.append((abs(measure.value), towards_low))
        elif measure.verdict is HIGH:
            moves.append((abs(measure.value), towards_high))
    moves.sort(key=lambda move: move[0], reverse=True)
    return tuple(direction for _, direction in moves)


def hints(measures: Measures) -> tuple[Hint, ...]:
    """The hints for one analysed frame, most important first; none for a good frame."""
    if measures.faces.verdict is LOW:
        return (_hint(HintCode.NO_FACE),)
    if measures.faces.verdict is HIGH:
        return (_hint(HintCode.TWO_FACES),)
    found: list[Hint] = []
    if measures.face_ratio.verdict is HIGH:
        found.append(_hint(HintCode.MOVE_BACK))
    elif LOW in (measures.face_ratio.verdict, measures.face_px.verdict, measures.inter_eye.verdict):
        found.append(_hint(HintCode.MOVE_CLOSER))
    directions = _centring(measures)
    if directions:
        found.append(_hint(HintCode.CENTRE_FACE, directions))
    dark = measures.brightness.verdict is LOW or measures.underexposed.verdict is HIGH
    bright = measures.brightness.verdict is HIGH or measures.overexposed.verdict is HIGH
    if dark:
        found.append(_hint(HintCode.TOO_DARK))
    if bright:
        found.append(_hint(HintCode.TOO_BRIGHT))
    # A dark or burnt-out face is flat as a matter of course: its own hint says what to do.
    if measures.contrast.verdict is LOW and not (dark or bright):
        found.append(_hint(HintCode.LOW_CONTRAST))
    if measures.roll.verdict in (LOW, HIGH):
        found.append(_hint(HintCode.HEAD_TILTED))
    if measures.sharpness.verdict is LOW:
        found.append(_hint(HintCode.HOLD_STILL))
    return tuple(found)
