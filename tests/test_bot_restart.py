"""Everything a user configured survives a restart (same SQLite file, new process objects)."""
from __future__ import annotations

import time

from bot.subscriptions import Subscriptions
from locales import translator
from storage import Database, ThresholdRepo, UserRepo, WatchlistRepo
from tests.conftest import BotHarness, FakeEngine


async def seed_floors(engine, db) -> None:
    """What start-up does (bot.app.run_app): the floors stored thresholds need."""
    await Subscriptions(watchlist=WatchlistRepo(db), thresholds=ThresholdRepo(db), users=UserRepo(db),
                        tr=translator(), engine=engine).seed_floors()


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
        await seed_floors(engine, h2.db)
        assert engine.thresholds_for("BTC").cascade_usd == 500_000
        text = await h2.text(95, "/list")
        assert "Daftar pantauan Anda" in text and "<b>BTC</b>" in text
        eth_line = next(line for line in text.splitlines() if "<b>ETH</b>" in line)
        assert "dibisukan sampai" in eth_line
        assert "$500.0K" in await h2.text(95, "/thresholds BTC")
        assert "22:00–06:00 (Asia/Jakarta, UTC+7)" in await h2.text(95, "/quiet")
        mutes = {e.symbol: e.muted_until for e in await WatchlistRepo(h2.db).list_for_user(95)}
        assert mutes["ETH"] > time.time() + 7000
        assert await WatchlistRepo(h2.db).all_symbols() == {"BTC", "ETH"}
    finally:
        await h2.stop()


async def test_start_up_floors_equal_the_live_ones(api, tmp_path):
    """Start-up (``Subscriptions.seed_floors``) and the handlers apply the same rule: on watched
    coins only, a per-symbol value wins over the user's global one, and a coin no longer watched
    has its floor back at the default."""
    path = tmp_path / "floors.db"
    live = FakeEngine()
    h = await BotHarness(api, path, engine=live).start()
    try:
        await h.say(96, "/add BTC SOL")
        await h.say(96, "/thresholds BTC cascade 1.5M")  # BTC: per-symbol value
        await h.say(96, "/thresholds cascade 50k")  # every other coin: 50k
        await h.say(96, "/thresholds DOGE cascade 20k")  # not watched: no floor change yet
        await h.say(96, "/add ETH")
        await h.say(96, "/remove SOL")  # no longer watched: its floor has no business moving
    finally:
        await h.stop()
    seeded = FakeEngine()
    db = await Database.open(path)
    try:
        await seed_floors(seeded, db)
    finally:
        await db.close()
    fresh = FakeEngine()
    for symbol, want in (("BTC", 1_500_000), ("ETH", 50_000), ("DOGE", fresh.thresholds_for("DOGE").cascade_usd)):
        assert seeded.thresholds_for(symbol).cascade_usd == want, symbol
        assert live.thresholds_for(symbol).cascade_usd == want, symbol
    # SOL was lowered while watched and went back up on /remove, as a restart has it
    assert seeded.thresholds_for("SOL").cascade_usd == fresh.thresholds_for("SOL").cascade_usd
    assert live.thresholds_for("SOL") == fresh.thresholds_for("SOL")
