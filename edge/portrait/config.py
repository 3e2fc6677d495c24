"""The `[portrait]` config section: which camera, when to capture, and the quality thresholds."""

from __future__ import annotations

from edge.portrait.thresholds import PortraitThresholds, _bad


class PortraitConfig(PortraitThresholds, forbid_unknown_fields=True, kw_only=True):
    """Portrait capture settings; the thresholds and their sources are in `PortraitThresholds`."""

    # The `[[devices]]` name of the counter camera; empty: the first enabled `camera` device.
    camera: str = ""
    # Start a capture as soon as a travel document record is stored.
    on_document: bool = True
    # A capture ends early once a frame scores this much (1 disables the early end, so the
    # capture runs its whole duration): the traveller need not hold still longer than needed.
    good_score: float = 0.85

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.min_score <= self.good_score <= 1:
            raise _bad("good_score", "expected min_score <= good_score <= 1")
