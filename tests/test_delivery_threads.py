"""Alert threads: a stop hunt that upgrades a cascade replies to each user's cascade message.

Per recipient, decided from the outbox: received the earlier alert -> Telegram reply to it plus
the "update" line; never received it (filtered out, or it failed) -> neither.
"""
from __future__ import annotations

import pytest

from bot.delivery import Delivery, OutboxWriter, Scheduler
from engine.signals import Kind, Levels, Signal, Tier
from locales import translator
from storage import Database, OutboxRepo, UserRepo
from tests.test_delivery_support import (
    add_users,
    clocked,
    double_and_bot,
    fast_config,
    make_signal,
    run_clock,
    wait_until,
)

UPDATE_LINE = "Update to the earlier cascade alert"


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.db")
    yield database
    await database.close()


def cascade(symbol: str = "BTC", tier: Tier = Tier.WATCH) -> Signal:
    sig = make_signal(symbol, tier, kind=Kind.LIQUIDATION_CASCADE)
    sig.thread = f"{symbol}:thread"
    return sig


def stop_hunt(earlier: Signal, tier: Tier = Tier.URGENT) -> Signal:
    sig = make_signal(earlier.symbol, tier, kind=Kind.STOP_HUNT)
    sig.thread, sig.upgrades = earlier.thread, earlier.id
    sig.levels = Levels(zone_low=60_000.0, zone_high=61_000.0, entry_low=60_900.0, entry_high=61_100.0,
                        stop=59_800.0, targets=(62_000.0,), expires_ts=sig.ts + 3_600_000)
    return sig


async def deliver(db: Database, signal_id: str, outcome: dict[int, int | None]) -> None:
    """Play the sender for the rows of ``signal_id``: user -> message id (sent) or None (failed)."""
    outbox = OutboxRepo(db)
    rows = await db.fetchall("SELECT id, user_id FROM outbox WHERE signal_id = ?", (signal_id,))
    by_user = {r[1]: r[0] for r in rows}
    for user_id, message_id in outcome.items():
        oid = by_user[user_id]
        assert [row.id for row in await outbox.claim([oid], 2**62)] == [oid]
        if message_id is None:
            await outbox.mark_failed_many([oid], "Bad Request: test")
        else:
            await outbox.mark_sent_many([oid], 1, message_id)


async def test_each_recipient_is_threaded_only_to_an_alert_they_received(db):
    await add_users(db, range(1, 6), ("BTC",))
    await UserRepo(db).set_tiers(3, ["URGENT"], [])  # the WATCH cascade never reaches user 3
    writer = OutboxWriter(db, translator())
    first = cascade()
    assert sorted(it.user_id for it in (await writer.accept(first)).rows) == [1, 2, 4, 5]
    # user 1 and 5 got it, user 2's was given up, user 4's is still on its way
    await deliver(db, first.id, {1: 5001, 5: 5005, 2: None})

    items = {it.user_id: it for it in (await writer.accept(stop_hunt(first))).rows}

    assert set(items) == {1, 2, 3, 4, 5}
    for uid, message_id in ((1, 5001), (5, 5005)):
        assert items[uid].reply_to_signal_id == first.id
        assert items[uid].reply_to_message_id == message_id
        assert UPDATE_LINE in items[uid].text and Scheduler().is_solo(items[uid])
    # still pending: the line stays and the message id is looked up when it is sent
    assert items[4].reply_to_signal_id == first.id and items[4].reply_to_message_id is None
    assert UPDATE_LINE in items[4].text and Scheduler().is_solo(items[4])
    for uid in (2, 3):  # never received the cascade: no update line, no reply
        assert items[uid].reply_to_signal_id is None and items[uid].reply_to_message_id is None
        assert UPDATE_LINE not in items[uid].text and "STOP HUNT" in items[uid].text
    # the decision is durable: a restart sends the same rows the same way
    row = await OutboxRepo(db).get(items[1].id)
    assert (row.reply_to_signal_id, row.reply_to_message_id) == (first.id, 5001)
    assert (await OutboxRepo(db).get(items[3].id)).reply_to_signal_id is None


async def test_upgrade_is_a_telegram_reply_to_the_earlier_message(db):
    await add_users(db, [1, 2], ("BTC",))
    await UserRepo(db).set_tiers(2, ["URGENT"], [])  # user 2 never sees the WATCH cascade
    async with double_and_bot() as (api, bot):
        d = Delivery(bot, db, config=fast_config())
        await d.start()
        try:
            first = cascade()
            d.sink.emit(first)
            assert await wait_until(lambda: d.counters.rows_sent == 1)
            d.sink.emit(stop_hunt(first))
            assert await wait_until(lambda: d.counters.rows_sent == 3)
        finally:
            await d.stop()
        to1, to2 = api.sent_to(1), api.sent_to(2)
    earlier_id = await db.fetchval("SELECT message_id FROM outbox WHERE signal_id = ?", (first.id,))
    assert len(to1) == 2 and earlier_id is not None
    assert "reply_parameters" not in to1[0].params
    assert to1[1].params["reply_parameters"] == {"message_id": earlier_id,
                                                  "allow_sending_without_reply": True}
    assert UPDATE_LINE in to1[1].params["text"] and "STOP HUNT" in to1[1].params["text"]
    assert len(to2) == 1 and "reply_parameters" not in to2[0].params
    assert UPDATE_LINE not in to2[0].params["text"] and "STOP HUNT" in to2[0].params["text"]
    assert d.counters.rows_threaded == 1


async def test_message_id_unknown_at_routing_is_looked_up_at_send_time(db):
    await add_users(db, [1, 2], ("BTC",))
    writer = OutboxWriter(db, translator())
    first = cascade()
    await writer.accept(first)
    hunt = stop_hunt(first)
    routed = {it.user_id: it for it in (await writer.accept(hunt)).rows}
    assert all(it.reply_to_message_id is None for it in routed.values())  # both cascades pending
    await deliver(db, first.id, {1: 777})  # user 1's cascade goes out before the stop hunt does
    async with double_and_bot() as (api, bot):
        d = Delivery(bot, db, config=fast_config())
        await d.start()
        try:
            assert await wait_until(lambda: d.counters.rows_sent == 3)
        finally:
            await d.stop()
        hunt_to1 = [c.params for c in api.sent_to(1)]
        to2 = [c.params for c in api.sent_to(2)]
    assert len(hunt_to1) == 1  # user 1's cascade was sent already
    assert hunt_to1[0]["reply_parameters"] == {"message_id": 777, "allow_sending_without_reply": True}
    assert (await OutboxRepo(db).get(routed[1].id)).reply_to_message_id == 777
    # user 2's cascade was still unsent when the URGENT stop hunt went: no reply, line kept,
    # and the cascade follows
    assert [("STOP HUNT" in p["text"], "reply_parameters" in p) for p in to2] == [(True, False), (False, False)]
    assert UPDATE_LINE in to2[0]["text"]


async def test_a_watch_upgrade_is_never_coalesced_so_its_reply_is_kept(db):
    await add_users(db, [1], ("BTC", "ETH", "SOL"))
    # on a FakeClock: the three alerts arrive within the window however slow the machine is
    config = fast_config(coalesce_window_s=1.0, coalesce_tiers=("WATCH", "INFO"))
    async with clocked(db, config=config) as (clock, api, d):
        first = cascade("BTC", Tier.WATCH)
        d.sink.emit(first)
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 1)
        # within the coalescing window: two low-tier alerts and a WATCH upgrade
        d.sink.emit(make_signal("ETH", Tier.WATCH))
        # a WATCH-tier reply in the thread (stop hunts themselves are always URGENT now)
        upgrade = make_signal("BTC", Tier.WATCH)
        upgrade.thread, upgrade.upgrades = first.thread, first.id
        d.sink.emit(upgrade)
        d.sink.emit(make_signal("SOL", Tier.WATCH))
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 4)
        sent = [c.params for c in api.sent_to(1)]
    earlier_id = await db.fetchval("SELECT message_id FROM outbox WHERE signal_id = ?", (first.id,))
    assert len(sent) == 3
    replies = [p for p in sent if "reply_parameters" in p]
    assert len(replies) == 1 and replies[0]["reply_parameters"]["message_id"] == earlier_id
    assert "BTC" in replies[0]["text"] and "ETH" not in replies[0]["text"]
    coalesced = [p for p in sent if "ETH" in p["text"]]
    assert len(coalesced) == 1 and "SOL" in coalesced[0]["text"] and "BTC" not in coalesced[0]["text"]
    assert d.counters.rows_coalesced == 2


async def test_a_refused_reply_is_sent_again_without_it(db):
    await add_users(db, [1], ("BTC",))
    async with double_and_bot() as (api, bot):
        d = Delivery(bot, db, config=fast_config())
        await d.start()
        try:
            first = cascade()
            d.sink.emit(first)
            assert await wait_until(lambda: d.counters.rows_sent == 1)
            api.fail("sendMessage", 400, "Bad Request: message to be replied not found", chat_id=1)
            d.sink.emit(stop_hunt(first))
            assert await wait_until(lambda: d.counters.rows_sent == 2)
        finally:
            await d.stop()
        sent = [c.params for c in api.sent_to(1)]
    assert len(sent) == 3  # cascade, the refused reply, the stop hunt on its own
    assert "reply_parameters" in sent[1] and "reply_parameters" not in sent[2]
    assert "STOP HUNT" in sent[2]["text"]
    assert await OutboxRepo(db).counts_by_state() == {"pending": 0, "sending": 0, "sent": 2, "failed": 0}
