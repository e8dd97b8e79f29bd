"""Fan-out benchmark: one signal to 5,000 users through the real Delivery and a local Bot API.

Prints time-to-first-delivery and total time for one signal fanned out to N users, the routing
+ persistence share, and receive->sent latency percentiles; then a steady-load run (signals to
a few users each, under the global limit) whose percentiles are the "Telegram is not the
bottleneck" latency. The Bot API is the local test double on 127.0.0.1 (no network), so the
figures are our own overhead: at Telegram's real ~30 msg/s, 5,000 messages take >= 167 s
whatever the code does (or 5 s with paid broadcasts at 1,000 msg/s).

    .venv/bin/python benchmarks/bench_fanout.py                 # 5,000 users, 1,000 msg/s
    .venv/bin/python benchmarks/bench_fanout.py --rate 25       # the default limit (~200 s)
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiogram import Bot  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402

from bot.delivery import Delivery, DeliveryConfig  # noqa: E402
from engine.signals import Direction, Kind, Signal, Tier  # noqa: E402
from storage import Database  # noqa: E402
from tests.botapi import TOKEN, BotAPIDouble  # noqa: E402


def signal(symbol: str, n: int, tier: Tier = Tier.URGENT) -> Signal:
    now = time.time_ns()
    return Signal(
        id=f"bench-{symbol}-{n}-{now}", kind=Kind.LIQUIDATION_CASCADE, symbol=symbol,
        direction=Direction.LONG, tier=tier, confidence=90, ts=now // 1_000_000,
        recv_ns=now, signal_ns=now, magnitudes={"liq_usd": 5e6, "dominance": 0.9, "window_s": 30},
        components={"cascade_size": 50.0, "long_dominance": 40.0}, venues=("bybit", "binance"),
    )


async def add_users(db: Database, first_id: int, n: int, symbol: str, langs=("en", "id")) -> None:
    now = int(time.time())
    users = [(uid, uid, langs[uid % len(langs)], now, now) for uid in range(first_id, first_id + n)]
    async with db.transaction():
        await db.executemany(
            "INSERT INTO users (id, chat_id, language, created_at, updated_at) VALUES (?, ?, ?, ?, ?)", users
        )
        await db.executemany(
            "INSERT INTO watchlist (user_id, symbol, added_at) VALUES (?, ?, ?)",
            [(u[0], symbol, now) for u in users],
        )


def pct(summary: dict) -> str:
    return (f"p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, p99 {summary['p99_ms']} ms "
            f"(n={summary['count']})")


async def fanout(users: int, rate: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "bench.db")
        await add_users(db, 1, users, "BTC")
        # a crowd watching other symbols: routing must not pay for them
        await add_users(db, 10_000_000, users, "ETH")
        api = BotAPIDouble(max_seconds=max(120.0, users / rate * 2 + 30), max_requests=10**7)
        await api.start()
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base)))
        d = Delivery(bot, db, config=DeliveryConfig(global_per_s=rate, per_chat_per_s=1.0, max_inflight=32))
        await d.start()
        try:
            # warm-up (translator, HTTP connection pool) on a separate user
            await add_users(db, 20_000_000, 1, "WARM")
            d.sink.emit(signal("WARM", 0))
            while d.counters.rows_sent < 1:  # noqa: ASYNC110 — polls a figure with no event to wait on
                await asyncio.sleep(0.005)
            await asyncio.sleep(1.1)
            base_calls = len(api.calls)
            t0 = time.monotonic()
            accepted = await d.accept(signal("BTC", 1))
            t_accept = time.monotonic() - t0
            while d.counters.rows_sent < users + 1:  # noqa: ASYNC110 — polls a figure with no event to wait on
                await asyncio.sleep(0.002)
            total = time.monotonic() - t0
            sends = [c.at for c in api.calls[base_calls:] if c.method == "sendMessage"]
            first = min(sends) - t0
            lat = d.latency.summary(time.time_ns())
        finally:
            await d.stop()
            await bot.session.close()
            await api.stop()
            await db.close()
    print(f"fan-out of one signal to {users:,} users (limit {rate:g} msg/s, {users:,} bystanders on another symbol)")
    print(f"  routed + rendered + persisted {len(accepted.rows):,} outbox rows: {t_accept * 1000:.1f} ms")
    print(f"  time to first delivery:       {first * 1000:.1f} ms")
    print(f"  total time:                   {total:.2f} s  ({users / total:,.0f} msg/s; "
          f"limit alone needs {users / rate:.2f} s)")
    print(f"  receive->sent over the run:   {pct(lat)}")


async def steady(signals: int, per_signal: int, interval_s: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "bench.db")
        for i in range(signals):
            await add_users(db, 1 + i * per_signal, per_signal, f"S{i}")
        api = BotAPIDouble(max_seconds=signals * interval_s + 60)
        await api.start()
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base)))
        d = Delivery(bot, db, config=DeliveryConfig())
        await d.start()
        try:
            for i in range(signals):
                d.sink.emit(signal(f"S{i}", i))
                await asyncio.sleep(interval_s)
            while d.counters.rows_sent < signals * per_signal:  # noqa: ASYNC110 — polls a figure with no event to wait on
                await asyncio.sleep(0.01)
            lat = d.latency.summary(time.time_ns())
        finally:
            await d.stop()
            await bot.session.close()
            await api.stop()
            await db.close()
    rate = per_signal / interval_s
    print(f"steady load: {signals} signals x {per_signal} users every {interval_s * 1000:.0f} ms "
          f"({rate:.0f} msg/s, under the default 25 msg/s limit)")
    print(f"  receive->sent: {pct(lat)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=5000)
    p.add_argument("--rate", type=float, default=1000.0, help="global msg/s (Telegram paid broadcast: 1000)")
    p.add_argument("--skip-steady", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(fanout(args.users, args.rate))
    if not args.skip_steady:
        asyncio.run(steady(60, 4, 0.2))


if __name__ == "__main__":
    main()
