"""Updates of an event (``Signal.edits``, issue #9): the message each recipient got is edited;
a subscriber the event has only now grown past gets one new message (then edited like anyone's);
a pending original simply carries the newest figures."""
from __future__ import annotations

import dataclasses

import pytest

from bot.delivery.routing import zone
from bot.render import render_signal
from engine.signals import Signal, Tier
from engine.thresholds import defaults_for
from locales import translator
from storage import Database, OutboxRepo, ThresholdRepo
from tests.test_delivery_support import add_users, clocked, make_signal, run_clock


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.db")
    yield database
    await database.close()


def update_of(original: Signal, n: int, liq_usd: float) -> Signal:
    return dataclasses.replace(
        original, id=f"{original.id}-u{n}", edits=original.id,
        magnitudes={**original.magnitudes, "liq_usd": liq_usd},
    )


def rendered(signal: Signal) -> str:
    return render_signal(signal, "en", tz=zone("UTC"), tr=translator(), show_upgrade=False)


async def test_a_sent_alert_is_edited_in_place_and_reaches_whom_it_grew_past(db):
    await add_users(db, [1, 2, 3, 4], ("BTC",))
    # user 3 asked for cascades of $20M+, user 4 for $50M+: the original reaches neither
    await ThresholdRepo(db).set(3, "*", "cascade", 20_000_000)
    await ThresholdRepo(db).set(4, "*", "cascade", 50_000_000)
    async with clocked(db) as (clock, api, d):
        original = make_signal("BTC")
        d.sink.emit(original)
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 2)
        sent = {int(c.params["chat_id"]): c for c in api.calls_of("sendMessage")}
        message_ids = {chat: mid for (chat, mid) in api.messages}
        update = update_of(original, 1, 30_000_000.0)  # now above user 3's threshold too
        d.sink.emit(update)
        assert await run_clock(clock, d, api, lambda: d.counters.edits_sent == 2 and d.counters.rows_sent == 3)
        await run_clock(clock, d, api, until=clock.now() + 30)
        edits = api.calls_of("editMessageText")
        # user 3's new message is a row of the ORIGINAL: the next update edits it as well
        later = update_of(original, 2, 40_000_000.0)
        d.sink.emit(later)
        await run_clock(clock, d, api, until=clock.now() + 30)
        later_edits = api.calls_of("editMessageText")[len(edits):]
    assert sorted(int(c.params["chat_id"]) for c in edits) == [1, 2]
    for c in edits:
        chat = int(c.params["chat_id"])
        assert int(c.params["message_id"]) == message_ids[chat]
        assert c.params["text"] == rendered(update) != sent[chat].params["text"]
        assert c.params["reply_markup"] == sent[chat].params["reply_markup"]  # same buttons
    # user 3 hears of it once it is past THEIR threshold: one new message with the newest figures
    (to3,) = api.sent_to(3)
    assert "$30.00M" in to3.params["text"]
    assert api.sent_to(4) == []  # still below user 4's $50M
    assert len(api.calls_of("sendMessage")) == 3
    assert sorted(int(c.params["chat_id"]) for c in later_edits) == [1, 2, 3]
    assert all("$40.00M" in c.params["text"] for c in later_edits)
    row3 = await db.fetchall("SELECT signal_id FROM outbox WHERE user_id = 3 AND edit_of IS NULL")
    assert [r[0] for r in row3] == [original.id]
    assert d.writer.hourly.count(1, clock.wall_ns()) == 1  # the hourly cap counts alerts, not edits


async def test_an_update_before_the_send_goes_out_as_one_message_with_the_newest_text(db):
    await add_users(db, [1], ("BTC",))
    async with clocked(db, start=False) as (clock, api, d):
        original = make_signal("BTC")
        await d.accept(original)
        await d.accept(update_of(original, 1, 7_000_000.0))
        newest = update_of(original, 2, 9_000_000.0)
        await d.accept(newest)
        await d.start()
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 1)
        await run_clock(clock, d, api, until=clock.now() + 30)
    assert [c.params["text"] for c in api.calls_of("sendMessage")] == [rendered(newest)]
    assert api.calls_of("editMessageText") == []
    assert d.counters.edits_merged == 2
    counts = await OutboxRepo(db).counts_by_state()
    assert counts == {"pending": 0, "sending": 0, "sent": 1, "failed": 0}


async def test_edits_of_one_message_are_coalesced_and_paced(db):
    await add_users(db, [1], ("BTC",))
    async with clocked(db) as (clock, api, d):
        original = make_signal("BTC")
        d.sink.emit(original)
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 1)
        updates = [update_of(original, n, 5_000_000.0 + n * 1_000_000) for n in range(1, 6)]
        for u in updates:  # five updates within a moment
            await d.accept(u)
        await run_clock(clock, d, api, until=clock.now() + 60)
        edits = api.calls_of("editMessageText")
    assert 1 <= len(edits) <= 2  # the first, then at most one carrying all the rest
    assert edits[-1].params["text"] == rendered(updates[-1])  # the newest figures win
    gaps = [b.at - a.at for a, b in zip(edits, edits[1:])]
    assert all(g >= 3.0 for g in gaps)
    counts = await OutboxRepo(db).counts_by_state()
    assert counts["pending"] == 0 and counts["sending"] == 0 and counts["failed"] == 0


async def test_not_modified_is_ok_and_a_vanished_message_is_given_up_quietly(db):
    await add_users(db, [1, 2], ("BTC",))
    async with clocked(db) as (clock, api, d):
        original = make_signal("BTC")
        d.sink.emit(original)
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 2)
        api.fail("editMessageText", 400, "Bad Request: message to edit not found", chat_id=2)
        d.sink.emit(dataclasses.replace(original, id=original.id + "-same", edits=original.id))
        assert await run_clock(clock, d, api, lambda: len(api.calls_of("editMessageText")) == 2)
        await run_clock(clock, d, api, until=clock.now() + 30)
    # user 1: same text and buttons -> Telegram says "not modified" -> done, not an error
    assert d.counters.edits_sent == 1 and d.counters.edits_dropped == 1
    assert d.counters.rows_failed == 0
    rows = dict(await db.fetchall("SELECT user_id, state FROM outbox WHERE edit_of IS NOT NULL"))
    assert rows == {1: "sent", 2: "failed"}


async def test_an_update_while_the_original_is_on_the_wire_edits_it_once_it_lands(db):
    await add_users(db, [1], ("BTC",))
    async with clocked(db) as (clock, api, d):
        api.delay("sendMessage", 5.0)  # Telegram takes 5 s to answer the original
        original = make_signal("BTC")
        d.sink.emit(original)
        assert await run_clock(clock, d, api, lambda: api.parked == 1)
        update = update_of(original, 1, 8_000_000.0)
        await d.accept(update)  # arrives while the original's request is in flight
        assert await run_clock(clock, d, api, lambda: d.counters.edits_sent == 1)
        sends, edits = api.calls_of("sendMessage"), api.calls_of("editMessageText")
    assert len(sends) == 1 and sends[0].params["text"] == rendered(original)
    assert len(edits) == 1 and edits[0].params["text"] == rendered(update)
    assert edits[0].at >= sends[0].at + 5.0  # after the original's answer, not before
    assert int(edits[0].params["message_id"]) == next(iter(api.messages))[1]


async def test_the_edit_shows_the_readers_tier_for_the_newest_figures(db):
    await add_users(db, [1], ("BTC",))
    async with clocked(db) as (clock, api, d):
        original = make_signal("BTC", Tier.WATCH)  # 1.5x the default cascade threshold
        d.sink.emit(original)
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 1)
        grown = update_of(original, 1, 3.5 * defaults_for("BTC").cascade_usd)  # now 3.5x
        d.sink.emit(grown)
        assert await run_clock(clock, d, api, lambda: d.counters.edits_sent == 1)
        sent, edit = api.calls_of("sendMessage")[0], api.calls_of("editMessageText")[0]
    assert sent.params["text"] == render_signal(original, "en", tz=zone("UTC"), tr=translator(),
                                                show_upgrade=False, tier=Tier.WATCH)
    assert edit.params["text"] == render_signal(grown, "en", tz=zone("UTC"), tr=translator(),
                                                show_upgrade=False, tier=Tier.URGENT)
