"""/health: feeds read generically from ``feed.stats``, localized delivery figures, and the
engine queue depth from the queue bot.app hands to ``run_feeds``."""
from __future__ import annotations

import asyncio
import time

from engine.core import run_feeds
from engine.events import Side, Trade
from engine.feeds.base import FeedStats
from engine.signals import Tier
from tests.conftest import ADMIN, BotHarness, FakeEngine
from tests.test_delivery_support import make_signal, wait_until


class StatsFeed:
    """A feed that keeps a real FeedStats and updates it, as every feed should."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stats = FeedStats(name)


class SnapshotOnly:
    """Stats offered only through ``snapshot()`` (the view FeedStats documents for health)."""

    def __init__(self) -> None:
        self.frames = 0

    def snapshot(self, now_ns=None) -> dict:
        return {"state": "live", "frames": self.frames, "events": 2 * self.frames, "lag_ms": 7.0,
                "age_s": 0.5, "parse_errors": 0, "reconnects": 0, "last_error": ""}


class SnapshotFeed:
    name = "custom"

    def __init__(self) -> None:
        self.stats = SnapshotOnly()


class NoStatsFeed:
    name = "bare"
    stats = None  # a feed that reports no figures says so (``bot.health.FeedView``)


async def test_health_reads_every_feeds_stats_afresh_and_says_when_there_are_none(api, tmp_path):
    sim, custom = StatsFeed("simulator"), SnapshotFeed()
    h = await BotHarness(api, tmp_path / "h.db", feeds=[sim, custom, NoStatsFeed()]).start()
    try:
        text = await h.text(ADMIN, "/health")
        assert "<b>simulator</b> idle" in text and "last msg — ago" in text
        assert "<b>bare</b> reports no figures" in text  # not a made-up "running"
        # the feed updates its own stats; /health shows them the next time
        sim.stats.state, sim.stats.frames, sim.stats.events = "live", 1234, 5678
        sim.stats.last_msg_ns = time.time_ns()
        custom.stats.frames = 21
        text = await h.text(ADMIN, "/health")
        assert "<b>simulator</b> live" in text and "frames 1,234 · events 5,678" in text
        assert "<b>custom</b> live · lag 7 ms · last msg 0.5s ago · frames 21 · events 42" in text
        assert "Engine:" in text and "queue —" in text  # no queue plugged in here
    finally:
        await h.stop()


async def test_health_shows_real_delivery_figures_localized(api, tmp_path):
    h = await BotHarness(api, tmp_path / "d.db", with_delivery=True).start()
    try:
        await h.say(61, "/add BTC")
        text = await h.text(ADMIN, "/health")
        assert ("Delivery: queue 0 · routing 0 · in flight 0 · since start: sent 0 (alerts and broadcasts) · "
                "failed 0 · retried 0 · 429s 0") in text
        assert "Alert receive→sent, last hour: alerts 0 (broadcasts not timed) · p50 — · p95 — · p99 —" in text
        h.delivery.sink.emit(make_signal("BTC", Tier.URGENT))
        assert await wait_until(lambda: h.delivery.counters.rows_sent == 1)
        text = await h.text(ADMIN, "/health")
        assert "sent 1 (alerts and broadcasts) · failed 0" in text
        assert "last hour: alerts 1 (broadcasts not timed) · p50 " in text and "p50 —" not in text
        # a broadcast to both users counts in "since start" but not in the alerts' last hour:
        # the labels say so, so "sent 3" next to "1 alert" reads right
        await h.say(ADMIN, "/broadcast Maintenance at 02:00")
        assert await wait_until(lambda: h.delivery.counters.rows_sent == 3)
        text = await h.text(ADMIN, "/health")
        assert "since start: sent 3 (alerts and broadcasts)" in text and "last hour: alerts 1 (" in text
        await h.say(ADMIN, "/lang id")
        text = await h.text(ADMIN, "/health")
        assert "Pengiriman: antrean 0" in text and "sejak mulai: terkirim 3 (alert dan broadcast)" in text
        assert "satu jam terakhir: alert 1 (broadcast tidak diukur)" in text
    finally:
        await h.stop()


async def test_run_feeds_uses_the_callers_queue_so_its_depth_can_be_watched():
    engine = FakeEngine()
    queue: asyncio.Queue = asyncio.Queue(maxsize=8)
    seen: list[int] = []

    class Feed:
        name = "two-batches"

        async def run(self, put) -> None:
            for i in range(2):
                await put([Trade(venue="bybit", symbol="BTC", price=60_000.0, qty=0.1, notional=6_000.0,
                                 side=Side.BUY, ts=1_700_000_000_000 + i, recv_ns=time.time_ns())])
            seen.append(queue.qsize())  # both batches wait in OUR queue: the engine has not run yet

    await asyncio.wait_for(run_feeds(engine, [Feed()], queue=queue), 5)
    assert seen == [2]
    assert queue.qsize() == 0 and engine.stats.events == 2
