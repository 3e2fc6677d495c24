"""Hints follow the verdicts, most important first, one hint per problem."""

from __future__ import annotations

from edge.portrait.feedback import hints
from edge.portrait.results import Direction, HintCode, Measure, Measures, QualityVerdict

OK = QualityVerdict.OK
LOW = QualityVerdict.TOO_LOW
HIGH = QualityVerdict.TOO_HIGH
UNSURE = QualityVerdict.UNDETERMINED


def measures(**verdicts: tuple[float | None, QualityVerdict]) -> Measures:
    """Measures all ok (value 0) but the given (value, verdict) pairs."""
    fields = {name: Measure(0.0, OK) for name in Measures.__struct_fields__}
    fields["faces"] = Measure(1.0, OK)
    fields.update({name: Measure(*pair) for name, pair in verdicts.items()})
    return Measures(**fields)


def test_everything_wrong_at_once_in_order_of_importance() -> None:
    found = hints(
        measures(
            face_ratio=(0.2, LOW),
            offset_x=(0.2, HIGH),
            offset_y=(-0.3, LOW),
            brightness=(40.0, LOW),
            overexposed=(0.2, HIGH),
            contrast=(5.0, LOW),
            roll=(12.0, HIGH),
            sharpness=(3.0, LOW),
        )
    )
    assert [h.code for h in found] == [
        HintCode.MOVE_CLOSER,
        HintCode.CENTRE_FACE,
        HintCode.TOO_DARK,
        HintCode.TOO_BRIGHT,
        HintCode.HEAD_TILTED,
        HintCode.HOLD_STILL,
    ]
    centre = found[1]
    assert centre.directions == (Direction.DOWN, Direction.LEFT)
    assert "down and left" in centre.text
    assert all(h.text and "{" not in h.text for h in found)


def test_face_count_hides_every_other_hint() -> None:
    none = measures(faces=(0.0, LOW), brightness=(10.0, LOW))
    assert [h.code for h in hints(none)] == [HintCode.NO_FACE]
    two = measures(faces=(2.0, HIGH), sharpness=(1.0, LOW))
    assert [h.code for h in hints(two)] == [HintCode.TWO_FACES]


def test_move_back_wins_over_small_eye_distance() -> None:
    found = hints(measures(face_ratio=(0.7, HIGH), inter_eye=(80.0, LOW)))
    assert [h.code for h in found] == [HintCode.MOVE_BACK]


def test_each_size_measure_alone_asks_to_come_closer() -> None:
    for name in ("face_ratio", "face_px", "inter_eye"):
        assert [h.code for h in hints(measures(**{name: (1.0, LOW)}))] == [HintCode.MOVE_CLOSER]


def test_clipping_alone_names_the_light() -> None:
    assert [h.code for h in hints(measures(underexposed=(0.2, HIGH)))] == [HintCode.TOO_DARK]
    assert [h.code for h in hints(measures(overexposed=(0.2, HIGH)))] == [HintCode.TOO_BRIGHT]


def test_low_contrast_alone() -> None:
    assert [h.code for h in hints(measures(contrast=(8.0, LOW)))] == [HintCode.LOW_CONTRAST]


def test_undetermined_measures_give_no_hint() -> None:
    assert hints(measures(inter_eye=(None, UNSURE), roll=(None, UNSURE))) == ()
