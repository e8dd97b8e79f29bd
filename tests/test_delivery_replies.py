"""Command replies (case 7): through the global limiter, ahead of queued alerts, retried once
on 429/5xx — against the local Bot API double on an injected clock."""
from __future__ import annotations

import asyncio

import pytest
from aiogram.exceptions import TelegramServerError

from bot.delivery import DeliveryConfig
from storage import Database
from tests.conftest import BotHarness
from tests.test_delivery_support import add_users, clocked, make_signal, run_clock


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.db")
    yield database
    await database.close()


async def test_a_reply_meeting_429_waits_exactly_and_is_sent_once_more(db):
    async with clocked(db) as (clock, api, d):
        api.fail("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
        reply = asyncio.create_task(d._bot.send_message(77, "your watchlist"))  # noqa: SLF001
        assert await run_clock(clock, d, api, reply.done)
        assert reply.result().text == "your watchlist"
        calls = api.sent_to(77)
    assert len(calls) == 2 and calls[1].at - calls[0].at == pytest.approx(2.0)
    assert d.replies.retried == 1 and d.replies.sent == 1
    assert d.limiter.delay(calls[0].at + 1.0) > 0  # the 429 paused the alerts too


async def test_a_reply_meeting_5xx_is_retried_once_then_the_handler_sees_the_error(db):
    async with clocked(db) as (clock, api, d):
        api.fail("sendMessage", 502, "Bad Gateway", times=1)
        ok = asyncio.create_task(d._bot.send_message(5, "first"))  # noqa: SLF001
        assert await run_clock(clock, d, api, ok.done)
        assert ok.result().text == "first"
        api.fail("sendMessage", 500, "Internal Server Error", times=2)
        lost = asyncio.create_task(d._bot.send_message(5, "second"))  # noqa: SLF001
        assert await run_clock(clock, d, api, lost.done)
        with pytest.raises(TelegramServerError):
            lost.result()
    assert d.replies.retried == 2 and d.replies.failed == 1
    assert len(api.sent_to(5)) == 4


async def test_replies_go_before_queued_alerts_and_count_towards_the_global_limit(db):
    await add_users(db, range(1, 21), ("BTC",))
    config = DeliveryConfig(global_per_s=5.0, guard_s=0.0)
    async with clocked(db, config=config) as (clock, api, d):
        d.sink.emit(make_signal("BTC"))  # 20 alerts at 5/s: 4 s of backlog
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent >= 5)
        reply = asyncio.create_task(d._bot.send_message(99, "pong"))  # noqa: SLF001
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 20 and reply.done())
        sends = api.calls_of("sendMessage")
    order = [int(c.params["chat_id"]) for c in sends]
    assert order.index(99) <= 6  # the next slot after it asked, not after the backlog
    # replies and alerts together: never more than 5 started in any 1 s window
    times = sorted(c.at for c in sends)
    for i in range(len(times) - 5):
        assert times[i + 5] - times[i] >= 1.0 - 1e-9


async def test_a_handlers_answer_that_meets_a_5xx_still_reaches_the_user(api, tmp_path):
    """Through a real handler (``message.answer`` in /start) while delivery runs: the 502 is
    retried once by the request middleware; the user gets the reply (before: it was lost)."""
    h = await BotHarness(api, tmp_path / "r.db", with_delivery=True).start()
    try:
        api.fail("sendMessage", 502, "Bad Gateway", chat_id=321, times=1)
        sends = [c for c in await h.say(321, "/start") if c.method == "sendMessage"]
        assert len(sends) == 2 and sends[0].params["text"] == sends[1].params["text"]
        assert h.delivery.replies.retried == 1 and h.delivery.replies.failed == 0
    finally:
        await h.stop()
