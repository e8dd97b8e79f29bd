"""Orders, not prints: the same-millisecond prints of one taker order count as ONE order.

Large-order counts, the whale detector and everything built on them see orders; volume totals
still add every print."""
from __future__ import annotations

import gzip
import json

import pytest

from engine.core import Engine
from engine.events import Side, Trade
from engine.feeds.binance import parse_message
from engine.feeds.replay import parse_line
from engine.signals import Kind, ListSink, SignalEngine
from tests.paths import real_file

T0 = 1_767_225_600_000


def make() -> tuple[Engine, ListSink]:
    sink = ListSink()
    return Engine(SignalEngine(sink, wall_ns=lambda: 0)), sink


def trade(ts, price, usd, side, venue="binance", symbol="BTC"):
    return Trade(venue, symbol, price, usd / price, usd, side, ts, ts * 1_000_000)


def sweep(ts, usd, levels, side=Side.BUY, *, price=60_000.0, venue="binance", symbol="BTC"):
    """One taker order of ``usd`` walking ``levels`` price levels: ``levels`` same-ms prints."""
    step = 1 if side is Side.BUY else -1
    return [trade(ts, price * (1 + step * k * 1e-5), usd / levels, side, venue, symbol) for k in range(levels)]


def background(start, seconds, *, price=60_000.0, per_s=10, usd=5_000.0, symbol="BTC", seed=3):
    import random
    rng = random.Random(seed)
    out = []
    for s in range(seconds):
        for k in range(per_s):
            ts = start + s * 1000 + k * (1000 // per_s)
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            out.append(trade(ts, price * (1 + rng.uniform(-1e-4, 1e-4)), usd * rng.uniform(0.5, 1.5), side,
                             "binance" if k % 2 else "bybit", symbol))
    return out


# ------------------------------------------------------------------ synthetic table
ORDER_CASES = [
    # name, prints [(offset ms, usd, side, venue)], expected (large_buys, large_sells)
    ("one order over 25 levels", [(0, 160_000, Side.BUY, "binance")] * 25, (1, 0)),
    ("small prints adding up to a large order", [(0, 5_000, Side.SELL, "binance")] * 6, (0, 1)),
    ("small prints that stay small", [(0, 5_000, Side.BUY, "binance")] * 4, (0, 0)),
    ("same ms, two venues: two orders", [(0, 30_000, Side.BUY, "binance"), (0, 30_000, Side.BUY, "bybit")],
     (2, 0)),
    ("same ms, side flips: two orders", [(0, 30_000, Side.BUY, "binance"), (0, 30_000, Side.SELL, "binance"),
                                         (0, 30_000, Side.BUY, "binance")], (2, 1)),
    ("next ms: a new order", [(0, 30_000, Side.BUY, "binance"), (1, 30_000, Side.BUY, "binance")], (2, 0)),
]


@pytest.mark.parametrize("name, prints, expected", ORDER_CASES, ids=[c[0] for c in ORDER_CASES])
def test_orders_table(name, prints, expected):
    e, _sink = make()
    total = 0.0
    for offset, usd, side, venue in prints:
        e.process(trade(T0 + offset, 60_000.0, usd, side, venue))
        total += usd
    snap = e.flow("BTC", "1m")
    assert (snap.large_buys, snap.large_sells) == expected
    assert snap.buy_usd + snap.sell_usd == pytest.approx(total)  # volume: every print
    assert snap.trades == len(prints)


def test_one_4m_order_over_25_levels_raises_no_whale_window_or_accumulation():
    """Before merging, the 25 prints of $160K were 25 large buys: a whale window and a flow signal."""
    e, sink = make()
    e.process_many(background(T0 - 1_500_000, 1_500))
    before = len(sink.signals)
    large_before = e.flow("BTC", "5m").large_buys
    e.process_many(sweep(T0 + 300, 4_000_000, 25))
    assert e.flow("BTC", "5m").large_buys == large_before + 1
    mem = e.states["BTC"].det_whale
    entries = [x for x in mem.buys if x.ts == T0 + 300]
    assert len(entries) == 1 and entries[0].usd == pytest.approx(4_000_000)  # one entry, full size
    e.process_many(background(T0 + 1_000, 300, seed=4))
    after = sink.signals[before:]
    assert not [s for s in after if s.kind in (Kind.WHALE_WINDOW, Kind.ACCUMULATION, Kind.DISTRIBUTION)], \
        [(s.kind.value, s.direction.value) for s in after]


def test_whale_cluster_usd_is_the_orders_full_size():
    e, sink = make()
    e.process_many(background(T0 - 600_000, 600))
    for i in range(10):  # ten separate $1M orders, each over 5 levels, 3 s apart
        e.process_many(sweep(T0 + i * 3_000, 1_000_000, 5, venue="bybit"))
    whales = [s for s in sink.signals if s.kind is Kind.WHALE_WINDOW]
    assert len(whales) == 1 and whales[0].direction.value == "LONG"
    sig = whales[0]
    count = sig.magnitudes["whale_count"]
    # counted at the crossing print (the first, $200K >= $25K); grown to $1M by the next prints
    # of the same order only after the finding, so the cluster holds (count - 1) full orders + 1 print
    assert count == 8
    assert sig.magnitudes["cluster_usd"] == pytest.approx(7 * 1_000_000 + 200_000)
    assert e.states["BTC"].det_whale.buy_usd == pytest.approx(10 * 1_000_000)


# ------------------------------------------------------------------ the recorded sweep
SWEEP_T = 1723161534121  # btcusdt_20240808: 268 consecutive taker BUY prints, ~$2.54M over 119 levels


def test_recorded_multi_level_sweep_is_one_large_order():
    """Binance BTCUSDT @trade tape, 2024-08-08 23:58:54.121: one taker buy, 268 prints, 119 levels."""
    path = real_file("btcusdt_20240808.gz")
    e, _sink = make()
    before = after = None
    prints = big_prints = 0
    usd = 0.0
    prices = set()
    with gzip.open(path, "rb") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            recv_ns, raw = parse_line(line)
            for ev in parse_message(json.loads(raw), recv_ns):
                if isinstance(ev, Trade) and ev.ts == SWEEP_T and ev.side is Side.BUY:
                    if before is None:
                        before = e.flow("BTC", "1m")
                    e.process(ev)
                    prints += 1
                    usd += ev.notional
                    big_prints += ev.notional >= 25_000
                    prices.add(ev.price)
                    after = e.flow("BTC", "1m")
                    entries = [x for x in e.states["BTC"].det_whale.buys if x.ts == SWEEP_T]
                    continue
                e.process(ev)
    assert prints >= 200 and len(prices) >= 100 and usd > 2_500_000
    assert big_prints >= 10  # prints that alone pass the $25K whale floor: each used to count
    assert after.large_buys - before.large_buys == 1, "one taker order, one large buy"
    assert after.buy_usd - before.buy_usd == pytest.approx(usd)  # volume unchanged by merging
    assert after.trades - before.trades == prints
    assert len(entries) == 1 and entries[0].usd == pytest.approx(usd)  # whale memory: the whole order
