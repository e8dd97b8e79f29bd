"""Admin broadcasts through the delivery outbox: durable, deduplicated, never coalesced with
alerts, behind URGENT alerts, and outside the hourly alert cap and the alert latency."""
from __future__ import annotations

import time

import pytest

from bot.delivery import Delivery
from engine.signals import Tier
from storage import Database, OutboxRepo
from tests.test_delivery_support import add_users, double_and_bot, fast_config, make_signal, wait_until


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.db")
    yield database
    await database.close()


async def test_broadcast_survives_a_restart_and_is_queued_once(db):
    await add_users(db, range(1, 6), ("BTC",))
    async with double_and_bot() as (api, bot):
        d = Delivery(bot, db, config=fast_config())
        ticket = await d.broadcast("7:1", "📣 hello")  # accepted while the sender is not running
        assert ticket.users == 5 and ticket.signal_id == "broadcast:7:1"
        assert (await d.broadcast_progress(ticket)).open == 5
    async with double_and_bot() as (api, bot):  # a new process: the rows are still there
        d = Delivery(bot, db, config=fast_config())
        await d.start()
        try:
            again = await d.broadcast("7:1", "📣 hello")  # the same update handled twice
            assert again.users == 5 and again.first_row == 0
            assert await wait_until(lambda: d.counters.rows_sent == 5)
            progress = await d.broadcast_progress(again)
            assert (progress.sent, progress.failed, progress.done) == (5, 0, True)
        finally:
            await d.stop()
        assert sorted(int(c.params["chat_id"]) for c in api.calls_of("sendMessage")) == [1, 2, 3, 4, 5]


async def test_broadcast_is_never_coalesced_and_urgent_alerts_go_first(db):
    await add_users(db, range(1, 4), ("BTC",))
    async with double_and_bot() as (api, bot):
        d = Delivery(bot, db, config=fast_config())
        await d.broadcast("1:1", "📣 notice")
        await d.accept(make_signal("BTC", Tier.WATCH))  # a low tier: coalescible with INFO rows
        await d.accept(make_signal("BTC", Tier.URGENT))
        await d.start()
        try:
            assert await wait_until(lambda: d.counters.rows_sent == 9)
        finally:
            await d.stop()
        notices = [c for c in api.calls_of("sendMessage") if "notice" in c.params["text"]]
    assert d.counters.messages_sent == 9 and d.counters.rows_coalesced == 0
    assert len(notices) == 3 and all(c.params["text"] == "📣 notice" for c in notices)
    assert all("reply_markup" not in c.params for c in notices)
    for uid in (1, 2, 3):  # per user: URGENT, then WATCH, then the broadcast (INFO priority)
        rows = await db.fetchall("SELECT tier, signal_id FROM outbox WHERE user_id = ? ORDER BY sent_ns",
                                 (uid,))
        assert [r[0] for r in rows] == ["URGENT", "WATCH", "INFO"]
        assert rows[2][1] == "broadcast:1:1"


async def test_broadcast_rows_count_neither_towards_the_hourly_cap_nor_latency(db):
    await add_users(db, [1], ("BTC",))
    async with double_and_bot() as (api, bot):
        d = Delivery(bot, db, config=fast_config())
        await d.start()
        try:
            ticket = await d.broadcast("1:2", "📣 x")
            assert await wait_until(lambda: d.counters.rows_sent == 1)
            assert (await d.broadcast_progress(ticket)).done
        finally:
            await d.stop()
    assert await OutboxRepo(db).enqueued_since(0, exclude_prefix="broadcast:") == []
    assert len(await OutboxRepo(db).enqueued_since(0)) == 1
    async with double_and_bot() as (api, bot):
        again = Delivery(bot, db, config=fast_config())
        await again.start()  # reloads the hourly counts and the last hour's latency
        await again.stop()
    assert again.health()["sent_last_hour"] == 0
    assert again.writer.hourly.count(1, time.time_ns()) == 0


async def test_a_notice_reaches_the_listed_active_users_once_in_their_language(db):
    await add_users(db, [1, 2], ("BTC",))
    await add_users(db, [3], ("BTC",), language="id")
    from storage import UserRepo
    await UserRepo(db).set_active(2, False)  # blocked the bot / denied: nothing for them
    async with double_and_bot() as (api, bot):
        d = Delivery(bot, db, config=fast_config())
        render = {"en": "✅ INJ confirmed", "id": "✅ INJ terkonfirmasi"}.get
        assert await d.notify("confirm:INJ:1", [1, 2, 3, 1, 99], render) == 2  # 99: no such user
        assert await d.notify("confirm:INJ:1", [1, 3], render) == 0  # the same notice twice: once
        await d.start()
        try:
            assert await wait_until(lambda: d.counters.rows_sent == 2)
        finally:
            await d.stop()
        sent = {int(c.params["chat_id"]): c.params["text"] for c in api.calls_of("sendMessage")}
    assert sent == {1: "✅ INJ confirmed", 3: "✅ INJ terkonfirmasi"}
    rows = await db.fetchall("SELECT tier, signal_id FROM outbox ORDER BY user_id")
    assert [tuple(r) for r in rows] == [("INFO", "broadcast:confirm:INJ:1")] * 2
