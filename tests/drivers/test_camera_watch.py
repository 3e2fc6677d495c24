"""FeedWatch: when a camera feed counts as failing, stalled, frozen or ended (explicit clocks)."""

from __future__ import annotations

import numpy as np

from drivers.camera.synthetic import SyntheticPattern
from drivers.camera.watch import REPORT_AFTER, FeedWatch, Limits, digest

LIMITS = Limits(read_timeout=2.0, stall_after=1.0, frozen_after=3.0)


def test_a_moving_feed_is_healthy() -> None:
    watch = FeedWatch(LIMITS, now=0.0)
    pattern = SyntheticPattern(320, 240)
    for n in range(100):
        at = n * 0.1
        watch.frame(at, digest(pattern.frame(n)))
        assert watch.check(at + 0.05) is None


def test_the_same_picture_for_longer_than_frozen_after_is_fatal() -> None:
    watch = FeedWatch(LIMITS, now=0.0)
    still = digest(SyntheticPattern(320, 240).frame(7))
    for n in range(30):  # 0.0 .. 2.9 s: not yet
        watch.frame(n * 0.1, still)
        assert watch.check(n * 0.1) is None
    watch.frame(3.0, still)
    finding = watch.check(3.0)
    assert finding is not None
    assert (finding.code, finding.fatal) == ("frozen", True)
    assert "3.0 s" in finding.message


def test_frozen_after_zero_never_reports_frozen() -> None:
    watch = FeedWatch(Limits(2.0, 1.0, frozen_after=0.0), now=0.0)
    for n in range(100):
        watch.frame(n * 0.1, 42)
    assert watch.check(10.0) is None


def test_no_read_returning_within_the_stall_limit_is_fatal() -> None:
    watch = FeedWatch(LIMITS, now=0.0)
    watch.frame(0.5, 1)
    assert watch.check(1.4) is None
    finding = watch.check(1.5)
    assert finding is not None
    assert (finding.code, finding.fatal) == ("stalled", True)


def test_a_run_of_failed_reads_is_reported_once_then_fatal_after_read_timeout() -> None:
    watch = FeedWatch(LIMITS, now=0.0)
    watch.frame(0.0, 1)
    for n in range(1, REPORT_AFTER):
        watch.failure(n * 0.02)
        assert watch.check(n * 0.02) is None
    watch.failure(0.1)
    first = watch.check(0.1)
    assert first is not None
    assert (first.code, first.fatal) == ("read_failed", False)
    watch.failure(0.2)
    assert watch.check(0.2) is None  # the same run is not reported twice
    for n in range(3, 22):
        watch.failure(n * 0.1)
    last = watch.check(2.1)
    assert last is not None
    assert (last.code, last.fatal) == ("read_failed", True)


def test_a_good_frame_ends_a_run_of_failures() -> None:
    watch = FeedWatch(LIMITS, now=0.0)
    for n in range(REPORT_AFTER):
        watch.failure(n * 0.01)
    assert watch.check(0.05) is not None
    watch.frame(0.1, 5)
    assert watch.check(0.5) is None
    for n in range(REPORT_AFTER):
        watch.failure(1.0 + n * 0.01)
    again = watch.check(1.05)
    assert again is not None  # a new run is reported again
    assert (again.code, again.fatal) == ("read_failed", False)


def test_an_end_is_reported_first_and_only_its_first_cause() -> None:
    watch = FeedWatch(LIMITS, now=0.0)
    watch.end("ended", "the video file ended")
    watch.end("capture_failed", "later")
    finding = watch.check(100.0)
    assert finding is not None
    assert (finding.code, finding.message, finding.fatal) == (
        "ended",
        "the video file ended",
        True,
    )


def test_the_digest_compares_a_coarse_grid_of_pixels() -> None:
    pattern = SyntheticPattern(640, 480, seed=2)
    a, b = pattern.frame(1), pattern.frame(2)
    assert digest(a) == digest(a.copy())
    assert digest(a) != digest(b)
    on_grid, off_grid = a.copy(), a.copy()
    on_grid[15, 30] = 255 - on_grid[15, 30]  # the grid step is 480 // 32 = 15
    off_grid[16, 31] = 255 - off_grid[16, 31]
    assert digest(on_grid) != digest(a)
    assert digest(off_grid) == digest(a)  # cheap: sensor noise on a live camera moves it anyway
    assert digest(np.zeros((8, 8, 3), np.uint8)) != digest(np.ones((8, 8, 3), np.uint8))
