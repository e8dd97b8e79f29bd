"""Alerts close the loop (issue 10, item 5): when a stop hunt's outcome is final, the users who
got that alert receive a short silent reply in its thread; /tiers turns these off.

Through the real path: OutcomeRecorder (tracker fed trade by trade) -> Delivery.accept_outcome
-> outbox rows -> the paced sender -> aiogram HTTP -> the local Bot API double."""
from __future__ import annotations

import aiosqlite
import pytest

from bot.delivery import DeliveryConfig, OutboxWriter, Scheduler
from bot.delivery.outbox import OUTCOME_PREFIX, render_outcome
from bot.outcomes import OutcomeRecorder
from engine.events import Side, Trade
from engine.outcomes import OutcomeTracker, Result
from engine.signals import Kind, Levels, Signal, Tier
from locales import translator
from storage import Database, OutboxRepo, UserRepo
from storage.migrations import apply_migrations
from tests.test_delivery_support import add_users, clocked, make_signal, run_clock
from tests.test_delivery_threads import deliver


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.db")
    yield database
    await database.close()


def hunt(symbol: str = "BTC") -> Signal:
    sig = make_signal(symbol, Tier.URGENT, kind=Kind.STOP_HUNT)
    sig.magnitudes["price"] = 61_000.0  # inside the entry band: filled at the signal
    sig.levels = Levels(zone_low=60_000.0, zone_high=61_000.0, entry_low=60_900.0, entry_high=61_100.0,
                        stop=59_800.0, targets=(62_000.0,), expires_ts=sig.ts + 3_600_000)
    return sig


def trade(price: float, ts: int, symbol: str = "BTC") -> Trade:
    return Trade(venue="bybit", symbol=symbol, price=price, qty=1.0, notional=price, side=Side.BUY,
                 ts=ts, recv_ns=0)


def play(tracker: OutcomeTracker, sig: Signal, path: list[tuple[int, float]]) -> None:
    """Trades at signal time + seconds."""
    for dt, price in path:
        tracker.on_trade(trade(price, sig.ts + dt * 1000, sig.symbol))


T1_IN_6_MIN = [(60, 61_500.0), (360, 62_100.0), (361, 62_050.0)]


async def test_a_resolved_stop_hunt_is_a_silent_reply_to_exactly_its_recipients(db):
    await add_users(db, [1, 2, 3, 4], ("BTC",))
    users = UserRepo(db)
    await users.set_tiers(3, ["WATCH", "INFO"], ["INFO"])  # never gets the URGENT stop hunt
    await users.set_outcome_replies(4, False)  # got the alert, switched the replies off
    async with clocked(db) as (clock, api, d):
        sig = hunt()
        d.sink.emit(sig)
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 3)
        alert_msg = {uid: await db.fetchval("SELECT message_id FROM outbox WHERE user_id = ? AND signal_id = ?",
                                            (uid, sig.id)) for uid in (1, 2, 4)}
        assert api.sent_to(3) == []

        rec = OutcomeRecorder(db, replies=d.accept_outcome)
        o = rec.tracker.on_signal(sig)
        play(rec.tracker, sig, T1_IN_6_MIN)
        assert o.final and o.result is Result.WIN_T1
        await rec.flush()
        assert rec.replied == 2
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 5)
        replies = {uid: [c.params for c in api.sent_to(uid)][1:] for uid in (1, 2, 3, 4)}
    for uid in (1, 2):
        assert len(replies[uid]) == 1
        p = replies[uid][0]
        assert p["reply_parameters"] == {"message_id": alert_msg[uid], "allow_sending_without_reply": True}
        assert p["disable_notification"] in (True, "true")  # form-encoded by aiogram
        assert p["text"] == "✅ <b>BTC</b>: T1 reached after 6 min, +0.8R"
        assert "reply_markup" not in p  # no alert buttons under a result
    assert replies[3] == [] and replies[4] == []
    # accepted again (a retried write): nothing twice
    assert await d.writer.accept_outcome(o) == []


async def test_replies_follow_the_thread_and_only_sent_rows(db):
    await add_users(db, [1, 2, 3, 5], ("BTC",))
    await add_users(db, [6], ("BTC",), language="id")
    writer = OutboxWriter(db, translator())
    sig = hunt()
    await writer.accept(sig)
    # 1 and 6 got it, 2's was given up, 3's is still pending, 5 got it in a forum topic
    await deliver(db, sig.id, {1: 101, 2: None, 5: 105, 6: 106})
    await db.execute("UPDATE outbox SET thread_id = 42 WHERE user_id = 5 AND signal_id = ?", (sig.id,))

    tracker = OutcomeTracker()
    o = tracker.on_signal(sig)
    play(tracker, sig, [(30, 60_950.0), (120, 59_700.0), (121, 59_750.0)])
    assert o.final and o.result is Result.LOSS

    items = {it.user_id: it for it in await writer.accept_outcome(o)}
    assert set(items) == {1, 5, 6}
    for uid, msg in ((1, 101), (5, 105), (6, 106)):
        it = items[uid]
        assert (it.signal_id, it.reply_to_signal_id, it.reply_to_message_id) == (OUTCOME_PREFIX + sig.id, sig.id, msg)
        assert it.silent and Scheduler().is_solo(it) and it.tier == "INFO" and it.symbol is None
    assert items[5].thread_id == 42 and items[1].thread_id is None
    assert items[1].text == "❌ <b>BTC</b>: stopped out after 2 min, −1R"
    assert items[6].text == "❌ <b>BTC</b>: kena stop setelah 2 mnt, −1R"
    row = await OutboxRepo(db).get(items[5].id)
    assert (row.reply_to_message_id, row.thread_id, row.silent) == (105, 42, True)  # durable


def test_texts_for_each_final_result():
    tr = translator()
    tracker = OutcomeTracker()
    expired = tracker.on_signal(hunt())
    play(tracker, expired.signal, [(60, 61_500.0), (61, 61_400.0)])
    tracker.finish(expired.signal.ts + 3_700_000)
    assert expired.result is Result.EXPIRED
    assert render_outcome(tr, "en", expired) == "⌛ <b>BTC</b>: expired, best +0.4R"

    never = hunt()
    never.magnitudes["price"] = 61_500.0  # above the band: the entry must come down to it
    unfilled = tracker.on_signal(never)
    tracker.finish(never.ts + 3_700_000)
    assert unfilled.result is Result.NOT_FILLED
    assert render_outcome(tr, "en", unfilled) == "⌛ <b>BTC</b>: expired before the entry was reached, no trade"

    t2 = hunt("ETH")
    t2.levels = Levels(60_000.0, 61_000.0, 60_900.0, 61_100.0, 59_800.0, (62_000.0, 64_600.0), t2.ts + 7_200_000)
    both = tracker.on_signal(t2)
    play(tracker, t2, [(60, 62_100.0), (61, 62_000.0), (5400, 64_700.0), (5401, 64_700.0)])
    assert both.result is Result.WIN_T2
    assert render_outcome(tr, "en", both) == "✅ <b>ETH</b>: T2 reached after 1.5 h, +3R"

    open_one = tracker.on_signal(hunt("SOL"))
    assert render_outcome(tr, "en", open_one) is None  # not final: no reply


async def test_the_tiers_switch_reaches_the_database_and_survives_the_migration(tmp_path):
    path = tmp_path / "v7.db"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await apply_migrations(conn, target=7)
        await conn.execute("INSERT INTO users (id, chat_id, created_at, updated_at) VALUES (5, 5, 1, 1)")
    async with await Database.open(path) as db:
        users = UserRepo(db)
        assert (await users.get(5)).outcome_replies is True  # on by default, also for old users
        assert await users.set_outcome_replies(5, False)
        assert (await users.get(5)).outcome_replies is False


async def test_a_failed_reply_is_tried_again_at_the_next_write(db):
    calls: list[str] = []
    fail = [True]

    async def replies(o):
        calls.append(o.id)
        if fail[0]:
            raise OSError("disk full")
        return 1

    rec = OutcomeRecorder(db, replies=replies)
    sig = hunt()
    rec.tracker.on_signal(sig)
    play(rec.tracker, sig, T1_IN_6_MIN)
    await rec.flush()
    assert calls == [sig.id] and rec.reply_errors == 1 and rec.replied == 0
    fail[0] = False
    await rec.flush()  # nothing new to write: the waiting reply goes now
    assert calls == [sig.id, sig.id] and rec.replied == 1
    await rec.flush()
    assert len(calls) == 2


# ---- durable replies: a crash between the outcome's write and its replies' ---------------------


class Killed(BaseException):
    """The process dies here: nothing after it runs (not an Exception the recorder catches)."""


async def _deliver_alert(db, clock, api, d, sig) -> None:
    d.sink.emit(sig)
    assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 2)


def _replies_to(api, uid: int) -> list[str]:
    return [c.params["text"] for c in api.sent_to(uid) if "reply_parameters" in c.params]


@pytest.mark.parametrize("dies", ["after_outcome_stored", "after_replies_queued"])
async def test_a_crash_between_the_outcome_and_its_replies_is_delivered_once_after_restart(tmp_path, dies):
    path = tmp_path / "crash.db"
    db = await Database.open(path)
    await add_users(db, [1, 2], ("BTC",))
    sig = hunt()
    async with clocked(db) as (clock, api, d):
        await _deliver_alert(db, clock, api, d, sig)

        async def crash_after_store(o):
            raise Killed  # the outcome row is committed; no reply row exists yet

        rec = OutcomeRecorder(db, replies=crash_after_store if dies == "after_outcome_stored" else d.accept_outcome)
        if dies == "after_replies_queued":
            async def crash_before_mark(keys):
                raise Killed  # the reply rows are committed; the outcome still says "pending"
            rec.repo.replies_queued = crash_before_mark
        rec.tracker.on_signal(sig)
        play(rec.tracker, sig, T1_IN_6_MIN)
        with pytest.raises(Killed):
            await rec.flush()
        stored = await db.fetchone("SELECT final, result, reply_pending FROM outcomes WHERE signal_id = ?",
                                   (sig.id,))
        assert tuple(stored) == (1, "WIN_T1", 1)
        queued = await db.fetchval("SELECT COUNT(*) FROM outbox WHERE signal_id = ?", (OUTCOME_PREFIX + sig.id,))
        assert queued == (0 if dies == "after_outcome_stored" else 2)
    await db.close()  # the process is gone: the recorder's memory with it

    for restart in range(2):  # the first restart delivers; a second one adds nothing
        db = await Database.open(path)  # a new process: Delivery and recorder wired as bot.app does
        async with clocked(db) as (clock, api, d):
            rec = OutcomeRecorder(db, wall_ms=lambda: clock.wall_ns() // 1_000_000)
            await rec.resume()
            rec.replies = d.accept_outcome  # as bot.app: hooked, then the left-overs queued
            taken = await rec.resume_replies()
            assert taken == (1 if restart == 0 else 0)
            if restart == 0:
                # two reply rows go out either way (none had been sent before the crash)
                assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 2)
            else:
                await run_clock(clock, d, api, until=clock.now() + 60)
            texts = {uid: _replies_to(api, uid) for uid in (1, 2)}
        rows = await db.fetchall("SELECT user_id, state FROM outbox WHERE signal_id = ? ORDER BY user_id",
                                 (OUTCOME_PREFIX + sig.id,))
        pending = await db.fetchval("SELECT reply_pending FROM outcomes WHERE signal_id = ?", (sig.id,))
        await db.close()
        assert [tuple(r) for r in rows] == [(1, "sent"), (2, "sent")]  # one row each, ever
        assert pending == 0
        expected = ["✅ <b>BTC</b>: T1 reached after 6 min, +0.8R"] if restart == 0 else []
        assert texts == {1: expected, 2: expected}  # exactly once across both restarts


async def test_a_reply_left_by_a_crash_hours_ago_is_given_up_visibly(db, caplog):
    await add_users(db, [1], ("BTC",))
    writer = OutboxWriter(db, translator())
    sig = hunt()
    await writer.accept(sig)
    await deliver(db, sig.id, {1: 101})

    async def crash(o):
        raise Killed

    rec = OutcomeRecorder(db, replies=crash)
    o = rec.tracker.on_signal(sig)
    play(rec.tracker, sig, T1_IN_6_MIN)
    with pytest.raises(Killed):
        await rec.flush()
    queued: list[str] = []

    async def replies(outcome):
        queued.append(outcome.id)
        return 1

    decided = o.final_ts or o.resolved_ts
    later = OutcomeRecorder(db, replies=replies, max_reply_age_s=3600.0,
                            wall_ms=lambda: decided + 2 * 3600 * 1000)  # restarted two hours later
    assert await later.resume_replies() == 0
    assert queued == [] and later.replies_stale == 1
    assert "given up" in caplog.text
    assert await db.fetchval("SELECT reply_pending FROM outcomes WHERE signal_id = ?", (sig.id,)) == 0


async def test_outcomes_stored_before_the_migration_are_not_replied_to_again(tmp_path):
    path = tmp_path / "v8.db"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await apply_migrations(conn, target=8)
        await conn.execute("INSERT INTO signals (id, kind, symbol, direction, tier, confidence, ts_event, "
                           "payload, created_at) VALUES ('s1', 'STOP_HUNT', 'BTC', 'LONG', 'URGENT', 80, 1, "
                           "x'7b7d', 1)")
        await conn.execute("INSERT INTO outcomes (signal_id, result, final) VALUES ('s1', 'WIN_T1', 1)")
    async with await Database.open(path) as db:
        assert await OutcomeRecorder(db, replies=lambda o: None).repo.pending_replies() == []


# ---- retry budgets by row kind -------------------------------------------------------------------


async def test_outcome_replies_and_ops_notices_give_up_after_their_own_budget(db):
    """An outcome reply and an URGENT ops notice are worthless hours later: 1 h each, not the
    6 h of a /broadcast nor their tier's (URGENT set to 3 h here)."""
    await add_users(db, [1], ("BTC",))
    config = DeliveryConfig(retry_budget_urgent_s=3 * 3600.0)
    async with clocked(db, config=config) as (clock, api, d):
        sig = hunt()
        d.sink.emit(sig)
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 1)
        tracker = OutcomeTracker()
        o = tracker.on_signal(sig)
        play(tracker, sig, T1_IN_6_MIN)
        api.fail("sendMessage", 502, "Bad Gateway", times=-1)  # Telegram down from here on
        t0 = clock.now()
        assert await d.accept_outcome(o) == 1
        assert await d.notify_admins("feeds-down", [1], lambda lang: "feeds down") == 1
        await d.broadcast("b1", "maintenance tonight")
        await run_clock(clock, d, api, until=t0 + 59 * 60)
        assert d.counters.rows_expired == 0  # within every budget: still retried
        await run_clock(clock, d, api, until=t0 + 62 * 60)
        states = {r[0].split(":")[1]: (r[1], r[2]) for r in await db.fetchall(
            "SELECT signal_id, state, tier FROM outbox WHERE signal_id LIKE 'broadcast:%'")}
        assert states == {"outcome": ("failed", "INFO"), "ops": ("failed", "URGENT"), "b1": ("pending", "INFO")}
        assert d.counters.rows_expired == 2
