"""FrameWorker: analysis in a worker thread that drops old frames, never blocks, never grows."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import numpy as np
import pytest

from drivers.camera.analysis import RESULT_QUEUE, AnalysisError, FrameWorker
from drivers.camera.frames import Frame

# Liveness bound for a worker thread to reach a point the test waits for.
THREAD_WAIT_S = 10.0


def frame(seq: int) -> Frame:
    image = np.full((4, 4, 3), seq % 256, np.uint8)
    return Frame(image, seq, float(seq), 4, 4)


def seq_of(f: Frame) -> int:
    return f.seq


def submit_all(worker: FrameWorker[int], first: int, last: int) -> None:
    """Submit frames first..last from this thread, as the capture thread does."""
    for seq in range(first, last + 1):
        worker.submit(frame(seq))
        assert worker.pending <= worker.depth


async def test_a_busy_worker_keeps_only_the_newest_frame() -> None:
    started, release = threading.Event(), threading.Event()

    def setup() -> Callable[[Frame], int]:
        def analyse(f: Frame) -> int:
            started.set()
            release.wait(THREAD_WAIT_S)
            return f.seq

        return analyse

    async with FrameWorker(setup, depth=1, name="test-busy") as worker:
        worker.submit(frame(1))
        assert await asyncio.to_thread(started.wait, THREAD_WAIT_S)
        await asyncio.to_thread(submit_all, worker, 2, 101)  # the worker is still on frame 1
        assert worker.pending == 1
        assert worker.dropped == 99
        release.set()
        results = worker.results()
        assert [await anext(results), await anext(results)] == [1, 101]
    assert (worker.submitted, worker.done, worker.failed) == (101, 2, 0)


async def test_submitting_never_blocks_and_nothing_grows_while_results_wait() -> None:
    async with FrameWorker(lambda: seq_of, depth=2, name="test-bounded") as worker:
        # Nobody takes results while 1000 frames arrive: the worker can hold RESULT_QUEUE
        # results, one more being handed over, and `depth` frames; the rest is dropped.
        await asyncio.to_thread(submit_all, worker, 1, 1000)
        assert worker.submitted == 1000
        assert worker.dropped >= 1000 - (RESULT_QUEUE + 1 + 2)
        seen: list[int] = []
        async for seq in worker.results():
            seen.append(seq)
            if seq == 1000:  # the newest frame is never dropped
                break
    assert seen == sorted(set(seen))  # in frame order, no repeats
    assert len(seen) == worker.done <= RESULT_QUEUE + 1 + 2
    assert worker.submitted == worker.done + worker.dropped


async def test_a_frame_whose_analysis_raises_is_counted_and_the_worker_goes_on() -> None:
    def analyse(f: Frame) -> int:
        if f.seq % 2:
            raise ValueError("odd frame")
        return f.seq

    async with FrameWorker(lambda: analyse, depth=8, name="test-errors") as worker:
        for seq in range(1, 7):
            worker.submit(frame(seq))
        results = worker.results()
        assert [await anext(results) for _ in range(3)] == [2, 4, 6]
    assert (worker.done, worker.failed) == (3, 3)


async def test_a_setup_that_fails_ends_the_results_with_a_typed_error() -> None:
    def setup() -> Callable[[Frame], int]:
        raise OSError("no decoder library")

    async with FrameWorker(setup, name="test-setup") as worker:
        worker.submit(frame(1))
        with pytest.raises(AnalysisError, match="no decoder library") as info:
            async for _ in worker.results():
                pass
        assert isinstance(info.value.__cause__, OSError)
        with pytest.raises(AnalysisError):  # a second reader ends the same way
            await anext(worker.results())


async def test_stop_ends_the_results_and_later_frames_are_ignored() -> None:
    worker: FrameWorker[int] = FrameWorker(lambda: seq_of, name="test-stop")
    await worker.start()
    worker.submit(frame(1))
    results = worker.results()
    assert await anext(results) == 1
    await worker.stop()
    await worker.stop()  # idempotent
    assert [seq async for seq in results] == []
    worker.submit(frame(2))
    assert (worker.submitted, worker.pending) == (1, 0)
    assert not any(t.name == "test-stop" for t in threading.enumerate())


def test_depth_must_hold_a_frame() -> None:
    with pytest.raises(ValueError, match="depth"):
        FrameWorker(lambda: seq_of, depth=0)
