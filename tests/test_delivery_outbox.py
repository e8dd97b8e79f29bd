"""One outbox model (issue #13): the outbox row is the only copy of a message. The sender reads
due rows from SQLite and claims them; it is woken by an event when rows are added, and the
delivery clock holds a timer only for the next due retry or paced chat — nothing polls."""
from __future__ import annotations

import asyncio

import pytest

from bot.delivery.sender import MAX_READ_AHEAD, PAGE_ROWS
from storage import Database, OutboxRepo, OutboxRow
from tests.test_delivery_support import add_users, clocked, make_signal, run_clock, wait_until


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.db")
    yield database
    await database.close()


async def settle(d) -> None:
    """Let the sender finish what real I/O it started (reads, answers) without moving the clock."""
    for _ in range(200):
        await asyncio.sleep(0.005)
        if not d.sender.reading and d.sender.inflight == 0 and d.inbox_depth() == 0:
            return


async def test_added_rows_wake_the_sender_and_an_idle_sender_sets_no_timer(db):
    await add_users(db, [1, 2], ("BTC",))
    async with clocked(db) as (clock, api, d):
        start = clock.now()
        await settle(d)
        assert clock.next_deadline() is None  # idle: no timer, no polling loop
        d.sink.emit(make_signal("BTC"))
        assert await wait_until(lambda: d.counters.rows_sent == 2)
        assert clock.now() == start  # sent on the event alone: the clock never moved
        await settle(d)
        # both chats are paced now, but nothing waits for them: still no timer
        assert clock.next_deadline() is None


async def test_a_due_retry_is_the_timer_and_its_time_lives_in_the_row(db):
    await add_users(db, [1], ("BTC",))
    async with clocked(db) as (clock, api, d):
        api.fail("sendMessage", 500, "Internal Server Error", times=1)
        d.sink.emit(make_signal("BTC"))
        assert await wait_until(lambda: d.counters.retries == 1)
        await settle(d)
        state, attempts, next_attempt_ns = await db.fetchone(
            "SELECT state, attempts, next_attempt_ns FROM outbox")
        due_in = (next_attempt_ns - clock.wall_ns()) / 1e9
        assert (state, attempts) == ("pending", 1)
        assert due_in == pytest.approx(d.config.backoff_base_s, abs=0.01)
        assert clock.next_deadline() == pytest.approx(clock.now() + due_in, abs=0.01)
        t0 = clock.now()
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 1)
        # the retry left when it was due (then its chat's pacing from the failed answer), not later
        assert clock.now() - t0 <= 1.0 / d.config.per_chat_per_s + d.config.guard_s + 1e-6


async def test_a_long_backlog_of_one_chat_does_not_hide_the_rows_behind_it(db):
    await add_users(db, [1, 2], ())
    backlog = PAGE_ROWS + 50  # more than one page of rows for chat 1, all before chat 2's row
    rows = [OutboxRow(1, 1, f"notice:{i}", "WATCH", 1, f"notice {i}") for i in range(backlog)]
    rows.append(OutboxRow(2, 2, "notice:last", "WATCH", 1, "for chat 2"))
    await OutboxRepo(db).enqueue_many(rows)
    async with clocked(db) as (clock, api, d):
        assert await run_clock(clock, d, api, lambda: len(api.sent_to(2)) == 1, until=clock.now() + 10)
        assert len(api.sent_to(1)) <= 3  # chat 2 did not wait behind chat 1's 1-a-second pacing
        assert d.queued() <= MAX_READ_AHEAD  # what is read ahead is bounded, whatever the backlog


async def test_a_restart_resumes_retries_from_the_rows_alone(db):
    """Nothing the sender knew is lost with its memory: a row waiting for its retry is not sent
    before its ``next_attempt_ns``, whichever process reads it."""
    await add_users(db, [1], ())
    outbox = OutboxRepo(db)
    [oid] = await outbox.enqueue_many([OutboxRow(1, 1, "notice:r", "URGENT", 0, "again")])
    async with clocked(db, start=False) as (clock, api, d):
        await outbox.claim([oid], 2**62)
        await outbox.mark_retry_many([oid], "502 Bad Gateway", clock.wall_ns() + 30 * 10**9, failed=True)
        await d.start()
        assert not await run_clock(clock, d, api, lambda: d.counters.rows_sent == 1, until=clock.now() + 29.9)
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 1, until=clock.now() + 1)
        row = await outbox.get(oid)
        assert row is not None and (row.state, row.attempts) == ("sent", 2)
