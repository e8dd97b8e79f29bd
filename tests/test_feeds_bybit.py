"""Bybit v5 linear live client against a local server speaking Bybit's op/topic protocol."""
import asyncio

import orjson
import pytest

from engine.events import Funding, Liquidation, MarkOI, PositionSide, Side, Trade
from engine.feeds.base import PartialParse, VendorError
from engine.feeds.bybit import BybitFeed, BybitParser
from engine.feeds.registry import SubscriptionRegistry
from tests.feeds_support import FAST, VenueServer, record_backoff, running, wait_until

# shapes from shared/PROTOCOLS.md (the allLiquidation sample is verbatim)
ALL_LIQUIDATION = ('{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,"data":[{"T":1739502302929,'
                   '"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}]}')
PUBLIC_TRADE = ('{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,'
                '"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick",'
                '"i":"20f43950-d8dd-5b31-9112-a178eabc3db9","BT":false}]}')
TICKER_SNAPSHOT = ('{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","tickDirection":"PlusTick",'
                   '"lastPrice":"17216.00","markPrice":"17217.33","indexPrice":"17227.36","openInterest":"68744.761",'
                   '"openInterestValue":"1183601235.91","fundingRate":"-0.000212","nextFundingTime":"1673280000000"},'
                   '"cs":24987956059,"ts":1673272861686}')
TICKER_DELTA = ('{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"17220.00",'
                '"fundingRate":"-0.000100"},"cs":24987956060,"ts":1673272861786}')
TOPICS = {"publicTrade.{}", "allLiquidation.{}", "tickers.{}"}


def topics(*natives):
    return {t.format(n) for n in natives for t in TOPICS}


def feed_for(srv, registry, **kw):
    return BybitFeed(srv.url("/v5/public/linear"), registry, **{**FAST, **kw})


async def test_subscribe_handshake_and_vendor_samples_parse_exactly():
    registry = SubscriptionRegistry(["BTC", "ROSE"])
    async with asyncio.timeout(5), VenueServer("bybit") as srv:
        feed = feed_for(srv, registry)
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns and srv.last.subscribed == topics("BTCUSDT", "ROSEUSDT"))
            first = orjson.loads(srv.last.messages[0])
            assert first["op"] == "subscribe" and isinstance(first["req_id"], str) and len(first["args"]) <= 10
            await srv.push(ALL_LIQUIDATION, PUBLIC_TRADE, TICKER_SNAPSHOT, TICKER_DELTA)
            await wait_until(lambda: len(sink.events) == 6)
    liq, trade, mark1, fund1, mark2, fund2 = sink.events
    # Bybit's S is the POSITION side: "Sell" = a SHORT position was liquidated (Binance is the opposite)
    assert liq == Liquidation("bybit", "ROSE", 0.04499, 20000.0, pytest.approx(899.8), PositionSide.SHORT,
                              1739502302929, liq.recv_ns)
    assert trade == Trade("bybit", "BTC", 16578.5, 0.001, pytest.approx(16.5785), Side.BUY, 1672304486865,
                          trade.recv_ns)
    assert mark1 == MarkOI("bybit", "BTC", 17217.33, 17227.36, 1183601235.91, 1673272861686, mark1.recv_ns)
    assert fund1 == Funding("bybit", "BTC", -0.000212, 8.0, 1673280000000, 1673272861686, fund1.recv_ns)
    # the delta carried only mark price and funding: index and OI come from the merged snapshot
    assert mark2 == MarkOI("bybit", "BTC", 17220.0, 17227.36, 1183601235.91, 1673272861786, mark2.recv_ns)
    assert fund2 == Funding("bybit", "BTC", -0.0001, 8.0, 1673280000000, 1673272861786, fund2.recv_ns)


def test_buy_liquidation_is_a_long_position_and_bad_items_do_not_sink_the_batch():
    parser = BybitParser()
    msg = orjson.loads(ALL_LIQUIDATION)
    msg["data"] = [dict(msg["data"][0], S="Buy"), dict(msg["data"][0], v="NaN"), dict(msg["data"][0], S="Long")]
    with pytest.raises(PartialParse) as info:
        parser(msg, 1)
    (liq,) = info.value.events
    assert liq.position is PositionSide.LONG and info.value.bad == 2


def test_funding_is_emitted_only_when_it_changes_and_1000_prefix_is_per_coin():
    parser = BybitParser()
    snap = orjson.loads(TICKER_SNAPSHOT.replace("BTCUSDT", "1000PEPEUSDT").replace('"17217.33"', '"0.012"'))
    events = parser(snap, 1)
    assert events[0].symbol == "PEPE" and events[0].mark == pytest.approx(0.000012)
    again = parser(orjson.loads('{"topic":"tickers.1000PEPEUSDT","type":"delta","ts":1673272861999,'
                                '"data":{"symbol":"1000PEPEUSDT","lastPrice":"0.0121"}}'), 2)
    assert again == []  # nothing we use changed


def test_error_frame_is_a_vendor_error():
    with pytest.raises(VendorError):
        BybitParser()({"success": False, "ret_msg": "error:handler not found,topic:tickers.NOPEUSDT",
                       "op": "subscribe", "req_id": "3"}, 1)


async def test_json_heartbeat_is_sent_and_answered():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("bybit") as srv:
        feed = feed_for(srv, registry, ping_interval=0.1, stale_after=5.0)
        async with running(feed):
            await wait_until(lambda: srv.conns and srv.last.pings >= 3)
            assert '{"op":"ping"}' in srv.last.messages
    assert feed.stats.reconnects == 0 and feed.stats.stale == 0


async def test_missing_pong_means_a_dead_connection():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("bybit", answer_pings=False) as srv:
        feed = feed_for(srv, registry, ping_interval=0.1, pong_timeout=0.2, stale_after=5.0)
        async with running(feed):
            await wait_until(lambda: len(srv.conns) >= 2, timeout=3)
    assert feed.stats.stale >= 1 and "pong" in feed.stats.last_error


async def test_server_close_reconnects_and_resubscribes_runtime_symbols_at_once():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(20), VenueServer("bybit") as srv:
        feed = feed_for(srv, registry)
        delays = record_backoff(feed)
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns and srv.last.subscribed == topics("BTCUSDT"))
            registry.add("rose")
            await wait_until(lambda: srv.last.subscribed == topics("BTCUSDT", "ROSEUSDT"))
            registry.remove("BTC")
            await wait_until(lambda: srv.last.subscribed == topics("ROSEUSDT"))
            await srv.drop_all(1001, "going away")
            await wait_until(lambda: len(srv.conns) == 2 and srv.last.subscribed == topics("ROSEUSDT"), timeout=10.0)
            # the first retry waits at most the backoff base (production: 0.5 s, so the feed is back
            # within a second or two); timed from its choice, not on the wall clock of a busy machine
            assert len(delays) == 1 and 0 < delays[0] <= FAST["backoff_base"]
            await srv.push(ALL_LIQUIDATION)
            await wait_until(lambda: sink.events)
    assert feed.stats.reconnects == 1


@pytest.mark.parametrize("reason", ["Service restart: planned maintenance", "system upgrade in progress",
                                    "server forbidden list refresh, reconnect"])
async def test_maintenance_close_reasons_never_stop_the_feed(reason):
    """Only CoinGlass reports key/plan problems in a close reason; here any close is retried."""
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(6), VenueServer("bybit") as srv:
        feed = feed_for(srv, registry)
        async with running(feed):
            await wait_until(lambda: srv.conns and srv.last.subscribed == topics("BTCUSDT"))
            await srv.drop_all(1012, reason)
            await wait_until(lambda: len(srv.conns) == 2 and srv.last.subscribed == topics("BTCUSDT"), timeout=2.0)
    assert feed.stats.state != "stopped"


async def test_storm_of_malformed_frames_is_counted_and_skipped():
    registry = SubscriptionRegistry(["BTC", "ROSE"])
    bad = ["garbage", "{", "[]", '{"topic":5}', '{"topic":"orderbook.50.BTCUSDT","data":{}}',
           '{"topic":"publicTrade.BTCUSDT","data":"x"}', '{"data":[]}',
           PUBLIC_TRADE.replace('"0.001"', '"-1"'), PUBLIC_TRADE.replace('"T":1672304486865', '"T":null'),
           ALL_LIQUIDATION.replace('"S":"Sell"', '"S":1'),
           '{"success":false,"ret_msg":"error:handler not found","op":"subscribe"}']
    async with asyncio.timeout(6), VenueServer("bybit") as srv:
        feed = feed_for(srv, registry)
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns)
            for _ in range(30):
                await srv.push(*bad)
            await srv.push(PUBLIC_TRADE)
            await wait_until(lambda: sink.events)
            assert feed.stats.connected and len(srv.conns) == 1
    assert len(sink.events) == 1
    assert feed.stats.parse_errors == 30 * (len(bad) - 1) and feed.stats.vendor_errors == 30


async def test_silent_server_is_detected_as_stale():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("bybit", answer_pings=False) as srv:
        feed = feed_for(srv, registry, ping_interval=30.0, stale_after=0.3)
        async with running(feed):
            await wait_until(lambda: feed.stats.stale >= 1 and len(srv.conns) >= 2, timeout=3)
    assert "silent" in feed.stats.last_error
