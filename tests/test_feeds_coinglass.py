"""CoinGlass v4 live client against a local server: key as query parameter, TEXT ping/pong, batches."""
import asyncio
import logging

import orjson
import pytest

from engine.events import Liquidation, PositionSide, Side, Trade
from engine.feeds import coinglass
from engine.feeds.base import PartialParse, VendorError
from engine.feeds.coinglass import CoinGlassFeed
from engine.feeds.registry import SubscriptionRegistry
from tests.feeds_support import FAST, VenueServer, record_backoff, running, wait_until

KEY = "test-key-0123"
# verbatim from shared/PROTOCOLS.md
LIQUIDATION = ('{"channel":"liquidationOrders","data":[{"baseAsset":"BTC","exName":"Binance","price":56738.0,'
               '"side":2,"symbol":"BTCUSDT","time":1725416318379,"volUsd":3858.184}]}')
SNAKE_LIQUIDATION = ('{"channel":"liquidation_orders","data":[{"base_asset":"ETH","exchange":"OKX","price":2500.0,'
                     '"side":1,"symbol":"ETH-USDT-SWAP","time":1725416318380,"volume_usd":10000.0}]}')
TRADES = ('{"channel":"futures_trades@Binance_BTCUSDT@10000","data":[{"baseAsset":"BTC","exName":"Binance",'
          '"price":56738.0,"side":2,"symbol":"BTCUSDT","time":1725416318381,"volUsd":20000.0},'
          '{"baseAsset":"BTC","exName":"Binance","price":56737.0,"side":1,"symbol":"BTCUSDT","time":1725416318382,'
          '"volUsd":11348.0}]}')


def feed_for(srv, registry, key=KEY, **kw):
    return CoinGlassFeed(srv.url("/ws-api"), registry, api_key=key, **{**FAST, **kw})


async def test_key_query_subscriptions_and_vendor_samples_parse_exactly():
    registry = SubscriptionRegistry(["BTC", "ETH"])
    async with asyncio.timeout(5), VenueServer("coinglass", key=KEY) as srv:
        feed = feed_for(srv, registry)
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns and len(srv.last.subscribed) == 7)
            assert srv.last.path == "/ws-api" and srv.last.query["cg-api-key"] == [KEY]
            assert srv.last.subscribed == {
                "liquidationOrders",
                "futures_trades@Binance_BTCUSDT@10000", "futures_trades@OKX_BTC-USDT-SWAP@10000",
                "futures_trades@Bybit_BTCUSDT@10000", "futures_trades@Binance_ETHUSDT@10000",
                "futures_trades@OKX_ETH-USDT-SWAP@10000", "futures_trades@Bybit_ETHUSDT@10000"}
            assert orjson.loads(srv.last.messages[0])["method"] == "subscribe"
            await srv.push(LIQUIDATION, SNAKE_LIQUIDATION, TRADES)
            await wait_until(lambda: len(sink.events) == 4)
    liq, snake, buy, sell = sink.events
    # side 2 = a SHORT position liquidated (WS doc), volUsd is already USD
    assert liq == Liquidation("binance", "BTC", 56738.0, pytest.approx(3858.184 / 56738.0), 3858.184,
                              PositionSide.SHORT, 1725416318379, liq.recv_ns)
    assert snake == Liquidation("okx", "ETH", 2500.0, pytest.approx(4.0), 10000.0, PositionSide.LONG,
                                1725416318380, snake.recv_ns)
    assert buy == Trade("binance", "BTC", 56738.0, pytest.approx(20000 / 56738), 20000.0, Side.BUY,
                        1725416318381, buy.recv_ns)
    assert sell.side is Side.SELL and sell.notional == 11348.0


def test_the_side_mapping_lives_in_one_constant():
    assert coinglass.LIQUIDATION_SIDE == {1: PositionSide.LONG, 2: PositionSide.SHORT}
    assert coinglass.TRADE_SIDE == {1: Side.SELL, 2: Side.BUY}


def test_thousand_prefixed_coin_and_partial_batches():
    msg = orjson.loads(LIQUIDATION)
    item = dict(msg["data"][0], baseAsset="PEPE", symbol="1000PEPEUSDT", price=0.0125, volUsd=125.0)
    msg["data"] = [item, dict(item, price=float("nan")), dict(item, side=3), dict(item, volUsd=-5), "x",
                   {k: v for k, v in item.items() if k != "exName"}]
    with pytest.raises(PartialParse) as info:
        coinglass.parse_message(msg, 1)
    (ev,) = info.value.events
    assert ev.symbol == "PEPE" and ev.price == pytest.approx(0.0000125) and ev.qty == pytest.approx(10_000_000)
    assert info.value.bad == 5


@pytest.mark.parametrize(("frame", "fatal"), [
    ({"code": "40001", "msg": "Invalid API key"}, True),
    ({"code": "50001", "msg": "Your plan does not support this channel, please upgrade"}, True),
    ({"success": False, "msg": "unknown channel foo"}, False),
])
def test_error_frames(frame, fatal):
    with pytest.raises(VendorError) as info:
        coinglass.parse_message(frame, 1)
    assert info.value.fatal is fatal


async def test_text_ping_every_interval_is_answered():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("coinglass", key=KEY) as srv:
        feed = feed_for(srv, registry, ping_interval=0.1, stale_after=5.0)
        async with running(feed):
            await wait_until(lambda: srv.conns and srv.last.pings >= 3)
            assert "ping" in srv.last.messages  # TEXT ping, not JSON
    assert feed.stats.reconnects == 0 and feed.stats.stale == 0


async def test_no_pong_before_the_deadline_reconnects():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("coinglass", key=KEY, answer_pings=False) as srv:
        feed = feed_for(srv, registry, ping_interval=0.1, pong_timeout=0.2, stale_after=5.0)
        async with running(feed):
            await wait_until(lambda: len(srv.conns) >= 2, timeout=3)
    assert feed.stats.stale >= 1 and "pong" in feed.stats.last_error


@pytest.mark.parametrize("reject", ["frame", "http"])
async def test_rejected_key_stops_the_feed_with_one_log_line(reject, caplog):
    registry = SubscriptionRegistry(["BTC"])
    caplog.set_level(logging.WARNING)
    async with asyncio.timeout(5), VenueServer("coinglass", key=KEY, reject=reject) as srv:
        feed = feed_for(srv, registry, key="wrong-key-xyz")
        async with running(feed):
            await wait_until(lambda: feed.stats.state == "stopped", timeout=3)
            await asyncio.sleep(0.3)  # a reconnect storm would show up here
        assert len(srv.conns) <= 1 and feed.stats.reconnects == 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "stopped" in errors[0].getMessage()
    assert "wrong-key-xyz" not in caplog.text  # the key is never logged


async def test_plan_too_low_frame_on_a_live_connection_stops_the_feed():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("coinglass", key=KEY) as srv:
        feed = feed_for(srv, registry)
        async with running(feed):
            await wait_until(lambda: srv.conns)
            await srv.push('{"code":"50001","msg":"Your plan does not support this channel, please upgrade"}')
            await wait_until(lambda: feed.stats.state == "stopped")
    assert "plan" in feed.stats.last_error and feed.stats.reconnects == 0


async def test_server_close_reconnects_and_resubscribes_runtime_symbols_at_once():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(20), VenueServer("coinglass", key=KEY) as srv:
        feed = feed_for(srv, registry, exchanges=("Binance",))
        delays = record_backoff(feed)
        async with running(feed):
            await wait_until(lambda: srv.conns and len(srv.last.subscribed) == 2)
            registry.add("SOL")
            await wait_until(lambda: "futures_trades@Binance_SOLUSDT@10000" in srv.last.subscribed)
            await srv.drop_all()
            want = {"liquidationOrders", "futures_trades@Binance_BTCUSDT@10000", "futures_trades@Binance_SOLUSDT@10000"}
            await wait_until(lambda: len(srv.conns) == 2 and srv.last.subscribed == want, timeout=10.0)
            # the first retry waits at most the backoff base (production: 0.5 s, so the feed is back
            # within a second or two); timed from its choice, not on the wall clock of a busy machine
            assert len(delays) == 1 and 0 < delays[0] <= FAST["backoff_base"]
    assert feed.stats.reconnects == 1


async def test_storm_of_malformed_frames_is_counted_and_skipped():
    registry = SubscriptionRegistry(["BTC"])
    bad = ["PONG!", "{{", "null", '{"channel":"openInterest@BTC","data":[]}',
           '{"channel":"liquidationOrders","data":5}', '{"channel":7}', '{"data":[]}',
           LIQUIDATION.replace('"side":2', '"side":"short"'),
           LIQUIDATION.replace('"time":1725416318379', '"time":"now"'), LIQUIDATION.replace("56738.0", "-1"),
           '{"success":false,"msg":"unknown channel"}']
    async with asyncio.timeout(6), VenueServer("coinglass", key=KEY) as srv:
        feed = feed_for(srv, registry, stale_after=5.0)
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns)
            for _ in range(30):
                await srv.push(*bad)
            await srv.push(LIQUIDATION)
            await wait_until(lambda: sink.events)
            assert feed.stats.connected and len(srv.conns) == 1
    assert len(sink.events) == 1
    assert feed.stats.parse_errors == 30 * (len(bad) - 1) and feed.stats.vendor_errors == 30


async def test_silent_server_is_detected_as_stale():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("coinglass", key=KEY, answer_pings=False) as srv:
        feed = feed_for(srv, registry, ping_interval=30.0, stale_after=0.3)
        async with running(feed):
            await wait_until(lambda: feed.stats.stale >= 1 and len(srv.conns) >= 2, timeout=3)


def test_venues_streamed_directly_are_not_counted_twice():
    """With MARKET_SOURCES=binance,coinglass the Binance copies from CoinGlass are skipped."""
    import orjson

    from engine.feeds.registry import SubscriptionRegistry

    feed = CoinGlassFeed("ws://127.0.0.1:9/ws-api", SubscriptionRegistry(["BTC"]), api_key="k",
                         direct_venues=frozenset({"binance"}))
    frame = orjson.loads(LIQUIDATION.replace('"exName":"Binance"', '"exName":"OKX"', 0))
    mixed = {"channel": "liquidationOrders", "data": [
        dict(frame["data"][0], exName="Binance"), dict(frame["data"][0], exName="OKX")]}
    events = feed.parse(mixed, 1)
    assert [e.venue for e in events] == ["okx"]
    assert feed.duplicates_skipped == 1
    assert all("Binance_" not in c for c in feed.channels(frozenset({"BTC"})))
