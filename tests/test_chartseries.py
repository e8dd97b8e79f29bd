"""The chart series come from the engine's per-second rings and equal its own figures: the 1m
chart's sums are the 1m snapshot's, the last close is the last price, the CVD ends at the
engine's CVD, and a window's buckets never need the trades again."""
from __future__ import annotations

import math
import random

import pytest

from engine.chartseries import CHART_BUCKETS, PriceRing
from engine.core import Engine
from engine.events import Liquidation, PositionSide, Side, Trade
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


def test_price_ring_ohlc_and_late_trades():
    r = PriceRing(10)
    for ts, p in ((1000, 5.0), (1100, 7.0), (1200, 4.0), (1900, 6.0)):
        r.add(ts, p)
    assert r.at(1) == (5.0, 7.0, 4.0, 6.0)
    r.add(11_000, 9.0)  # second 11 reuses slot 1
    r.add(1_500, 1.0)  # late beyond its slot: ignored
    assert r.at(1) is None and r.at(11) == (9.0, 9.0, 9.0, 9.0)
