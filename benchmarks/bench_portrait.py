"""Portrait analysis per frame (face + eyes detection, measures, score, hints) against 40 ms.

Frames: the public-domain sample portrait (edge/sample/astronaut.jpg) pasted on a noisy background,
face box at 35 % of the height of a 1280x720 frame and 40 % of a 640x480 one, plus a 1280x720
frame without a face (the cascade then scans everything and stops nowhere early). Each frame is
analysed `--frames` times; the median wall time per frame is compared with the 40 ms goal.

OpenCV's thread count is process-wide, so it is set deliberately for each run
(`cv2.setNumThreads`): with 2 threads the face cascade scans its pyramid levels on both cores
and one frame takes about half the wall time (the latency an officer sees); with 1 thread a
frame leaves the other core to the event loop, the drivers and barcode decoding. The CPU time
per frame (all threads) is printed beside the wall time. The machine is shared: its load average
is printed with the figures.

Run: ``python -m benchmarks.bench_portrait [--frames N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from functools import partial

import cv2

from benchmarks.common import line, median, percentile
from edge.portrait.analyse import analyse_frame
from edge.portrait.crop import portrait_jpeg
from edge.portrait.detect import FaceDetector
from edge.portrait.thresholds import PortraitThresholds
from tests.portrait import scenes

GOAL_MS = 40.0
THREADS = (2, 1)
WARM_UP = 3


def timed(work: Callable[[], object], count: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of `count` calls of `work`, after a warm-up."""
    for _ in range(WARM_UP):
        work()
    walls, cpus = [], []
    for _ in range(count):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        cpus.append((time.process_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
    return walls, cpus


def main(argv: list[str] | None = None) -> None:
    """Print the median ms per frame for each frame size and thread count, and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=40, help="timed analyses per case")
    args = parser.parse_args(argv)
    detector = FaceDetector.load()
    settings = PortraitThresholds()
    cases = {
        "1280x720, face 35 %": scenes.scene(0.35),
        "640x480, face 40 %": scenes.scene(0.4, width=640, height=480),
        "1280x720, no face": scenes.background(),
    }
    for label, frame in cases.items():
        found = analyse_frame(frame, detector, settings)
        if found.one_face != ("no face" not in label):
            raise SystemExit(f"{label}: the test frame was not analysed as built")
    before = cv2.getNumThreads()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"portrait analysis per frame, median of {args.frames} (detect size "
        f"{settings.detect_size} px, smallest face {settings.detect_min_face:.0%} of the "
        f"height); {os.cpu_count()} CPUs, load average {load}"
    )
    try:
        for threads in THREADS:
            cv2.setNumThreads(threads)
            for label, frame in cases.items():
                walls, cpus = timed(partial(analyse_frame, frame, detector, settings), args.frames)
                wall = median(walls)
                line(
                    f"{label}, {threads} thread{'s' if threads > 1 else ''}",
                    f"{wall:6.1f} ms (p90 {percentile(walls, 90):5.1f}, CPU "
                    f"{statistics.median(cpus):5.1f})  {wall / GOAL_MS:.2f}x the {GOAL_MS:g} ms "
                    f"goal",
                )
        cv2.setNumThreads(THREADS[0])
        frame = cases["1280x720, face 35 %"]
        analysis = analyse_frame(frame, detector, settings)
        walls, _ = timed(partial(portrait_jpeg, frame, analysis, settings), args.frames)
        line(
            f"crop + JPEG {settings.width}x{settings.height} (once per capture)",
            f"{median(walls):6.1f} ms",
        )
    finally:
        cv2.setNumThreads(before)


if __name__ == "__main__":
    main()
