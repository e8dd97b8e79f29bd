"""Prometheus metrics on METRICS_ADDR (issue 11): the setting, and a scrape of the local endpoint
while the service runs a recorded cascade through to the Bot API double."""
import asyncio
import socket

import aiohttp
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from bot.app import run_app
from bot.metrics import CountingSink, TeleglasCollector
from config.settings import ConfigError, Settings, load_settings
from engine.core import Engine
from engine.events import Trade, Side
from engine.signals import ListSink, SignalEngine
from storage import Database, ThresholdRepo, UserRepo, WatchlistRepo
from tests.botapi import TOKEN, BotAPIDouble
from tests.test_app_e2e import CLOSED, write_cascade_recording


@pytest.mark.parametrize("value", ["9108", "localhost", ":9108", "127.0.0.1:http", "127.0.0.1:70000", "127.0.0.1:0"])
def test_a_bad_metrics_addr_stops_start_up_with_one_line_naming_it(value, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("METRICS_ADDR", value)
    with pytest.raises(ConfigError) as err:
        load_settings(need_database=False, env_file=None)
    assert str(err.value).startswith("METRICS_ADDR: ") and "\n" not in str(err.value)


def test_metrics_addr_default_is_off_and_ipv6_is_accepted():
    assert Settings(_env_file=None).metrics_listen is None
    assert Settings(_env_file=None, METRICS_ADDR="127.0.0.1:9108").metrics_listen == ("127.0.0.1", 9108)
    assert Settings(_env_file=None, METRICS_ADDR="[::1]:9108").metrics_listen == ("::1", 9108)


def test_the_collector_reads_engine_figures_at_scrape_time():
    sink = CountingSink(ListSink())
    engine = Engine(SignalEngine(sink))
    t = 1_767_225_600_000
    engine.process(Trade("binance", "BTC", 60_000.0, 1.0, 60_000.0, Side.BUY, t, t * 10**6))
    engine.process(Trade("binance", "BTC", 60_000.0, 1.0, 60_000.0, Side.BUY, -1, t * 10**6))
    reg = CollectorRegistry(auto_describe=False)
    reg.register(TeleglasCollector(engine=engine, queue_depth=lambda: 3, sink=sink))
    text = generate_latest(reg).decode()
    assert "teleglas_engine_events_total 2.0" in text
    assert "teleglas_engine_queue_depth 3.0" in text
    assert 'teleglas_engine_rejected_total{reason="time",venue="binance"} 1.0' in text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name) and line[len(name)] in " {,":
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the scrape")


async def test_the_endpoint_serves_feeds_engine_signals_delivery_and_latency(tmp_path, monkeypatch):
    import bot.app

    monkeypatch.setattr(bot.app, "METRICS_PUMP_S", 0.05)
    rec = tmp_path / "cascade.gz"
    write_cascade_recording(rec, 1_767_225_600_000)
    db_path = tmp_path / "teleglas.db"
    db = await Database.open(db_path)
    await UserRepo(db).upsert_on_start(42, 42, "en")
    await WatchlistRepo(db).add(42, "BTC")
    await ThresholdRepo(db).set(42, "*", "score", 0)
    await db.close()
    port = free_port()
    async with BotAPIDouble(max_seconds=30) as api:
        settings = Settings(
            _env_file=None, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=api.base, ACCESS="public",
            MARKET_SOURCES=f"replay:{rec}", DATABASE_PATH=str(db_path), METRICS_ADDR=f"127.0.0.1:{port}",
            BINANCE_REST_URL=f"http://{CLOSED}", OKX_REST_URL=f"http://{CLOSED}")
        stop = asyncio.Event()
        app = asyncio.create_task(run_app(settings, polling_timeout=1, handle_signals=False, stop=stop))
        try:
            assert await api.wait_for(lambda: any("LIQUIDATION CASCADE" in t for t in api.texts_to(42)), 20)
            async with aiohttp.ClientSession() as http:
                text = ""
                for _ in range(200):  # until the pump has read the sent alert (bounded)
                    async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                        assert resp.status == 200
                        text = await resp.text()
                    if ('teleglas_alert_receive_to_sent_seconds_count 1.0' in text
                            and "teleglas_engine_events_total 50.0" in text):  # the replay is paced
                        break
                    await asyncio.sleep(0.05)
        finally:
            stop.set()
            assert await asyncio.wait_for(app, 20) == 0
    feed = next(line.split('feed="', 1)[1].split('"')[0] for line in text.splitlines()
                if line.startswith("teleglas_feed_frames_total{"))
    assert sample(text, f'teleglas_feed_frames_total{{feed="{feed}"}}') == 50
    assert sample(text, f'teleglas_feed_events_total{{feed="{feed}"}}') == 50
    for name in ("teleglas_feed_parse_errors_total", "teleglas_feed_reconnects_total",
                 "teleglas_feed_lag_seconds", "teleglas_engine_events_per_second",
                 "teleglas_engine_queue_depth", "teleglas_telegram_429_total"):
        sample(text, name)
    assert sample(text, "teleglas_engine_events_total") == 50
    assert sample(text, 'teleglas_signals_total{kind="LIQUIDATION_CASCADE"') >= 1
    assert sample(text, 'teleglas_delivery_total{counter="rows_sent"}') >= 1
    assert sample(text, 'teleglas_outbox_rows{state="sent"}') >= 1
    assert sample(text, "teleglas_alert_receive_to_sent_seconds_count") == 1
    assert sample(text, "teleglas_alert_exchange_to_sent_seconds_count") == 1


def test_a_metrics_port_already_taken_is_exit_1_naming_the_setting():
    from bot.app import start_metrics
    from bot.errors import StartupError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError) as err:
            start_metrics(("127.0.0.1", port), feeds=[], engine=None, delivery=None, queue_depth=None,
                          sink=None, outbox=None)
    assert err.value.exit_code == 1 and str(err.value).startswith("METRICS_ADDR: cannot listen")
