"""What every live feed shares: registry, backoff, pacing, reconnect discipline, feed building,
and real recorded Binance frames pushed through the live client path."""
import asyncio
import gzip
import time

import pytest

from config.settings import Settings
from engine.events import Trade
from engine.feeds.base import Backoff, FeedStats, MessagePacer
from engine.feeds.binance import BinanceFeed
from engine.feeds.bybit import BybitFeed
from engine.feeds.coinglass import CoinGlassFeed
from engine.feeds.live import FeedConfigError, build_live_feeds
from engine.feeds.okx import OkxFeed
from engine.feeds.registry import RegistryFull, SubscriptionRegistry
from engine.symbols import SymbolError
from tests.feeds_support import FAST, VenueServer, record_backoff, running, wait_until
from tests.paths import real_file


def test_registry_canonicalises_and_reports_changes():
    reg = SubscriptionRegistry(["btcusdt", "ETH-USDT-SWAP"])
    assert reg.symbols == {"BTC", "ETH"}
    v = reg.version
    assert reg.add("1000PEPEUSDT") and "PEPE" in reg
    assert not reg.add("pepe")  # already there
    assert reg.remove("eth") and not reg.remove("eth") and not reg.remove("!!")
    assert reg.replace({"sol", "BTC"}) and reg.symbols == {"SOL", "BTC"}
    assert reg.version == v + 3
    with pytest.raises(SymbolError):
        reg.add("not a coin!")
    small = SubscriptionRegistry(max_symbols=2)
    small.add("BTC")
    small.add("ETH")
    with pytest.raises(RegistryFull):
        small.add("SOL")


async def test_registry_listeners_wake_on_change():
    reg = SubscriptionRegistry(["BTC"])
    listener = reg.listen()
    waiter = asyncio.create_task(listener.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    reg.add("ETH")
    assert await asyncio.wait_for(waiter, 1) == {"BTC", "ETH"}
    listener.close()
    reg.add("SOL")
    assert not listener.pending


def test_backoff_first_retry_within_a_second_then_grows_to_the_cap():
    b = Backoff()  # production defaults
    delays = [b.next_delay() for _ in range(12)]
    assert 0 < delays[0] <= 1.0
    assert max(delays) <= 30.0 and delays[-1] >= 15.0  # capped, jitter keeps it within [cap/2, cap]
    b.reset()
    assert b.next_delay() <= 1.0
    lo, hi = Backoff(rng=lambda: 0.0), Backoff(rng=lambda: 1.0)
    assert [lo.next_delay() for _ in range(3)] == [0.25, 0.5, 1.0]
    assert [hi.next_delay() for _ in range(3)] == [0.5, 1.0, 2.0]


async def test_pacer_spaces_messages():
    pacer = MessagePacer(20.0)
    t0 = time.monotonic()
    stamps = []
    for _ in range(5):
        await pacer.wait()
        stamps.append(time.monotonic() - t0)
    assert stamps[-1] >= 4 * 0.05 * 0.9


async def test_unreachable_venue_backs_off_instead_of_spinning():
    feed = BybitFeed("ws://127.0.0.1:9/v5/public/linear", SubscriptionRegistry(["BTC"]),
                     **{**FAST, "backoff_base": 0.05, "backoff_cap": 0.4})
    delays = record_backoff(feed)
    async with asyncio.timeout(20), running(feed):
        await wait_until(lambda: feed.stats.reconnects >= 6, timeout=15)
        assert feed.stats.state in ("backoff", "connecting") and not feed.stats.connected
    # every refused connection waits its step of 0.05, 0.1, 0.2, 0.4, 0.4 ... (jittered down to at
    # most half), never 0: a tight loop would make hundreds of attempts a second
    steps = [min(0.4, 0.05 * 2 ** i) for i in range(len(delays))]
    assert len(delays) == feed.stats.reconnects
    assert all(step / 2 <= d <= step for d, step in zip(delays, steps)), delays


def test_feed_stats_snapshot_for_the_health_view():
    st = FeedStats("binance")
    assert st.snapshot()["age_s"] == float("inf")
    st.last_msg_ns = time.time_ns() - 2_000_000_000
    st.observe_lag(time.time_ns(), int(time.time() * 1000) - 150)
    snap = st.snapshot()
    assert 1.5 < snap["age_s"] < 5 and 100 < snap["lag_ms"] < 1000
    assert {"frames", "events", "parse_errors", "reconnects", "stale", "state"} <= set(snap)


def test_build_live_feeds_from_market_sources(tmp_path):
    rec = tmp_path / "r.txt"
    rec.write_text("")
    settings = Settings(_env_file=None, MARKET_SOURCES=f"binance,bybit,okx,coinglass,simulator,replay:{rec}",
                        COINGLASS_API_KEY="k")
    feeds = build_live_feeds(settings, SubscriptionRegistry(["BTC"]))
    kinds = [type(f).__name__ for f in feeds]
    assert kinds == ["BinanceFeed", "BybitFeed", "OkxFeed", "CoinGlassFeed", "SimulatorFeed", "ReplayFeed"]
    assert all(hasattr(f, "stats") and hasattr(f, "name") for f in feeds)
    assert feeds[0].url == "wss://fstream.binance.com/market/stream"
    assert feeds[4].speed == 1.0 and feeds[5].speed == 1.0
    assert [type(f).__name__ for f in build_live_feeds(settings, SubscriptionRegistry(), live_only=True)] == \
        ["BinanceFeed", "BybitFeed", "OkxFeed", "CoinGlassFeed"]
    legacy = Settings(_env_file=None, MARKET_SOURCES="binance", BINANCE_WS_URL="wss://fstream.binance.com/ws")
    with pytest.raises(FeedConfigError, match="routed"):
        build_live_feeds(legacy, SubscriptionRegistry())
    with pytest.raises(FeedConfigError, match="COINGLASS_API_KEY"):
        build_live_feeds(Settings(_env_file=None, MARKET_SOURCES="coinglass"), SubscriptionRegistry())


def test_production_heartbeat_defaults_match_the_protocols():
    reg = SubscriptionRegistry()
    cg = CoinGlassFeed("wss://open-ws.coinglass.com/ws-api", reg, api_key="k")
    # pings at least as often as each venue asks (CoinGlass 20 s, Bybit 20 s, OKX before 30 s
    # idle), more often where that finds a half-open socket sooner (tests/test_feed_liveness.py)
    assert (cg.ping_payload, cg.ping_interval, cg.text_pong) == ("ping", 10.0, True)
    bb = BybitFeed("wss://stream.bybit.com/v5/public/linear", reg)
    assert (bb.ping_payload, bb.ping_interval) == ('{"op":"ping"}', 10.0)
    ok = OkxFeed("wss://ws.okx.com:8443/ws/v5/public", reg)
    assert (ok.ping_payload, ok.ping_interval, ok.ping_when_idle) == ("ping", 10.0, True)
    bn = BinanceFeed("wss://fstream.binance.com/market/stream", reg)
    assert bn.ping_payload is None and bn.library_ping
    assert cg.connect_url() == "wss://open-ws.coinglass.com/ws-api?cg-api-key=k"


async def test_real_binance_frames_through_the_live_client():
    """Every frame of the real recording, served by a local routed-stream server, parsed by the
    live client: zero errors and exactly the trades SOURCES.md counts."""
    path = real_file("btcusdt_20240808.gz")
    with gzip.open(path, "rb") as fh:
        frames = [line.split(b" ", 1)[1].rstrip(b"\n").decode() for line in fh if line.strip()]
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(30), VenueServer("binance") as srv:
        feed = BinanceFeed(srv.url("/market/stream"), registry, **{**FAST, "stale_after": 10.0, "ping_interval": 20.0})
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns)
            for i in range(0, len(frames), 500):
                await srv.push(*frames[i:i + 500])
            await wait_until(lambda: feed.stats.frames == len(frames), timeout=20)
    assert feed.stats.parse_errors == 0 and feed.stats.reconnects == 0
    assert sum(type(e) is Trade for e in sink.events) == 21_313


def test_unwatchable_instruments_on_all_symbol_channels_are_skipped_quietly():
    from engine.feeds import binance, coinglass

    arr = {"stream": "!markPrice@arr@1s", "data": [
        {"e": "markPriceUpdate", "E": 1, "s": "BTCUSDT_250627", "p": "1", "r": ""},
        {"e": "markPriceUpdate", "E": 1, "s": "币安人生USDT", "p": "1", "r": "0.0001", "T": 2},
        {"e": "markPriceUpdate", "E": 1, "s": "BTCUSDT", "p": "100", "r": "0.0001", "T": 2}]}
    assert [type(e).__name__ for e in binance.parse_message(arr, 1)] == ["MarkOI", "Funding"]
    cg = {"channel": "liquidationOrders", "data": [
        {"baseAsset": "币安人生", "exName": "Binance", "price": 1.0, "side": 1, "symbol": "币安人生USDT",
         "time": 1, "volUsd": 5.0},
        {"baseAsset": "BTC", "exName": "Binance", "price": 100.0, "side": 1, "symbol": "BTCUSDT", "time": 1,
         "volUsd": 5.0}]}
    assert len(coinglass.parse_message(cg, 1)) == 1


def test_bad_frame_logging_is_bounded_per_minute_and_counts_what_it_dropped(caplog):
    import logging

    from engine.feeds.base import RateLimitedLog

    now = [0.0]
    logger = logging.getLogger("teleglas.test.ratelimit")
    warn = RateLimitedLog(logger, per_minute=6, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="teleglas.test.ratelimit"):
        for i in range(1000):  # a storm of bad frames within one minute
            warn.warning("parse", "bad frame %d", i)
        assert len(caplog.records) == 6
        now[0] = 61.0  # the next minute: first a summary of what was dropped, then room again
        warn.warning("parse", "bad frame %d", 1000)
    assert len(caplog.records) == 8
    assert "994 similar messages suppressed" in caplog.records[6].getMessage()
    assert caplog.records[7].getMessage() == "bad frame 1000"
