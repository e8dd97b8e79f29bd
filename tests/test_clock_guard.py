"""Case 6 (and the value half of case 9) of issue 11: frames stamped in the future or carrying
impossible values are refused and counted per reason; they move no state, so a coin is never
silenced by one bad frame. Sent through the real Binance client against a local server."""
import asyncio
import time

import orjson

from engine.core import ABSURD_NOTIONAL_USD, Engine, absurd_notional, run_feeds
from engine.events import Liquidation, MarkOI, PositionSide, Side, Trade
from engine.feeds.binance import BinanceFeed
from engine.feeds.registry import SubscriptionRegistry
from engine.signals import ListSink, SignalEngine
from tests.feeds_support import FAST, VenueServer, wait_until


def agg(ts, price="60000", qty="0.5", a=1, maker=False):
    return orjson.dumps({"stream": "btcusdt@aggTrade", "data": {
        "e": "aggTrade", "E": ts, "s": "BTCUSDT", "a": a, "p": price, "q": qty, "f": a, "l": a, "T": ts,
        "m": maker}}).decode()


def force(ts, price="60000", qty="1"):
    return orjson.dumps({"stream": "!forceOrder@arr", "data": {"e": "forceOrder", "E": ts, "o": {
        "s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": qty, "p": price, "ap": price,
        "X": "FILLED", "l": qty, "z": qty, "T": ts}}}).decode()


def mark(ts, price="60000"):
    return orjson.dumps({"stream": "!markPrice@arr@1s", "data": [{
        "e": "markPriceUpdate", "E": ts, "s": "BTCUSDT", "p": price, "i": price, "P": price,
        "r": "0.0001", "T": ts + 3_600_000}]}).decode()


async def test_future_and_impossible_frames_are_refused_and_the_coin_keeps_working():
    engine = Engine(SignalEngine(ListSink()))
    registry = SubscriptionRegistry(["BTC"])
    async with asyncio.timeout(15), VenueServer("binance") as srv:
        feed = BinanceFeed(srv.url("/market/stream"), registry, **FAST)
        task = asyncio.create_task(run_feeds(engine, [feed]))
        try:
            await wait_until(lambda: srv.conns, 5)
            now = int(time.time() * 1000) - 2_000
            await srv.push(agg(now, a=1))
            await wait_until(lambda: engine.stats.trades == 1, 5)
            await srv.push(
                mark(now + 60_000),  # a mark frame one minute ahead (the silencer of issue 11)
                mark(now + 2 * 3_600_000),  # two hours ahead
                agg(now + 600_000, a=2),  # a trade ten minutes ahead
                agg(-1, a=3),  # T = -1
                force(now, qty="47953333"),  # "Liquidated $2877.20B"
                agg(now, qty="20000", a=4),  # a $1.2B single BTC trade
            )
            await wait_until(lambda: engine.stats.rejected >= 8, 5)
            # the coin is not silenced: later liquidations and trades count, /flow shows them
            for i in range(3):
                await srv.push(agg(now + 1_000 + i, a=10 + i), force(now + 1_000 + i))
            await wait_until(lambda: engine.stats.trades == 4 and engine.stats.liquidations == 3, 5)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    st = engine.stats
    assert st.rejects == {"future": 5, "time": 1, "notional": 2}  # a mark frame = mark + funding
    assert st.rejects_by_venue == {"binance:future": 5, "binance:time": 1, "binance:notional": 2}
    snap = engine.flow("BTC", "1m")
    assert snap is not None and snap.trades == 4
    assert engine.states["BTC"].liquidations.count == 3
    assert engine.states["BTC"].marks == {}  # neither future mark frame was kept


def test_the_guard_allows_normal_lag_and_small_skew_and_skips_events_without_a_receive_clock():
    engine = Engine(SignalEngine(ListSink()))
    now = 1_767_225_600_000
    recv = now * 1_000_000
    engine.process(Trade("bybit", "ETH", 3000.0, 1.0, 3000.0, Side.BUY, now - 300, recv))  # 300 ms lag
    engine.process(Trade("bybit", "ETH", 3000.0, 1.0, 3000.0, Side.BUY, now + 4_000, recv))  # 4 s skew: kept
    engine.process(MarkOI("bybit", "ETH", 3000.0, None, None, now + 5_001, recv))  # past the tolerance
    engine.process(Trade("bybit", "ETH", 3000.0, 1.0, 3000.0, Side.BUY, now + 86_400_000, 0))  # no recv clock
    engine.process(Liquidation("bybit", "ETH", 3000.0, 1.0, 3000.0, PositionSide.LONG, 0, recv))  # T = 0
    assert engine.stats.trades == 3 and engine.stats.rejects == {"future": 1, "time": 1}


def test_absurd_notional_caps_follow_the_symbol_class():
    assert absurd_notional("BTC") == ABSURD_NOTIONAL_USD["major"] == 1e9
    assert absurd_notional("SOL") == ABSURD_NOTIONAL_USD["mid"]
    assert absurd_notional("PEPE") == ABSURD_NOTIONAL_USD["small"]
    engine = Engine(SignalEngine(ListSink()))
    t = 1_767_225_600_000
    engine.process(Liquidation("bybit", "PEPE", 1e-5, 2e13, 2e8, PositionSide.LONG, t, t * 10**6))  # $200M PEPE
    engine.process(Liquidation("bybit", "BTC", 60_000.0, 3000.0, 1.8e8, PositionSide.LONG, t, t * 10**6))  # $180M BTC
    assert engine.stats.rejects == {"notional": 1} and engine.stats.liquidations == 1
