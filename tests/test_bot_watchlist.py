"""/add, /remove, /list and the remove buttons; bad input of every kind."""
from __future__ import annotations

import asyncio

from bot.callbacks import WatchCB
from bot.subscriptions import MAX_WATCHLIST, PendingConfirmations, engine_has_data
from storage import ThresholdRepo, UserRepo, WatchlistRepo
from tests.conftest import ADMIN, BotHarness, FakeCatalog, answers, buttons, texts


async def _symbols(h, uid):
    return [e.symbol for e in await WatchlistRepo(h.db).list_for_user(uid)]


async def test_add_normalises_spellings_and_streams_at_once(harness):
    text = await harness.text(21, "/add btc BTCUSDT btc-usdt eth")
    assert text.count("✅") == 2 and "BTC added" in text and "ETH added" in text
    assert await _symbols(harness, 21) == ["BTC", "ETH"]
    assert {"BTC", "ETH"} <= harness.registry.symbols
    assert "already on your list" in await harness.text(21, "/add BTC")


async def test_add_unknown_symbol_gets_a_suggestion(harness):
    text = await harness.text(22, "/add PEPPE XYZQ")
    assert "PEPPE is not listed" in text and "Did you mean PEPE" in text
    assert "XYZQ is not listed" in text
    assert await _symbols(harness, 22) == []
    assert "XYZQ" not in harness.registry.symbols


async def test_add_garbage_emoji_sql_and_unicode(harness):
    text = await harness.text(23, "/add 🚀 BTC';DROP_TABLE_users;-- <b>x</b> ÄÖÜ")
    assert text.count("is not a symbol") == 4
    assert "&lt;b&gt;x&lt;/b&gt;" in text and "<b>x</b>" not in text
    assert await _symbols(harness, 23) == []
    # the tables are intact and usable
    assert await UserRepo(harness.db).count() == 1
    assert "BTC added" in await harness.text(23, "/add BTC")


async def test_add_without_arguments_and_too_many(harness):
    assert "Which coins?" in await harness.text(24, "/add")
    many = " ".join(f"C{i}" for i in range(11))
    assert "At most 10 symbols" in await harness.text(24, f"/add {many}")


async def test_very_long_text_is_refused_before_parsing(harness):
    text = await harness.text(25, "/add " + "A" * 5000)
    assert "Too long: I read at most 512 characters" in text
    assert await _symbols(harness, 25) == []


async def test_long_plain_text_gets_too_long_not_only_commands(harness):
    # the newcomer's 600-character message, from a user and from an admin: the cap is the
    # answer ("I only understand commands" would hide it); only /broadcast may be longer
    from tests.conftest import ADMIN

    for uid in (26, ADMIN):
        assert "Too long: I read at most 512 characters" in await harness.text(uid, "x" * 600)
        assert "I only understand commands" in await harness.text(uid, "x" * 500)
    assert "Too long" in await harness.text(ADMIN, "/health " + "x" * 600)
    assert "Too long" not in await harness.text(ADMIN, "/broadcast " + "x" * 600)  # reaches /broadcast
    assert "Terlalu panjang: saya membaca paling banyak 512 karakter" in await harness.text(
        27, "y" * 513, lang="id")


async def test_watchlist_cap(api, tmp_path):
    bases = [f"COIN{i}" for i in range(MAX_WATCHLIST + 2)]
    h = await BotHarness(api, tmp_path / "cap.db", catalog=FakeCatalog(bases)).start()
    try:
        for chunk in range(0, MAX_WATCHLIST, 10):
            await h.say(26, "/add " + " ".join(bases[chunk:chunk + 10]))
        assert len(await _symbols(h, 26)) == MAX_WATCHLIST
        text = await h.text(26, f"/add {bases[-1]}")
        assert "watchlist is full (30 coins)" in text
        # a coin already on a full list is "already there", not "full"
        assert "already" in await h.text(26, f"/add {bases[0]}")
        assert len(await _symbols(h, 26)) == MAX_WATCHLIST
    finally:
        await h.stop()


class Clock:
    """The pending confirmations' clock, moved by hand (no sleeping for a timeout)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _confirm(h) -> None:
    """One round of the confirmations task (``run_confirmations`` does this every 5 s)."""
    await h.dp["subscriptions"].confirm_pending(lambda s: engine_has_data(h.engine, s))


async def test_unverified_symbols_are_confirmed_through_delivery_when_data_arrives(api, tmp_path):
    pending = PendingConfirmations(timeout_s=0.0)
    h = await BotHarness(api, tmp_path / "u.db", catalog=FakeCatalog(available=False),
                         pending=pending, with_delivery=True).start()
    try:
        text = await h.text(27, "/add BTC NEWCOIN")
        assert text.count("not verified yet") == 2 and "✅" not in text
        assert await _symbols(h, 27) == ["BTC", "NEWCOIN"]
        before = len(api.texts_to(27))
        await _confirm(h)
        assert len(pending) == 0
        assert await api.wait_for(lambda: len(api.texts_to(27)) == before + 2)
        sent = api.texts_to(27)[before:]
        by_symbol = {("NEWCOIN" if "NEWCOIN" in m else "BTC"): m for m in sent}
        assert "confirmed" in by_symbol["BTC"]
        assert "NEWCOIN: no venue sent any data for it" in by_symbol["NEWCOIN"]
        assert await _symbols(h, 27) == ["BTC"]  # a symbol without data does not stay forever
        # durable outbox rows (the limiter, retries), not a direct sendMessage
        rows = await h.db.fetchall("SELECT signal_id, state FROM outbox WHERE user_id = 27")
        assert sorted(r[0].split(":")[2] for r in rows) == ["confirmed", "removed"]
        assert {r[1] for r in rows} == {"sent"}
    finally:
        await h.stop()


async def test_a_denied_user_hears_nothing_about_their_pending_symbols(api, tmp_path):
    """Denied (or blocked) between /add and the data arriving: no "✅ INJ confirmed"."""
    h = await BotHarness(api, tmp_path / "deny.db", catalog=FakeCatalog(available=False),
                         pending=PendingConfirmations(timeout_s=60.0), with_delivery=True).start()
    try:
        await h.say(43, "/add INJ")
        await h.say(44, "/add INJ")
        await h.say(ADMIN, "/deny 43")
        h.engine.symbols_with_data.add("INJ")
        before = {uid: len(api.texts_to(uid)) for uid in (43, 44)}
        await _confirm(h)
        assert await api.wait_for(lambda: len(api.texts_to(44)) == before[44] + 1)
        assert api.texts_to(44)[-1] == "✅ INJ confirmed: live data is arriving."
        await h.delivery.stop()  # drained: whatever was queued has been sent
        assert len(api.texts_to(43)) == before[43]
        rows = await h.db.fetchall("SELECT user_id FROM outbox WHERE signal_id LIKE 'broadcast:add:%'")
        assert [r[0] for r in rows] == [44]
    finally:
        await h.stop()


async def test_a_symbol_added_again_is_confirmed_again(api, tmp_path):
    """Each /add is its own notice (its id carries the time of the /add: Delivery.notify never
    queues one id twice), and a round with nothing left to confirm tells nothing."""
    h = await BotHarness(api, tmp_path / "again.db", catalog=FakeCatalog(available=False),
                         pending=PendingConfirmations(timeout_s=60.0), with_delivery=True).start()

    def confirmed():
        return [t for t in api.texts_to(45) if t.startswith("✅ BTC confirmed")]

    try:
        await h.say(45, "/add BTC")
        await _confirm(h)
        assert await api.wait_for(lambda: len(confirmed()) == 1)
        await h.say(45, "/remove BTC")
        await h.say(45, "/add BTC")
        await _confirm(h)
        await _confirm(h)
        assert await api.wait_for(lambda: len(confirmed()) == 2)
        await h.delivery.stop()
        assert len(confirmed()) == 2
    finally:
        await h.stop()


async def test_unconfirmed_symbol_is_removed_after_the_wait(api, tmp_path):
    """Degraded mode (no instrument lists): '/add garbage' is accepted unverified, and removed
    again — from the list, and from streaming once nobody watches it — when no venue sent data
    within the wait; the user is told why, in the language they read now."""
    clock = Clock()
    pending = PendingConfirmations(timeout_s=60.0, clock=clock)
    h = await BotHarness(api, tmp_path / "g.db", catalog=FakeCatalog(available=False),
                         pending=pending, with_delivery=True).start()

    def told(uid):
        return [t for t in api.texts_to(uid) if "GARBAGE:" in t]

    try:
        text = await h.text(40, "/add garbage")
        assert text.startswith("⏳ GARBAGE added, not verified yet (the venues' instrument lists are")
        assert "remove it if none arrives within 1 min" in text
        clock.now += 61
        await h.say(41, "/add GARBAGE", lang="id")  # a second watcher, whose wait starts now
        await h.say(42, "/add GARBAGE TYPO")
        await h.say(42, "/remove TYPO")  # removed by hand: nothing to say about it later
        await _confirm(h)
        assert await api.wait_for(lambda: told(40))
        assert told(40) == ["❌ GARBAGE: no venue sent any data for it in 1 min, so I removed it from "
                            "your watchlist — check the spelling (a coin like BTC, or a pair like BTCUSDT)."]
        assert await _symbols(h, 40) == [] and await _symbols(h, 41) == ["GARBAGE"]
        assert "GARBAGE" in h.registry.symbols  # 41 and 42 still watch it
        await h.say(41, "/lang id")
        clock.now += 61
        await h.say(42, "/remove GARBAGE")  # 42's entry is discarded, 41's times out
        await _confirm(h)
        assert await api.wait_for(lambda: told(41))
        assert len(told(41)) == 1
        assert told(41)[0].startswith("❌ GARBAGE: tidak ada bursa yang mengirim data untuknya selama 1 menit")
        assert await _symbols(h, 41) == [] and "GARBAGE" not in h.registry.symbols
        assert "TYPO" not in h.registry.symbols and len(pending) == 0
        await _confirm(h)
        await h.delivery.stop()
        assert len(told(40)) == 1 and len(told(41)) == 1 and not told(42)  # told once
    finally:
        await h.stop()


async def test_remove_and_registry_follows_other_watchers(harness):
    await harness.say(28, "/add BTC SOL")
    await harness.say(29, "/add BTC")
    assert "SOL removed" in await harness.text(28, "/remove sol")
    assert "SOL" not in harness.registry.symbols
    assert "BTC removed" in await harness.text(28, "/remove BTCUSDT")
    assert "BTC" in harness.registry.symbols  # user 29 still watches it
    assert "was not on your list" in await harness.text(28, "/remove ETH")
    assert "Which coin?" in await harness.text(28, "/remove")


async def test_list_shows_state_and_remove_buttons_confirm(harness):
    await harness.say(30, "/add BTC ETH")
    await harness.say(30, "/mute ETH 2h")
    await ThresholdRepo(harness.db).set(30, "BTC", "cascade", 5e6)
    (msg,) = [c for c in await harness.say(30, "/list") if c.method == "sendMessage"]
    text = msg.params["text"]
    assert "(2/30)" in text
    btc_line = next(line for line in text.splitlines() if "<b>BTC</b>" in line)
    eth_line = next(line for line in text.splitlines() if "<b>ETH</b>" in line)
    assert "⚙️ custom: Cascade size" in btc_line and "muted until" in eth_line
    await ThresholdRepo(harness.db).set(30, "BTC", "dominance", 0.7)
    await harness.say(30, "/add SOL")
    await harness.say(30, "/lang id")
    text = await harness.text(30, "/list")
    assert "• <b>BTC</b> ⚙️ khusus: Ukuran kaskade, Dominasi" in text
    assert "cascade" not in text and "dibisukan sampai" in text
    assert "• <b>SOL</b>\n" in text or text.endswith("• <b>SOL</b>")
    assert not [line for line in text.splitlines() if line != line.rstrip()]  # no trailing spaces
    await harness.say(30, "/lang en")
    assert (("✖ ETH", WatchCB(op="ask", symbol="ETH").pack())) in buttons(msg)

    replies = await harness.press(30, WatchCB(op="ask", symbol="ETH").pack())
    (edit,) = [c for c in replies if c.method == "editMessageText"]
    assert "Remove ETH" in edit.params["text"]
    assert [d for _, d in buttons(edit)] == [WatchCB(op="yes", symbol="ETH").pack(),
                                             WatchCB(op="no", symbol="ETH").pack()]
    replies = await harness.press(30, WatchCB(op="no", symbol="ETH").pack())
    assert await _symbols(harness, 30) == ["BTC", "ETH", "SOL"]
    replies = await harness.press(30, WatchCB(op="yes", symbol="ETH").pack())
    assert answers(replies) == [("ETH removed.", False)]
    assert "<b>ETH</b>" not in texts(replies)[-1]
    assert await _symbols(harness, 30) == ["BTC", "SOL"]


async def test_forged_watchlist_callbacks(harness):
    await harness.say(31, "/add BTC")
    await harness.say(32, "/add ETH")
    # user 31 cannot remove user 32's symbol: a button always acts on the presser's own list
    await harness.press(31, WatchCB(op="yes", symbol="ETH").pack())
    assert await _symbols(harness, 32) == ["ETH"]
    for data in ("w1:yes:btc';--", "w1:drop:BTC", "w1:yes", "w1:yes:BTC:extra", "garbage", "w1:yes:🚀"):
        replies = await harness.press(31, data)
        assert answers(replies) == [("This button is no longer valid.", True)], data
    assert await _symbols(harness, 31) == ["BTC"]


async def test_concurrent_remove_and_add_never_drop_a_watched_symbol(api, tmp_path):
    """/remove by the last watcher and /add by another user at the same time: the symbol must
    still be streamed. The remover's "does anyone still watch it?" read is held until the
    adder's reply is out (or 0.5 s pass), the interleaving that dropped it before."""
    h = await BotHarness(api, tmp_path / "race.db", concurrent=True).start()
    try:
        for uid, text in ((31, "/add BTC"), (32, "/start")):
            api.send_text(uid, text)
        assert await api.wait_for(lambda: api.texts_to(31) and api.texts_to(32))
        assert "BTC" in h.registry.symbols
        real_fetchall = h.db.fetchall
        armed, held = asyncio.Event(), asyncio.Event()
        replied = lambda: any("BTC added" in t for t in api.texts_to(32))  # noqa: E731

        async def fetchall(sql, params=()):
            rows = await real_fetchall(sql, params)
            if armed.is_set() and "watchlist" in sql and not held.is_set():
                held.set()  # the first watchlist read after /remove started: hold its answer
                await api.wait_for(replied, timeout=0.5)
            return rows

        h.db.fetchall = fetchall
        armed.set()
        api.send_text(31, "/remove BTC")
        assert await api.wait_for(held.is_set)
        api.send_text(32, "/add BTC")
        assert await api.wait_for(lambda: replied() and any("removed" in t for t in api.texts_to(31)))
        await asyncio.sleep(0.05)
        assert await WatchlistRepo(h.db).all_symbols() == {"BTC"}
        assert "BTC" in h.registry.symbols, h.registry.log
        # handlers and the access middleware (reactivation) share that one lock
        from bot.middlewares import AccessMiddleware

        access = [m for m in h.dp.message.outer_middleware if isinstance(m, AccessMiddleware)]
        assert access and access[0].subscriptions is h.dp["subscriptions"]
    finally:
        await h.stop()


async def test_add_in_simulator_mode_does_not_call_the_lists_unavailable(api, tmp_path):
    """MARKET_SOURCES=simulator (or replay:) fetches no venue list by design: /add says so instead
    of 'the venues' instrument lists are unavailable right now'."""
    from engine.feeds.instruments import InstrumentCatalog

    h = await BotHarness(api, tmp_path / "s.db", catalog=InstrumentCatalog(venues=()),
                         pending=PendingConfirmations()).start()
    try:
        text = await h.text(50, "/add BTC")
        assert "simulator or a recording" in text and "unavailable" not in text
        assert await _symbols(h, 50) == ["BTC"]
    finally:
        await h.stop()
