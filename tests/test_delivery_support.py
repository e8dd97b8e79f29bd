"""Shared helpers for the delivery tests (no tests here)."""
from __future__ import annotations

import asyncio
import itertools
import time
from contextlib import asynccontextmanager

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.delivery import Delivery, DeliveryConfig, FakeClock, Scheduler
from engine.signals import Direction, Kind, Signal, Tier
from engine.thresholds import defaults_for
from storage import Database, OutboxRow, UserRepo, WatchlistRepo
from tests.botapi import TOKEN, BotAPIDouble

_ids = itertools.count(1)

# magnitudes that pass every default threshold of a major (cascade >= $2M, dominance >= 65 %)
BIG = {"liq_usd": 5_000_000.0, "dominance": 0.9}
# what gives a default subscriber each tier (engine.contract), relative to the coin's default
# cascade threshold: a cascade >= 3x it is URGENT, >= 1x WATCH; a funding extreme just over
# 0.05 % per 8 h is INFO
FOR_TIER = {
    Tier.URGENT: (Kind.LIQUIDATION_CASCADE, {"liq_usd": 3.5, "dominance": 0.9}),
    Tier.WATCH: (Kind.LIQUIDATION_CASCADE, {"liq_usd": 1.5, "dominance": 0.9}),
    Tier.INFO: (Kind.FUNDING_EXTREME, {"funding_8h": 0.0006}),
}


def make_signal(symbol: str = "BTC", tier: Tier = Tier.URGENT, *, kind: Kind | None = None,
                confidence: int = 90, magnitudes: dict | None = None, sid: str | None = None) -> Signal:
    """A signal of ``tier`` for a default BTC subscriber: without ``kind``/``magnitudes`` they are
    picked so the threshold contract gives that tier (routing derives each user's tier)."""
    if kind is None and magnitudes is None:
        kind, magnitudes = FOR_TIER[tier]
        if "liq_usd" in magnitudes:
            magnitudes = {**magnitudes, "liq_usd": magnitudes["liq_usd"] * defaults_for(symbol).cascade_usd}
    kind = kind or Kind.LIQUIDATION_CASCADE
    now = time.time_ns()
    return Signal(
        id=sid or f"sig-{next(_ids)}-{symbol}-{tier.value}", kind=kind, symbol=symbol,
        direction=Direction.LONG, tier=tier, confidence=confidence, ts=now // 1_000_000 - 5,
        recv_ns=now - 2_000_000, signal_ns=now - 1_000_000,
        magnitudes=dict(BIG if magnitudes is None else magnitudes),
        components={"cascade_size": float(confidence)}, venues=("bybit",),
    )


async def add_users(db: Database, user_ids, symbols=("BTC",), *, language: str = "en") -> None:
    users, watch = UserRepo(db), WatchlistRepo(db)
    async with db.transaction():
        for uid in user_ids:
            await users.upsert_on_start(uid, uid, language)
            for s in symbols:
                await watch.add(uid, s)


@asynccontextmanager
async def double_and_bot(max_seconds: float = 60.0):
    api = BotAPIDouble(max_seconds=max_seconds)
    await api.start()
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base)))
    try:
        yield api, bot
    finally:
        await bot.session.close()
        await api.stop()


@asynccontextmanager
async def clocked_double(max_seconds: float = 120.0):
    """A ``FakeClock`` and a double whose ``Call.at``, rate limit and answer delays run on it.
    Yields (clock, api, bot)."""
    clock = FakeClock()
    api = BotAPIDouble(max_seconds=max_seconds, now=clock.now, sleep=clock.sleep)
    await api.start()
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base)))
    try:
        yield clock, api, bot
    finally:
        await bot.session.close()
        await api.stop()


@asynccontextmanager
async def clocked(db: Database, *, config: DeliveryConfig | None = None, start: bool = True):
    """A Delivery on a ``FakeClock``, talking HTTP to a double on the same clock.
    Yields (clock, api, delivery); drive it with ``run_clock``."""
    async with clocked_double() as (clock, api, bot):
        d = Delivery(bot, db, config=config or DeliveryConfig(), clock=clock)
        try:
            if start:
                await d.start()
            yield clock, api, d
        finally:
            if d.running:
                await d.stop()


def _quiet(d: Delivery, api: BotAPIDouble) -> bool:
    """Nothing moves by itself: no signal being routed, every request on the wire held by the
    double on the test clock (none still being answered in real time)."""
    routing_idle = d._inbox._unfinished_tasks == 0 or d.router_waiting  # noqa: SLF001
    # a request the sender gave up on may stay parked at the double: <=, not ==
    held = api.parked + d.sender.storage_waits  # waiting on the test clock, not on real I/O
    return routing_idle and d.sender.inflight <= held and not d.sender.reading


async def run_clock(clock: FakeClock, d: Delivery, api: BotAPIDouble, predicate=lambda: False,
                    *, until: float | None = None, real_timeout: float = 30.0) -> bool:
    """Move ``clock`` from timer to timer — only while the system is quiet, so no real I/O is
    overtaken — until ``predicate()`` holds (True) or the clock would pass ``until`` (then it
    stops AT ``until``; returns ``predicate()``). Real time only bounds a hang."""
    deadline = time.monotonic() + real_timeout
    quiet_rounds = 0
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.002)  # let real I/O (HTTP, SQLite) progress
        quiet_rounds = quiet_rounds + 1 if _quiet(d, api) else 0
        if quiet_rounds < 3:
            continue
        quiet_rounds = 0
        nxt = clock.next_deadline()
        if until is not None and (nxt is None or nxt > until):
            if clock.now() < until:
                clock.advance_to(until)
                continue
            return predicate()
        if nxt is not None:
            clock.advance_to(nxt)
    return predicate()


class Backlog:
    """Due rows as the sender reads them from the outbox (send order: priority, then FIFO), in
    memory, for the pure ``Scheduler`` tests: ``pop_ready`` is one pick of the sender."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._rows: dict[int, OutboxRow] = {}
        self._due: dict[int, float] = {}  # row id -> when it is due (the outbox's next_attempt)

    def __len__(self) -> int:
        return len(self._rows)

    def push(self, row: OutboxRow, due: float = 0.0) -> None:
        self._rows[row.id] = row
        self._due[row.id] = due

    def requeue(self, rows, due: float) -> None:
        for row in rows:
            self.push(row, due)

    def pop_ready(self, now: float) -> list[OutboxRow] | None:
        due = sorted((r for r in self._rows.values() if self._due[r.id] <= now),
                     key=lambda r: (r.priority, r.id))
        batch = self.scheduler.pick(due, now)
        for row in batch or ():
            del self._rows[row.id]
        return batch

    def next_wakeup(self) -> float | None:
        """When a row not due yet becomes due or a paced chat opens (None: only busy chats wait)."""
        times = [t for oid, t in self._due.items() if oid in self._rows and t > 0]
        ready = self.scheduler.wake_at(self._rows.values())
        if ready is not None:
            times.append(ready)
        return min(times, default=None)

    def release(self, chat_id: int, now: float, **kw) -> None:
        self.scheduler.release(chat_id, now, **kw)


def fast_config(**overrides) -> DeliveryConfig:
    """Small tests: quick pacing so they finish in well under a second of sending."""
    base = dict(global_per_s=200.0, per_chat_per_s=50.0, group_per_min=1200.0, guard_s=0.005,
                coalesce_window_s=0.3, backoff_base_s=0.05, backoff_max_s=0.2, drain_timeout_s=2.0,
                # 5xx/network: given up after ~2 s (tests of the real budgets use a FakeClock)
                retry_budget_urgent_s=2.0, retry_budget_watch_s=2.0, retry_budget_info_s=2.0,
                retry_budget_broadcast_s=2.0, retry_budget_outcome_s=2.0, retry_budget_ops_s=2.0)
    base.update(overrides)
    return DeliveryConfig(**base)


async def wait_until(predicate, within_s: float = 10.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


__all__ = ["BIG", "Backlog", "Delivery", "add_users", "clocked", "clocked_double", "double_and_bot", "fast_config",
           "make_signal", "run_clock", "wait_until"]
