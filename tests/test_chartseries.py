"""The chart series come from the engine's per-second rings and equal its own figures: the 1m
chart's sums are the 1m snapshot's, the last close is the last price, the CVD ends at the
engine's CVD, and a window's buckets never need the trades again."""
from __future__ import annotations

import math
import random

import pytest

from engine.chartseries import CHART_BUCKETS
from engine.core import Engine
from engine.events import Liquidation, PositionSide, Side, Trade
from engine.flow import RING, FlowState
from engine.signals import ListSink, SignalEngine

T0 = 1_767_225_600_000


def trade(ts, price, usd, side, symbol="SOL"):
    return Trade("binance", symbol, price, usd / price, usd, side, ts, ts * 1_000_000)


def run(seconds: int, seed: int = 3) -> Engine:
    e = Engine(SignalEngine(ListSink(), wall_ns=lambda: 0))
    rnd = random.Random(seed)
    price = 100.0
    for k in range(seconds * 4):
        ts = T0 + k * 250
        price *= 1 + rnd.gauss(0, 0.0005)
        usd = rnd.choice((500.0, 2_000.0, 9_000.0, 60_000.0))
        e.process(trade(ts, price, usd, Side.BUY if rnd.random() < 0.5 else Side.SELL))
        if k % 37 == 0:
            e.process(Liquidation("binance", "SOL", price, 100.0, 100.0 * price,
                                  PositionSide.LONG if k % 2 else PositionSide.SHORT, ts, ts * 1_000_000))
    return e


def test_one_minute_series_equals_the_snapshot():
    e = run(150)
    snap = e.flow("SOL", "1m")
    s = e.flow_chart("SOL", "1m")
    assert len(s) == 60 and s.bucket_s == 1
    assert sum(s.buy_usd) == pytest.approx(snap.buy_usd)
    assert sum(s.sell_usd) == pytest.approx(snap.sell_usd)
    assert sum(s.large_buys) == snap.large_buys and sum(s.large_sells) == snap.large_sells
    assert sum(s.liq_long_usd) == pytest.approx(snap.liq_long_usd)
    assert sum(s.liq_short_usd) == pytest.approx(snap.liq_short_usd)
    assert s.close[-1] == snap.last_price
    assert s.cvd[-1] == pytest.approx(snap.cvd)
    assert s.vwap[-1] == pytest.approx(snap.vwap)
    assert s.version == (T0 // 1000) + 149


@pytest.mark.parametrize("window", list(CHART_BUCKETS))
def test_every_window_has_sixty_buckets_and_consistent_candles(window):
    e = run(400)
    s = e.flow_chart("SOL", window)
    assert len(s) == 60 and s.bucket_s == CHART_BUCKETS[window]
    assert all(b - a == s.bucket_s for a, b in zip(s.times, s.times[1:]))
    for o, h, lo, c in zip(s.open, s.high, s.low, s.close):
        if not math.isnan(c):
            assert lo <= min(o, c) and h >= max(o, c)
    # CVD steps are the buckets' deltas
    for i in range(1, 60):
        assert s.cvd[i] - s.cvd[i - 1] == pytest.approx(s.buy_usd[i] - s.sell_usd[i], abs=1e-6)


def test_no_data_and_bad_window():
    e = Engine(SignalEngine(ListSink(), wall_ns=lambda: 0))
    assert e.flow_chart("BTC", "5m") is None and e.hunt_chart("BTC") is None
    with pytest.raises(ValueError):
        e.flow_chart("BTC", "2m")


def test_hunt_chart_is_the_last_minutes_in_five_second_buckets():
    s = run(400).hunt_chart("SOL", 5)
    assert len(s) == 60 and s.bucket_s == 5 and s.window == "hunt"


def test_the_flow_ring_keeps_each_seconds_ohlc_and_late_trades_join_their_second():
    f = FlowState(10_000.0)
    for ts, p in ((1000, 5.0), (1100, 7.0), (1200, 4.0), (1900, 6.0)):
        f.add_trade("binance", ts, p, 1.0, p, True)
    assert f.price_at(1) == (5.0, 7.0, 4.0, 6.0)  # the current second, before it is rolled
    f.add_trade("binance", 3_000, 8.0, 1.0, 8.0, False)
    assert f.price_at(1) == (5.0, 7.0, 4.0, 6.0) and f.price_at(2) is None
    f.add_trade("binance", 1_500, 9.0, 1.0, 9.0, True)  # late: a new high and the close of second 1
    assert f.price_at(1) == (5.0, 9.0, 4.0, 9.0)
    assert f.bucket_at(1) == (31.0, 0.0, 0.0, 0.0, 5.0, 5.0, 0.0, 0.0)
    f.add_trade("binance", 2_500, 3.0, 1.0, 3.0, True)  # late into a second that had no trade
    assert f.price_at(2) == (3.0, 3.0, 3.0, 3.0) and f.bucket_at(2)[5] == 1.0
    f.add_liquidation(3_200, 50.0, True)  # a second with only a liquidation has no candle
    f.add_liquidation(4_100, 50.0, True)
    assert f.price_at(4) is None and f.bucket_at(4)[6] == 50.0
    # an hour later the slots are reused: the old seconds are gone, and late trades older than
    # the ring are dropped from the flow and the candles alike
    f.add_trade("binance", 1_000 + RING * 1000, 2.0, 1.0, 2.0, True)
    f.add_trade("binance", 1_800, 1.0, 1.0, 1.0, True)
    assert f.late_dropped == 1 and f.price_at(1) is None and f.bucket_at(1) is None
    assert f.price_at(1 + RING) == (2.0, 2.0, 2.0, 2.0)


def test_a_chart_bucket_sums_its_seconds_in_order():
    f = FlowState(10_000.0)
    f.add_trade("binance", 10_000, 5.0, 2.0, 10.0, True)
    f.add_trade("binance", 11_000, 6.0, 1.0, 6.0, False)
    f.add_trade("binance", 12_300, 4.0, 1.0, 20_000.0, True)  # large, current second
    buy, sell, lb, ls, qty, liql, liqs, o, h, lo, c = f.span(10, 13)
    assert (buy, sell, lb, ls, qty, liql, liqs) == (20_010.0, 6.0, 1.0, 0.0, 4.0, 0.0, 0.0)
    assert (o, h, lo, c) == (5.0, 6.0, 4.0, 4.0)
    assert all(math.isnan(x) for x in f.span(0, 10)[7:])


def test_the_ring_is_flat_arrays_allocated_once():
    """No object per second: every per-second column is an ``array`` of the ring's length, made
    at the symbol's first trade, and rolling two hours of seconds replaces none of them. Before
    that (a coin that only sends mark prices) the columns are shared blanks nothing writes to."""
    quiet, f = FlowState(10_000.0), FlowState(10_000.0)
    for k in range(100):
        quiet.advance(k * 1000)
    f.add_trade("bybit", 0, 100.0, 1.0, 100.0, True)
    f.advance(1000)  # the first second ends: it goes into the symbol's own ring
    names = [name for name in f.__slots__ if name.startswith("_") and name != "_own"]
    columns = {name: getattr(f, name) for name in names}
    assert len(columns) == 13 and all(len(col) == RING for col in columns.values())
    assert all(getattr(quiet, name) is not columns[name] for name in names)
    assert len({id(getattr(quiet, name)) for name in names}) == 3  # one blank per type, shared
    assert quiet.bucket_at(50) is None and quiet.price_at(50) is None and quiet.history_s() == 100
    for k in range(2, 2 * RING):
        f.add_trade("bybit", k * 1000, 100.0, 1.0, 100.0, k % 2 == 0)
    assert all(getattr(f, name) is col for name, col in columns.items())
    vf = f.venues["bybit"]
    assert vf.volume == pytest.approx(300 * 100.0) and vf.buy_share == pytest.approx(0.5, abs=0.01)
