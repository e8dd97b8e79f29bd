"""Outcome tracking (engine/outcomes.py): triple barrier for setups, horizons for the rest."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.events import Side, Trade
from engine.outcomes import (
    HORIZONS_S,
    MAX_OPEN_PER_SYMBOL,
    NOISE_MIN_SAMPLES,
    Outcome,
    OutcomeTracker,
    Result,
)
from engine.signals import Direction, Kind, Levels, Signal, Tier

T0 = 1_767_225_600_000


def signal(kind=Kind.STOP_HUNT, direction=Direction.LONG, ts=T0, price=100.0, levels=None,
           sid="s1", symbol="BTC", edits=None):
    return Signal(id=sid, kind=kind, symbol=symbol, direction=direction, tier=Tier.WATCH, confidence=60,
                  ts=ts, recv_ns=0, signal_ns=0, magnitudes={"price": price}, components={},
                  levels=levels, edits=edits)


def long_levels(expires=T0 + 600_000):
    # entry 99..101 (middle 100), stop 98 (risk 2), T1 103 (+1.5 R), T2 106 (+3 R)
    return Levels(95, 97, 99.0, 101.0, 98.0, (103.0, 106.0), expires)


def short_levels(expires=T0 + 600_000):
    return Levels(103, 105, 99.0, 101.0, 102.0, (97.0, 94.0), expires)


def trade(price, ts, symbol="BTC"):
    return Trade("binance", symbol, price, 1.0, price, Side.BUY, ts, 0)


def run(sig, prices, *, tracker=None, start=None):
    """Feed (seconds after the signal, price) trades after opening ``sig``; returns its outcome."""
    tr = tracker or OutcomeTracker(keep=True)
    o = tr.on_signal(sig)
    base = sig.ts if start is None else start
    last = base
    for dt, price in prices:
        last = base + int(dt * 1000)
        tr.on_trade(trade(price, last, sig.symbol))
    tr.finish(last)
    return o


# (name, levels, entry-side price path as (seconds, price), result, r, final)
LEVEL_CASES = [
    ("T1 then T2", long_levels(), [(1, 100.5), (5, 103.2), (9, 106.1)], Result.WIN_T2, 3.0, True),
    ("T1 then stop stays T1", long_levels(), [(1, 100.5), (5, 103.2), (9, 97.9)], Result.WIN_T1, 1.5, True),
    ("stop first", long_levels(), [(1, 100.5), (5, 99.5), (9, 97.5), (12, 107)], Result.LOSS, -1.0, True),
    ("same second stop and T1 is LOSS", long_levels(), [(1, 100.5), (5.1, 103.5), (5.6, 97.5)],
     Result.LOSS, -1.0, True),
    ("never filled", long_levels(T0 + 60_000), [(1, 101.5), (30, 104), (61, 104.5), (62, 104)],
     Result.NOT_FILLED, None, True),
    ("target in the fill second does not count", long_levels(),
     [(1.2, 100.9), (1.5, 103.5), (9, 101)], Result.OPEN, None, False),
    ("expired after fill: mark to market", long_levels(T0 + 60_000),
     [(1, 100.5), (30, 101), (59, 101.0), (61, 101.5)], Result.EXPIRED, 0.5, True),
    ("short T1", short_levels(), [(1, 100.2), (4, 96.8), (8, 98)], Result.WIN_T1, 1.5, False),
    ("short stopped", short_levels(), [(1, 100.2), (4, 102.5)], Result.LOSS, -1.0, True),
]


@pytest.mark.parametrize("name, levels, path, result, r, final", LEVEL_CASES, ids=[c[0] for c in LEVEL_CASES])
def test_triple_barrier(name, levels, path, result, r, final):
    direction = Direction.SHORT if levels.stop > levels.entry_high else Direction.LONG
    o = run(signal(direction=direction, levels=levels, price=102.0 if direction is Direction.LONG else 98.0), path)
    assert o.result is result
    assert o.final is final
    if r is None:
        assert o.r is None
    else:
        assert o.r == pytest.approx(r)


def test_filled_at_the_signal_when_the_price_is_in_the_band():
    o = run(signal(levels=long_levels(), price=100.0), [(2, 103.1)])
    assert o.filled and o.fill_ts == T0
    assert o.result is Result.WIN_T1 and o.ttr_s == 2.0


def test_excursions_in_percent_and_r():
    o = run(signal(levels=long_levels(), price=100.0), [(1, 100.0), (2, 101.0), (3, 99.0), (4, 102.0)])
    assert o.mfe_pct == pytest.approx(2.0) and o.mfe_r == pytest.approx(1.0)
    assert o.mae_pct == pytest.approx(1.0) and o.mae_r == pytest.approx(0.5)


def test_no_outcome_for_an_edit_of_an_earlier_signal():
    tr = OutcomeTracker(keep=True)
    assert tr.on_signal(signal(edits="earlier")) is None
    assert tr.open_count() == 0


def test_a_signal_never_sees_trades_from_before_it():
    tr = OutcomeTracker(keep=True)
    tr.on_trade(trade(90.0, T0 - 200))  # same second as the signal, before it: a stop-level low
    o = tr.on_signal(signal(levels=long_levels(), price=100.0, ts=T0 - 100))
    tr.on_trade(trade(100.2, T0 + 1500))
    tr.finish(T0 + 1500)
    assert o.result is Result.OPEN and o.worst == pytest.approx(100.0)  # the signal price, not 90


def _warm(tracker, symbol="BTC", minutes=NOISE_MIN_SAMPLES + 2, step=0.1):
    """Alternating +-step % per minute: mean absolute 1-minute return ~ step %."""
    price = 100.0
    ts = T0 - (minutes + 1) * 60_000
    for m in range(minutes + 1):
        tracker.on_trade(trade(price, ts + m * 60_000, symbol))
        price *= 1 + (step / 100 if m % 2 == 0 else -step / 100)
    return ts + (minutes + 1) * 60_000


DIRECTIONAL = [
    # (name, direction, move % at 5 min, result)
    ("beat the band", Direction.LONG, 0.5, Result.HIT),
    ("inside the band", Direction.LONG, 0.1, Result.FLAT),
    ("against", Direction.LONG, -0.5, Result.MISS),
    ("short right", Direction.SHORT, -0.5, Result.HIT),
]


@pytest.mark.parametrize("name, direction, move, result", DIRECTIONAL, ids=[c[0] for c in DIRECTIONAL])
def test_signed_returns_against_the_noise_band(name, direction, move, result):
    tr = OutcomeTracker(keep=True)
    end = _warm(tr)
    sig = signal(kind=Kind.LIQUIDATION_CASCADE, direction=direction, ts=end, price=100.0)
    tr.on_trade(trade(100.0, end - 10))
    o = tr.on_signal(sig)
    # band at 5 min ~ 0.1 % * sqrt(5) ~ 0.22 %
    assert o.noise[1] == pytest.approx(0.1 * math.sqrt(5), rel=0.1)
    tr.on_trade(trade(100.0, end + 30_000))
    tr.on_trade(trade(100.0 * (1 + move / 100), end + 299_500))  # the 5-minute second
    tr.on_trade(trade(50.0, end + 301_000))  # after it: not the horizon price
    tr.finish(end + 301_000)
    sign = 1 if direction is Direction.LONG else -1
    assert o.returns[0] == pytest.approx(0.0)
    assert o.returns[1] == pytest.approx(sign * move)
    assert o.result is result and o.resolved_ts == end + 300_000 and not o.final


def test_horizon_price_is_the_last_before_a_gap():
    tr = OutcomeTracker(keep=True)
    o = tr.on_signal(signal(kind=Kind.WHALE_WINDOW, price=100.0))
    tr.on_trade(trade(101.0, T0 + 10_000))
    tr.on_trade(trade(120.0, T0 + 7_200_000))  # two hours later: every horizon falls in the gap
    tr.finish(T0 + 7_200_000)
    assert o.returns == [pytest.approx(1.0)] * len(HORIZONS_S)
    assert o.final and o.result is Result.UNSCORED  # no noise band: never scored


def test_the_oldest_open_outcome_is_evicted_as_expired():
    tr = OutcomeTracker(keep=True, max_open_per_symbol=3)
    outs = [tr.on_signal(signal(kind=Kind.WHALE_WINDOW, sid=f"s{i}", ts=T0 + i)) for i in range(4)]
    assert tr.open_count() == 3 and tr.evicted == 1
    assert outs[0].result is Result.EXPIRED and outs[0].final and outs[0].hit is None
    assert MAX_OPEN_PER_SYMBOL >= 100


def test_state_round_trip_resumes_identically():
    prices = [(1, 100.5), (3, 99.4), (5, 102.0), (9, 103.3), (12, 105.0), (15, 106.2)]
    whole = run(signal(levels=long_levels(), price=101.5), prices)
    tr = OutcomeTracker(keep=True)
    o = tr.on_signal(signal(levels=long_levels(), price=101.5))
    for dt, p in prices[:3]:
        tr.on_trade(trade(p, T0 + int(dt * 1000)))
    tr.on_trade(trade(prices[3][1], T0 + prices[3][0] * 1000))  # flushes the bar of second 5
    assert tr.open_outcomes() == [o]  # brings its excursions up to date, as a checkpoint does
    stored = o.state()
    tr2 = OutcomeTracker(keep=True)
    resumed = Outcome.restore(o.signal, stored)
    tr2.restore([resumed])
    tr2.on_trade(trade(prices[3][1], T0 + prices[3][0] * 1000))
    for dt, p in prices[4:]:
        tr2.on_trade(trade(p, T0 + int(dt * 1000)))
    tr2.finish(T0 + 15_000)
    assert resumed.resumed == 1
    assert resumed.summary() | {"signal_id": 0} == whole.summary() | {"signal_id": 0}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2_000), st.floats(90.0, 110.0)), min_size=1, max_size=80))
def test_barrier_invariants(path):
    """Whatever the path: a LOSS is −1 R, a win's R is its target's, excursions bound the result,
    and the bar-wise tracker agrees with a brute-force replay of the same rules."""
    path = sorted(path)
    o = run(signal(levels=long_levels(expires=T0 + 1_000_000), price=102.0), [(t, p) for t, p in path])
    if o.result is Result.LOSS:
        assert o.r == -1.0 and o.mae_r >= 1.0
    if o.result is Result.WIN_T1:
        assert o.r == pytest.approx(1.5) and o.mfe_r >= 1.5 - 1e-9
    if o.result is Result.WIN_T2:
        assert o.r == pytest.approx(3.0) and o.mfe_r >= 3.0 - 1e-9
    if not o.filled:
        assert o.result in (Result.OPEN, Result.NOT_FILLED)
    assert _brute(path) == o.result


def _brute(path):
    """The same rules over whole seconds, written plainly (a second = every trade in it)."""
    seconds: dict[int, list[float]] = {}
    for t, p in path:
        seconds.setdefault(t, []).append(p)
    filled = t1 = False
    result = Result.OPEN
    for sec in sorted(seconds):
        if sec * 1000 > 1_000_000:
            return (Result.NOT_FILLED if not filled else Result.EXPIRED if not t1 else Result.WIN_T1)
        hi, lo = max(seconds[sec]), min(seconds[sec])
        if not filled:
            if lo <= 101.0:
                filled = True
                if lo <= 98.0:
                    return Result.LOSS
            continue
        if not t1:
            if lo <= 98.0:
                return Result.LOSS
            if hi >= 103.0:
                t1 = True
                result = Result.WIN_T1
                if hi >= 106.0:
                    return Result.WIN_T2
        else:
            if lo <= 98.0:
                return Result.WIN_T1
            if hi >= 106.0:
                return Result.WIN_T2
    return result


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4_000_000), st.floats(95.0, 105.0)), min_size=1, max_size=120),
       st.lists(st.tuples(st.integers(0, 4_000_000), st.sampled_from([Direction.LONG, Direction.SHORT]),
                          st.booleans()), min_size=1, max_size=8))
def test_skipping_bars_inside_the_envelope_changes_nothing(path, opens):
    """Bars that cannot change any open outcome are skipped; the outcomes are the same as when
    every bar is applied to every outcome."""
    results = []
    for skip in (True, False):
        tr = OutcomeTracker(keep=True)
        tr.skip_inside = skip
        _warm(tr)
        events = sorted([(t, 0, p) for t, p in path] + [(t, 1, (d, lv, i)) for i, (t, d, lv) in enumerate(opens)],
                        key=lambda e: (e[0], e[1]))
        for t, what, x in events:
            if what == 0:
                tr.on_trade(trade(x, T0 + t))
            else:
                d, with_levels, i = x
                lv = (long_levels(T0 + t + 600_000) if d is Direction.LONG else short_levels(T0 + t + 600_000))
                tr.on_signal(signal(kind=Kind.STOP_HUNT if with_levels else Kind.WHALE_WINDOW, direction=d,
                                    ts=T0 + t, price=100.0, levels=lv if with_levels else None, sid=f"s{i}"))
        tr.finish(T0 + 4_000_000)
        results.append([o.summary() for o in tr.outcomes])
    assert results[0] == results[1]


def _feed_in_arrival_order(path, opens, *, skip, via_engine, warm=True):
    """Trades arrive in ``arrival`` order with their own (possibly older) exchange times, signals
    interleaved; returns every outcome's summary (noise bands included)."""
    from engine.core import Engine
    from engine.signals import ListSink, SignalEngine

    tr = OutcomeTracker(keep=True)
    tr.skip_inside = skip
    if warm:
        _warm(tr)
    engine = None
    if via_engine:
        engine = Engine(SignalEngine(ListSink()))
        engine.track_outcomes(tr)
    events = sorted([(t + late, 0, (t, p)) for t, late, p in path]
                    + [(t, 1, (d, lv, priced, i)) for i, (t, d, lv, priced) in enumerate(opens)],
                    key=lambda e: (e[0], e[1]))
    for at, what, x in events:
        if what == 0:
            t, p = x
            ev = trade(p, T0 + t)
            engine.process(ev) if engine is not None else tr.on_trade(ev)
        else:
            d, with_levels, priced, i = x
            lv = (long_levels(T0 + at + 600_000) if d is Direction.LONG else short_levels(T0 + at + 600_000))
            tr.on_signal(signal(kind=Kind.STOP_HUNT if with_levels else Kind.WHALE_WINDOW, direction=d,
                                ts=T0 + at, price=100.0 if priced else 0.0,
                                levels=lv if with_levels else None, sid=f"s{i}"))
    tr.finish(T0 + 5_000_000)
    return [o.summary() for o in tr.outcomes]


# prices on a grid that hits the levels exactly (stop 98/102, band 99..101, T1 97/103, T2 94/106)
GRID = st.one_of(st.sampled_from([94.0, 97.0, 98.0, 99.0, 100.0, 101.0, 102.0, 103.0, 106.0]),
                 st.floats(96.5, 103.5))


@settings(max_examples=120, deadline=None)
@given(st.integers(60_000, 4_000_000).flatmap(lambda span: st.tuples(
    st.lists(st.tuples(st.integers(0, span), st.sampled_from([0, 0, 0, 300, 1_500, 2_500, 61_000]), GRID),
             min_size=1, max_size=300),
    st.lists(st.tuples(st.integers(0, span), st.sampled_from([Direction.LONG, Direction.SHORT]),
                       st.booleans(), st.booleans()), min_size=0, max_size=6),
    st.booleans())))
def test_quiet_spans_and_late_trades_change_nothing(case):
    """Quiet spans (several seconds folded into one bar while no outcome can change), trades
    that arrive late with older exchange times, signals without a price, the noise band over
    many minutes: the same outcomes as applying every one-second bar to every outcome; and the
    same again when the engine feeds the tracker (its inline hot path)."""
    path, opens, warm = case
    reference = _feed_in_arrival_order(path, opens, skip=False, via_engine=False, warm=warm)
    assert _feed_in_arrival_order(path, opens, skip=True, via_engine=False, warm=warm) == reference
    assert _feed_in_arrival_order(path, opens, skip=True, via_engine=True, warm=warm) == reference


def test_the_first_bar_of_a_symbol_anchors_the_noise_band_in_one_second():
    """The noise band starts from the first one-second bar's high: never from a quiet span."""
    noise = []
    for skip in (True, False):
        tr = OutcomeTracker()
        tr.skip_inside = skip
        start = T0 - 20 * 60_000
        for dt, p in [(0, 100.0), (1_000, 105.0), (2_000, 101.0)]:
            tr.on_trade(trade(p, start + dt))
        for m in range(1, 15):
            tr.on_trade(trade(100.0 + (m % 2), start + m * 60_000))
        noise.append(tr.on_signal(signal(kind=Kind.WHALE_WINDOW, ts=T0)).noise)
    assert noise[0] == noise[1] and noise[0][0] is not None
