import hashlib
import statistics

import pytest

from engine.events import Funding, Liquidation, PositionSide, Side, Trade
from engine.simulator import EpisodePlan, MarketSimulator


def digest(sim: MarketSimulator) -> str:
    h = hashlib.sha256()
    for ev in sim.events():
        h.update(repr(ev).encode())
    return h.hexdigest()


def test_same_seed_same_market_different_seed_different_market():
    a = MarketSimulator(seed=3, duration_s=120)
    b = MarketSimulator(seed=3, duration_s=120)
    c = MarketSimulator(seed=4, duration_s=120)
    assert digest(a) == digest(b)
    assert digest(a) != digest(c)


def test_tape_is_time_ordered_two_venues_both_sides_heavy_tailed():
    sim = MarketSimulator(seed=1, duration_s=600, plan=[])
    events = list(sim.events())
    ts = [e.ts for e in events]
    assert ts == sorted(ts)
    trades = [e for e in events if type(e) is Trade and e.symbol == "BTC"]
    assert {t.venue for t in trades} == {"binance", "bybit"}
    buys = sum(t.side is Side.BUY for t in trades)
    assert 0.35 < buys / len(trades) < 0.65
    sizes = sorted(t.notional for t in trades)
    median = statistics.median(sizes)
    assert sizes[-1] > 15 * median  # heavy tail: the biggest prints dwarf the typical one
    assert all(t.notional == pytest.approx(t.price * t.qty) for t in trades[:1000])
    assert any(type(e) is Funding for e in events)
    assert sum(type(e) is Liquidation for e in events) > 0  # background liquidations exist


def window(events, symbol, start, end):
    return [e for e in events if e.symbol == symbol and start <= e.ts < end]


@pytest.mark.parametrize("direction", ["LONG", "SHORT"])
def test_stop_hunt_episode_sweeps_then_absorbs(direction):
    sim = MarketSimulator(seed=5, duration_s=300, plan=[EpisodePlan("STOP_HUNT", "BTC", direction, 100)])
    (ep,) = sim.episodes
    assert (ep.kind, ep.symbol, ep.direction) == ("STOP_HUNT", "BTC", direction)
    events = list(sim.events())
    before = [e for e in window(events, "BTC", ep.start_ts - 5_000, ep.start_ts) if type(e) is Trade]
    sweep = window(events, "BTC", ep.start_ts, ep.start_ts + 20_000)
    absorb = window(events, "BTC", ep.start_ts + 20_000, ep.end_ts)
    liqs = [e for e in sweep if type(e) is Liquidation]
    flushed = PositionSide.LONG if direction == "LONG" else PositionSide.SHORT
    flushed_usd = sum(e.notional for e in liqs if e.position is flushed)
    assert flushed_usd >= 2_000_000  # above the BTC cascade threshold
    assert flushed_usd > 0.9 * sum(e.notional for e in liqs)
    p0 = statistics.mean(e.price for e in before)
    sweep_trades = [e for e in sweep if type(e) is Trade]
    extreme = min(e.price for e in sweep_trades) if direction == "LONG" else max(e.price for e in sweep_trades)
    assert abs(extreme / p0 - 1) > 0.004  # price ran through a zone
    absorb_trades = [e for e in absorb if type(e) is Trade]
    with_side = Side.BUY if direction == "LONG" else Side.SELL
    absorbing = sum(e.notional for e in absorb_trades if e.side is with_side)
    against = sum(e.notional for e in absorb_trades if e.side is not with_side)
    assert absorbing > 2 * against
    end_price = absorb_trades[-1].price
    reclaimed = (end_price - extreme) / (p0 - extreme)
    assert reclaimed > 0.25  # price took back part of the zone


def test_divergence_episode_moves_one_venue_only():
    sim = MarketSimulator(seed=2, duration_s=200, plan=[EpisodePlan("DIVERGENCE", "ETH", "NEUTRAL", 50)])
    (ep,) = sim.episodes
    mid = [e for e in sim.events() if type(e) is Trade and e.symbol == "ETH"
           and ep.start_ts + 20_000 <= e.ts < ep.end_ts - 10_000]
    a = statistics.mean(e.price for e in mid if e.venue == "binance")
    b = statistics.mean(e.price for e in mid if e.venue == ep.venue)
    assert ep.venue == "bybit"
    assert (b / a - 1) * 1e4 > 25  # tens of bps apart


def test_funding_extreme_episode():
    sim = MarketSimulator(seed=2, duration_s=900, plan=[EpisodePlan("FUNDING_EXTREME", "SOL", "SHORT", 60)])
    (ep,) = sim.episodes
    rates = [e.rate_8h for e in sim.events()
             if type(e) is Funding and e.symbol == "SOL" and ep.start_ts <= e.ts < ep.end_ts]
    assert rates and min(rates) >= 0.001


def test_default_plan_has_every_episode_kind_inside_the_run():
    sim = MarketSimulator(seed=1, duration_s=3600)
    kinds = {(e.kind, e.direction) for e in sim.episodes}
    assert {("STOP_HUNT", "LONG"), ("STOP_HUNT", "SHORT"), ("ACCUMULATION", "LONG"), ("DISTRIBUTION", "SHORT"),
            ("FUNDING_EXTREME", "SHORT"), ("DIVERGENCE", "NEUTRAL")} <= kinds
    for e in sim.episodes:
        assert sim.start_ts <= e.start_ts < e.end_ts <= sim.start_ts + 3600 * 1000


def test_bad_plan_is_refused():
    with pytest.raises(ValueError):
        MarketSimulator(plan=[EpisodePlan("STOP_HUNT", "NOPE", "LONG", 10)])
    with pytest.raises(ValueError):
        MarketSimulator(plan=[EpisodePlan("MOON", "BTC", "LONG", 10)])
