import pytest

from bot.cli import main
from engine.core import Engine, run_feeds
from engine.events import Liquidation, PositionSide, Side, Trade
from engine.signals import Direction, Kind, ListSink, Signal, SignalEngine, Tier
from engine.simulator import EpisodePlan, MarketSimulator, SimulatorFeed
from engine.state import LiquidationWindow

T0 = 1_767_225_600_000


def liq(ts, usd, position=PositionSide.LONG, price=60_000.0, venue="bybit", symbol="BTC"):
    return Liquidation(venue, symbol, price, usd / price, usd, position, ts, ts * 1_000_000)


def test_liquidation_window_keeps_running_sums_and_range():
    w = LiquidationWindow(30_000)
    w.add(liq(T0, 100, price=10))
    w.add(liq(T0 + 10_000, 200, PositionSide.SHORT, price=12))
    w.add(liq(T0 + 20_000, 300, price=8))
    assert (w.long_usd, w.short_usd, w.count, w.low, w.high) == (400, 200, 3, 8, 12)
    w.add(liq(T0 + 35_000, 50, price=9))  # evicts the first
    assert (w.long_usd, w.short_usd, w.count, w.low, w.high) == (350, 200, 3, 8, 12)
    w.advance(T0 + 60_000)  # only the last one is left
    assert (w.long_usd, w.short_usd, w.count, w.low, w.high) == (50, 0, 1, 9, 9)
    w.add(liq(T0 + 1_000, 10_000))  # far too late: ignored
    assert w.total_usd == 50


def test_one_directional_cascade_becomes_one_signal():
    sink = ListSink()
    engine = Engine(SignalEngine(sink))
    for i in range(25):  # $2.5M of long liquidations in 25 s on two venues
        engine.process(liq(T0 + i * 1000, 100_000, venue="bybit" if i % 2 else "binance", price=60_000 - i * 10))
    assert len([s for s in sink.signals if s.edits is None]) == 1  # later ones update its alert
    sig = sink.signals[0]
    # longs force-sold: the pressure is down (SHORT), not a call to buy
    assert (sig.kind, sig.symbol, sig.direction) == (Kind.LIQUIDATION_CASCADE, "BTC", Direction.SHORT)
    assert sig.magnitudes["liq_usd"] >= 2_000_000
    assert set(sig.venues) == {"binance", "bybit"}
    assert 0 <= sig.confidence <= 100 and sig.tier in Tier


def test_two_sided_liquidations_are_not_a_cascade():
    sink = ListSink()
    engine = Engine(SignalEngine(sink))
    for i in range(30):
        engine.process(liq(T0 + i * 500, 150_000, PositionSide.LONG if i % 2 else PositionSide.SHORT))
    assert sink.signals == []


def test_impossible_events_are_counted_not_processed():
    engine = Engine(SignalEngine(ListSink()))
    engine.process(Trade("binance", "BTC", 0.0, 1.0, 0.0, Side.BUY, T0, 0))
    engine.process(Trade("binance", "BTC", float("nan"), 1.0, float("nan"), Side.BUY, T0, 0))
    engine.process(liq(T0, -5))
    assert engine.stats.rejected == 3 and engine.stats.trades == 0


def test_signal_round_trips_through_dict():
    sink = ListSink()
    engine = Engine(SignalEngine(sink))
    for i in range(25):
        engine.process(liq(T0 + i * 1000, 100_000))
    sig = sink.signals[0]
    assert Signal.from_dict(sig.to_dict()) == sig


async def test_engine_runs_the_simulator_feed_through_the_bounded_queue():
    sim = MarketSimulator(seed=11, duration_s=120, plan=[EpisodePlan("STOP_HUNT", "BTC", "LONG", 40)])
    sink = ListSink()
    engine = Engine(SignalEngine(sink))
    await run_feeds(engine, [SimulatorFeed(sim)], queue_size=4)
    assert engine.stats.events == sum(1 for _ in sim.events())
    assert any(s.symbol == "BTC" and s.direction is Direction.LONG for s in sink.signals)


def test_demo_prints_alerts_and_summary(capsys):
    assert main(["demo", "--minutes", "10", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "events processed:" in out and "events/s" in out
    assert "scripted episodes caught:" in out
    assert "Score:" in out  # at least one alert rendered as a subscriber reads it
    assert "<b>" not in out  # terminal text, not HTML


def test_demo_replays_a_recording(capsys):
    from tests.paths import real_file

    path = real_file("btcusdt_20230405.dat.gz")
    assert main(["demo", "--replay", str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "parse errors: 0" in out
    assert "trades 10,738" in out


def test_demo_refuses_a_missing_file(capsys):
    assert main(["demo", "--replay", "/no/such/file.gz"]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("lang", ["en", "id"])
def test_demo_in_both_languages(capsys, lang):
    assert main(["demo", "--minutes", "6", "--seed", "2", "--lang", lang]) == 0
    out = capsys.readouterr().out
    assert ("Skor:" if lang == "id" else "Score:") in out
