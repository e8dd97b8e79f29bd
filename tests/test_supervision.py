"""Case 8 of issue 11: one bad event skips that event only; a task that dies stops the service
with exit 1 (logged), instead of leaving the bot running without market processing."""
import asyncio
import logging

from bot.app import run_app
from config.settings import Settings
from engine.core import Engine, ErrorLog, failing_component, run_feeds
from engine.events import Liquidation, PositionSide
from engine.signals import ListSink, SignalEngine
from tests.botapi import TOKEN, BotAPIDouble

T0 = 1_767_225_600_000
CLOSED = "127.0.0.1:9"


def liq(ts, usd, symbol="BTC", price=60_000.0):
    return Liquidation("bybit", symbol, price, usd / price, usd, PositionSide.LONG, ts, ts * 1_000_000)


def detector_function(module: str, body: str):
    """A function whose frames belong to ``module`` (as a detector's would)."""
    ns = {"__name__": module}
    exec(body, ns)  # noqa: S102 — test helper, fixed text
    return ns["boom"]


def test_a_detector_exception_skips_that_event_counts_it_and_logs_the_symbol(caplog):
    sink = ListSink()
    engine = Engine(SignalEngine(sink))
    real = engine.cascade.on_liquidation
    boom = detector_function("engine.detectors.cascade", (
        "def boom(real, st, ev, th):\n"
        "    if ev.symbol == 'PEPE':\n"
        "        raise ZeroDivisionError('odd event')\n"
        "    return real(st, ev, th)\n"))

    detector = engine.cascade

    class Wrapped:
        def on_liquidation(self, st, ev, th):
            return boom(real, st, ev, th)

        def __getattr__(self, name):  # everything else: the real detector
            return getattr(detector, name)

    engine.cascade = Wrapped()
    batch = [liq(T0, 1_000, symbol="PEPE", price=0.00001)]
    batch += [liq(T0 + i * 1000, 100_000) for i in range(25)]  # $2.5M of long liquidations: a cascade
    with caplog.at_level(logging.ERROR, logger="engine.core"):
        engine.process_many(batch)
    assert engine.stats.failed == 1 and engine.stats.errors == {"cascade": 1}
    assert sink.signals and sink.signals[0].symbol == "BTC", "the events after the bad one were processed"
    lines = [r.getMessage() for r in caplog.records]
    assert any("cascade failed" in m and "PEPE" in m for m in lines), lines


def test_failures_are_logged_at_a_bounded_rate(caplog):
    clock = [0.0]
    elog = ErrorLog(logging.getLogger("engine.core"), per_minute=3, clock=lambda: clock[0])
    with caplog.at_level(logging.ERROR, logger="engine.core"):
        shown = [elog.error("whale", "failure %d", i) for i in range(100)]
        clock[0] = 61.0
        elog.error("whale", "again")
    assert sum(shown) == 3
    msgs = [r.getMessage() for r in caplog.records]
    assert "engine: 97 more failures of whale in the last minute (not shown)" in msgs and msgs[-1] == "again"


def test_the_failing_component_is_the_innermost_engine_module():
    boom = detector_function("engine.detectors.stophunt", "def boom():\n    raise KeyError('x')\n")
    try:
        boom()
    except KeyError as exc:
        assert failing_component(exc) == "stophunt"
    try:
        raise ValueError
    except ValueError as exc:
        assert failing_component(exc) == "engine"


class CrashingFeed:
    name = "crashy"
    stats = None

    async def run(self, put):
        await put([liq(T0, 1_000)])
        raise RuntimeError("feed bug")


async def test_run_feeds_fail_fast_raises_instead_of_running_on_without_the_feed():
    engine = Engine(SignalEngine(ListSink()))
    try:
        await asyncio.wait_for(run_feeds(engine, [CrashingFeed()], fail_fast=True), 5)
    except RuntimeError as exc:
        assert "crashy" in str(exc) and "feed bug" in str(exc)
    else:
        raise AssertionError("FeedCrashed expected")
    assert engine.stats.events == 1 and engine.stats.batches == 1


def app_settings(api, tmp_path, **extra):
    return Settings(
        _env_file=None, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=api.base, ACCESS="public",
        MARKET_SOURCES="simulator", DATABASE_PATH=str(tmp_path / "teleglas.db"),
        BINANCE_REST_URL=f"http://{CLOSED}", OKX_REST_URL=f"http://{CLOSED}", **extra)


async def test_a_task_that_dies_stops_the_service_with_exit_1_and_says_why(tmp_path, monkeypatch, caplog):
    import bot.app

    monkeypatch.setattr(bot.app, "_build_feeds", lambda *a: [CrashingFeed()])
    async with BotAPIDouble(max_seconds=30) as api:
        with caplog.at_level(logging.ERROR):
            code = await asyncio.wait_for(
                run_app(app_settings(api, tmp_path), polling_timeout=1, handle_signals=False), 20)
    assert code == 1
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "task engine died: FeedCrashed: crashy: RuntimeError: feed bug" in text
    assert "exit 1" in text
