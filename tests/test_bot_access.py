"""Access (private/public), admin commands, throttling, callbacks from other chats."""
from __future__ import annotations

import asyncio

from bot.callbacks import MenuCB
from storage import AccessRepo, UserRepo, WatchlistRepo
from tests.conftest import ADMIN, BotHarness, answers, texts


async def _row_counts(db):
    counts = {}
    for table in ("users", "access", "watchlist", "thresholds", "blocked"):
        counts[table] = await db.fetchval(f"SELECT COUNT(*) FROM {table}")
    return counts


async def test_private_stranger_gets_one_reply_and_nothing_is_stored(api, tmp_path):
    h = await BotHarness(api, tmp_path / "p.db", access="private").start()
    try:
        for text in ("/start", "/add BTC", "/thresholds BTC cascade 1M", "hello"):
            replies = await h.say(71, text, lang="id")
            assert len(replies) == 1, text
            assert "<code>71</code>" in replies[0].params["text"] and "/allow 71" in replies[0].params["text"]
            assert "privat" in replies[0].params["text"]
        replies = await h.press(71, MenuCB(action="list").pack())
        assert len(answers(replies)) == 1 and answers(replies)[0][1]
        assert await _row_counts(h.db) == {"users": 0, "access": 0, "watchlist": 0, "thresholds": 0,
                                           "blocked": 0}
        # admin lets them in; then they are a normal user
        assert "may use the bot now" in await h.text(ADMIN, "/allow 71")
        assert "Welcome" in await h.text(71, "/start")
        assert "BTC added" in await h.text(71, "/add BTC")
        # and shuts them out again: no more access, no more alerts, their symbols stop streaming
        assert "shut out" in await h.text(ADMIN, "/deny 71")
        assert not (await UserRepo(h.db).get(71)).active
        assert "BTC" not in await WatchlistRepo(h.db).all_symbols()
        assert "BTC" not in h.registry.symbols
        assert "/allow 71" in await h.text(71, "/start")
        assert not (await UserRepo(h.db).get(71)).active
    finally:
        await h.stop()


async def test_public_mode_and_deny_still_works(harness):
    assert "Welcome" in await harness.text(72, "/start")
    await harness.say(ADMIN, "/deny 72")
    assert "/allow 72" in await harness.text(72, "/list")
    assert await AccessRepo(harness.db).is_blocked(72)
    await harness.say(ADMIN, "/allow 72")
    assert "watchlist is empty" in await harness.text(72, "/list")


async def test_admin_commands_are_invisible_to_users(harness):
    for command in ("/allow 5", "/deny 5", "/users", "/health", "/broadcast hi"):
        assert "Unknown command" in await harness.text(73, command), command
    assert await _row_counts(harness.db) == {"users": 1, "access": 0, "watchlist": 0, "thresholds": 0,
                                             "blocked": 0}


async def test_admin_bad_arguments(harness):
    assert "Example" in await harness.text(ADMIN, "/allow")
    assert "Example" in await harness.text(ADMIN, "/allow abc")
    assert "Example" in await harness.text(ADMIN, "/deny 1; DROP TABLE users")
    assert "is an admin" in await harness.text(ADMIN, f"/deny {ADMIN}")
    assert "Example" in await harness.text(ADMIN, "/broadcast")


async def test_users_and_health(api, tmp_path):
    class Stats:  # FeedStats' documented view for health
        def snapshot(self, now_ns=None):
            return {"state": "live", "lag_ms": 42.0, "frames": 10, "events": 20, "parse_errors": 1,
                    "reconnects": 2, "last_error": "boom", "age_s": 1.5}

    class Feed:
        name = "binance"
        stats = Stats()

    def delivery_figures():
        return {"running": True, "inbox": 2, "queued": 7, "inflight": 1, "rows_sent": 1234,
                "rows_failed": 3, "retries": 4, "rate_limited": 1, "sent_last_hour": 1200,
                "p50_ms": 8.25, "p95_ms": 41.0, "p99_ms": 120.4, "max_ms": 300.0}

    h = await BotHarness(api, tmp_path / "h.db", feeds=[Feed()], with_delivery=True,
                         queue_depth=lambda: 3).start()
    h.delivery.health = delivery_figures  # fixed figures to assert on (the real Delivery's health)
    try:
        await h.say(74, "/add BTC")
        await h.say(ADMIN, "/allow 75")
        text = await h.text(ADMIN, "/users")
        assert "2 registered, 2 active" in text
        assert "<code>74</code> · user · 🇬🇧 English · active · 1 coin" in text
        assert f"<code>{ADMIN}</code> · admin · 🇬🇧 English · active · 0 coins" in text
        assert "=" not in text and "Allowed, not started yet: 75" in text
        await h.say(76, "/start", lang="id")
        await h.say(76, "/add BTC ETH", lang="id")
        await h.say(ADMIN, "/deny 76")
        text = await h.text(ADMIN, "/users", lang="id")
        assert "<code>76</code> · user · 🇮🇩 Bahasa Indonesia · inactive (blocked the bot or denied) · 2 coins" in text
        await h.say(ADMIN, "/lang id")
        text = await h.text(ADMIN, "/users")
        assert "<code>74</code> · pengguna · 🇬🇧 English · aktif · 1 koin" in text
        assert "<code>76</code> · pengguna · 🇮🇩 Bahasa Indonesia · nonaktif" in text
        assert "yes" not in text and "=" not in text
        assert "Diizinkan, belum /start: 75" in text
        await h.say(ADMIN, "/lang en")
        h.engine.stats.events = 1000
        text = await h.text(ADMIN, "/health")
        assert "<b>binance</b> live · lag 42 ms · last msg 1.5s ago" in text and "parse errors 1" in text
        assert "last error: boom" in text
        assert "queue 3" in text and "symbols 1" in text and "events 1,000" in text
        assert ("Delivery: queue 7 · routing 2 · in flight 1 · since start: sent 1,234 (alerts and broadcasts) · "
                "failed 3 · retried 4 · 429s 1") in text
        assert ("Alert receive→sent, last hour: alerts 1,200 (broadcasts not timed) · p50 8.2 ms · p95 41 ms · "
                "p99 120 ms") in text
        assert "=" not in text.split("Delivery")[1]  # no raw key=value dump
    finally:
        await h.stop()


async def test_broadcast_reaches_active_users_and_is_escaped(api, tmp_path, monkeypatch):
    monkeypatch.setattr("bot.handlers.admin.BROADCAST_POLL_S", 0.05)
    h = await BotHarness(api, tmp_path / "b.db", with_delivery=True).start()
    try:
        for uid in (76, 77):
            await h.say(uid, "/start")
        api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=77)
        # the admin is an active user too: their copy may arrive with the answer
        assert any(t.startswith("Sending to 3 active users… (private chats")
               for t in texts(await h.say(ADMIN, "/broadcast Hello <all> & 🚀")))
        assert await api.wait_for(lambda: any("Broadcast finished" in t for t in api.texts_to(ADMIN)))
        assert "📣 Hello &lt;all&gt; &amp; 🚀" in api.texts_to(76)
        assert "Broadcast finished: 2 sent, 1 failed" in api.texts_to(ADMIN)[-1]
        assert not (await UserRepo(h.db).get(77)).active
    finally:
        await h.stop()


async def test_broadcast_goes_through_delivery_and_counts_every_user(api, tmp_path, monkeypatch):
    monkeypatch.setattr("bot.handlers.admin.BROADCAST_POLL_S", 0.05)
    h = await BotHarness(api, tmp_path / "b.db", with_delivery=True).start()
    try:
        for uid in (90, 91, 92, 93):
            await h.say(uid, "/start")
        # three 429s in a row for 91 (the old sender gave up on it silently), a 403 for 92,
        # and 93's chat answers 500 until delivery gives up on it
        api.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, chat_id=91, times=3)
        api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=92)
        api.fail("sendMessage", 500, "Internal Server Error", chat_id=93, times=-1)
        assert any(t.startswith("Sending to 5 active users…")
                   for t in texts(await h.say(ADMIN, "/broadcast Maintenance at 02:00")))
        assert await api.wait_for(lambda: any("Broadcast finished" in t for t in api.texts_to(ADMIN)),
                                  timeout=15)
        assert "Broadcast finished: 3 sent, 2 failed" in api.texts_to(ADMIN)[-1]
        to91 = [c for c in api.sent_to(91) if "Maintenance" in c.params["text"]]
        assert len(to91) == 4 and "📣 Maintenance at 02:00" in to91[-1].params["text"]
        for before, after in zip(to91, to91[1:]):
            assert after.at - before.at >= 1.0  # retry_after honoured, every time
        # it went through the outbox and the delivery's one limiter/sender
        rows = await h.db.fetchall("SELECT user_id, state FROM outbox WHERE signal_id LIKE 'broadcast:%'")
        assert sorted((r[0], r[1]) for r in rows) == [
            (90, "sent"), (91, "sent"), (92, "failed"), (93, "failed"), (ADMIN, "sent")]
        assert h.delivery.counters.rate_limited == 3 and h.delivery.counters.rows_sent == 3
        assert "reply_markup" not in to91[-1].params  # no alert buttons under a broadcast
        assert h.delivery.health()["sent_last_hour"] == 0  # not an alert's latency
    finally:
        await h.stop()


async def test_broadcast_without_delivery_says_so(harness):
    assert "not running" in await harness.text(ADMIN, "/broadcast hi")


async def test_callback_on_a_message_of_another_chat_is_ignored(harness):
    await harness.say(78, "/add BTC")
    other = {"message_id": 5, "date": 0, "chat": {"id": 79, "type": "private"}, "text": "x"}
    replies = await harness.press(78, "w1:yes:BTC", message=other)
    assert not texts(replies)
    assert [e.symbol for e in await WatchlistRepo(harness.db).list_for_user(78)] == ["BTC"]


async def test_group_plain_text_and_other_bots_commands_are_ignored(harness, api):
    """Groups are served since issue 14 (tests/test_bot_groups.py); what is not for this bot in a
    group stays unanswered, and its sender is never registered as a user."""
    start = len(api.calls)
    for text in ("hello", "/start@OtherBot", "/weather"):
        update_id = api.push_update({"message": {
            "message_id": 1, "date": 0, "chat": {"id": -100, "type": "group", "title": "g"},
            "from": api.user(80), "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}})
        await harness._handled(update_id)
    assert not [c for c in api.calls[start:] if c.method == "sendMessage"]
    assert await UserRepo(harness.db).get(80) is None
    assert await UserRepo(harness.db).get(-100) is None


async def test_throttling_answers_once_then_drops(api, tmp_path):
    h = await BotHarness(api, tmp_path / "t.db", throttle_rate=0.01, throttle_burst=3).start()
    try:
        for _ in range(3):  # the burst: each answered with the (empty) watchlist, not throttled
            assert texts(await h.say(81, "/list")) == [
                "Your watchlist is empty. Add coins with <code>/add BTC ETH</code>."]
        replies = await h.say(81, "/list")
        assert texts(replies) == ["⏳ Too fast — please wait a moment."]
        for _ in range(3):
            assert await h.say(81, "/list") == []
        # another user is not affected
        assert "watchlist is empty" in await h.text(82, "/list")
        await asyncio.sleep(0)
    finally:
        await h.stop()
