"""Everything a user configured survives a restart (same SQLite file, new process objects)."""
from __future__ import annotations

import time

from bot.app import seed_floors
from storage import ThresholdRepo, WatchlistRepo
from tests.conftest import BotHarness, FakeEngine


async def test_state_survives_restart(api, tmp_path):
    path = tmp_path / "persist.db"
    h = await BotHarness(api, path).start()
    try:
        await h.say(95, "/start")
        await h.say(95, "/add BTC ETH")
        await h.say(95, "/mute ETH 2h")
        await h.say(95, "/thresholds BTC cascade 500k")
        await h.say(95, "/thresholds dominance 70%")
        await h.say(95, "/quiet 22:00-06:00")
        await h.say(95, "/tz Asia/Jakarta")
        await h.say(95, "/lang id")
    finally:
        await h.stop()

    engine = FakeEngine()
    h2 = BotHarness(api, path, engine=engine)
    await h2.start()
    try:
        await seed_floors(engine, ThresholdRepo(h2.db), WatchlistRepo(h2.db))
        assert engine.thresholds_for("BTC").cascade_usd == 500_000
        text = await h2.text(95, "/list")
        assert "Daftar pantauan Anda" in text and "<b>BTC</b>" in text
        eth_line = next(line for line in text.splitlines() if "<b>ETH</b>" in line)
        assert "dibisukan sampai" in eth_line
        assert "$500.0K" in await h2.text(95, "/thresholds BTC")
        assert "22:00–06:00 (Asia/Jakarta)" in await h2.text(95, "/quiet")
        mutes = {e.symbol: e.muted_until for e in await WatchlistRepo(h2.db).list_for_user(95)}
        assert mutes["ETH"] > time.time() + 7000
        assert await WatchlistRepo(h2.db).all_symbols() == {"BTC", "ETH"}
    finally:
        await h2.stop()
