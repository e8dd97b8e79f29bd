"""The whole service as `teleglas run` builds it: replay feed -> engine -> delivery -> Telegram double."""
import asyncio
import gzip

import orjson

from bot.app import run_app
from config.settings import Settings
from storage import Database, ThresholdRepo, UserRepo, WatchlistRepo
from tests.botapi import TOKEN, BotAPIDouble

CLOSED = "127.0.0.1:9"  # nothing listens here: instrument lists fail fast (degraded mode), no network


def write_cascade_recording(path, t0_ms: int) -> None:
    lines = []
    for i in range(25):  # $2.5M of long liquidations (forceOrder SELL) over 2.5 s
        ts = t0_ms + i * 100
        price = 60_000 - i * 5
        qty = round(100_000 / price, 6)
        frame = {"stream": "!forceOrder@arr", "data": {"e": "forceOrder", "E": ts, "o": {
            "s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": str(qty), "p": str(price),
            "ap": str(price), "X": "FILLED", "l": str(qty), "z": str(qty), "T": ts}}}
        trade = {"stream": "btcusdt@aggTrade", "data": {"e": "aggTrade", "E": ts, "s": "BTCUSDT", "a": i,
                 "p": str(price), "q": "0.5", "f": i, "l": i, "T": ts, "m": True}}
        for msg in (trade, frame):
            lines.append(f"{ts * 1_000_000 + 50_000_000} {orjson.dumps(msg).decode()}")
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")


async def test_a_watcher_receives_a_cascade_alert_end_to_end(tmp_path):
    rec = tmp_path / "cascade.gz"
    write_cascade_recording(rec, 1_767_225_600_000)
    db_path = tmp_path / "teleglas.db"
    db = await Database.open(db_path)
    await UserRepo(db).upsert_on_start(42, 42, "en")
    await WatchlistRepo(db).add(42, "BTC")
    await ThresholdRepo(db).set(42, "*", "score", 0)  # every score passes for this user
    await UserRepo(db).upsert_on_start(43, 43, "en")  # watches nothing: must get no alert
    await WatchlistRepo(db).add(43, "ETH")
    await db.close()

    async with BotAPIDouble(max_seconds=30) as api:
        settings = Settings(
            _env_file=None, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=api.base, ACCESS="public",
            MARKET_SOURCES=f"replay:{rec}", DATABASE_PATH=str(db_path),
            BINANCE_REST_URL=f"http://{CLOSED}", OKX_REST_URL=f"http://{CLOSED}",
            BYBIT_WS_URL=f"ws://{CLOSED}/v5/public/linear", BINANCE_WS_URL=f"ws://{CLOSED}/market/stream",
            OKX_WS_URL=f"ws://{CLOSED}/ws/v5/public",
        )
        stop = asyncio.Event()
        app = asyncio.create_task(run_app(settings, polling_timeout=1, handle_signals=False, stop=stop))
        try:
            delivered = await api.wait_for(
                lambda: any("LIQUIDATION CASCADE" in t for t in api.texts_to(42)), timeout=20)
            assert delivered, api.texts_to(42)
            assert api.calls_of("setMyCommands"), "commands registered at start-up"
            alert = next(c for c in api.sent_to(42) if "LIQUIDATION CASCADE" in c.params["text"])
            assert "BTC" in alert.params["text"]
            assert "inline_keyboard" in alert.params.get("reply_markup", {})  # Flow / Mute 1h / Thresholds
            assert api.texts_to(43) == []
        finally:
            stop.set()
            assert await asyncio.wait_for(app, 20) == 0

    db = await Database.open(db_path)  # the delivery is recorded in the outbox, with timestamps
    row = await db.fetchone("SELECT state, sent_ns, enqueued_ns FROM outbox WHERE user_id = 42")
    # the live outcome tracker stored the cascade's outcome (still open: the tape ended) at stop
    outcome = await db.fetchone("SELECT o.result, o.final FROM outcomes o JOIN signals s "
                                "ON s.id = o.signal_id WHERE s.kind = 'LIQUIDATION_CASCADE'")
    await db.close()
    assert row["state"] == "sent" and row["sent_ns"] >= row["enqueued_ns"]
    assert outcome is not None and (outcome["result"], outcome["final"]) == ("OPEN", 0)


async def test_housekeeping_purges_week_old_finished_outbox_rows(tmp_path):
    import time

    from bot.app import _housekeeping
    from storage import OutboxRepo, OutboxRow

    db = await Database.open(tmp_path / "t.db")
    try:
        await UserRepo(db).upsert_on_start(1, 1, "en")
        outbox = OutboxRepo(db)
        old = time.time_ns() - 8 * 86_400 * 10**9
        ancient = time.time_ns() - 32 * 86_400 * 10**9
        ids = await outbox.enqueue_many([
            OutboxRow(1, 1, "old-sent", "INFO", 2, "x", enqueued_ns=old),
            OutboxRow(1, 1, "old-pending", "INFO", 2, "x", enqueued_ns=old),
            OutboxRow(1, 1, "new-sent", "INFO", 2, "x"),
            OutboxRow(1, 1, "ancient-sent", "INFO", 2, "x", enqueued_ns=ancient),
            OutboxRow(1, 1, "broadcast:old", "INFO", 2, "x", enqueued_ns=old),
        ])
        claimed = await outbox.claim(ids, 2**62)
        await outbox.mark_sent_many([r.id for r in claimed if r.signal_id != "old-pending"], time.time_ns(), 1)
        await outbox.mark_retry_many([r.id for r in claimed if r.signal_id == "old-pending"], "later", 0)
        scheduler = _housekeeping(None, outbox)
        job = scheduler.get_job("outbox-purge")
        await job.func()
        left = {r["signal_id"]: r["text"] for r in await db.fetchall("SELECT signal_id, text FROM outbox")}
        # unsent rows are never purged; a week-old sent ALERT row stays as /stats' receipt (text
        # blanked) until 31 days; a week-old broadcast row and a 32-day-old receipt are gone
        assert len(ids) == 5 and left == {"old-pending": "x", "new-sent": "x", "old-sent": ""}
    finally:
        await db.close()


async def _run_against(api_base: str, tmp_path, token: str = TOKEN):
    settings = Settings(_env_file=None, TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_BASE=api_base,
                        MARKET_SOURCES="simulator", DATABASE_PATH=str(tmp_path / "t.db"),
                        BINANCE_REST_URL=f"http://{CLOSED}", OKX_REST_URL=f"http://{CLOSED}",
                        BYBIT_WS_URL=f"ws://{CLOSED}/v5/public/linear")
    return await run_app(settings, polling_timeout=1, handle_signals=False, stop=asyncio.Event())


async def test_a_rejected_token_is_one_line_and_exit_code_2(tmp_path):
    import pytest

    from bot.errors import StartupError

    async with BotAPIDouble(max_seconds=10) as api:
        with pytest.raises(StartupError) as err:
            await _run_against(api.base, tmp_path, token="123456:WRONG-token")
    assert err.value.exit_code == 2
    assert str(err.value).startswith("TELEGRAM_BOT_TOKEN:") and "\n" not in str(err.value)
    assert not (tmp_path / "t.db").exists()  # the token is checked before the database is created


async def test_an_unreachable_bot_api_is_one_line_and_exit_code_1(tmp_path):
    import pytest

    from bot.errors import StartupError

    with pytest.raises(StartupError) as err:
        await _run_against(f"http://{CLOSED}", tmp_path)
    assert err.value.exit_code == 1
    assert str(err.value).startswith("TELEGRAM_API_BASE:")


async def test_admins_get_the_admin_commands_in_their_menu(tmp_path):
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from bot.app import set_commands
    from locales import translator

    async with BotAPIDouble(max_seconds=10) as api:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base)))
        try:
            await set_commands(bot, translator(), (777,))
        finally:
            await bot.session.close()
    calls = api.calls_of("setMyCommands")
    default = [c for c in calls if c.params["scope"]["type"] == "default"]
    admin = [c for c in calls if c.params["scope"]["type"] == "chat"]
    assert len(default) == 2 and len(admin) == 2  # en + id each
    assert all(c.params["scope"]["chat_id"] == 777 for c in admin)
    names = {cmd["command"] for cmd in admin[0].params["commands"]}
    assert {"health", "broadcast", "allow", "deny", "users", "add", "flow"} <= names
    assert "health" not in {cmd["command"] for cmd in default[0].params["commands"]}


async def test_the_app_takes_its_retry_budgets_from_settings_and_queues_replies_a_crash_left(
        tmp_path, monkeypatch):
    """bot.app wires DELIVERY_RETRY_*_S into DeliveryConfig, and at start queues the thread reply
    of a final stop hunt whose replies a crash left unqueued: it reaches the user once."""
    import pytest

    import bot.delivery
    from bot.delivery import OutboxWriter
    from bot.delivery.outbox import OUTCOME_PREFIX
    from bot.outcomes import OutcomeRecorder
    from locales import translator
    from tests.test_delivery_threads import deliver
    from tests.test_outcome_replies import T1_IN_6_MIN, Killed, hunt, play

    db_path = tmp_path / "teleglas.db"
    db = await Database.open(db_path)
    await UserRepo(db).upsert_on_start(42, 42, "en")
    await WatchlistRepo(db).add(42, "BTC")
    sig = hunt()
    await OutboxWriter(db, translator()).accept(sig)
    await deliver(db, sig.id, {42: 4242})

    async def crash(o):
        raise Killed

    rec = OutcomeRecorder(db, replies=crash)
    rec.tracker.on_signal(sig)
    play(rec.tracker, sig, T1_IN_6_MIN)
    with pytest.raises(Killed):
        await rec.flush()
    await db.close()

    configs = []

    class Recording(bot.delivery.Delivery):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            configs.append(self.config)

    monkeypatch.setattr(bot.delivery, "Delivery", Recording)
    async with BotAPIDouble(max_seconds=30) as api:
        settings = Settings(
            _env_file=None, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=api.base, ACCESS="public",
            MARKET_SOURCES="simulator", DATABASE_PATH=str(db_path),
            BINANCE_REST_URL=f"http://{CLOSED}", OKX_REST_URL=f"http://{CLOSED}",
            BYBIT_WS_URL=f"ws://{CLOSED}/v5/public/linear",
            DELIVERY_RETRY_URGENT_S=1800, DELIVERY_RETRY_WATCH_S=1700, DELIVERY_RETRY_INFO_S=600,
            DELIVERY_RETRY_BROADCAST_S=7200, DELIVERY_RETRY_OUTCOME_S=1200, DELIVERY_RETRY_OPS_S=900,
        )
        stop = asyncio.Event()
        app = asyncio.create_task(run_app(settings, polling_timeout=1, handle_signals=False, stop=stop))
        try:
            reply = "✅ <b>BTC</b>: T1 reached after 6 min, +0.8R"
            assert await api.wait_for(lambda: reply in api.texts_to(42), timeout=20), api.texts_to(42)
            sent = [c for c in api.sent_to(42) if c.params["text"] == reply]
            assert len(sent) == 1 and sent[0].params["reply_parameters"]["message_id"] == 4242
        finally:
            stop.set()
            assert await asyncio.wait_for(app, 20) == 0
    (cfg,) = configs
    assert (cfg.retry_budget_urgent_s, cfg.retry_budget_watch_s, cfg.retry_budget_info_s,
            cfg.retry_budget_broadcast_s, cfg.retry_budget_outcome_s, cfg.retry_budget_ops_s) == (
        1800, 1700, 600, 7200, 1200, 900)
    db = await Database.open(db_path)
    try:
        assert await db.fetchval("SELECT reply_pending FROM outcomes WHERE signal_id = ?", (sig.id,)) == 0
        assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE signal_id = ?", (OUTCOME_PREFIX + sig.id,)) == 1
    finally:
        await db.close()
