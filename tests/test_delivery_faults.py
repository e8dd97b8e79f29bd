"""Issue #11: Telegram and storage faults met by delivery, against the local Bot API double on
an injected clock. Nothing accepted is lost, nothing is left 'sending', duplicates only where
the README says they can happen."""
from __future__ import annotations

import asyncio
import sqlite3

import pytest
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage

from bot.delivery import OUTCOMES, DeliveryConfig, classify
from bot.handlers.admin import delivery_lines
from bot.i18n import Texts
from locales import translator
from bot.delivery.clock import TimedOut
from engine.signals import Tier
from storage import Database, OutboxRepo
from tests.test_delivery_support import add_users, clocked, make_signal, run_clock

PROXY_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.db")
    yield database
    await database.close()


async def states(db) -> dict[str, int]:
    return await OutboxRepo(db).counts_by_state()


def test_every_outcome_is_classified():
    m = SendMessage(chat_id=1, text="x")
    cases = {
        TelegramRetryAfter(m, "Too Many Requests", 3): "retry_after",
        TelegramForbiddenError(m, "Forbidden: bot was blocked by the user"): "blocked",
        TelegramBadRequest(m, "Bad Request: chat not found"): "bad_request",
        TelegramServerError(m, "Bad Gateway"): "server_error",
        TelegramUnauthorizedError(m, "Unauthorized"): "server_error",  # an operator may fix it
        ClientDecodeError("Failed to decode object", ValueError("x"), PROXY_502): "undecodable",
        TelegramNetworkError(m, "ClientConnectorError: Cannot connect to host"): "network",
        TelegramNetworkError(m, "Request timeout error"): "timeout",
        TelegramNetworkError(m, "ServerDisconnectedError: Server disconnected"): "timeout",
        TimedOut("no answer"): "timeout",
    }
    assert {classify(e) for e in cases} <= set(OUTCOMES)
    for error, outcome in cases.items():
        assert classify(error) == outcome, error


async def test_case1_an_html_502_page_is_retried_and_leaves_nothing_sending(db):
    """Before: aiogram's ClientDecodeError escaped the sender; rows stayed 'sending' until a
    restart and /health said queue 0, in flight 0, failed 0."""
    await add_users(db, [1, 2], ("BTC",))
    async with clocked(db) as (clock, api, d):
        api.raw("sendMessage", 502, PROXY_502, times=3)
        d.sink.emit(make_signal("BTC"))
        # the request's in-flight slot is released just after its row is counted sent
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 2 and d.sender.inflight == 0)
        h = d.health()
        assert await states(db) == {"pending": 0, "sending": 0, "sent": 2, "failed": 0}
    assert h["send_undecodable"] == 3 and h["send_ok"] == 2 and h["retries"] == 3
    assert h["rows_failed"] == 0 and h["queued"] == 0 and h["inflight"] == 0
    assert len(api.calls_of("sendMessage")) == 5
    # and /health says so
    shown = "\n".join(delivery_lines(Texts(translator(), "en"), h))
    assert "Telegram answers: ok 2 · 5xx 0 · not JSON 3" in shown


async def test_case2_a_slow_answer_is_waited_for_not_raced(db):
    """Before: Telegram answering in 12 s against a 10 s client timeout gave 3 copies."""
    await add_users(db, [1], ("BTC",))
    async with clocked(db) as (clock, api, d):
        api.delay("sendMessage", 12.0, times=-1)  # delivered at once, answered 12 s later
        d.sink.emit(make_signal("BTC"))
        d.sink.emit(make_signal("BTC"))
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 2)
        await run_clock(clock, d, api, until=clock.now() + 300)
        calls = api.calls_of("sendMessage")
    assert len(calls) == 2  # one request per alert: nothing resent
    # one request in flight per chat: the second alert started after the first was answered
    assert calls[1].at - calls[0].at >= 12.0
    assert d.counters.sends_by_outcome == {"ok": 2}


async def test_case2_a_send_that_times_out_is_not_resent_while_it_may_still_land(db):
    await add_users(db, [1, 2], ("BTC",))
    config = DeliveryConfig(send_timeout_s=60.0, resend_after_s=60.0)
    async with clocked(db, config=config) as (clock, api, d):
        api.delay("sendMessage", 75.0, chat_id=1)  # slower than the send timeout: once
        t0 = clock.now()
        d.sink.emit(make_signal("BTC"))
        d.sink.emit(make_signal("BTC"))  # a second alert to the same chat waits behind it
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 4)
        to1 = api.sent_to(1)
        assert d.counters.sends_by_outcome["timeout"] == 1
        assert await states(db) == {"pending": 0, "sending": 0, "sent": 4, "failed": 0}
    # the timed-out request is resent only after send_timeout_s + resend_after_s, and
    # nothing else went to that chat in between (its order is kept)
    assert [round(c.at - t0, 2) for c in to1[:2]] == [0.0, 120.0]
    assert to1[2].at > to1[1].at
    assert to1[0].params["text"] == to1[1].params["text"]  # the one documented duplicate


async def test_case3_an_outage_is_outlasted_by_urgent_and_expires_info(db):
    """Before: a ~15 s 5xx outage gave rows up for good after 5 attempts in ~27 s."""
    await add_users(db, [1], ("BTC", "ETH"))
    async with clocked(db) as (clock, api, d):
        api.fail("sendMessage", 502, "Bad Gateway", times=-1)
        t0 = clock.now()
        d.sink.emit(make_signal("BTC", Tier.URGENT))
        d.sink.emit(make_signal("ETH", Tier.INFO))  # a funding extreme: INFO for a default user
        # 20 minutes of outage: INFO (15 min budget) is given up, URGENT (1 h) still waits
        await run_clock(clock, d, api, until=t0 + 20 * 60)
        assert d.counters.rows_expired == 1
        assert await states(db) == {"pending": 1, "sending": 0, "sent": 0, "failed": 1}
        failed = await db.fetchone("SELECT tier, last_error FROM outbox WHERE state = 'failed'")
        assert failed[0] == "INFO" and "server_error" in failed[1]
        api.failures.clear()  # Telegram is back
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 1)
        assert clock.now() - t0 < 20 * 60 + 61  # within one capped backoff of the recovery
        attempts = await db.fetchval("SELECT attempts FROM outbox WHERE tier = 'URGENT'")
    assert 20 < attempts < 40  # backoff capped at 60 s: ~1 attempt a minute, not a storm
    assert await states(db) == {"pending": 0, "sending": 0, "sent": 1, "failed": 1}


async def test_case8_routing_waits_out_a_write_lock_held_by_another_process(db, tmp_path):
    """Before: a 30 s write lock dropped signals after 3 routing attempts."""
    await add_users(db, [1], ("BTC",))
    await db.execute("PRAGMA busy_timeout = 100")  # the lock outlasts it many times over
    async with clocked(db) as (clock, api, d):
        other = sqlite3.connect(tmp_path / "t.db", timeout=0.1, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            d.sink.emit(make_signal("BTC"))
            d.sink.emit(make_signal("BTC"))
            # every routing attempt waits busy_timeout (real) then fails: let several fail
            for _ in range(200):
                if d.counters.route_errors >= 4:
                    break
                await run_clock(clock, d, api, until=clock.now() + 1)
                await asyncio.sleep(0.05)
            assert d.counters.route_errors >= 4 and d.counters.signals_lost == 0
            assert d.inbox_depth() == 1  # the second waits its turn, nothing dropped
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 2, real_timeout=60)
    assert d.counters.signals_routed == 2 and d.counters.signals_dropped == 0
    assert len(api.sent_to(1)) == 2


async def test_case4_routing_waits_out_a_full_disk(db):
    """A full disk (SQLITE_FULL, made real with max_page_count) while routing: kept and retried."""
    await add_users(db, range(1, 4), ("BTC",))
    async with clocked(db) as (clock, api, d):
        pages = await db.fetchval("PRAGMA page_count")
        await db.fetchval(f"PRAGMA max_page_count = {pages}")  # not one page more: "disk full"
        d.sink.emit(make_signal("BTC", sid="full-disk-" + "x" * 4000))  # needs new pages
        for _ in range(200):
            if d.counters.route_errors >= 3:
                break
            await run_clock(clock, d, api, until=clock.now() + 1)
            await asyncio.sleep(0.01)
        assert d.counters.route_errors >= 3 and d.counters.signals_lost == 0
        await db.fetchval("PRAGMA max_page_count = 1073741823")  # space again
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 3)
    assert d.counters.signals_routed == 1 and d.counters.signals_dropped == 0


async def test_an_answer_is_recorded_after_a_write_lock_not_left_sending(db, tmp_path):
    """Telegram answered, but the outbox is locked by another process when the answer is
    recorded: the sender retries the write until storage answers; one request, row 'sent'."""
    await add_users(db, [1], ("BTC",))
    await db.execute("PRAGMA busy_timeout = 100")
    async with clocked(db) as (clock, api, d):
        api.delay("sendMessage", 5.0)
        d.sink.emit(make_signal("BTC"))
        assert await run_clock(clock, d, api, lambda: api.parked == 1)
        other = sqlite3.connect(tmp_path / "t.db", timeout=0.1, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            clock.advance(5.0)  # the answer arrives while the lock is held
            for _ in range(200):
                if d.counters.record_errors >= 3:
                    break
                await run_clock(clock, d, api, until=clock.now() + 1)
                await asyncio.sleep(0.05)
            assert d.counters.record_errors >= 3
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 1)
        assert await states(db) == {"pending": 0, "sending": 0, "sent": 1, "failed": 0}
    assert len(api.calls_of("sendMessage")) == 1
