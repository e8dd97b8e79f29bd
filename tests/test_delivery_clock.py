"""The injectable clock: FakeClock moves only when told; waits and timeouts obey the clock."""
from __future__ import annotations

import asyncio

import pytest

from bot.delivery.clock import REAL_CLOCK, FakeClock, TimedOut, wait_event, with_timeout


async def test_fake_clock_sleepers_wake_in_deadline_order_only_when_advanced():
    clock = FakeClock(start=10.0, wall_start_ns=5_000_000_000)
    woke: list[str] = []

    async def sleeper(name: str, s: float) -> None:
        await clock.sleep(s)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("late", 5.0)), asyncio.create_task(sleeper("early", 1.0))]
    await asyncio.sleep(0)
    assert clock.next_deadline() == 11.0 and woke == []
    clock.advance(0.5)
    await asyncio.sleep(0)
    assert woke == []
    clock.advance_to(11.0)
    await asyncio.sleep(0)
    assert woke == ["early"]
    clock.advance(10.0)
    await asyncio.gather(*tasks)
    assert woke == ["early", "late"] and clock.now() == 21.0
    assert clock.wall_ns() == 5_000_000_000 + 11_000_000_000  # wall time moves with it


async def test_with_timeout_and_wait_event_on_the_fake_clock():
    clock = FakeClock()
    never = asyncio.Event()
    slow = asyncio.create_task(with_timeout(clock, never.wait(), 60.0))
    waiting = asyncio.create_task(wait_event(clock, never, 30.0))
    for _ in range(5):  # let both park on the clock
        await asyncio.sleep(0)
    assert clock.next_deadline() == clock.now() + 30.0
    clock.advance(30.0)
    assert await waiting is False and not slow.done()
    clock.advance(30.0)
    for _ in range(5):
        await asyncio.sleep(0)
    with pytest.raises(TimedOut):
        await slow
    done = asyncio.Event()
    done.set()
    assert await wait_event(clock, done, 5.0) is True
    assert await with_timeout(clock, asyncio.sleep(0, result=7), 1.0) == 7
    assert clock.next_deadline() is None  # nothing left parked


async def test_the_real_clock_times_out_too():
    with pytest.raises(TimedOut):
        await with_timeout(REAL_CLOCK, asyncio.Event().wait(), 0.01)
    assert await wait_event(REAL_CLOCK, asyncio.Event(), 0.01) is False
    assert await with_timeout(REAL_CLOCK, asyncio.sleep(0, result="ok"), 5.0) == "ok"
