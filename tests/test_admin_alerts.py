"""Admin alerts (issue 11): a feed down or stale for > 60 s, an engine that stopped advancing,
delivery failing for > 2 min, persistent storage errors — one notice per incident through the
delivery outbox (admins only, in their language) plus one "recovered"; /health lists the same.
Every clock here is injected."""
from __future__ import annotations

import contextlib

import pytest

from bot.delivery import Delivery
from bot.health import HealthMonitor
from bot.ops import MAX_NOTICES_PER_HOUR, EngineProgress, OpsMonitor
from engine.feeds.base import FeedStats
from locales import translator
from storage import Database, UserRepo
from tests.test_delivery_support import double_and_bot, fast_config, wait_until


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class FakeFeed:
    def __init__(self, name="binance"):
        self.name = name
        self.stats = FeedStats(name)
        self.stats.state = "live"
        self.stats.connected = True


class RecordingDelivery:
    """Only what OpsMonitor reads/calls: health(), counters, notify_admins()."""

    def __init__(self):
        self.figures = {"running": True, "rows_sent": 0, "retries": 0, "rate_limited": 0, "rows_failed": 0,
                        "queued": 0}
        self.notices: list[tuple[str, str]] = []
        self.fail_notify = 0

        class Counters:
            route_errors = 0
        self.counters = Counters()

    def health(self):
        return dict(self.figures)

    async def outbox_depth(self):
        return {"pending": self.figures["queued"], "sending": 0, "sent": 0, "failed": 0}

    async def notify_admins(self, notice_id, admin_ids, render):
        if self.fail_notify:
            self.fail_notify -= 1
            raise RuntimeError("database is locked")
        self.notices.append((notice_id, render("en")))
        return len(admin_ids)


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.db")
    yield database
    await database.close()


async def test_a_feed_down_for_a_minute_reaches_the_admins_once_then_recovered_in_their_language(db):
    users = UserRepo(db)
    await users.upsert_on_start(7, 7, "id")  # the admin, who speaks Indonesian
    await users.upsert_on_start(8, 8, "en")  # a subscriber: never told
    clock = Clock()
    feed = FakeFeed("bybit")
    async with double_and_bot() as (api, bot):
        delivery = Delivery(bot, db, config=fast_config())
        await delivery.start()
        try:
            ops = OpsMonitor(feeds=[feed], delivery=delivery, db=db, tr=translator(), admin_ids=(7, 99),
                             clock=clock)
            health = HealthMonitor(feeds=[feed], ops=ops)
            await ops.check()
            feed.stats.state, feed.stats.last_error = "backoff", "OSError: <connection refused>"
            for step in (0, 30, 59):  # down, but not for a minute yet
                clock.t = 1000 + step
                await ops.check()
            assert delivery.counters.rows_enqueued == 0 and health.report().incidents == []
            clock.t = 1061
            await ops.check()
            for step in (90, 300, 600):  # still down: no second notice
                clock.t = 1000 + step
                await ops.check()
            assert await wait_until(lambda: len(api.texts_to(7)) == 1)
            down = api.texts_to(7)[0]
            assert "bybit" in down and "backoff" in down and "mnt" in down  # in Indonesian
            assert "&lt;connection refused&gt;" in down  # the error is escaped for Telegram HTML
            key, args = health.report().incidents[0]
            assert key == "ops-feed-down" and args["feed"] == "bybit"
            feed.stats.state = "live"
            feed.stats.live_since_ns = feed.stats.last_data_ns = __import__("time").time_ns()
            feed.stats.subscriptions = 1
            clock.t = 1700
            await ops.check()
            assert await wait_until(lambda: len(api.texts_to(7)) == 2)
            assert "✅" in api.texts_to(7)[1] and "bybit" in api.texts_to(7)[1]
            assert health.report().incidents == []
            assert api.texts_to(8) == [] and api.texts_to(99) == []  # 99: an admin who never started the bot
        finally:
            await delivery.stop()


async def test_a_stale_feed_counts_as_down():
    clock = Clock()
    feed = FakeFeed()
    feed.stats.subscriptions = 3
    feed.stats.quiet_after_s = 3.0
    feed.stats.live_since_ns = 1  # long ago, and no data since: "stale"
    d = RecordingDelivery()
    ops = OpsMonitor(feeds=[feed], delivery=d, tr=translator(), admin_ids=(1,), clock=clock)
    await ops.check()
    clock.t += 61
    await ops.check()
    assert [n for n, _ in d.notices] == ["feed:binance:1:down"] and "stale" in d.notices[0][1]


async def test_an_engine_that_stops_advancing_for_a_minute():
    clock = Clock()
    depth = [0]

    class Stats:
        batches = 0

    class Eng:
        stats = Stats()

    progress = EngineProgress(Eng(), lambda: depth[0], clock=clock)
    d = RecordingDelivery()
    ops = OpsMonitor(progress=progress, delivery=d, tr=translator(), admin_ids=(1,), clock=clock)
    await ops.check()
    depth[0] = 12  # batches wait, none processed
    for _ in range(3):
        clock.t += 15
        await ops.check()
    assert d.notices == []  # 45 s
    clock.t += 30  # 75 s since it last advanced
    await ops.check()
    assert [n for n, _ in d.notices] == ["engine:1:down"] and "12" in d.notices[0][1]
    Eng.stats.batches += 1
    clock.t += 15
    await ops.check()
    assert [n for n, _ in d.notices] == ["engine:1:down", "engine:1:recovered"]


async def test_delivery_failing_for_two_minutes_but_not_a_queue_waiting_on_quiet_hours():
    clock = Clock()
    d = RecordingDelivery()
    d.figures.update(rows_sent=5, queued=40)
    ops = OpsMonitor(delivery=d, tr=translator(), admin_ids=(1,), clock=clock)
    await ops.check()
    for _ in range(20):  # 5 min with a queue and nothing sent, but nothing failing either
        clock.t += 15
        await ops.check()
    assert d.notices == []
    for _ in range(8):  # now every attempt fails: 429s and 5xx
        d.figures["retries"] += 3
        clock.t += 15
        await ops.check()
    assert d.notices == []  # 105 s
    for _ in range(2):  # past 2 min
        d.figures["retries"] += 3
        clock.t += 15
        await ops.check()
    assert [n for n, _ in d.notices] == ["delivery:1:down"]
    assert "nothing sent" in d.notices[0][1] and "40 alerts queued" in d.notices[0][1]
    d.figures["rows_sent"] += 1
    clock.t += 15
    await ops.check()
    assert [n for n, _ in d.notices][-1] == "delivery:1:recovered"


class BrokenDb:
    def __init__(self):
        self.broken = True

    @contextlib.asynccontextmanager
    async def transaction(self):
        if self.broken:
            raise OSError("disk I/O error")
        yield


async def test_storage_errors_that_persist_and_a_notice_queued_once_storage_lets_it():
    clock = Clock()
    d = RecordingDelivery()
    db = BrokenDb()
    ops = OpsMonitor(delivery=d, db=db, tr=translator(), admin_ids=(1,), clock=clock)
    await ops.check()
    clock.t += 61
    d.fail_notify = 1  # the outbox write itself fails while storage is broken ...
    await ops.check()
    assert d.notices == []
    clock.t += 15
    await ops.check()  # ... and is retried in the next round
    assert [n for n, _ in d.notices] == ["storage:1:down"] and "disk I/O error" in d.notices[0][1]
    db.broken = False
    clock.t += 15
    await ops.check()
    assert [n for n, _ in d.notices] == ["storage:1:down", "storage:1:recovered"]


async def test_a_flapping_system_sends_at_most_the_hourly_cap():
    clock = Clock()
    feed = FakeFeed()
    d = RecordingDelivery()
    ops = OpsMonitor(feeds=[feed], delivery=d, tr=translator(), admin_ids=(1,), clock=clock)
    for _ in range(40):  # 40 outages of 61 s within the hour
        feed.stats.state = "backoff"
        await ops.check()
        clock.t += 61
        await ops.check()
        feed.stats.state = "live"
        await ops.check()
        clock.t += 1
    assert len(d.notices) == MAX_NOTICES_PER_HOUR


async def test_health_shows_stale_feeds_refused_and_failed_events_and_the_open_incidents(api, tmp_path):
    from tests.conftest import ADMIN, BotHarness, FakeEngine

    clock = Clock()
    feed = FakeFeed("binance")
    feed.stats.subscriptions, feed.stats.quiet_after_s, feed.stats.live_since_ns = 3, 3.0, 1
    engine = FakeEngine()
    engine.stats.rejects.update(future=2, notional=1)
    engine.stats.errors["cascade"] = 4
    ops = OpsMonitor(feeds=[feed], tr=translator(), clock=clock)
    await ops.check()
    clock.t += 61
    await ops.check()
    h = await BotHarness(api, tmp_path / "h.db", feeds=[feed], engine=engine, ops=ops).start()
    try:
        text = await h.text(ADMIN, "/health")
    finally:
        await h.stop()
    assert "<b>binance</b> stale" in text
    assert "rejected 3 (future 2, notional 1) · failed events 4 (cascade 4)" in text
    assert "Incidents:" in text and "Feed <b>binance</b> has been stale for 1 min" in text
