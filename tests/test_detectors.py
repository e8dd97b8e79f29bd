"""Detectors, table-driven, through ``Engine.process`` (the only way events reach them)."""
from __future__ import annotations

import math
import random

import pytest

from engine.core import Engine
from engine.detectors import normalize_funding
from engine.detectors.stophunt import FOLLOW_MS
from engine.events import Funding, Liquidation, PositionSide, Side, Trade
from engine.signals import Direction, Kind, ListSink, SignalEngine

T0 = 1_767_225_600_000


def make() -> tuple[Engine, ListSink]:
    sink = ListSink()
    return Engine(SignalEngine(sink, wall_ns=lambda: 0)), sink


def trade(ts, price, usd, side, venue="binance", symbol="SOL"):
    return Trade(venue, symbol, price, usd / price, usd, side, ts, ts * 1_000_000)


def liq(ts, price, usd, position, venue="binance", symbol="SOL"):
    return Liquidation(venue, symbol, price, usd / price, usd, position, ts, ts * 1_000_000)


def background(start, seconds, *, price=100.0, per_s=4, usd=2_000.0, buy_share=0.5, seed=1,
               venues=("binance", "bybit"), symbol="SOL"):
    """Steady two-sided tape: ``per_s`` trades a second per venue, sizes 0.5x-1.5x ``usd``."""
    rng = random.Random(seed)
    out = []
    for s in range(int(seconds)):
        for venue in venues:
            for k in range(per_s):
                ts = start + s * 1000 + k * (1000 // per_s) + (venue != venues[0])
                side = Side.BUY if rng.random() < buy_share else Side.SELL
                out.append(trade(ts, price * (1 + rng.uniform(-1e-4, 1e-4)), usd * rng.uniform(0.5, 1.5),
                                 side, venue, symbol))
    return out


def kinds(sink: ListSink) -> list[tuple[str, str]]:
    """(kind, direction) of each NEW alert (updates that edit an earlier one left out)."""
    return [(s.kind.value, s.direction.value) for s in sink.signals if s.edits is None]


def updates(sink: ListSink) -> list:
    return [s for s in sink.signals if s.edits is not None]


# ----------------------------------------------------------------------------- cascades
CASCADE_CASES = [
    # name, [(offset ms, usd, position, venue)], expected (kind, direction) list
    ("empty", [], []),
    ("below threshold", [(i * 1000, 40_000, PositionSide.LONG, "binance") for i in range(10)], []),
    # the direction is the pressure: longs force-sold push price DOWN (not a buy call)
    ("one-sided longs", [(i * 1000, 60_000, PositionSide.LONG, "binance") for i in range(10)],
     [("LIQUIDATION_CASCADE", "SHORT")]),
    ("one-sided shorts", [(i * 1000, 60_000, PositionSide.SHORT, "bybit") for i in range(10)],
     [("LIQUIDATION_CASCADE", "LONG")]),
    ("one giant liquidation", [(0, 5_000_000, PositionSide.LONG, "okx")], [("LIQUIDATION_CASCADE", "SHORT")]),
    ("two-sided is not a cascade",
     [(i * 1000, 60_000, PositionSide.LONG if i % 2 else PositionSide.SHORT, "binance") for i in range(20)], []),
    ("split across venues",
     [(i * 1000, 60_000, PositionSide.LONG, "binance" if i % 2 else "bybit") for i in range(10)],
     [("LIQUIDATION_CASCADE", "SHORT")]),
    ("spread beyond the 30 s window", [(i * 10_000, 100_000, PositionSide.LONG, "binance") for i in range(10)], []),
    ("duplicates count once", [(0, 300_000, PositionSide.LONG, "binance")] * 2, []),
    ("out of order inside the window",
     [(9_000 - i * 1000, 60_000, PositionSide.LONG, "binance") for i in range(10)], [("LIQUIDATION_CASCADE", "SHORT")]),
]


@pytest.mark.parametrize("name, liqs, expected", CASCADE_CASES, ids=[c[0] for c in CASCADE_CASES])
def test_cascade_table(name, liqs, expected):
    e, sink = make()
    e.process(trade(T0, 100.0, 1_000, Side.BUY))
    for offset, usd, position, venue in liqs:
        e.process(liq(T0 + 100 + offset, 100.0, usd, position, venue))
    assert kinds(sink) == expected
    if expected:
        sig = sink.signals[0]
        assert sig.magnitudes["liq_usd"] >= 500_000 and sig.magnitudes["dominance"] >= 0.65
        assert set(sig.magnitudes) >= {"liq_usd", "liq_long_usd", "liq_short_usd", "dominance", "zone_low",
                                       "zone_high", "count", "window_s"}
    if name == "split across venues":
        assert sink.signals[0].venues == ("binance", "bybit")
        assert sink.signals[0].components["multi_venue"] > 0
    if name == "duplicates count once":
        assert e.stats.duplicates == 1


def test_cascade_fires_once_then_rearms_after_calm():
    e, sink = make()
    e.process(trade(T0, 100.0, 1_000, Side.BUY))
    for i in range(30):  # 30 s of steady liquidations: one cascade, not thirty
        e.process(liq(T0 + i * 1000, 100.0, 60_000, PositionSide.LONG))
    assert len(kinds(sink)) == 1
    later = T0 + 10 * 60_000  # calm for minutes, then a new cascade
    for i in range(10):
        e.process(liq(later + i * 1000, 100.0, 60_000, PositionSide.LONG))
    assert kinds(sink) == [("LIQUIDATION_CASCADE", "SHORT")] * 2


def test_a_cascade_is_kept_current_then_closed():
    """Updates edit the opening alert as the total grows (paced: +25 % and 3 s apart, at once on
    crossing a default tier line), then a closing update once the flush has been quiet 15 s."""
    e, sink = make()
    e.process(trade(T0, 100.0, 1_000, Side.BUY))
    for i in range(30):
        e.process(liq(T0 + i * 1000, 100.0, 60_000, PositionSide.LONG))
    opening = sink.signals[0]
    assert opening.extra["status"] == "in_progress" and opening.magnitudes["liq_usd"] == 540_000
    live = updates(sink)
    assert live and all(u.edits == opening.id and u.thread == opening.thread for u in live)
    totals = [u.magnitudes["liq_usd"] for u in live]
    assert totals == sorted(totals) and totals[-1] >= 1_500_000  # 3x SOL's $500K: crossed at once
    assert any(u.magnitudes["liq_usd"] == 1_500_000 for u in live)  # the crossing liquidation
    assert all(b.ts - a.ts >= 3_000 or b.magnitudes["liq_usd"] == 1_500_000 for a, b in zip(live, live[1:]))
    assert live[-1].tier.value == "URGENT" and opening.tier.value == "WATCH"
    e.process(trade(T0 + 29_000 + 15_000, 99.0, 1_000, Side.SELL))  # quiet for 15 s
    closing = updates(sink)[-1]
    assert closing.extra["status"] == "ended" and closing.magnitudes["liq_usd"] == 1_800_000
    assert len(updates(sink)) == len(live) + 1


def test_cascade_zone_and_levels_come_from_traded_prices_not_bankruptcy_prices():
    """Bybit sends the BANKRUPTCY price of a liquidated position, beyond anything that traded:
    a hunt zone or a stop built from it would sit where the market never was."""
    e, sink = make()
    events = hunt_events(True)
    for ev in events:
        if isinstance(ev, Liquidation) and ev.venue == "bybit":
            ev.price *= 0.97  # a long's bankruptcy price: ~3 % below the traded market
    e.process_many(events)
    traded = [ev.price for ev in events if isinstance(ev, Trade) and ev.ts >= T0]
    low = min(traded)
    cascade = next(s for s in sink.signals if s.kind is Kind.LIQUIDATION_CASCADE)
    assert cascade.magnitudes["zone_low"] >= low
    hunt = next(s for s in sink.signals if s.kind is Kind.STOP_HUNT)  # confirmed: the low traded
    lv = hunt.levels
    assert lv.zone_low == pytest.approx(low)
    assert lv.stop < low < lv.entry_low  # stop beyond the real extreme, entry above the swept low
    assert lv.entry_high <= max(traded) * 1.001


# ----------------------------------------------------------------------------- stop hunts
def hunt_events(long_sweep=True, *, absorb=True, reclaim=True, venues=("binance", "bybit"), t=T0):
    """A sweep of ~1 % with liquidations on the flushed side, then (optionally) absorption."""
    sign = -1 if long_sweep else 1
    flushed = PositionSide.LONG if long_sweep else PositionSide.SHORT
    push = Side.SELL if long_sweep else Side.BUY
    absorb_side = Side.BUY if long_sweep else Side.SELL
    out = background(t - 200_000, 200, seed=3)
    price = 100.0
    for i in range(20):  # the sweep: 20 s, 1 % move, 40k of liquidations a second per venue
        price = 100.0 * (1 + sign * 0.0005 * (i + 1))
        ts = t + i * 1000
        for j, venue in enumerate(venues):
            out.append(trade(ts + j, price, 3_000, push, venue))
            out.append(liq(ts + 10 + j, price, 40_000, flushed, venue))
    extreme = price
    for i in range(30):  # after the sweep
        ts = t + 20_000 + i * 1000
        if reclaim:
            price = extreme * (1 - sign * 0.0002 * (i + 1))  # wins back 0.6 % of the 1 %
        side = absorb_side if absorb else push
        size = 20_000 if absorb and i % 3 == 0 else 2_000
        for j, venue in enumerate(venues):
            out.append(trade(ts + j, price, size, side, venue))
    return out


@pytest.mark.parametrize("long_sweep", [True, False], ids=["longs swept", "shorts swept"])
def test_stop_hunt_is_one_story_with_levels(long_sweep):
    e, sink = make()
    e.process_many(hunt_events(long_sweep))
    want = "LONG" if long_sweep else "SHORT"
    pressure = "SHORT" if long_sweep else "LONG"
    story = [s for s in sink.signals if s.kind in (Kind.LIQUIDATION_CASCADE, Kind.STOP_HUNT) and not s.edits]
    assert [(s.kind.value, s.direction.value) for s in story] == [("LIQUIDATION_CASCADE", pressure),
                                                                  ("STOP_HUNT", want)]
    cascade, hunt = story
    assert hunt.upgrades == cascade.id and hunt.thread == cascade.thread
    assert cascade.tier.priority > hunt.tier.priority  # the cascade is told at a lower tier
    lv = hunt.levels
    assert lv.zone_low < lv.zone_high and lv.expires_ts > hunt.ts
    if long_sweep:
        assert lv.stop < lv.zone_low < lv.entry_low <= lv.entry_high < lv.targets[0] <= lv.targets[1]
    else:
        assert lv.stop > lv.zone_high > lv.entry_high >= lv.entry_low > lv.targets[0] >= lv.targets[1]
    m = hunt.magnitudes
    assert m["liq_usd"] >= 500_000 and m["large_count"] >= 3 and m["whale_usd"] == 15_000
    assert m["absorb_usd"] > 0 and m["reclaim"] >= 0.3 and m["dominance"] == pytest.approx(1.0)
    assert hunt.venues == ("binance", "bybit")
    assert {"absorption", "large_orders", "reclaim", "cascade_size"} <= set(hunt.components)


@pytest.mark.parametrize("absorb, reclaim", [(False, True), (True, False), (False, False)],
                         ids=["no absorption", "no reclaim", "neither"])
def test_cascade_without_absorption_stays_a_cascade(absorb, reclaim):
    e, sink = make()
    e.process_many(hunt_events(True, absorb=absorb, reclaim=reclaim))
    assert ("LIQUIDATION_CASCADE", "SHORT") in kinds(sink)
    assert ("STOP_HUNT", "LONG") not in kinds(sink)
    closing = updates(sink)[-1]  # the cascade's alert was closed: no absorption, no setup
    assert closing.extra["status"] == "ended" and closing.edits == sink.signals[0].id
    assert e.states["SOL"].det_hunt is not None  # still watching...
    e.process(trade(T0 + 20_000 + FOLLOW_MS + 5_000, 99.0, 1_000, Side.BUY))
    assert e.states["SOL"].det_hunt is None  # ...until the follow-up window closes


def test_stop_hunt_on_a_single_venue():
    e, sink = make()
    e.process_many(hunt_events(True, venues=("okx",)))
    assert ("STOP_HUNT", "LONG") in kinds(sink)
    hunt = next(s for s in sink.signals if s.kind is Kind.STOP_HUNT)
    assert hunt.components["multi_venue"] == 0


# ----------------------------------------------------------------------------- order flow
def flow_events(buy_share, *, large_side=Side.BUY, large_every=6, seconds=240, seed=5, history_s=1200):
    """``history_s`` of two-sided background (the coin's baseline), then ``seconds`` of flow."""
    out = background(T0 - history_s * 1000, history_s, seed=seed)
    rng = random.Random(seed)
    for s in range(seconds):
        ts = T0 + s * 1000
        for k in range(8):
            side = Side.BUY if rng.random() < buy_share else Side.SELL
            out.append(trade(ts + k * 100, 100.0, 2_000 * rng.uniform(0.5, 1.5), side))
        if s % large_every == 0:
            out.append(trade(ts + 950, 100.0, 30_000, large_side))
    return out


FLOW_CASES = [
    ("accumulation", 0.8, Side.BUY, [("ACCUMULATION", "LONG")]),
    ("distribution", 0.2, Side.SELL, [("DISTRIBUTION", "SHORT")]),
    ("balanced", 0.5, Side.BUY, []),
    ("share without whales agreeing", 0.8, Side.SELL, []),
]


@pytest.mark.parametrize("name, share, large_side, expected", FLOW_CASES, ids=[c[0] for c in FLOW_CASES])
def test_accumulation_distribution_table(name, share, large_side, expected):
    e, sink = make()
    e.process_many(flow_events(share, large_side=large_side))
    got = [k for k in kinds(sink) if k[0] in ("ACCUMULATION", "DISTRIBUTION")]
    assert got == expected
    if expected:
        sig = next(s for s in sink.signals if s.kind.value == expected[0][0])
        assert sig.magnitudes["dominance"] >= 0.65 and sig.magnitudes["whale_usd"] == 15_000
        assert sig.magnitudes["window_s"] == 300


def test_one_giant_trade_is_not_accumulation():
    e, sink = make()
    e.process_many(background(T0 - 300_000, 300, seed=9))
    e.process(trade(T0 + 500, 100.0, 50_000_000, Side.BUY))
    e.process_many(background(T0 + 1_000, 30, seed=10))
    assert not [k for k in kinds(sink) if k[0] == "ACCUMULATION"]


def test_volume_spike_needs_a_baseline_and_a_real_spike():
    e, sink = make()
    e.process_many(background(T0, 16 * 60, per_s=2, seed=11))
    assert not kinds(sink)
    spike_start = T0 + 16 * 60_000
    e.process_many(background(spike_start, 40, per_s=12, buy_share=0.9, seed=12))
    spikes = [s for s in sink.signals if s.kind is Kind.VOLUME_SPIKE]
    assert len(spikes) == 1 and spikes[0].direction is Direction.LONG
    assert spikes[0].magnitudes["ratio"] >= 3.0 and spikes[0].magnitudes["baseline_usd"] > 0


def test_no_volume_spike_while_warming_up():
    e, sink = make()
    e.process_many(background(T0, 60, per_s=1, seed=13))
    e.process_many(background(T0 + 60_000, 60, per_s=12, seed=14))
    assert not [s for s in sink.signals if s.kind is Kind.VOLUME_SPIKE]


# ----------------------------------------------------------------------------- whale windows
@pytest.mark.parametrize(
    "name, history_s, sides, expected",
    [
        ("cluster of buys", 400, [Side.BUY] * 10, [("WHALE_WINDOW", "LONG")]),
        ("cluster of sells", 400, [Side.SELL] * 10, [("WHALE_WINDOW", "SHORT")]),
        ("both sides", 400, [Side.BUY, Side.SELL] * 6, []),
        ("too few", 400, [Side.BUY] * 5, []),
        ("no baseline yet", 100, [Side.BUY] * 10, []),
    ],
)
def test_whale_window_table(name, history_s, sides, expected):
    e, sink = make()
    start = T0 - history_s * 1000
    e.process_many(background(start, history_s, seed=21))
    for i, side in enumerate(sides):
        e.process(trade(T0 + i * 3000, 100.0, 40_000, side, "bybit"))
    got = [k for k in kinds(sink) if k[0] == "WHALE_WINDOW"]
    assert got == expected
    if expected:
        sig = next(s for s in sink.signals if s.kind is Kind.WHALE_WINDOW)
        assert sig.magnitudes["whale_usd"] == 15_000 and sig.magnitudes["whale_count"] >= 8
        assert sig.venues == ("bybit",)


# ----------------------------------------------------------------------------- funding
@pytest.mark.parametrize(
    "name, rates, expected",
    [
        ("normal", [("binance", 0.0001, 8.0), ("bybit", 0.0001, 8.0)], []),
        ("very positive: longs crowded -> SHORT", [("binance", 0.0011, 8.0), ("bybit", 0.0009, 8.0)],
         [("FUNDING_EXTREME", "SHORT")]),
        ("very negative: shorts crowded -> LONG", [("binance", -0.0011, 8.0), ("bybit", -0.0008, 8.0)],
         [("FUNDING_EXTREME", "LONG")]),
        ("4 h interval doubles", [("okx", 0.0003, 4.0)], [("FUNDING_EXTREME", "SHORT")]),
        ("1 h interval", [("bybit", -0.0001, 1.0)], [("FUNDING_EXTREME", "LONG")]),
        ("one venue extreme, mean not", [("bybit", 0.0, 8.0), ("binance", 0.0009, 8.0)], []),
        ("stays extreme: one finding", [("binance", 0.0011, 8.0)] * 5, [("FUNDING_EXTREME", "SHORT")]),
    ],
)
def test_funding_table(name, rates, expected):
    e, sink = make()
    for i, (venue, rate, interval) in enumerate(rates):
        e.process(Funding(venue, "ETH", rate, interval, 0, T0 + i * 1000, 0))
    assert kinds(sink) == expected
    if expected:
        m = sink.signals[0].magnitudes
        assert abs(m["funding_8h"]) >= 0.0005 and (m["funding_8h"] > 0) == (expected[0][1] == "SHORT")


def test_funding_units_and_absurd_rates():
    assert normalize_funding(0.0001) == pytest.approx(0.0001)
    assert normalize_funding(0.01, unit="percent") == pytest.approx(0.0001)  # CoinGlass: percent
    assert normalize_funding(0.01, unit="percent", interval_h=4) == pytest.approx(0.0002)
    with pytest.raises(ValueError):
        normalize_funding(0.01, unit="bps")
    with pytest.raises(ValueError):
        normalize_funding(0.01, interval_h=0)
    e, sink = make()
    e.process(Funding("coinglass", "ETH", 1.0, 8.0, 0, T0, 0))  # a percent read as a fraction
    assert e.stats.rejected == 1 and not sink.signals


# ----------------------------------------------------------------------------- divergence
def two_venues(seconds, gap_bps, *, start=T0, stale_after=None, symbol="SOL"):
    out = []
    for s in range(seconds):
        ts = start + s * 1000
        out.append(trade(ts, 100.0, 2_000, Side.BUY, "binance", symbol))
        if stale_after is None or s < stale_after:
            out.append(trade(ts + 1, 100.0 * (1 + gap_bps / 1e4), 2_000, Side.SELL, "bybit", symbol))
    return out


@pytest.mark.parametrize(
    "name, seconds, gap_bps, stale_after, expected",
    [
        ("together", 60, 2, None, []),
        ("apart long enough", 30, 50, None, [("DIVERGENCE", "NEUTRAL")]),
        ("apart too briefly", 8, 50, None, []),
        ("one venue went quiet", 30, 50, 3, []),
        ("held for minutes: one signal", 300, 50, None, [("DIVERGENCE", "NEUTRAL")]),
    ],
)
def test_price_divergence_table(name, seconds, gap_bps, stale_after, expected):
    e, sink = make()
    e.process_many(two_venues(seconds, gap_bps, stale_after=stale_after))
    assert kinds(sink) == expected
    if expected:
        sig = sink.signals[0]
        assert sig.magnitudes["spread_bps"] == pytest.approx(50, rel=0.01)
        assert sig.magnitudes["duration_s"] >= 10 and sig.venues == ("bybit", "binance")
        assert sig.extra["venue_high"] == "bybit"


def venues_disagree(start, seconds):
    out = []
    for s in range(seconds):
        ts = start + s * 1000
        for k in range(5):
            out.append(trade(ts + k * 100, 100.0, 20_000, Side.BUY, "binance"))
            out.append(trade(ts + k * 100 + 1, 100.0, 20_000, Side.SELL, "bybit"))
    return out


def test_flow_divergence_between_venues():
    e, sink = make()
    e.process_many(background(T0 - 900_000, 900, seed=31))  # past the warm-up
    e.process_many(venues_disagree(T0, 200))
    flow = [s for s in sink.signals if s.kind is Kind.DIVERGENCE]
    assert len(flow) == 1 and flow[0].magnitudes["share_gap"] >= 0.30
    assert flow[0].extra == {"venue_high": "binance", "venue_low": "bybit", "variant": "flow"}


def test_no_flow_divergence_while_warming_up():
    """Right after a start the 5-minute venue windows are half-filled: no verdict yet."""
    e, sink = make()
    e.process_many(venues_disagree(T0, 600))
    assert not [s for s in sink.signals if s.kind is Kind.DIVERGENCE]


def test_no_accumulation_while_warming_up():
    """The coin has no baseline yet (a few minutes after start): the same flow says nothing."""
    e, sink = make()
    e.process_many(flow_events(0.8, history_s=200))
    assert not [k for k in kinds(sink) if k[0] in ("ACCUMULATION", "DISTRIBUTION")]


def swinging_background(start, seconds, *, block_s=300, seed=41):
    """A coin whose ordinary flow swings: 5-minute blocks of 75 % buys then 75 % sells, each
    with a large order every 10 s on its leaning side."""
    rng = random.Random(seed)
    out = []
    for s in range(seconds):
        ts = start + s * 1000
        lean_buy = (s // block_s) % 2 == 0
        share = 0.75 if lean_buy else 0.25
        for k in range(8):
            side = Side.BUY if rng.random() < share else Side.SELL
            out.append(trade(ts + k * 100, 100.0, 2_000 * rng.uniform(0.5, 1.5), side))
        if s % 10 == 0:
            out.append(trade(ts + 950, 100.0, 30_000, Side.BUY if lean_buy else Side.SELL))
    return out


def test_accumulation_is_judged_against_the_coins_own_baseline():
    """A 4-minute 80 % buy stretch with large buys is news on a calm coin and ordinary on a coin
    whose flow swings like that all the time."""
    calm, calm_sink = make()
    calm.process_many(flow_events(0.8))
    assert ("ACCUMULATION", "LONG") in kinds(calm_sink)

    e, sink = make()
    e.process_many(swinging_background(T0 - 2_400_000, 2_400))
    warm = len(sink.signals)
    e.process_many([tr for tr in flow_events(0.8, history_s=0)])
    after = [(s.kind.value, s.direction.value) for s in sink.signals[warm:]]
    assert not [k for k in after if k[0] in ("ACCUMULATION", "DISTRIBUTION")], after


def test_detectors_use_event_time_not_arrival_order_for_batches():
    """The same events in one batch or one by one give the same signals (live == replay)."""
    events = hunt_events(True) + two_venues(30, 50, start=T0 + 400_000)
    e1, s1 = make()
    e1.process_many(events)
    e2, s2 = make()
    for ev in events:
        e2.process(ev)
    assert [s.to_dict() for s in s1.signals] == [s.to_dict() for s in s2.signals]


# ----------------------------------------------------------------------------- thresholds
def test_threshold_classes_and_floor():
    from engine.thresholds import MAJOR, MID, SMALL, ThresholdBook, defaults_for, symbol_class

    assert [symbol_class(s) for s in ("BTC", "SOL", "PEPE")] == ["major", "mid", "small"]
    assert (defaults_for("ETH"), defaults_for("DOGE"), defaults_for("WIF")) == (MAJOR, MID, SMALL)
    assert MAJOR.cascade_usd > MID.cascade_usd > SMALL.cascade_usd
    assert MAJOR.whale_usd > MID.whale_usd > SMALL.whale_usd
    book = ThresholdBook()
    assert book.set_floor("BTC", cascade_usd=500_000).cascade_usd == 500_000
    assert book.set_floor("BTC", cascade_usd=1_500_000).cascade_usd == 1_500_000  # back up
    assert book.set_floor("BTC", cascade_usd=3_000_000).cascade_usd == MAJOR.cascade_usd  # never above
    assert book.set_floor("BTC", whale_usd=5_000).cascade_usd == MAJOR.cascade_usd  # others kept
    assert book.for_symbol("BTC").whale_usd == 5_000 and book.floored() == {"BTC"}
    assert book.set_floor("BTC", cascade_usd=None, whale_usd=None) == MAJOR and not book.floored()
    assert book.for_symbol("ETH") == MAJOR  # other symbols untouched
    for bad in ({"dominance": -1}, {"dominance": math.nan}, {"reclaim": 0.1}):
        with pytest.raises(ValueError):
            book.set_floor("BTC", **bad)
    assert book.for_symbol("BTC") == MAJOR  # a refused change changes nothing


def test_lower_floor_makes_smaller_cascades_visible():
    e, sink = make()
    e.set_floor("SOL", cascade_usd=200_000)
    e.process(trade(T0, 100.0, 1_000, Side.BUY))
    for i in range(5):
        e.process(liq(T0 + i * 1000, 100.0, 50_000, PositionSide.SHORT))
    assert kinds(sink) == [("LIQUIDATION_CASCADE", "LONG")]
    assert sink.signals[0].magnitudes["liq_usd"] == pytest.approx(200_000)  # fires as it crosses


def test_a_second_cascade_is_seen_even_when_it_starts_with_a_big_liquidation():
    from engine.core import Engine
    from engine.events import Liquidation, PositionSide, Side, Trade
    from engine.signals import Kind, ListSink, SignalEngine

    sink = ListSink()
    e = Engine(SignalEngine(sink))
    t0 = 1_767_225_600_000

    def liq(ts, usd):
        return Liquidation("bybit", "SOL", 150.0, usd / 150.0, usd, PositionSide.LONG, ts, ts * 1_000_000)

    for i in range(6):  # first cascade: $600K in 6 s
        e.process(liq(t0 + i * 1000, 100_000))
    for s in range(7, 600):  # ten quiet minutes of trades
        e.process(Trade("bybit", "SOL", 150.0, 10.0, 1_500.0, Side.BUY if s % 2 else Side.SELL,
                        t0 + s * 1000, 0))
    t1 = t0 + 600_000
    e.process(liq(t1, 300_000))  # the next cascade opens with a large liquidation
    for i in range(1, 8):
        e.process(liq(t1 + i * 1000, 300_000))
    cascades = [s for s in sink.signals if s.kind is Kind.LIQUIDATION_CASCADE and s.edits is None]
    assert len(cascades) == 2


def test_one_absorbing_order_printed_over_many_levels_counts_once():
    """Absorption needs >= 3 large opposite ORDERS: one $200K buy that sweeps 10 levels in the
    same millisecond is one order, not ten (issue 9: orders, not prints)."""
    def run(split: bool):
        e, sink = make()
        events = [ev for ev in hunt_events(True, absorb=False) if ev.ts < T0 + 20_000]
        low = min(ev.price for ev in events if isinstance(ev, Trade) and ev.ts >= T0)
        for i in range(30):  # after the sweep: price climbs back on small buys...
            ts = T0 + 20_000 + i * 1000
            price = low * (1 + 0.0002 * (i + 1))
            events.append(trade(ts, price, 2_000, Side.BUY))
            if i == 5:  # ...and ONE large buy order
                if split:  # printed as 10 fills at rising prices, same trade time
                    events += [trade(ts + 1, price * (1 + 1e-5 * k), 20_000, Side.BUY) for k in range(10)]
                else:  # three separate large orders
                    events += [trade(ts + 1 + k * 300, price, 70_000, Side.BUY) for k in range(3)]
        e.process_many(events)
        return [s for s in sink.signals if s.kind is Kind.STOP_HUNT]
    assert run(split=False)  # three orders absorb: a stop hunt
    assert run(split=True) == []  # one order in ten prints is one large order: no stop hunt
