"""OKX v5 live client against a local server speaking OKX's op/arg protocol and TEXT ping/pong."""
import asyncio

import orjson
import pytest

from engine.events import Liquidation, PositionSide, Side, Trade
from engine.feeds.base import PartialParse, VendorError
from engine.feeds.okx import MissingContract, OkxFeed, OkxParser, contracts_from_instruments
from engine.feeds.registry import SubscriptionRegistry
from tests.feeds_support import FAST, VenueServer, record_backoff, running, wait_until

INSTRUMENTS = [
    {"instType": "SWAP", "instId": "BTC-USDT-SWAP", "uly": "BTC-USDT", "instFamily": "BTC-USDT", "settleCcy": "USDT",
     "ctVal": "0.01", "ctMult": "1", "ctValCcy": "BTC", "ctType": "linear", "state": "live"},
    {"instType": "SWAP", "instId": "IOST-USDT-SWAP", "uly": "IOST-USDT", "instFamily": "IOST-USDT", "settleCcy": "USDT",
     "ctVal": "1000", "ctMult": "1", "ctValCcy": "IOST", "ctType": "linear", "state": "live"},
    {"instType": "SWAP", "instId": "BTC-USD-SWAP", "uly": "BTC-USD", "instFamily": "BTC-USD", "settleCcy": "BTC",
     "ctVal": "100", "ctMult": "1", "ctValCcy": "USD", "ctType": "inverse", "state": "live"},
]
INSTRUMENTS_FRAME = orjson.dumps({"arg": {"channel": "instruments", "instType": "SWAP"}, "data": INSTRUMENTS}).decode()
# documented shapes (okx.com/docs-v5 trades and liquidation-orders channels)
TRADES = ('{"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP",'
          '"tradeId":"130639474","px":"42219.9","sz":"12","side":"buy","ts":"1630048897897","count":"3"}]}')
LIQUIDATION = ('{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0",'
               '"bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13","ts":"1692266434010"}],'
               '"instFamily":"IOST-USDT","instId":"IOST-USDT-SWAP","instType":"SWAP","uly":"IOST-USDT"}]}')
NET_LIQUIDATION = ('{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0",'
                   '"bkPx":"50000","ccy":"","posSide":"net","side":"sell","sz":"5","ts":"1692266434011"}],'
                   '"instId":"BTC-USD-SWAP","instType":"SWAP"}]}')
BASE_CHANNELS = {"liquidation-orders:SWAP", "instruments:SWAP"}


def feed_for(srv, registry, **kw):
    return OkxFeed(srv.url("/ws/v5/public"), registry, **{**FAST, **kw})


async def test_subscribe_handshake_and_contract_sizes_convert_to_usd():
    registry = SubscriptionRegistry(["BTC", "IOST"])
    async with asyncio.timeout(5), VenueServer("okx") as srv:
        feed = feed_for(srv, registry)
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns and srv.last.subscribed ==
                             BASE_CHANNELS | {"trades:BTC-USDT-SWAP", "trades:IOST-USDT-SWAP"})
            sub = orjson.loads(srv.last.messages[0])
            assert sub["op"] == "subscribe"
            assert {"channel": "liquidation-orders", "instType": "SWAP"} in sub["args"]
            await srv.push(INSTRUMENTS_FRAME, TRADES, LIQUIDATION, NET_LIQUIDATION)
            await wait_until(lambda: len(sink.events) == 3)
    trade, liq, net = sink.events
    # 12 contracts x 0.01 BTC = 0.12 BTC at 42219.9
    assert trade == Trade("okx", "BTC", 42219.9, pytest.approx(0.12), pytest.approx(5066.388), Side.BUY,
                          1630048897897, trade.recv_ns)
    # posSide short: a SHORT position was liquidated; 13 contracts x 1000 IOST
    assert liq == Liquidation("okx", "IOST", 0.007831, pytest.approx(13000), pytest.approx(101.803),
                              PositionSide.SHORT, 1692266434010, liq.recv_ns)
    # net mode, order side sell: a LONG was liquidated; inverse swap: 5 x 100 USD
    assert net == Liquidation("okx", "BTC", 50000.0, pytest.approx(0.01), pytest.approx(500.0), PositionSide.LONG,
                              1692266434011, net.recv_ns)
    assert feed.stats.parse_errors == 0


async def test_degraded_without_instrument_list_until_the_ws_instruments_channel_arrives(caplog):
    """Before any contract size is known, every liquidation frame is for an instrument we cannot
    size: counted as skipped_unknown (not a parse error), logged at a bounded rate."""
    registry = SubscriptionRegistry(["BTC", "IOST"])
    odd = LIQUIDATION.replace("IOST-USDT-SWAP", "币安人生-USDT-SWAP")  # no coin ticker: never has a contract
    mixed = orjson.loads(LIQUIDATION)
    mixed["data"].append(orjson.loads(odd)["data"][0])
    async with asyncio.timeout(5), VenueServer("okx") as srv:
        feed = feed_for(srv, registry)  # no catalog at all
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns and srv.last.subscribed)
            with caplog.at_level("WARNING"):
                for _ in range(40):
                    await srv.push(TRADES, LIQUIDATION)
                await wait_until(lambda: feed.stats.skipped_unknown == 80)
            assert sink.events == [] and feed.stats.parse_errors == 0
            assert sum("no contract size" in r.getMessage() for r in caplog.records) <= 6
            await srv.push(INSTRUMENTS_FRAME, TRADES, orjson.dumps(mixed).decode(), odd)
            await wait_until(lambda: len(sink.events) == 2 and feed.stats.skipped_unknown == 82)
    assert feed.stats.parse_errors == 0
    assert feed.stats.snapshot()["skipped_unknown"] == 82


def test_parser_errors_and_partial_batches():
    parser = OkxParser(contracts_from_instruments(INSTRUMENTS))
    with pytest.raises(MissingContract):
        OkxParser()(orjson.loads(TRADES), 1)
    with pytest.raises(VendorError):
        parser({"event": "error", "code": "60012", "msg": "Invalid request", "connId": "x"}, 1)
    msg = orjson.loads(TRADES)
    msg["data"] = [msg["data"][0], dict(msg["data"][0], sz="inf"), dict(msg["data"][0], side="hold")]
    with pytest.raises(PartialParse) as info:
        parser(msg, 1)
    assert len(info.value.events) == 1 and info.value.bad == 2
    assert parser({"event": "subscribe", "arg": {"channel": "trades", "instId": "BTC-USDT-SWAP"}}, 1) == []
    msg["data"] = [msg["data"][0], dict(msg["data"][0], instId="NOPE-USDT-SWAP")]  # a good item, an unsized one
    with pytest.raises(MissingContract) as unknown:
        parser(msg, 1)
    assert len(unknown.value.events) == 1 and unknown.value.skipped == 1
    msg["data"].append(dict(msg["data"][0], px="-1"))
    with pytest.raises(PartialParse) as both:
        parser(msg, 1)
    assert (len(both.value.events), both.value.bad, both.value.unknown) == (1, 1, 1)


async def test_text_ping_only_when_idle_and_answered():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("okx") as srv:
        feed = feed_for(srv, registry, ping_interval=0.25, stale_after=5.0)
        async with running(feed):
            await wait_until(lambda: srv.conns)
            for _ in range(10):  # traffic every 50 ms: no ping needed
                await srv.push(INSTRUMENTS_FRAME)
                await asyncio.sleep(0.05)
            assert srv.last.pings == 0
            await wait_until(lambda: srv.last.pings >= 2, timeout=2)  # idle: TEXT "ping" each 0.25 s
    assert feed.stats.reconnects == 0


async def test_missing_pong_means_a_dead_connection():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("okx", answer_pings=False) as srv:
        feed = feed_for(srv, registry, ping_interval=0.1, pong_timeout=0.2, stale_after=5.0)
        async with running(feed):
            await wait_until(lambda: len(srv.conns) >= 2, timeout=3)
    assert feed.stats.stale >= 1


async def test_server_close_reconnects_and_resubscribes_runtime_symbols_at_once():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(20), VenueServer("okx") as srv:
        feed = feed_for(srv, registry)
        delays = record_backoff(feed)
        async with running(feed):
            await wait_until(lambda: srv.conns and "trades:BTC-USDT-SWAP" in srv.last.subscribed)
            registry.add("IOST-USDT-SWAP")
            await wait_until(lambda: "trades:IOST-USDT-SWAP" in srv.last.subscribed)
            await srv.drop_all(4004, "No data received in 30s.")
            want = BASE_CHANNELS | {"trades:BTC-USDT-SWAP", "trades:IOST-USDT-SWAP"}
            await wait_until(lambda: len(srv.conns) == 2 and srv.last.subscribed == want, timeout=10.0)
            # the first retry waits at most the backoff base (production: 0.5 s, so the feed is back
            # within a second or two); timed from its choice, not on the wall clock of a busy machine
            assert len(delays) == 1 and 0 < delays[0] <= FAST["backoff_base"]
    assert feed.stats.reconnects == 1


async def test_storm_of_malformed_frames_is_counted_and_skipped():
    registry = SubscriptionRegistry(["BTC"])
    bad = ["pong?", "{]", '"str"', '{"arg":{"channel":"books","instId":"BTC-USDT-SWAP"},"data":[]}',
           '{"arg":{"channel":"trades"},"data":{}}', '{"event":"login"}', '{"arg":5}',
           TRADES.replace('"px":"42219.9"', '"px":"-1"'), TRADES.replace('"ts":"1630048897897"', '"ts":"later"'),
           LIQUIDATION.replace('"details":[', '"details":[5,'),
           '{"event":"error","code":"60018","msg":"Wrong URL or channel:trades,instId:NOPE-USDT-SWAP"}']
    async with asyncio.timeout(6), VenueServer("okx") as srv:
        feed = feed_for(srv, registry, stale_after=5.0)
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns)
            await srv.push(INSTRUMENTS_FRAME)
            for _ in range(30):
                await srv.push(*bad)
            await srv.push(TRADES)
            await wait_until(lambda: sink.events)
            assert feed.stats.connected and len(srv.conns) == 1
    assert len(sink.events) == 1
    assert feed.stats.parse_errors == 30 * (len(bad) - 1) and feed.stats.vendor_errors == 30


async def test_silent_server_is_detected_as_stale():
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(5), VenueServer("okx", answer_pings=False) as srv:
        feed = feed_for(srv, registry, ping_interval=30.0, stale_after=0.3)
        async with running(feed):
            await wait_until(lambda: feed.stats.stale >= 1 and len(srv.conns) >= 2, timeout=3)


async def test_replay_counts_okx_frames_before_the_instruments_frame_as_unknown(tmp_path):
    from engine.feeds.replay import ReplayFeed

    path = tmp_path / "okx.txt"
    lines = [TRADES, LIQUIDATION, INSTRUMENTS_FRAME, TRADES, LIQUIDATION]
    path.write_text("".join(f"{1692266434010000000 + i} {f}\n" for i, f in enumerate(lines)), encoding="utf-8")
    feed = ReplayFeed(path)
    events = [ev for batch in feed.events() for ev in batch]
    assert len(events) == 2
    assert feed.stats.skipped_unknown == 2 and feed.stats.parse_errors == 0
