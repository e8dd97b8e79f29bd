"""Binance USD-M live client against a local server speaking Binance's routed combined streams."""
import asyncio

import orjson
import pytest
from aiohttp import web

from engine.events import Funding, Liquidation, MarkOI, PositionSide, Side, Trade
from engine.feeds import binance
from engine.feeds.binance import BinanceFeed, check_routed_url
from engine.feeds.instruments import InstrumentCatalog
from engine.feeds.registry import SubscriptionRegistry
from tests.feeds_support import FAST, VenueServer, record_backoff, running, wait_until
from tests.test_feeds_instruments import BINANCE as BINANCE_INFO, FUNDING_INFO

# vendor sample payloads, verbatim from shared/PROTOCOLS.md (the ".." of aggTrade's E filled in)
FORCE_ORDER = ('{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC",'
               '"q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}')
AGG_TRADE = ('{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100","f":100,"l":105,'
             '"T":123456785,"m":true}')
MARK_PRICE = ('{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15","i":"11784.62",'
              '"P":"11784.25","r":"0.00038167","T":1562306400000}')
BASE_STREAMS = {"!forceOrder@arr", "!markPrice@arr@1s"}


def wrap(stream: str, data: str) -> str:
    return f'{{"stream":"{stream}","data":{data}}}'


def feed_for(srv, registry, **kw):
    return BinanceFeed(srv.url("/market/stream"), registry, **{**FAST, **kw})


async def test_routed_handshake_and_vendor_samples_parse_exactly():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("binance") as srv:
        feed = feed_for(srv, registry)
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns)
            conn = srv.last
            assert conn.path == "/market/stream"
            assert conn.subscribed == BASE_STREAMS | {"btcusdt@aggTrade"}
            await srv.push(wrap("!forceOrder@arr", FORCE_ORDER), wrap("btcusdt@aggTrade", AGG_TRADE),
                           wrap("!markPrice@arr@1s", f"[{MARK_PRICE}]"))
            await wait_until(lambda: len(sink.events) == 4)
    liq, trade, mark, funding = sink.events
    assert liq == Liquidation("binance", "BTC", 9910.0, 0.014, pytest.approx(138.74), PositionSide.LONG,
                              1568014460893, liq.recv_ns)
    assert trade == Trade("binance", "BTC", 0.001, 100.0, pytest.approx(0.1), Side.SELL, 123456785, trade.recv_ns)
    assert mark == MarkOI("binance", "BTC", 11794.15, 11784.62, None, 1562305380000, mark.recv_ns)
    assert funding == Funding("binance", "BTC", 0.00038167, 8.0, 1562306400000, 1562305380000, funding.recv_ns)
    assert feed.stats.events == 4 and feed.stats.parse_errors == 0 and feed.stats.lag_ms != 0


async def test_buy_force_order_is_a_short_liquidation_and_unwatched_symbols_are_filtered():
    registry = SubscriptionRegistry(["BTC"])
    buy = FORCE_ORDER.replace('"S":"SELL"', '"S":"BUY"')
    eth = FORCE_ORDER.replace("BTCUSDT", "ETHUSDT")
    async with asyncio.timeout(5), VenueServer("binance") as srv:
        feed = feed_for(srv, registry)
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns)
            await srv.push(wrap("!forceOrder@arr", eth), wrap("!forceOrder@arr", buy))
            await wait_until(lambda: sink.events)
    (liq,) = sink.events
    assert liq.position is PositionSide.SHORT
    assert feed.stats.filtered == 1


@pytest.mark.parametrize("url", ["wss://fstream.binance.com/ws", "wss://fstream.binance.com/stream",
                                 "wss://fstream.binance.com/public/stream", "ws://127.0.0.1:9/ws/btcusdt@aggTrade"])
def test_legacy_unrouted_paths_are_refused(url):
    with pytest.raises(ValueError, match="routed"):
        check_routed_url(url)
    with pytest.raises(ValueError, match="legacy"):
        BinanceFeed(url, SubscriptionRegistry())


async def test_a_client_on_the_legacy_path_is_caught_by_the_stale_watchdog():
    """The legacy /stream path acks SUBSCRIBE and then delivers nothing: the watchdog must notice."""
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("binance") as srv:
        feed = feed_for(srv, registry, stale_after=0.4)
        feed.url = srv.url("/stream")  # what a regressed client would do (the constructor refuses it)
        async with running(feed) as sink:
            await wait_until(lambda: feed.stats.stale >= 1 and feed.stats.reconnects >= 1, timeout=3)
            assert srv.conns[0].path == "/stream"
            assert srv.conns[0].subscribed == set()  # the legacy path never routes the streams
    assert sink.events == []
    assert feed.stats.reconnects >= 1


async def test_live_subscribe_is_batched_and_paced_under_ten_messages_per_second():
    registry = SubscriptionRegistry(["BTC"])
    coins = [f"C{i}" for i in range(40)]
    async with asyncio.timeout(8), VenueServer("binance") as srv:
        feed = feed_for(srv, registry, messages_per_s=None, debounce_s=0.0)  # production pacing
        async with running(feed):
            await wait_until(lambda: srv.conns)
            for coin in coins:  # forty /add commands in quick succession
                registry.add(coin)
                await asyncio.sleep(0.005)
            want = BASE_STREAMS | {"btcusdt@aggTrade"} | {f"{c.lower()}usdt@aggTrade" for c in coins}
            await wait_until(lambda: srv.last.subscribed == want, timeout=5)
            for coin in coins[:10]:
                registry.remove(coin)
            await wait_until(lambda: not any(f"{c.lower()}usdt@aggTrade" in srv.last.subscribed for c in coins[:10]),
                             timeout=5)
    conn = srv.last
    sent = [orjson.loads(m) for m in conn.messages]
    assert {m["method"] for m in sent} == {"SUBSCRIBE", "UNSUBSCRIBE"}
    assert len(sent) < len(coins) // 2  # batched, not one message per coin
    times = [t for t, _ in conn.received]
    assert max(sum(1 for u in times if t <= u < t + 1.0) for t in times) < 10
    assert feed.stats.subscriptions == len(BASE_STREAMS) + 1 + 30


async def test_server_close_reconnects_and_resubscribes_runtime_symbols_at_once():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(20), VenueServer("binance") as srv:
        feed = feed_for(srv, registry)
        delays = record_backoff(feed)
        async with running(feed):
            await wait_until(lambda: srv.conns)
            registry.add("ETH")  # added while running: a live SUBSCRIBE
            await wait_until(lambda: "ethusdt@aggTrade" in srv.last.subscribed)
            await srv.drop_all()
            await wait_until(lambda: len(srv.conns) == 2 and srv.last.subscribed ==
                                    BASE_STREAMS | {"btcusdt@aggTrade", "ethusdt@aggTrade"}, timeout=10.0)
            # the first retry waits at most the backoff base (production: 0.5 s, so the feed is back
            # within a second or two); timed from its choice, not on the wall clock of a busy machine
            assert len(delays) == 1 and 0 < delays[0] <= FAST["backoff_base"]
            await srv.push(wrap("ethusdt@aggTrade", AGG_TRADE.replace("BTCUSDT", "ETHUSDT")))
            await wait_until(lambda: feed.stats.events == 1)
    assert feed.stats.reconnects == 1


async def test_storm_of_malformed_frames_is_counted_and_skipped_without_reconnecting():
    registry = SubscriptionRegistry(["BTC"])
    bad = [
        "not json at all", "[1, 2", "[]", "123", '{"stream":"x","data":5}',
        wrap("btcusdt@aggTrade", AGG_TRADE.replace('"p":"0.001"', '"p":"NaN"')),
        wrap("btcusdt@aggTrade", AGG_TRADE.replace('"q":"100"', '"q":"-100"')),
        wrap("btcusdt@aggTrade", AGG_TRADE.replace('"q":"100"', '"q":"Infinity"')),
        wrap("btcusdt@aggTrade", AGG_TRADE.replace('"T":123456785', '"T":"soon"')),
        wrap("btcusdt@aggTrade", AGG_TRADE.replace('"s":"BTCUSDT",', "")),
        wrap("!forceOrder@arr", FORCE_ORDER.replace('"S":"SELL"', '"S":"HOLD"')),
        wrap("x", '{"e":"somethingNew","E":1}'),
        '{"code":2,"msg":"Invalid request: unknown property","id":9}',
        b"\xff\xfe binary junk",
    ]
    oversized = wrap("btcusdt@aggTrade", AGG_TRADE[:-1] + ',"pad":"' + "x" * 9000 + '"}')
    async with asyncio.timeout(8), VenueServer("binance") as srv:
        feed = feed_for(srv, registry, max_frame_bytes=4096)
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns)
            for _ in range(20):
                await srv.push(*bad, oversized)
            await srv.push(wrap("btcusdt@aggTrade", AGG_TRADE))
            await wait_until(lambda: sink.events)
            assert feed.stats.connected and len(srv.conns) == 1
    st = feed.stats
    assert len(sink.events) == 1
    assert st.frames == 20 * (len(bad) + 1) + 1
    assert st.vendor_errors == 20 and st.oversized == 20
    assert st.parse_errors + st.ignored == 20 * (len(bad) - 1)
    assert st.reconnects == 0


async def test_frame_beyond_the_hard_limit_drops_the_connection_and_reconnects():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(6), VenueServer("binance") as srv:
        feed = feed_for(srv, registry, max_frame_bytes=1000)
        async with running(feed):
            await wait_until(lambda: srv.conns)
            await srv.push("x" * 20_000)
            await wait_until(lambda: len(srv.conns) == 2)
    assert feed.stats.oversized == 1 and feed.stats.reconnects == 1


async def test_silent_server_is_detected_as_stale():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("binance") as srv:
        feed = feed_for(srv, registry, stale_after=0.3)
        async with running(feed):
            await wait_until(lambda: feed.stats.stale >= 1 and len(srv.conns) >= 2, timeout=3)
    assert "silent" in feed.stats.last_error


async def test_protocol_ping_from_the_server_is_answered():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("binance") as srv:
        feed = feed_for(srv, registry)
        async with running(feed):
            await wait_until(lambda: srv.conns)
            latency = await asyncio.wait_for(await srv.last.ws.ping(), 1.0)  # Binance pings every 3 min
            assert latency >= 0


async def test_proactive_reconnect_before_the_connection_age_limit():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("binance") as srv:
        feed = feed_for(srv, registry, max_age_s=0.3, backoff_base=5.0, backoff_cap=5.0)
        async with running(feed):
            # a 5 s backoff would blow the timeout: the proactive reconnect must skip it
            await wait_until(lambda: len(srv.conns) >= 2 and srv.last.subscribed, timeout=2)
    assert feed.stats.stale == 0


def test_production_defaults_and_the_liquidation_caveat():
    feed = BinanceFeed("wss://fstream.binance.com/market/stream", SubscriptionRegistry())
    assert feed.max_age_s < 24 * 3600 and feed.messages_per_s < 10
    assert feed.backoff.base <= 1.0
    assert "one liquidation per symbol per second" in binance.LIQUIDATION_SNAPSHOT_NOTE


def test_parser_takes_the_funding_interval_per_native_symbol():
    msg = orjson.loads(wrap("!markPrice@arr@1s", f"[{MARK_PRICE}, {MARK_PRICE.replace('BTCUSDT', 'ETHUSDT')}]"))
    events = binance.parse_message(msg, 1, funding_intervals={"ETHUSDT": 4.0})
    btc, eth = (ev for ev in events if isinstance(ev, Funding))
    assert (btc.symbol, btc.interval_h, btc.rate_8h) == ("BTC", 8.0, pytest.approx(0.00038167))
    assert (eth.symbol, eth.interval_h, eth.rate_8h) == ("ETH", 4.0, pytest.approx(2 * 0.00038167))
    assert [ev.interval_h for ev in binance.parse_message(msg, 1) if isinstance(ev, Funding)] == [8.0, 8.0]


async def test_live_feed_emits_funding_on_each_symbols_own_interval():
    """fundingInfo (local REST) says ETHUSDT settles every 4 h and 1000PEPEUSDT every hour: the live
    feed's Funding carries those intervals, so rate_8h is the true 8-hour rate (FUNDING_EXTREME)."""
    registry = SubscriptionRegistry(["BTC", "ETH", "PEPE"])

    async def exchange_info(request):
        return web.json_response(BINANCE_INFO)

    async def funding_info(request):
        return web.json_response(FUNDING_INFO)

    app = web.Application()
    app.router.add_get("/fapi/v1/exchangeInfo", exchange_info)
    app.router.add_get("/fapi/v1/fundingInfo", funding_info)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        catalog = InstrumentCatalog(binance_rest=f"http://127.0.0.1:{runner.addresses[0][1]}", timeout_s=2.0,
                                    venues=("binance",))
        pepe = MARK_PRICE.replace("BTCUSDT", "1000PEPEUSDT").replace('"r":"0.00038167"', '"r":"0.0001"')
        eth = MARK_PRICE.replace("BTCUSDT", "ETHUSDT")
        async with asyncio.timeout(5), VenueServer("binance") as srv:
            feed = BinanceFeed(srv.url("/market/stream"), registry, catalog, **FAST)
            async with running(feed) as sink:
                await wait_until(lambda: srv.conns)
                await srv.push(wrap("!markPrice@arr@1s", f"[{MARK_PRICE}, {eth}, {pepe}]"))
                await wait_until(lambda: len(sink.events) == 6)
    finally:
        await runner.cleanup()
    funding = {ev.symbol: ev for ev in sink.events if isinstance(ev, Funding)}
    assert {s: f.interval_h for s, f in funding.items()} == {"BTC": 8.0, "ETH": 4.0, "PEPE": 1.0}
    assert funding["PEPE"].rate_8h == pytest.approx(0.0008)
    assert funding["ETH"].rate_8h == pytest.approx(2 * 0.00038167)


async def test_proactive_reconnect_opens_the_new_connection_first_and_drops_duplicates():
    """The 24 h handover overlaps: the successor is open and streaming before the old connection
    is closed, and trades both connections delivered during the overlap come out once (by ``a``)."""
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(8), VenueServer("binance") as srv:
        feed = feed_for(srv, registry, max_age_s=0.5, stale_after=5.0)

        async def pusher():
            a = 0
            while True:
                a += 1
                frame = wrap("btcusdt@aggTrade", AGG_TRADE.replace('"a":5933014', f'"a":{a}')
                             .replace('"q":"100"', f'"q":"{a}"'))
                await srv.broadcast(frame)
                await asyncio.sleep(0.002)

        async with running(feed) as sink:
            await wait_until(lambda: srv.conns)
            push = asyncio.create_task(pusher())
            try:
                await wait_until(lambda: len(srv.conns) >= 2 and srv.conns[0].closed is not None, timeout=4)
                n = len(sink.events)
                await wait_until(lambda: len(sink.events) > n + 20)  # the successor carries on
            finally:
                push.cancel()
    old, new = srv.conns[0], srv.conns[1]
    assert new.opened < old.closed  # make-before-break: no moment without a connection
    assert new.subscribed == BASE_STREAMS | {"btcusdt@aggTrade"}
    ids = [round(ev.qty) for ev in sink.events]
    assert len(ids) == len(set(ids))  # no trade twice
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # and none lost across the switch
    assert feed.stats.duplicates >= 1 and feed.stats.handovers == 1 and feed.stats.stale == 0


async def test_handover_falls_back_to_close_and_reopen_when_the_successor_never_streams(caplog):
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(6), VenueServer("binance") as srv:  # pushes nothing: no stream ever flows
        feed = feed_for(srv, registry, max_age_s=0.3, stale_after=5.0)
        feed.handover_timeout = 0.2
        with caplog.at_level("WARNING"):
            async with running(feed):
                await wait_until(lambda: len(srv.conns) >= 3 and srv.conns[1].closed is not None
                                 and srv.conns[0].closed is not None, timeout=3)
    assert feed.stats.handovers == 0 and feed.stats.reconnects >= 1
    assert any("successor" in r.getMessage() for r in caplog.records)


def test_a_per_1000_listing_is_remembered_for_the_alerts_levels():
    from engine.symbols import quoted_units

    msg = orjson.loads(wrap("btcusdt@aggTrade", AGG_TRADE.replace("BTCUSDT", "1000SHIBUSDT")))
    (trade,) = binance.parse_message(msg, 1)
    assert trade.symbol == "SHIB" and trade.price == pytest.approx(0.000001)  # per ONE coin
    assert quoted_units("SHIB")["binance"] == 1000
