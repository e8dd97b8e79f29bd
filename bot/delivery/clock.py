"""The clock delivery runs on: monotonic seconds, wall-clock ns and sleeping, injectable.

Pacing, retry, backoff and timeout logic in ``Scheduler``/``GlobalLimiter``/``Sender`` and the
router read time only through a ``Clock``, so tests drive it with ``FakeClock.advance`` instead
of sleeping (and a loaded machine cannot make them late).
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""

    def wall_ns(self) -> int:
        """Epoch nanoseconds (stored in the outbox)."""

    async def sleep(self, seconds: float) -> None:
        ...


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def wall_ns(self) -> int:
        return time.time_ns()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


REAL_CLOCK = RealClock()


async def wait_event(clock: Clock, event: asyncio.Event, limit_s: float | None) -> bool:
    """Wait for ``event`` at most ``limit_s`` seconds of ``clock``; True when it was set."""
    if event.is_set():
        return True
    if limit_s is None:
        await event.wait()
        return True
    if limit_s <= 0:
        return False
    if isinstance(clock, RealClock):  # the hot path: no extra tasks
        try:
            async with asyncio.timeout(limit_s):
                await event.wait()
        except TimeoutError:
            return False
        return True
    waiter = asyncio.ensure_future(event.wait())
    sleeper = asyncio.ensure_future(clock.sleep(limit_s))
    try:
        await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for f in (waiter, sleeper):
            if not f.done():
                f.cancel()
        await asyncio.gather(waiter, sleeper, return_exceptions=True)
    return event.is_set()


class TimedOut(Exception):
    """``with_timeout`` ran out (the clock's own time, not the network library's)."""


async def with_timeout(clock: Clock, aw: Awaitable[T], limit_s: float) -> T:
    """Await ``aw`` for at most ``limit_s`` seconds of ``clock``; cancel it and raise ``TimedOut``."""
    if isinstance(clock, RealClock):  # the hot path: no extra tasks
        try:
            async with asyncio.timeout(limit_s):
                return await aw
        except TimeoutError as e:
            raise TimedOut(f"no answer within {limit_s:g}s") from e
    task = asyncio.ensure_future(aw)
    sleeper = asyncio.ensure_future(clock.sleep(limit_s))
    try:
        await asyncio.wait({task, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        task.cancel()
        sleeper.cancel()
        await asyncio.gather(task, sleeper, return_exceptions=True)
        raise
    if task.done():
        sleeper.cancel()
        await asyncio.gather(sleeper, return_exceptions=True)
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    raise TimedOut(f"no answer within {limit_s:g}s")


class FakeClock:
    """A clock that moves only when told (``advance``/``advance_to``); for tests.

    ``sleep`` parks the caller until the clock reaches its deadline. ``wall_ns`` moves with it.
    """

    def __init__(self, start: float = 1000.0, wall_start_ns: int | None = None) -> None:
        self._now = start
        self._wall0 = time.time_ns() if wall_start_ns is None else wall_start_ns
        self._start = start
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def wall_ns(self) -> int:
        return self._wall0 + int((self._now - self._start) * 1e9)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self._now + seconds, next(self._seq), fut))
        await fut

    def next_deadline(self) -> float | None:
        while self._timers and self._timers[0][2].done():
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def advance_to(self, t: float) -> None:
        self._now = max(self._now, t)
        while self._timers and self._timers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._timers)
            if not fut.done():
                fut.set_result(None)

    def advance(self, seconds: float) -> None:
        self.advance_to(self._now + seconds)
