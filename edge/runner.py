"""Run an App until SIGTERM/SIGINT and map its outcome to an exit code."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence

from edge.app import App
from edge.errors import EdgeError

Companion = Callable[[App], Coroutine[object, object, None]]


async def _serve(app: App, companion: Companion | None) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, app.request_stop)
    if companion is None:
        await app.run()
        return
    async with asyncio.TaskGroup() as tg:
        side = tg.create_task(companion(app), name="companion")
        await app.run()
        side.cancel()


def run(app: App, companion: Companion | None = None) -> int:
    """0 after a clean stop; 1 (with the reason on stderr) when the daemon could not run."""
    try:
        asyncio.run(_serve(app, companion))
    except (EdgeError, BaseExceptionGroup) as exc:
        errors = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
        if not all(isinstance(e, EdgeError) for e in _leaves(errors)):
            raise
        for error in _leaves(errors):
            print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _leaves(errors: Sequence[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for error in errors:
        if isinstance(error, BaseExceptionGroup):
            out.extend(_leaves(error.exceptions))
        else:
            out.append(error)
    return out
