"""The sender's dispatcher against the outbox and the Bot API double, on a FakeClock: the global
limiter shared with command replies while the outbox is read, a long backlog of one chat read
past, rows of an unexpected failure put back, rows moved by a group's upgrade read again, and
the retry budget of a watchlist confirmation."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from bot.delivery import DeliveryConfig
from bot.delivery.outbox import ADD_PREFIX
from bot.delivery.sender import MAX_READ_AHEAD, RetryPolicy
from bot.groups import GroupAdmins
from bot.handlers.groups import on_migrate
from storage import ChatRepo, Database, OutboxRepo, OutboxRow, UserRepo
from tests.test_delivery_support import add_users, clocked, fast_config, run_clock, wait_until


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.db")
    yield database
    await database.close()


def notice(chat_id: int, key: str, text: str = "", tier: str = "URGENT", priority: int = 0) -> OutboxRow:
    return OutboxRow(chat_id, chat_id, f"notice:{key}", tier, priority, text or key)


class _ReplyOnTheWire:
    """A command reply through the sender's ``ReplyLimiter`` (as an aiogram handler's
    ``message.answer`` goes), started while the sender reads the outbox; its request stays on
    the wire until ``answer()``."""

    def __init__(self, d: Any) -> None:
        self.d = d
        self.on_wire = asyncio.Event()
        self._answer = asyncio.Event()
        self.task: asyncio.Task[Any] | None = None

    async def _request(self, bot: Any, method: Any) -> str:
        self.on_wire.set()
        await self._answer.wait()
        return "ok"

    async def start(self) -> None:
        self.task = asyncio.create_task(self.d.replies._limited(self._request, None, None))
        for _ in range(10):  # it takes the slot at once: no clock time passes
            await asyncio.sleep(0)
            if self.on_wire.is_set():
                return
        raise AssertionError("the reply found no free slot")

    async def answer(self) -> None:
        self._answer.set()
        assert self.task is not None
        await self.task


def during_the_read(d: Any, action) -> None:
    """Run ``action()`` (a coroutine function) inside the sender's first read of due rows."""
    repo = d.sender._outbox._repo  # the OutboxRepo behind the sender's durable wrapper
    real = repo.due
    done: list[bool] = []

    async def due(now_ns: int, limit: int, **kw: Any) -> list[OutboxRow]:
        if not done:
            done.append(True)
            await action()
        return await real(now_ns, limit, **kw)

    repo.due = due


async def test_a_reply_taking_the_last_slot_while_the_sender_reads_is_not_overtaken(db):
    """Before: the sender saw a free slot, read the outbox, then took a slot the reply had
    taken meanwhile: ``acquire()`` failed its assert and the sender task died (under -O, one
    request more than the limit went out)."""
    await add_users(db, [1], ())
    await OutboxRepo(db).enqueue_many([notice(1, "x", "hello")])
    async with clocked(db, config=fast_config(global_per_s=2.0), start=False) as (clock, api, d):
        limiter = d.limiter
        earlier = limiter.acquire()  # one request on the wire, unanswered: slot 1 of 2
        reply = _ReplyOnTheWire(d)
        during_the_read(d, reply.start)  # the reply takes slot 2 while the sender reads
        await d.start()
        sender_task = d.tasks()[1]
        await run_clock(clock, d, api, until=clock.now() + 5)
        assert reply.on_wire.is_set()
        assert not sender_task.done(), sender_task.exception()
        assert api.sent_to(1) == []  # both slots are on the wire: nothing more may start
        await reply.answer()
        limiter.release(earlier, clock.now())
        d.sender.wake()
        assert await run_clock(clock, d, api, lambda: len(api.sent_to(1)) == 1)
        assert not sender_task.done()


async def test_a_429_during_the_read_holds_the_row_read(db):
    """Before: a 429 that paused the limiter while the sender read the outbox was not seen:
    the row read went out at once."""
    await add_users(db, [1], ())
    await OutboxRepo(db).enqueue_many([notice(1, "x", "hello")])
    async with clocked(db, config=fast_config(), start=False) as (clock, api, d):
        t0 = clock.now()

        async def pause() -> None:  # what a command reply's 429 does (ReplyLimiter)
            d.limiter.pause_until(clock.now() + 5.0)

        during_the_read(d, pause)
        await d.start()
        assert await run_clock(clock, d, api, lambda: len(api.sent_to(1)) == 1)
        assert api.sent_to(1)[0].at - t0 >= 5.0


async def test_a_backlog_beyond_the_read_ahead_does_not_hide_another_chat(db):
    """Before: with more than MAX_READ_AHEAD due rows of one chat ahead of another chat's
    single row, that row waited until the backlog had shrunk (~10 minutes)."""
    await add_users(db, [1, 2], ())
    backlog = MAX_READ_AHEAD + 600
    rows = [notice(1, f"{i}", f"n{i}", "WATCH", 1) for i in range(backlog)]
    rows.append(notice(2, "last", "for chat 2", "WATCH", 1))
    await OutboxRepo(db).enqueue_many(rows)
    async with clocked(db) as (clock, api, d):
        t0 = clock.now()
        assert await run_clock(clock, d, api, lambda: len(api.sent_to(2)) == 1, until=t0 + 5)
        assert d.sender.read_ahead <= 64  # a chat's share, not its whole backlog
        # the backlog goes on past its first share, in order (its rows read again on the way)
        assert await run_clock(clock, d, api, lambda: len(api.sent_to(1)) == 80)
        assert [c.params["text"] for c in api.sent_to(1)] == [f"n{i}" for i in range(80)]
    assert await OutboxRepo(db).counts_by_state() == {
        "pending": backlog - 80, "sending": 0, "sent": 81, "failed": 0}


async def test_an_unexpected_error_puts_the_claimed_rows_back_for_a_retry(db):
    """Before: a bug raising while sending left the claimed rows 'sending' until a restart."""
    await add_users(db, [1], ())
    [oid] = await OutboxRepo(db).enqueue_many([notice(1, "x", "hello")])
    async with clocked(db) as (clock, api, d):
        real = d.sender._reply_parameters
        calls: list[int] = []

        async def boom(batch):  # runs after the claim, before the request
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("a bug")
            return await real(batch)

        d.sender._reply_parameters = boom
        t0 = clock.now()
        assert await run_clock(clock, d, api, lambda: len(api.sent_to(1)) == 1, until=t0 + 30)
        assert api.sent_to(1)[0].at - t0 >= d.sender.retry.backoff(1)  # after the backoff
        assert d.counters.record_errors == 1 and d.counters.retries == 1
    row = await OutboxRepo(db).get(oid)
    assert row is not None and (row.state, row.attempts) == ("sent", 2)
    assert "unexpected: a bug" in (row.last_error or "") or row.last_error is None


GROUP, SUPERGROUP = -4001, -1004001


async def test_a_group_upgrade_makes_the_sender_read_the_moved_rows_again(db):
    """Before: rows read ahead kept the old group id after ``on_migrate`` moved them: paced
    and picked as the old chat, beside the new id's own rows."""
    await UserRepo(db).upsert_on_start(GROUP, GROUP, "en")
    await OutboxRepo(db).enqueue_many([notice(GROUP, f"{i}", f"g{i}") for i in range(3)])
    async with clocked(db, config=DeliveryConfig()) as (clock, api, d):
        assert await run_clock(clock, d, api, lambda: len(api.sent_to(GROUP)) == 1)
        # the group is paced (a group interval): its other rows wait in the read-ahead
        assert await wait_until(lambda: d.sender.read_ahead == 2)
        message = SimpleNamespace(migrate_to_chat_id=SUPERGROUP, migrate_from_chat_id=None,
                                  chat=SimpleNamespace(id=GROUP))
        await on_migrate(message, ChatRepo(db), GroupAdmins(), d)  # type: ignore[arg-type]
        # read again: no row read ahead names the old id (the new one is a chat of its own
        # for Telegram: it may get its first message at once)
        assert await wait_until(lambda: not d.sender._stale and not d.sender.reading and all(
            row.chat_id == SUPERGROUP for row in d.sender._page.values()))
        assert await run_clock(clock, d, api, lambda: len(api.sent_to(SUPERGROUP)) == 2)
        assert [c.params["text"] for c in api.sent_to(SUPERGROUP)] == ["g1", "g2"]
        assert len(api.sent_to(GROUP)) == 1


async def test_a_watchlist_confirmation_is_retried_on_the_info_budget(db):
    """Before: ``broadcast:add:...`` rows had an admin broadcast's 6 h budget."""
    await add_users(db, [1], ())
    row = OutboxRow(1, 1, ADD_PREFIX + "price:BTC:1", "INFO", 2, "BTC added")
    assert RetryPolicy().budget_for(row) == 900.0
    assert DeliveryConfig(retry_budget_info_s=600.0).retry_policy().budget_for(row) == 600.0
    async with clocked(db) as (clock, api, d):
        api.fail("sendMessage", 502, "Bad Gateway", times=-1)
        t0 = clock.now()
        assert await d.notify("add:price:BTC:1", [1], lambda lang: "BTC added") == 1
        assert await d.notify("maintenance", [1], lambda lang: "maintenance tonight") == 1
        await run_clock(clock, d, api, until=t0 + 20 * 60)  # a 20 minute outage
        assert d.counters.rows_expired == 1
        failed = await db.fetchval("SELECT signal_id FROM outbox WHERE state = 'failed'")
        assert failed == "broadcast:add:price:BTC:1"
        assert await OutboxRepo(db).counts_by_state() == {
            "pending": 1, "sending": 0, "sent": 0, "failed": 1}


async def test_a_chat_read_past_stays_readable_when_new_rows_cut_the_read_ahead(db, monkeypatch):
    """Rows just written join the read-ahead and may cut its end back: a chat whose backlog
    was read past from beyond the new end must be read on normally, or its rows between the
    two (dropped from the read-ahead) would wait for the next read from the top."""
    import bot.delivery.sender as sender_module

    monkeypatch.setattr(sender_module, "PAGE_ROWS", 4)
    monkeypatch.setattr(sender_module, "MAX_READ_AHEAD", 4)
    await add_users(db, range(1, 6), ())
    outbox = OutboxRepo(db)
    await outbox.enqueue_many([notice(1, f"x{i}", f"x{i}", "WATCH", 1) for i in range(1, 6)])
    async with clocked(db, config=DeliveryConfig(), start=False) as (clock, api, d):
        d.sender._chat_share = 2
        api.delay("sendMessage", 10.0, chat_id=1)  # x1 stays on the wire for 10 s
        await d.start()
        # x1 on the wire, x2 read ahead, x3.. read past; the read reached the end
        assert await wait_until(lambda: len(api.calls_of("sendMessage")) == 1
                                and d.sender.read_ahead == 1 and d.sender._page_end is None
                                and not d.sender.reading)
        ids = await outbox.enqueue_many([notice(c, f"u{c}", f"u{c}") for c in range(2, 6)])
        d.sender.rows_added([row for row in [await outbox.get(i) for i in ids] if row])
        assert await run_clock(clock, d, api, lambda: len(api.sent_to(1)) == 5,
                               until=clock.now() + 60)
        assert [c.params["text"] for c in api.sent_to(1)] == [f"x{i}" for i in range(1, 6)]


async def test_new_rows_of_a_chat_read_past_wait_behind_its_older_rows(db):
    """Review: rows just written for a chat whose backlog was read past joined the rows read
    at once and went out before that chat's older rows (x1, x2, y1 … before x3)."""
    await add_users(db, [1], ())
    outbox = OutboxRepo(db)
    await outbox.enqueue_many([notice(1, f"x{i}", f"x{i}", "WATCH", 1) for i in range(1, 6)])
    async with clocked(db, config=DeliveryConfig(), start=False) as (clock, api, d):
        d.sender._chat_share = 2
        api.delay("sendMessage", 10.0, chat_id=1)  # x1 on the wire
        await d.start()
        assert await wait_until(lambda: len(api.calls_of("sendMessage")) == 1
                                and d.sender.read_ahead == 1 and 1 in d.sender._read_past
                                and not d.sender.reading)
        ids = await outbox.enqueue_many([notice(1, f"y{i}", f"y{i}", "WATCH", 1) for i in range(1, 4)])
        d.sender.rows_added([row for row in [await outbox.get(i) for i in ids] if row])  # as routing does
        assert await run_clock(clock, d, api, lambda: len(api.sent_to(1)) == 8, until=clock.now() + 120)
        assert [c.params["text"] for c in api.sent_to(1)] == (
            [f"x{i}" for i in range(1, 6)] + [f"y{i}" for i in range(1, 4)])


async def test_a_chat_read_past_is_stepped_over_in_the_database(db):
    """Review: the rows of a chat read past were still loaded page by page (a 50,000-row backlog:
    196 page reads on every read from the top, restarted by each new alert). Now the read on
    leaves that chat out in SQL: a handful of page reads, whatever its backlog."""
    await add_users(db, [1, 2], ())
    outbox = OutboxRepo(db)
    backlog = MAX_READ_AHEAD + 2_000
    await outbox.enqueue_many([notice(1, f"{i}", f"n{i}", "WATCH", 1) for i in range(backlog)])
    await outbox.enqueue_many([notice(2, "late", "for chat 2", "WATCH", 1)])  # behind the backlog
    async with clocked(db, start=False) as (clock, api, d):
        repo = d.sender._outbox._repo
        real, reads = repo.due, []

        async def due(now_ns: int, limit: int, **kw: Any) -> list[OutboxRow]:
            found = await real(now_ns, limit, **kw)
            reads.append(len(found))
            return found

        repo.due = due
        await d.start()
        t0 = clock.now()
        assert await run_clock(clock, d, api, lambda: len(api.sent_to(2)) == 1, until=t0 + 5)
        assert len(reads) <= 4, reads  # was backlog / 256 + 1 = 25 page reads


async def test_a_row_that_always_hits_a_bug_is_given_up_after_its_budget(db):
    """Review: a row put back after an unexpected error was retried forever (185 attempts in
    3 h, an ERROR every minute); it is given up like any retry once its tier's budget is spent."""
    await add_users(db, [1], ())
    [oid] = await OutboxRepo(db).enqueue_many([notice(1, "x", "hello")])
    async with clocked(db) as (clock, api, d):
        async def boom(batch: Any) -> None:
            raise RuntimeError("a bug")

        d.sender._reply_parameters = boom
        t0 = clock.now()
        budget = d.sender.retry.budget_for(await OutboxRepo(db).get(oid))
        assert await run_clock(clock, d, api, lambda: d.counters.rows_expired == 1,
                               until=t0 + budget + 3 * 60)
    row = await OutboxRepo(db).get(oid)
    assert row is not None and row.state == "failed" and "unexpected: a bug" in (row.last_error or "")
    assert api.sent_to(1) == []
