"""Case 9 of issue 11: a half-open or silent feed is declared dead within the venue's heartbeat
period and reconnected; /health says "stale" as soon as market data stops; a 9 MiB frame is
refused and counted, never parsed. Against local websockets servers (127.0.0.1)."""
import asyncio
import time

import orjson
import pytest

from bot.health import HealthMonitor, feed_health
from engine.feeds.binance import BinanceFeed
from engine.feeds.bybit import BybitFeed
from engine.feeds.coinglass import CoinGlassFeed
from engine.feeds.okx import OkxFeed
from engine.feeds.registry import SubscriptionRegistry
from tests.feeds_support import FAST, VenueServer, running, wait_until


def agg(ts, a=1, pad=""):
    data = {"e": "aggTrade", "E": ts, "s": "BTCUSDT", "a": a, "p": "60000", "q": "0.5", "f": a, "l": a,
            "T": ts, "m": False}
    if pad:
        data["pad"] = pad
    return orjson.dumps({"stream": "btcusdt@aggTrade", "data": data}).decode()


def now_ms():
    return int(time.time() * 1000) - 500


@pytest.mark.parametrize("cls, limit_s", [(BinanceFeed, 10.0), (BybitFeed, 15.0), (OkxFeed, 15.0),
                                          (CoinGlassFeed, 15.0)])
def test_production_heartbeats_declare_a_dead_connection_within_the_venues_period(cls, limit_s):
    url = {BinanceFeed: "wss://x/market/stream"}.get(cls, "wss://x")
    extra = {"api_key": "k"} if cls is CoinGlassFeed else {}
    feed = cls(url, SubscriptionRegistry(["BTC"]), **extra)
    watchdog_period = max(0.01, min(1.0, feed.stale_after / 4))
    heartbeat = feed.ping_interval + feed.pong_timeout  # a half-open socket answers no ping
    assert heartbeat <= limit_s
    if cls is BinanceFeed:  # Binance also sends a frame every second: silence is death sooner
        assert feed.stale_after + watchdog_period <= 6.0 and feed.library_ping
    assert feed.stats.quiet_after_s <= feed.stale_after


async def test_a_half_open_binance_socket_reads_stale_then_is_declared_dead_and_replaced():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(10), VenueServer("binance") as srv:
        # the watchdog is out of the way (30 s): only the unanswered protocol ping can find it
        feed = BinanceFeed(srv.url("/market/stream"), registry,
                           **{**FAST, "stale_after": 30.0, "quiet_after": 0.3})
        health = HealthMonitor(feeds=[feed])
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns, 5)
            await srv.push(agg(now_ms()))
            await wait_until(lambda: sink.events, 5)
            assert feed_health(feed, time.time_ns()).state == "live"
            # half-open: the server neither sends nor reads (so it answers no ping either)
            srv.last.ws.transport.pause_reading()
            await wait_until(lambda: health.report().feeds[0].state == "stale", 5)
            await wait_until(lambda: len(srv.conns) == 2 and feed.stats.connected, 5)
            assert feed.stats.reconnects >= 1
            await srv.push(agg(now_ms(), a=2))  # the new connection delivers again
            await wait_until(lambda: len(sink.events) == 2, 5)
            assert feed_health(feed, time.time_ns()).state == "live"
            srv.conns[0].ws.transport.abort()  # the frozen server side never closes by itself


async def test_a_silent_connection_is_stale_for_health_then_dead_for_the_watchdog():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(10), VenueServer("binance") as srv:
        feed = BinanceFeed(srv.url("/market/stream"), registry,
                           **{**FAST, "ping_interval": 30.0, "stale_after": 0.8, "quiet_after": 0.2})
        async with running(feed):
            await wait_until(lambda: srv.conns, 5)
            await srv.push(agg(now_ms()))
            await wait_until(lambda: feed.stats.events == 1, 5)
            await wait_until(lambda: feed.stats.snapshot()["state"] == "stale", 5)
            assert feed.stats.connected and feed.stats.reconnects == 0  # reported before it is dropped
            await wait_until(lambda: feed.stats.stale == 1 and len(srv.conns) == 2, 5)


async def test_a_9_mib_frame_is_refused_and_counted_not_parsed():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(10), VenueServer("binance") as srv:
        feed = BinanceFeed(srv.url("/market/stream"), registry, **FAST)
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns, 5)
            await srv.push(agg(now_ms(), a=1, pad="x" * (9 << 20)))
            await wait_until(lambda: feed.stats.oversized == 1, 5)
            await wait_until(lambda: len(srv.conns) == 2 and feed.stats.connected, 5)
            await srv.push(agg(now_ms(), a=2, pad="y" * (2 << 20)))  # over 1 MiB: skipped unread
            await wait_until(lambda: feed.stats.oversized == 2, 5)
            await srv.push(agg(now_ms(), a=3))
            await wait_until(lambda: sink.events, 5)
    assert [ev.price for ev in sink.events] == [60000.0] and feed.stats.parse_errors == 0
    assert feed.stats.events == 1
