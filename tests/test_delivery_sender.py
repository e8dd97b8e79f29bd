"""The sender against the local Bot API double: retry rules, buttons, coalescing, health."""
from __future__ import annotations


import pytest

from bot.delivery import Delivery, DeliveryConfig
from engine.signals import Tier
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


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.db")
    yield database
    await database.close()


async def states(db) -> dict[str, int]:
    return await OutboxRepo(db).counts_by_state()


async def test_alert_has_buttons_language_and_silence(db):
    await add_users(db, [1], ("BTC",))
    await add_users(db, [2], ("BTC",), language="id")
    await UserRepo(db).set_tiers(2, ["URGENT", "WATCH", "INFO"], ["WATCH", "INFO"])
    async with double_and_bot() as (api, bot):
        d = Delivery(bot, db, config=fast_config())
        await d.start()
        try:
            d.sink.emit(make_signal("BTC", Tier.WATCH))
            assert await wait_until(lambda: d.counters.rows_sent == 2)
        finally:
            await d.stop()
        en, idn = api.sent_to(1)[0].params, api.sent_to(2)[0].params
    assert en["parse_mode"] == "HTML" and "LIQUIDATION CASCADE — BTC" in en["text"]
    assert en["disable_notification"] == "false" and idn["disable_notification"] == "true"
    buttons = [[b["callback_data"] for b in row] for row in en["reply_markup"]["inline_keyboard"]]
    assert buttons == [["f1:BTC:5m", "m1:BTC:60", "t1:BTC:open::"]]
    labels = [b["text"] for b in idn["reply_markup"]["inline_keyboard"][0]]
    assert "🔕 Bisukan 1j" in labels and idn["text"] != en["text"]  # Indonesian text and buttons
    assert await states(db) == {"pending": 0, "sending": 0, "sent": 2, "failed": 0}


async def test_retry_after_is_honoured_exactly_and_nothing_is_lost(db):
    await add_users(db, range(1, 6), ("BTC",))
    async with clocked(db) as (clock, api, d):
        api.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, chat_id=3)
        d.sink.emit(make_signal("BTC"))
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 5)
        calls = api.calls_of("sendMessage")
        to3 = [c for c in calls if c.params["chat_id"] == "3"]
        assert len(to3) == 2  # the refused one and its retry
        assert to3[1].at - to3[0].at == pytest.approx(1.0)  # exactly retry_after, on the clock
        # the 429 paused every chat: nothing was started in the retry_after window
        during = [c for c in calls if to3[0].at < c.at < to3[0].at + 1.0]
        assert during == []
    assert len({c.params["chat_id"] for c in calls}) == 5
    assert d.counters.rate_limited == 1 and d.counters.sends_by_outcome["retry_after"] == 1
    assert await states(db) == {"pending": 0, "sending": 0, "sent": 5, "failed": 0}


async def test_403_deactivates_only_that_user_and_start_reactivates(db):
    """Case 10: the second alert to a chat is started only after the first one's 403 was
    handled (one request in flight per chat), whatever the load on the machine."""
    await add_users(db, range(1, 5), ("BTC", "ETH"))
    users = UserRepo(db)
    async with clocked(db) as (clock, api, d):
        api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=2, times=-1)
        d.sink.emit(make_signal("BTC"))
        d.sink.emit(make_signal("ETH"))
        assert await run_clock(clock, d, api,
                               lambda: d.counters.rows_sent == 6 and d.counters.forbidden >= 1)
        await run_clock(clock, d, api, until=clock.now() + 10)  # anything still to come, comes
        assert [u.id for u in await users.list_users(active_only=True)] == [1, 3, 4]
        assert len(api.sent_to(2)) == 1  # the second alert was given up, not tried again
        counts = await states(db)
        assert counts["failed"] == 2 and counts["sent"] == 6 and counts["pending"] == 0
        # the next signal does not route to the blocked user at all
        d.sink.emit(make_signal("BTC"))
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 9)
        assert len(api.sent_to(2)) == 1
        # /start makes them active again and alerts flow
        api.failures.clear()
        await users.upsert_on_start(2, 2, "en")
        d.sink.emit(make_signal("BTC"))
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 13)
        assert len(api.sent_to(2)) == 2


async def test_400_gives_up_that_row_only(db):
    await add_users(db, [1, 2], ("BTC",))
    async with double_and_bot() as (api, bot):
        api.fail("sendMessage", 400, "Bad Request: chat not found", chat_id=1)
        d = Delivery(bot, db, config=fast_config())
        await d.start()
        try:
            d.sink.emit(make_signal("BTC"))
            d.sink.emit(make_signal("BTC"))
            assert await wait_until(lambda: d.counters.rows_sent == 3)
        finally:
            await d.stop()
        assert len(api.sent_to(1)) == 2  # the refused first alert, then the second one
    counts = await states(db)
    assert counts == {"pending": 0, "sending": 0, "sent": 3, "failed": 1}
    failed = await db.fetchone("SELECT user_id, attempts, last_error FROM outbox WHERE state = 'failed'")
    assert failed[0] == 1 and failed[1] == 1 and "chat not found" in failed[2]
    assert (await UserRepo(db).get(1)).active


async def test_5xx_is_retried_with_capped_backoff_then_given_up_after_the_budget(db):
    await add_users(db, [1, 2], ("BTC",))
    config = DeliveryConfig(retry_budget_urgent_s=600.0, backoff_base_s=1.0, backoff_max_s=60.0)
    async with clocked(db, config=config) as (clock, api, d):
        api.fail("sendMessage", 502, "Bad Gateway", chat_id=1, times=2)  # recovers on the 3rd
        api.fail("sendMessage", 500, "Internal Server Error", chat_id=2, times=-1)  # never
        t0 = clock.now()
        d.sink.emit(make_signal("BTC"))
        assert await run_clock(clock, d, api,
                               lambda: d.counters.rows_sent == 1 and d.counters.rows_failed == 1)
        to1, to2 = api.sent_to(1), api.sent_to(2)
    # backoff doubles (the first retry waits the chat's pacing of 1.05 s, longer than 1 s)
    assert [round(b.at - a.at, 3) for a, b in zip(to1, to1[1:])] == [1.05, 2.0]
    gaps = [round(b.at - a.at, 3) for a, b in zip(to2, to2[1:])]
    assert gaps[:6] == [1.05, 2.0, 4.0, 8.0, 16.0, 32.0] and set(gaps[6:]) == {60.0}  # capped
    assert 600.0 <= to2[-1].at - t0 < 660.0  # given up once the row is older than its budget
    assert d.counters.rows_expired == 1 and d.counters.sends_by_outcome["server_error"] == len(to2) + 2
    row = await db.fetchone("SELECT state, attempts, last_error FROM outbox WHERE user_id = 2")
    assert row[0] == "failed" and row[1] == len(to2) and "Internal Server Error" in row[2]


async def test_network_error_is_retried(db, tmp_path):
    """The Bot API is unreachable at first (connection refused), then comes up."""
    await add_users(db, [1], ("BTC",))
    async with double_and_bot() as (api, bot):
        hits = []

        def flaky(method, params):
            hits.append(method)
            return None

        api.hook = flaky
        original = bot.session.api
        from aiogram.client.telegram import TelegramAPIServer
        bot.session.api = TelegramAPIServer.from_base("http://127.0.0.1:9")  # nothing listens
        d = Delivery(bot, db, config=fast_config(retry_budget_urgent_s=120.0))
        await d.start()
        try:
            d.sink.emit(make_signal("BTC"))
            assert await wait_until(lambda: d.counters.retries >= 1)
            bot.session.api = original
            assert await wait_until(lambda: d.counters.rows_sent == 1)
        finally:
            await d.stop()
    assert (await states(db))["sent"] == 1


async def test_low_tier_burst_for_one_user_coalesces(db):
    await add_users(db, [1], ("BTC", "ETH", "SOL", "PEPE"))
    # WATCH is coalesced only when configured so (the default bundles INFO alone)
    config = fast_config(coalesce_window_s=1.0, coalesce_tiers=("WATCH", "INFO"))
    async with clocked(db, config=config) as (clock, api, d):
        for symbol in ("BTC", "ETH", "SOL", "PEPE"):
            d.sink.emit(make_signal(symbol, Tier.WATCH, magnitudes={"dominance": 0.9}))
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 4)
    texts = api.texts_to(1)
    assert len(texts) == 2  # the first at once, the rest together after the window
    assert texts[1].startswith("🗂 <b>3 alerts</b>")
    assert all(s in texts[1] for s in ("ETH", "SOL", "PEPE"))
    markup = api.sent_to(1)[1].params["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in markup] == ["f1:ETH:5m", "f1:SOL:5m", "f1:PEPE:5m", "t1:*:open::"]
    rows = await db.fetchall("SELECT message_id FROM outbox WHERE state = 'sent' ORDER BY id")
    assert len({r[0] for r in rows[1:]}) == 1  # three rows, one Telegram message
    assert d.counters.rows_coalesced == 3 and d.counters.messages_sent == 2


async def test_by_default_a_watch_cascade_right_after_an_info_alert_is_not_held_back(db):
    """A cascade crossing the user's threshold (WATCH) must leave within a second: only INFO
    alerts wait for the coalescing window by default."""
    await add_users(db, [1], ("BTC", "ETH"))
    async with clocked(db, config=fast_config(coalesce_window_s=3.0, per_chat_per_s=1.0,
                                               coalesce_tiers=DeliveryConfig().coalesce_tiers)) as (clock, api, d):
        d.sink.emit(make_signal("ETH", Tier.INFO))
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 1)
        info_at = clock.now()
        d.sink.emit(make_signal("BTC", Tier.WATCH))
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 2)
        waited = clock.now() - info_at
    assert waited < 1.5  # the per-chat pace (1/s), not the 3 s coalescing window
    assert len(api.texts_to(1)) == 2


async def test_health_reports_queue_counts_and_latency(db):
    await add_users(db, range(1, 11), ("BTC",))
    async with double_and_bot() as (api, bot):
        d = Delivery(bot, db, config=fast_config())
        await d.start()
        try:
            d.sink.emit(make_signal("BTC"))
            assert await wait_until(lambda: d.counters.rows_sent == 10)
            h = d.health()
        finally:
            await d.stop()
    assert h["running"] and h["inbox"] == 0 and h["queued"] == 0
    assert h["messages_sent"] == 10 and h["rows_failed"] == 0 and h["rate_limited"] == 0
    assert h["sent_last_hour"] == 10 and 0 < h["p50_ms"] <= h["p95_ms"] <= h["p99_ms"] <= h["max_ms"]
    assert all(isinstance(v, (int, float, bool)) or v is None for v in h.values())  # flat
    timings = await OutboxRepo(db).delivery_timings_since(0)
    assert len(timings) == 10
    for t in timings:
        assert t.exchange_ms * 1_000_000 <= t.recv_ns <= t.signal_ns <= t.enqueued_ns <= t.sent_ns
    # a restarted Delivery reloads the last hour's figures from the outbox
    async with double_and_bot() as (api, bot):
        again = Delivery(bot, db, config=fast_config())
        await again.start()
        await again.stop()
        assert again.health()["sent_last_hour"] == 10


async def test_sink_is_bounded_and_never_blocks(db):
    async with double_and_bot() as (api, bot):
        d = Delivery(bot, db, config=fast_config(inbox_size=3))
        for _ in range(5):
            d.sink.emit(make_signal("BTC"))  # not started: nothing consumes
        assert d.counters.signals_in == 5 and d.counters.signals_dropped == 2
        assert d.health()["inbox"] == 3


async def test_sent_observers_see_each_alert_with_its_timestamps(db):
    await add_users(db, [1, 2], ("BTC",))
    seen = []
    async with clocked(db, start=False) as (clock, api, d):
        d.sender.sent_observers.append(
            lambda it, sent_ns: seen.append((it.user_id, it.exchange_ms, it.recv_ns, sent_ns)))
        d.sender.sent_observers.append(lambda it, sent_ns: 1 / 0)  # a broken hook breaks nothing
        signal = make_signal("BTC")
        await d.start()
        d.sink.emit(signal)
        assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 2)
    assert sorted(u for u, *_ in seen) == [1, 2]
    assert all(ex == signal.ts and recv == signal.recv_ns and sent > 0 for _, ex, recv, sent in seen)
