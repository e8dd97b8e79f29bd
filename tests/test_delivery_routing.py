"""Routing: who receives a signal (pure rules, table-driven) and the symbol index behind it."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, UTC

import pytest

from bot.delivery.outbox import HourlyCounter, OutboxWriter
from bot.delivery.routing import Skip, decide, in_quiet_window, route, threshold
from engine.signals import Kind, Tier
from engine.thresholds import defaults_for
from locales import translator
from storage import Database, OutboxRepo, SignalRepo, Subscriber, ThresholdRepo, User, UserRepo, WatchlistRepo
from tests.test_delivery_support import BIG, add_users, make_signal

NOW = 1_767_268_800  # 2026-01-01 12:00:00 UTC (noon)


def user(**kw) -> User:
    base = dict(id=1, chat_id=1, language="en", role="user", active=True,
                tiers=("URGENT", "WATCH", "INFO"), silent_tiers=("INFO",), muted_until=0,
                quiet_start=None, quiet_end=None, quiet_urgent_pierces=True, tz="UTC",
                hourly_cap=50, created_at=0, updated_at=0)
    base.update(kw)
    return User(**base)


def sig(tier=Tier.URGENT, symbol="BTC", confidence=90, magnitudes=None, kind=None):
    """A signal whose tier for a default BTC subscriber is ``tier`` (unless kind/magnitudes say
    otherwise: routing derives the tier from the size against the user's threshold)."""
    return make_signal(symbol, tier, kind=kind, confidence=confidence, magnitudes=magnitudes)


# (name, signal, user fields, symbol mute (epoch s), overrides, sent last hour) -> expected
MATRIX = [
    ("default user gets a big cascade", sig(), {}, 0, {}, 0, None),
    # tiers
    ("tier not chosen", sig(Tier.INFO, confidence=90), {"tiers": ("URGENT", "WATCH")}, 0, {}, 0, Skip.TIER),
    ("watch-size cascade, only urgent chosen", sig(Tier.WATCH), {"tiers": ("URGENT",)}, 0, {}, 0, Skip.TIER),
    ("the same cascade is urgent for a user with a 3x lower threshold", sig(Tier.WATCH), {"tiers": ("URGENT",)},
     0, {("*", "cascade"): 1_000_000}, 0, None),
    ("only urgent chosen, urgent", sig(), {"tiers": ("URGENT",)}, 0, {}, 0, None),
    ("no tiers at all", sig(), {"tiers": ()}, 0, {}, 0, Skip.TIER),
    # mutes
    ("muted everything", sig(), {"muted_until": NOW + 60}, 0, {}, 0, Skip.MUTED),
    ("mute expired", sig(), {"muted_until": NOW - 1}, 0, {}, 0, None),
    ("symbol muted", sig(), {}, NOW + 3600, {}, 0, Skip.SYMBOL_MUTED),
    ("symbol mute expired", sig(), {}, NOW, {}, 0, None),
    # quiet hours (NOW is 12:00 UTC)
    ("quiet now, watch", sig(Tier.WATCH), {"quiet_start": "11:00", "quiet_end": "13:00"}, 0, {}, 0, Skip.QUIET),
    ("quiet now, urgent pierces", sig(), {"quiet_start": "11:00", "quiet_end": "13:00"}, 0, {}, 0, None),
    ("quiet now, urgent does not pierce", sig(),
     {"quiet_start": "11:00", "quiet_end": "13:00", "quiet_urgent_pierces": False}, 0, {}, 0, Skip.QUIET),
    ("quiet later", sig(Tier.WATCH), {"quiet_start": "22:00", "quiet_end": "07:00"}, 0, {}, 0, None),
    ("quiet window wraps midnight, in Jakarta it is 19:00", sig(Tier.WATCH),
     {"quiet_start": "18:00", "quiet_end": "06:00", "tz": "Asia/Jakarta"}, 0, {}, 0, Skip.QUIET),
    ("quiet end is exclusive", sig(Tier.WATCH), {"quiet_start": "06:00", "quiet_end": "12:00"}, 0, {}, 0, None),
    # thresholds: per-symbol, else global '*', else default
    ("cascade below default for BTC", sig(magnitudes={"liq_usd": 1_500_000, "dominance": 0.9}), {}, 0, {}, 0,
     Skip.CASCADE),
    ("global override lowers cascade", sig(magnitudes={"liq_usd": 1_500_000, "dominance": 0.9}), {}, 0,
     {("*", "cascade"): 1_000_000}, 0, None),
    ("per-symbol beats global", sig(magnitudes={"liq_usd": 1_500_000, "dominance": 0.9}), {}, 0,
     {("*", "cascade"): 1_000_000, ("BTC", "cascade"): 3_000_000}, 0, Skip.CASCADE),
    ("other symbol's override does not apply", sig(magnitudes={"liq_usd": 1_500_000, "dominance": 0.9}), {}, 0,
     {("ETH", "cascade"): 1_000_000}, 0, Skip.CASCADE),
    ("dominance below 65 %", sig(magnitudes={"liq_usd": 5e6, "dominance": 0.6}), {}, 0, {}, 0, Skip.DOMINANCE),
    ("dominance override 55 %", sig(magnitudes={"liq_usd": 5e6, "dominance": 0.6}), {}, 0,
     {("BTC", "dominance"): 0.55}, 0, None),
    # the contract: an above-threshold cascade or funding extreme reaches the user whatever its score
    ("cascade at the threshold with a low score", sig(confidence=20,
     magnitudes={"liq_usd": 2_000_000, "dominance": 1.0}), {}, 0, {}, 0, None),
    ("funding extreme with a low score", sig(kind=Kind.FUNDING_EXTREME, confidence=30,
     magnitudes={"funding_8h": 0.001}), {}, 0, {}, 0, None),
    # the score filters only kinds without a size knob
    ("divergence: score below default 50", sig(kind=Kind.DIVERGENCE, confidence=45,
     magnitudes={"spread_bps": 40}), {}, 0, {}, 0, Skip.SCORE),
    ("volume spike: score override 60", sig(kind=Kind.VOLUME_SPIKE, confidence=65,
     magnitudes={"volume_usd": 1e6}), {}, 0, {("*", "score"): 60}, 0, None),
    ("volume spike below a score override 70", sig(kind=Kind.VOLUME_SPIKE, confidence=65,
     magnitudes={"volume_usd": 1e6}), {}, 0, {("*", "score"): 70}, 0, Skip.SCORE),
    ("whale: user wants bigger whales", sig(kind=Kind.ACCUMULATION, magnitudes={"whale_usd": 25_000, "dominance": 0.8}),
     {}, 0, {("BTC", "whale"): 50_000}, 0, Skip.WHALE),
    ("whale: default for BTC is 25K", sig(kind=Kind.ACCUMULATION, magnitudes={"whale_usd": 25_000, "dominance": 0.8}),
     {}, 0, {}, 0, None),
    ("funding: |negative| above 0.05 %", sig(kind=Kind.FUNDING_EXTREME, magnitudes={"funding_8h": -0.0008}),
     {}, 0, {}, 0, None),
    ("funding: below user's 0.1 %", sig(kind=Kind.FUNDING_EXTREME, magnitudes={"funding_8h": -0.0008}), {}, 0,
     {("*", "funding"): 0.001}, 0, Skip.FUNDING),
    ("a threshold for another kind does not apply", sig(kind=Kind.DIVERGENCE, magnitudes={"spread_bps": 40}),
     {}, 0, {("*", "cascade"): 1e12}, 0, None),
    # hourly cap
    ("under the cap", sig(), {"hourly_cap": 5}, 0, {}, 4, None),
    ("at the cap", sig(), {"hourly_cap": 5}, 0, {}, 5, Skip.CAP),
]


@pytest.mark.parametrize("name,signal,fields,sym_mute,overrides,sent,expected", MATRIX, ids=[m[0] for m in MATRIX])
def test_routing_matrix(name, signal, fields, sym_mute, overrides, sent, expected):
    assert decide(signal, user(**fields), sym_mute, overrides, now_s=NOW, sent_last_hour=sent) == expected


def test_matrix_noon_is_noon():
    assert datetime.fromtimestamp(NOW, tz=UTC).hour == 12


@pytest.mark.parametrize("start,end,minute,inside", [
    ("22:00", "07:00", 23 * 60, True), ("22:00", "07:00", 6 * 60 + 59, True),
    ("22:00", "07:00", 7 * 60, False), ("22:00", "07:00", 21 * 60 + 59, False),
    ("01:00", "02:00", 60, True), ("01:00", "02:00", 120, False), (None, None, 0, False),
])
def test_quiet_window(start, end, minute, inside):
    assert in_quiet_window(start, end, minute) is inside


def test_threshold_resolution_order():
    d = defaults_for("PEPE")
    assert threshold({}, "PEPE", "cascade", d) == 100_000
    assert threshold({("*", "cascade"): 7.0}, "PEPE", "cascade", d) == 7.0
    assert threshold({("*", "cascade"): 7.0, ("PEPE", "cascade"): 9.0}, "PEPE", "cascade", d) == 9.0


def test_route_marks_silent_tiers_and_counts_reasons():
    subs = [
        Subscriber(user(id=1, chat_id=1), 0),
        Subscriber(user(id=2, chat_id=2, silent_tiers=("WATCH", "INFO")), 0),
        Subscriber(user(id=3, chat_id=3, tiers=("URGENT",)), 0),
        Subscriber(user(id=4, chat_id=4), NOW + 60),
    ]
    recipients, skipped = route(sig(Tier.WATCH), subs, {}, now_s=NOW, sent_last_hour={})
    assert [(r.user.id, r.silent) for r in recipients] == [(1, False), (2, True)]
    assert skipped == {"tier": 1, "symbol_muted": 1}


def test_hourly_counter_forgets_after_an_hour():
    c = HourlyCounter()
    hour = 3_600_000_000_000
    for t in (0, 10, 20):
        c.add(7, t)
    assert c.count(7, 30) == 3
    assert c.count(7, hour + 15) == 1
    assert c.count(7, 3 * hour) == 0 and c.count(8, 0) == 0


# ---- against the database -----------------------------------------------------------------

@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.db")
    yield database
    await database.close()


async def test_accept_routes_only_watchers_and_applies_stored_preferences(db):
    await add_users(db, [1, 2, 3, 4], ("BTC",))
    await add_users(db, [5, 6], ("ETH",))
    users, watch, thr = UserRepo(db), WatchlistRepo(db), ThresholdRepo(db)
    await users.set_language(2, "id")
    await users.set_tiers(3, ["URGENT"], [])
    await watch.set_symbol_mute(4, "BTC", int(time.time()) + 3600)
    await thr.set(1, "*", "cascade", 10_000_000)  # user 1 wants only bigger cascades
    await thr.set(1, "BTC", "cascade", 1_000_000)  # ... but for BTC less: per-symbol wins
    writer = OutboxWriter(db, translator())
    accepted = await writer.accept(make_signal("BTC", Tier.WATCH, magnitudes={"liq_usd": 2_500_000, "dominance": 0.9}))
    assert sorted(it.user_id for it in accepted.rows) == [1, 2]
    assert accepted.skipped == {"tier": 1, "symbol_muted": 1}
    by_user = {it.user_id: it for it in accepted.rows}
    assert "LIQUIDATION CASCADE" in by_user[1].text and by_user[1].lang == "en"
    assert by_user[2].lang == "id" and by_user[2].text != by_user[1].text
    rows = [await OutboxRepo(db).get(it.id) for it in accepted.rows]
    assert all(r.state == "pending" and r.recv_ns and r.signal_ns and r.exchange_ms for r in rows)
    # the same signal again adds nothing (UNIQUE(user, signal))
    again = await writer.accept(make_signal("BTC", Tier.WATCH, magnitudes=BIG, sid=accepted.signal_id))
    assert again.rows == []


async def test_inactive_user_is_not_routed_until_start(db):
    await add_users(db, [1, 2], ("BTC",))
    users = UserRepo(db)
    await users.set_active(2, False)
    writer = OutboxWriter(db, translator())
    assert [it.user_id for it in (await writer.accept(make_signal("BTC"))).rows] == [1]
    await users.upsert_on_start(2, 2, "en")  # /start reactivates
    assert [it.user_id for it in (await writer.accept(make_signal("BTC"))).rows] == [1, 2]


async def test_hourly_cap_counts_accepted_alerts_and_survives_restart(db):
    await add_users(db, [1], ("BTC",))
    await UserRepo(db).set_hourly_cap(1, 2)
    writer = OutboxWriter(db, translator())
    got = [len((await writer.accept(make_signal("BTC"))).rows) for _ in range(3)]
    assert got == [1, 1, 0]
    fresh = OutboxWriter(db, translator())  # a restarted process counts from the outbox
    assert len((await fresh.accept(make_signal("BTC"))).rows) == 0


@asynccontextmanager
async def statements_run(db: Database) -> AsyncIterator[list[str]]:
    """Every SQL statement the repositories run on ``db``'s connection, as SQLite runs it
    (sqlite3's trace callback gives the statement with its parameters bound)."""
    seen: list[str] = []
    conn = db._connection()  # the one connection every repository goes through
    await conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        await conn.set_trace_callback(None)


async def query_plans(db: Database, statements: list[str]) -> list[tuple[str, str]]:
    plans = []
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT"):
            rows = await db.fetchall("EXPLAIN QUERY PLAN " + sql)
            plans.append((sql, " | ".join(str(r[3]) for r in rows)))
    return plans


def uses_index(plan: str, search: str) -> bool:
    """The plan starts with ``search`` and makes no full pass over any table or index."""
    return plan.startswith(search) and "SCAN " not in plan


# (repository call, the index search its plan must start with); the REAL queries are run
WATCHERS_OF = "SEARCH w USING {}INDEX watchlist_symbol_user (symbol=?"
INDEXED_LOOKUPS = [
    ("users_for_symbol_page", lambda db: WatchlistRepo(db).users_for_symbol_page("BTC", 5, 50),
     WATCHERS_OF.format("")),
    ("for_watchers_of", lambda db: ThresholdRepo(db).for_watchers_of("BTC"), WATCHERS_OF.format("COVERING ")),
    # the detector floors' recompute (bot/subscriptions.py): active watchers only, one query
    ("for_watchers_of, active", lambda db: ThresholdRepo(db).for_watchers_of("BTC", active_only=True),
     WATCHERS_OF.format("COVERING ")),
    ("earlier_deliveries", lambda db: OutboxRepo(db).earlier_deliveries("sig-1", [1, 2, 3]),
     "SEARCH outbox USING INDEX sqlite_autoindex_outbox_1 (user_id=? AND signal_id=?)"),
    ("sent_message_id", lambda db: OutboxRepo(db).sent_message_id(1, "sig-1", 1),
     "SEARCH outbox USING INDEX sqlite_autoindex_outbox_1 (user_id=? AND signal_id=?)"),
    # edits (issue #9): an update's recipients, the pending edit of a message, a message's rows
    ("rows_of_signal", lambda db: OutboxRepo(db).rows_of_signal("sig-1"),
     "SEARCH outbox USING INDEX outbox_signal (signal_id=?)"),
    ("pending_edit_of", lambda db: OutboxRepo(db).pending_edit_of(7),
     "SEARCH outbox USING INDEX outbox_edit_of (edit_of=?)"),
    ("message_rows", lambda db: OutboxRepo(db).message_rows(1, 1001),
     "SEARCH outbox USING INDEX outbox_message (chat_id=? AND message_id=?)"),
    # the sender pages due rows in send order through (state, priority, id): no sort, no scan
    ("due", lambda db: OutboxRepo(db).due(2**62, 256), "SEARCH outbox USING INDEX outbox_state_priority"),
    ("due, read on", lambda db: OutboxRepo(db).due(2**62, 256, after=(1, 500)),
     "SEARCH outbox USING INDEX outbox_state_priority"),
    # chats read past are stepped over inside the same index walk
    ("due, chats read past", lambda db: OutboxRepo(db).due(2**62, 256, after=(1, 500), skip=[1, 2]),
     "SEARCH outbox USING INDEX outbox_state_priority"),
    # when the next retry is due: one probe of the partial index of pending rows (migration
    # 10), not a pass over every pending row under the database lock
    ("next_due_ns", lambda db: OutboxRepo(db).next_due_ns(2**40),
     "SEARCH outbox USING INDEX outbox_pending_next (next_attempt_ns>?)"),
    # one chat's next due rows (its share of the read-ahead ran out): that chat's pending rows
    ("due_for_chat", lambda db: OutboxRepo(db).due_for_chat(1, 2**62, 32, after=(1, 5)),
     "SEARCH outbox USING INDEX outbox_pending_chat (chat_id=?"),
    ("due_for_chat, bounded", lambda db: OutboxRepo(db).due_for_chat(1, 2**62, 32, after=(1, 5),
                                                                      before=(2, 900)),
     "SEARCH outbox USING INDEX outbox_pending_chat (chat_id=?"),
]


@pytest.mark.parametrize("analyzed", [False, True], ids=["fresh", "analyzed"])
@pytest.mark.parametrize("name, call, search", INDEXED_LOOKUPS, ids=[c[0] for c in INDEXED_LOOKUPS])
async def test_lookups_use_the_symbol_index(db, name, call, search, analyzed):
    """Routing reads subscribers through watchlist(symbol) and threading reads the earlier
    alert's rows through UNIQUE(user_id, signal_id): the cost follows the symbol's watchers,
    never the whole user base, the thresholds table or the outbox. The statements checked are
    the ones the repository methods run, captured while they run — with and without the
    ANALYZE statistics that ``PRAGMA optimize`` leaves behind in a long-running database."""
    await add_users(db, range(1, 11), ("BTC", "ETH"))  # few watch BTC ...
    await add_users(db, range(11, 301), ("ETH", "SOL"))  # ... most users watch other symbols
    for uid in range(1, 301, 3):
        await ThresholdRepo(db).set(uid, "*", "cascade", 1_000_000)
        await ThresholdRepo(db).set(uid, "ETH", "whale", 100_000)
    if analyzed:
        await db.execute("ANALYZE")
    async with statements_run(db) as seen:
        await call(db)
    plans = await query_plans(db, seen)
    assert plans, f"{name} ran no SELECT: {seen}"
    for sql, plan in plans:
        assert uses_index(plan, search), (sql, plan)


async def test_the_index_check_sees_a_query_that_stops_using_the_index(db, monkeypatch):
    """The check above looks at what runs: a repository query that can no longer use the
    index (``+w.symbol`` disables it) shows up as a scan."""
    async def unindexed(self, symbol, after_user_id=0, limit=500):
        return await self._db.fetchall(
            "SELECT w.user_id FROM watchlist w WHERE +w.symbol = ?", (symbol,))

    monkeypatch.setattr(WatchlistRepo, "users_for_symbol_page", unindexed)
    await add_users(db, range(1, 5), ("BTC",))
    async with statements_run(db) as seen:
        await WatchlistRepo(db).users_for_symbol_page("BTC")
    [(sql, plan)] = await query_plans(db, seen)
    assert "+w.symbol = 'BTC'" in sql  # what ran, parameters bound
    assert not uses_index(plan, WATCHERS_OF.format("")), plan


async def test_routing_touches_only_watchers(db):
    await add_users(db, range(1, 51), ("BTC",))
    await add_users(db, range(100, 2100), ("ETH",))
    subs = await WatchlistRepo(db).users_for_symbol_page("BTC", 0, 500)
    overrides = await ThresholdRepo(db).for_watchers_of("BTC")
    assert len(subs) == 50 and overrides == {}
    assert replace(subs[0].user, id=0).active


async def test_paged_fanout_cut_off_by_a_crash_is_resumed_without_duplicates(db):
    await add_users(db, range(1, 8), ("BTC",))
    writer = OutboxWriter(db, translator())
    pages: list[list[int]] = []

    def crash_after_first_page(items):
        pages.append([it.user_id for it in items])
        raise RuntimeError("process died")

    with pytest.raises(RuntimeError):
        await writer.accept(make_signal("BTC", sid="cut"), crash_after_first_page, page_size=3)
    assert pages == [[1, 2, 3]]  # the first page was durable and handed on before the crash
    assert [s.id for s in await SignalRepo(db).fanout_unfinished()] == ["cut"]

    restarted = OutboxWriter(db, translator())
    assert await restarted.resume_unfinished(page_size=3) == 1
    assert await SignalRepo(db).fanout_unfinished() == []
    rows = await db.fetchall("SELECT user_id FROM outbox WHERE signal_id = 'cut' ORDER BY user_id")
    assert [r[0] for r in rows] == list(range(1, 8))  # everyone once


async def test_resumed_fanout_that_now_fits_one_page_is_marked_done(db):
    """Watchers left between the crash and the restart: the resumed fan-out is one page."""
    await add_users(db, range(1, 8), ("BTC",))
    writer = OutboxWriter(db, translator())

    def crash(items):
        raise RuntimeError("process died")

    with pytest.raises(RuntimeError):
        await writer.accept(make_signal("BTC", sid="cut"), crash, page_size=3)
    for uid in range(3, 8):  # two watchers left: the resumed fan-out is a single, short page
        await WatchlistRepo(db).remove(uid, "BTC")
    restarted = OutboxWriter(db, translator())
    assert await restarted.resume_unfinished(page_size=3) == 1
    assert await SignalRepo(db).fanout_unfinished() == []  # not resumed again on every start


async def test_single_page_fanout_is_marked_done(db):
    await add_users(db, range(1, 4), ("BTC",))
    accepted = await OutboxWriter(db, translator()).accept(make_signal("BTC"), page_size=3)
    assert len(accepted.rows) == 3
    assert await SignalRepo(db).fanout_unfinished() == []
