"""How fast the first alert about a cascade reaches a subscriber with DEFAULT settings.

A simulated BTC market (one scripted cascade without absorption, split across two venues) is
played through the real engine, the real Delivery (SQLite outbox, router, sender) and a real
aiogram Bot talking HTTP to the local Bot API double on 127.0.0.1 — no network. Every event is
stamped with the wall clock as it is handed to the engine (as a live feed does), so:

- engine: crossing liquidation received -> opening cascade signal emitted (``signal_ns - recv_ns``);
- end to end: crossing liquidation received -> the double received the first sendMessage to
  each user (first user, median user, last user: the global limit of 25 msg/s spreads them);
- edits: how many editMessageText calls kept that alert current, and the last one's text.

Several runs (seeds) are measured in one process; figures are per run and their worst.

    .venv/bin/python benchmarks/bench_cascade_latency.py [--users 50] [--runs 5]
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiogram import Bot  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402

from bot.delivery import Delivery  # noqa: E402
from engine.core import Engine  # noqa: E402
from engine.signals import Kind, SignalEngine  # noqa: E402
from engine.simulator import EpisodePlan, MarketSimulator, SimSymbol  # noqa: E402
from storage import Database  # noqa: E402
from tests.botapi import TOKEN, BotAPIDouble  # noqa: E402

BTC = SimSymbol("BTC", 60_000.0, 6_000.0, 6.0, 400_000_000.0)
SPEED = 10.0  # the tape after the crossing, x real time (live it arrives at 1x)


class Tap:
    """Forwards to delivery's sink and remembers the opening cascade."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.opening = None

    def emit(self, signal) -> None:
        if signal.kind is Kind.LIQUIDATION_CASCADE and signal.edits is None and self.opening is None:
            self.opening = signal
        self.inner.emit(signal)


async def one_run(seed: int, users: int) -> dict:
    sim = MarketSimulator(seed=seed, duration_s=240, symbols=(BTC,),
                          plan=[EpisodePlan("LIQUIDATION_CASCADE", "BTC", "SHORT", 150.0)])
    events = list(sim.events())
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "bench.db")
        now = int(time.time())
        async with db.transaction():
            await db.executemany(
                "INSERT INTO users (id, chat_id, language, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                [(u, u, "en", now, now) for u in range(1, users + 1)])
            await db.executemany("INSERT INTO watchlist (user_id, symbol, added_at) VALUES (?, ?, ?)",
                                 [(u, "BTC", now) for u in range(1, users + 1)])
        api = BotAPIDouble(max_seconds=120.0)
        await api.start()
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base)))
        d = Delivery(bot, db)
        await d.start()
        tap = Tap(d.sink)
        engine = Engine(SignalEngine(tap))
        try:
            mono_at_wall = time.monotonic() - time.time()
            paced_from = None  # after the crossing the tape is played at SPEED x real time
            for i, ev in enumerate(events):
                if paced_from is not None:
                    due = paced_from[1] + (ev.ts - paced_from[0]) / 1000 / SPEED
                    delay = due - time.monotonic()
                    if delay > 0.002:
                        await asyncio.sleep(delay)
                ev.recv_ns = time.time_ns()
                engine.process(ev)
                if paced_from is None and tap.opening is not None:
                    paced_from = (ev.ts, time.monotonic())
                if i % 64 == 0:
                    await asyncio.sleep(0)  # the feed task yields between frames
            opening = tap.opening
            assert opening is not None, "no cascade detected"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(  # noqa: ASYNC110 — polls a figure with no event to wait on
                    c.method == "sendMessage" and "LIQUIDATION CASCADE" in c.params.get("text", "")
                    for c in api.calls):
                await asyncio.sleep(0.005)
            await asyncio.sleep(4.0)  # let edits drain (paced per message)
            sends = [c for c in api.calls if c.method == "sendMessage"
                     and "LIQUIDATION CASCADE" in c.params.get("text", "")]
            edits = [c for c in api.calls if c.method == "editMessageText"]
            recv_mono = opening.recv_ns / 1e9 + mono_at_wall
            first_by_chat: dict = {}
            for c in sends:
                first_by_chat.setdefault(c.params["chat_id"], c.at)
            first = min(first_by_chat.values()) - recv_mono
            per_user = sorted(at - recv_mono for at in first_by_chat.values())
        finally:
            await d.stop()
            await bot.session.close()
            await api.stop()
            await db.close()
    return {
        "engine_ms": (opening.signal_ns - opening.recv_ns) / 1e6,
        "first_ms": first * 1000,
        "median_ms": statistics.median(per_user) * 1000,
        "last_ms": per_user[-1] * 1000,
        "sent": len(sends),
        "users": len(first_by_chat),
        "edits": len(edits),
        "last_edit": edits[-1].params.get("text", "").splitlines()[2] if edits else "",
        "total": opening.magnitudes["liq_usd"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=20, help="default subscribers watching BTC")
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows = []
    print(f"BTC cascade -> {args.users} default subscribers through Delivery and the local Bot API")
    for seed in range(1, args.runs + 1):
        r = asyncio.run(one_run(seed, args.users))
        rows.append(r)
        print(f"  seed {seed}: opening ${r['total'] / 1e6:.2f}M · engine {r['engine_ms']:.2f} ms · "
              f"first sent {r['first_ms']:.0f} ms · median user {r['median_ms']:.0f} ms · "
              f"last user {r['last_ms']:.0f} ms ({r['sent']} messages to {r['users']} users) · edits {r['edits']} "
              f"(last: {r['last_edit']!r})")
    print(f"worst: engine {max(r['engine_ms'] for r in rows):.2f} ms (target <= 50 ms) · "
          f"first delivery {max(r['first_ms'] for r in rows):.0f} ms (target <= 1000 ms)")


if __name__ == "__main__":
    main()
