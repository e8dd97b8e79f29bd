"""The production assembly (run_app) against the double: commands registered, a user served,
state on disk, clean shutdown; and the CLI's one-line configuration errors."""
from __future__ import annotations

import asyncio
import re

from bot.app import run_app
from bot.cli import main
from storage import Database, WatchlistRepo
from tests.conftest import make_settings


async def test_run_app_serves_and_shuts_down(api, tmp_path):
    db_path = tmp_path / "run.db"
    settings = make_settings(api.base, db_path, MARKET_SOURCES="simulator")
    stop = asyncio.Event()
    task = asyncio.create_task(run_app(settings, polling_timeout=1, handle_signals=False, stop=stop))
    try:
        # en + id for each of 4 scopes (default, private chats, group chats, group administrators),
        # and en + id for the admin chat (admin commands in its menu)
        assert await api.wait_for(lambda: len(api.calls_of("setMyCommands")) == 10)
        api.send_text(101, "/add BTC")
        assert await api.wait_for(lambda: any("BTC added" in t for t in api.texts_to(101)))
        # the simulator keeps its own FeedStats, which /health reads like any feed's
        live = re.compile(r"<b>simulator</b> live · lag \d+ ms · last msg [\d.]+s ago .* events [1-9]")
        for _ in range(20):
            before = len(api.texts_to(1000))
            api.send_text(1000, "/health")
            assert await api.wait_for(lambda n=before: len(api.texts_to(1000)) > n)
            health = api.texts_to(1000)[-1]
            if live.search(health):
                break
            await asyncio.sleep(0.1)
        assert live.search(health), health
        # the engine's event queue is bot.app's own, so its depth is a number, not "—"
        assert re.search(r"queue \d+ · symbols 1", health), health
        assert "Alert receive→sent, last hour: alerts 0 (broadcasts not timed) · p50 —" in health
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 10) == 0
    db = await Database.open(db_path)
    try:
        assert await WatchlistRepo(db).all_symbols() == {"BTC"}
    finally:
        await db.close()


def test_cli_run_config_errors_are_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "TELEGRAM_BOT_TOKEN" in err
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ACCESS", "open")
    assert main(["run"]) == 2
    assert "ACCESS" in capsys.readouterr().err
