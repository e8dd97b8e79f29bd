"""storage/: opening safely, migrations from every version, repositories, concurrency."""
from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from pathlib import Path

import aiosqlite
import pytest

from storage import (
    APPLICATION_ID,
    LATEST_VERSION,
    AccessRepo,
    ConstraintError,
    Database,
    OutboxRepo,
    OutboxRow,
    OutcomeRepo,
    OutcomeWrite,
    SignalRepo,
    StorageError,
    ThresholdRepo,
    UserRepo,
    WatchlistRepo,
)
from storage.migrations import MIGRATIONS, apply_migrations, split_statements

TABLES = {"users", "access", "watchlist", "thresholds", "signals", "outcomes", "outbox"}
NS = 1_000_000_000


@pytest.fixture
async def db(tmp_path: Path):
    database = await Database.open(tmp_path / "teleglas.db")
    yield database
    await database.close()


async def schema_of(path: Path) -> tuple:
    """Everything that defines the schema, comparable between two files."""
    async with aiosqlite.connect(path) as conn:
        master = await conn.execute_fetchall(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name != 'sqlite_sequence' ORDER BY type, name"
        )
        pragmas = []
        for name in ("user_version", "application_id"):
            async with conn.execute(f"PRAGMA {name}") as cur:
                pragmas.append((await cur.fetchone())[0])
    return tuple(map(tuple, master)), tuple(pragmas)


async def add_user(db: Database, user_id: int, *, chat_id: int | None = None, language: str = "en"):
    return await UserRepo(db).upsert_on_start(user_id, chat_id or user_id * 10, language)


def message(user_id: int, signal_id: str, priority: int = 1, **kw) -> OutboxRow:
    return OutboxRow(
        user_id=user_id, chat_id=user_id * 10, signal_id=signal_id, tier="WATCH",
        priority=priority, text=f"alert {signal_id} for {user_id}", **kw,
    )


# ---------------------------------------------------------------------------- opening


async def test_fresh_database_has_all_tables_and_latest_version(db: Database):
    names = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert TABLES <= names
    assert await db.fetchval("PRAGMA user_version") == LATEST_VERSION == len(MIGRATIONS)
    assert await db.fetchval("PRAGMA application_id") == APPLICATION_ID == 0x54474C53
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    assert await db.fetchval("PRAGMA synchronous") == 1  # NORMAL
    assert await db.fetchval("PRAGMA busy_timeout") == 5000
    indexes = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"watchlist_symbol", "signals_symbol_ts", "outbox_state_priority"} <= indexes


async def test_empty_file_opens_as_fresh_database(tmp_path: Path):
    path = tmp_path / "empty.db"
    path.touch()
    async with await Database.open(path) as database:
        assert await database.fetchval("PRAGMA user_version") == LATEST_VERSION


async def test_in_memory_database_works(tmp_path: Path):
    async with await Database.open(":memory:") as database:
        await add_user(database, 1)
        assert await UserRepo(database).count() == 1
        assert await database.fetchval("PRAGMA user_version") == LATEST_VERSION


async def test_reopen_keeps_everything(tmp_path: Path):
    path = tmp_path / "teleglas.db"
    async with await Database.open(path) as database:
        users = UserRepo(database)
        await add_user(database, 7, language="id")
        await users.set_tiers(7, ["URGENT", "WATCH"], ["WATCH"])
        await users.set_quiet(7, "22:30", "07:00", urgent_pierces=False)
        await users.set_tz(7, "Asia/Jakarta")
        await users.set_mute(7, 1_900_000_000)
        await users.set_role(7, "admin")
        await AccessRepo(database).allow(7, by=1)
        watch = WatchlistRepo(database)
        assert await watch.add(7, "BTC")
        assert await watch.add(7, "SOL")
        await watch.set_symbol_mute(7, "SOL", 1_800_000_000)
        await ThresholdRepo(database).set(7, "*", "score", 80)
        await ThresholdRepo(database).set(7, "BTC", "cascade", 5_000_000)
        await SignalRepo(database).insert(
            "sig-1", "STOP_HUNT", "BTC", "LONG", "URGENT", 85, 1_700_000_000_000, 5, 6, b'{"a":1}'
        )
        await OutcomeRepo(database).save_many([OutcomeWrite(
            "sig-1", "STOP_HUNT", "BTC", "LONG", "URGENT", 85, 1_700_000_000_000, 5, 6, b'{"a":1}',
            result="WIN", final=True, hit=True, r=1.5, mfe=1.5, mae=-0.3, ttr_s=60.0,
            resolved_ts=1_700_000_100_000, details=b"{}")])
        ids = await OutboxRepo(database).enqueue_many([message(7, "sig-1", 0, silent=True)])
        assert len(ids) == 1

    async with await Database.open(path) as database:
        user = await UserRepo(database).get(7)
        assert user is not None
        assert (user.chat_id, user.language, user.role, user.tz) == (70, "id", "admin", "Asia/Jakarta")
        assert user.tiers == ("URGENT", "WATCH") and user.silent_tiers == ("WATCH",)
        assert (user.quiet_start, user.quiet_end, user.quiet_urgent_pierces) == ("22:30", "07:00", False)
        assert user.muted_until == 1_900_000_000 and user.is_muted(1_899_999_999)
        assert await AccessRepo(database).is_allowed(7)
        entries = await WatchlistRepo(database).list_for_user(7)
        assert [(e.symbol, e.muted_until) for e in entries] == [("BTC", 0), ("SOL", 1_800_000_000)]
        assert await ThresholdRepo(database).get_all(7) == {("*", "score"): 80.0, ("BTC", "cascade"): 5e6}
        stored = await SignalRepo(database).get("sig-1")
        assert stored is not None and stored.payload == b'{"a":1}' and stored.confidence == 85
        outcome = await OutcomeRepo(database).get("sig-1")
        assert outcome is not None and (outcome.result, outcome.mfe) == ("WIN", 1.5)
        row = await OutboxRepo(database).get(ids[0])
        assert row is not None
        assert (row.signal_id, row.state, row.silent, row.priority) == ("sig-1", "pending", True, 0)


@pytest.mark.parametrize("start_version", range(LATEST_VERSION + 1))
async def test_migrations_from_every_old_version_reach_the_fresh_schema(tmp_path: Path, start_version: int):
    fresh = tmp_path / "fresh.db"
    async with await Database.open(fresh):
        pass

    old = tmp_path / f"v{start_version}.db"
    async with aiosqlite.connect(old, isolation_level=None) as conn:
        assert await apply_migrations(conn, target=start_version) == start_version
        async with conn.execute("PRAGMA user_version") as cur:
            assert (await cur.fetchone())[0] == start_version
        if start_version >= 1:  # data written at the old version must survive
            await conn.execute(
                "INSERT INTO users (id, chat_id, created_at, updated_at) VALUES (5, 50, 1, 1)"
            )
    async with await Database.open(old) as database:
        user = await UserRepo(database).get(5)
        assert (user is not None) == (start_version >= 1)

    assert await schema_of(old) == await schema_of(fresh)
    assert (await schema_of(fresh))[1] == (LATEST_VERSION, APPLICATION_ID)


async def test_failed_migration_leaves_the_old_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import storage.migrations as migrations

    path = tmp_path / "teleglas.db"
    async with await Database.open(path):
        pass
    broken = "CREATE TABLE extra (x INTEGER); INSERT INTO no_such_table VALUES (1);"
    monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, broken])
    monkeypatch.setattr(migrations, "LATEST_VERSION", LATEST_VERSION + 1)
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            await migrations.apply_migrations(conn)
        async with conn.execute("PRAGMA user_version") as cur:
            assert (await cur.fetchone())[0] == LATEST_VERSION
        names = [r[0] for r in await conn.execute_fetchall("SELECT name FROM sqlite_master")]
        assert "extra" not in names  # the DDL was rolled back with the version bump


def test_split_statements_keeps_semicolons_inside_strings_and_comments():
    script = "CREATE TABLE a (x TEXT DEFAULT ';'); -- note; with semicolon\nINSERT INTO a VALUES ('b;c');\n"
    assert split_statements(script) == [
        "CREATE TABLE a (x TEXT DEFAULT ';');",
        "-- note; with semicolon\nINSERT INTO a VALUES ('b;c');",
    ]


async def test_random_bytes_file_is_refused_clearly(tmp_path: Path):
    path = tmp_path / "junk.db"
    data = os.urandom(4096)
    path.write_bytes(data)
    with pytest.raises(StorageError) as err:
        await Database.open(path)
    assert str(err.value) == f"{path} is not a TELEGLAS database (file is not SQLite or is corrupted)"
    assert path.read_bytes() == data


async def test_corrupted_sqlite_file_is_refused_clearly(tmp_path: Path):
    path = tmp_path / "corrupt.db"
    async with await Database.open(path):
        pass
    raw = bytearray(path.read_bytes())
    raw[16:100] = os.urandom(84)  # valid magic string, garbage header
    path.write_bytes(bytes(raw))
    with pytest.raises(StorageError, match="not SQLite or is corrupted"):
        await Database.open(path)


async def test_foreign_sqlite_database_is_refused_and_untouched(tmp_path: Path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE foo (x INTEGER)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StorageError) as err:
        await Database.open(path)
    text = str(err.value)
    assert "another application" in text and "foo" in text and str(path) in text
    assert path.read_bytes() == before  # not switched to WAL, not migrated
    assert not await asyncio.to_thread(Path(f"{path}-wal").exists)


async def test_other_application_id_is_refused_even_when_empty(tmp_path: Path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1234")
    conn.close()
    with pytest.raises(StorageError, match="another application"):
        await Database.open(path)


async def test_newer_schema_is_refused(tmp_path: Path):
    path = tmp_path / "teleglas.db"
    async with await Database.open(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(StorageError) as err:
        await Database.open(path)
    assert str(err.value) == (
        f"{path}: schema version 999 is newer than this TELEGLAS "
        f"(knows up to {LATEST_VERSION}); upgrade TELEGLAS"
    )


async def test_missing_directory_is_refused(tmp_path: Path):
    path = tmp_path / "nope" / "teleglas.db"
    with pytest.raises(StorageError) as err:
        await Database.open(path)
    assert f"directory {tmp_path / 'nope'} does not exist" in str(err.value)
    assert not path.parent.exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
async def test_unwritable_directory_is_refused(tmp_path: Path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(StorageError, match="is not writable"):
            await Database.open(locked / "teleglas.db")
    finally:
        locked.chmod(0o700)


async def test_path_that_is_a_directory_is_refused(tmp_path: Path):
    with pytest.raises(StorageError, match="is a directory"):
        await Database.open(tmp_path)


async def test_failed_opens_leave_no_connection_threads(tmp_path: Path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"SQLite format 3\x00" + os.urandom(2000))
    newer = tmp_path / "newer.db"
    async with await Database.open(newer):
        pass
    sqlite3.connect(newer).execute("PRAGMA user_version = 50").connection.close()
    before = threading.active_count()
    for path in (junk, newer):
        with pytest.raises(StorageError):
            await Database.open(path)
    for _ in range(100):
        if threading.active_count() <= before:
            break
        await asyncio.sleep(0.01)
    assert threading.active_count() == before


async def test_closed_database_says_so(tmp_path: Path):
    database = await Database.open(tmp_path / "t.db")
    await database.close()
    await database.close()  # idempotent
    assert database.closed
    with pytest.raises(StorageError, match="is closed"):
        await database.fetchval("SELECT 1")


# ---------------------------------------------------------------------------- transactions


async def test_transaction_rolls_back_on_error(db: Database):
    await add_user(db, 1)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await WatchlistRepo(db).add(1, "BTC")
            await ThresholdRepo(db).set(1, "BTC", "whale", 1)
            raise RuntimeError("boom")
    assert await WatchlistRepo(db).count_for_user(1) == 0
    assert await ThresholdRepo(db).get_all(1) == {}


async def test_nested_transaction_is_a_savepoint(db: Database):
    await add_user(db, 1)
    watch = WatchlistRepo(db)
    async with db.transaction():
        await watch.add(1, "BTC")
        with pytest.raises(ValueError):
            async with db.transaction():
                await watch.add(1, "ETH")
                raise ValueError
        await watch.add(1, "SOL")
    assert [e.symbol for e in await watch.list_for_user(1)] == ["BTC", "SOL"]


async def test_other_coroutines_never_land_in_a_failing_transaction(db: Database):
    """A statement from coroutine B must not be rolled back by coroutine A's ROLLBACK."""
    for uid in range(1, 21):
        await add_user(db, uid)
    watch = WatchlistRepo(db)

    async def failing(uid: int) -> None:
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await watch.add(uid, "LOST")
                await asyncio.sleep(0.001)  # give everybody else a chance to run
                raise RuntimeError

    async def plain(uid: int) -> None:
        await asyncio.sleep(0)
        assert await watch.add(uid, "KEPT")

    await asyncio.gather(*(failing(u) if u % 2 else plain(u) for u in range(1, 21)))
    assert await db.fetchval("SELECT COUNT(*) FROM watchlist WHERE symbol = 'LOST'") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM watchlist WHERE symbol = 'KEPT'") == 10


async def test_cancelled_transaction_rolls_back_and_releases_the_lock(db: Database):
    await add_user(db, 1)
    watch = WatchlistRepo(db)
    inside = asyncio.Event()

    async def slow() -> None:
        async with db.transaction():
            await watch.add(1, "BTC")
            inside.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(slow())
    await asyncio.wait_for(inside.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.wait_for(watch.add(1, "ETH"), 5)
    assert [e.symbol for e in await watch.list_for_user(1)] == ["ETH"]


async def test_tasks_spawned_inside_a_transaction_join_it(db: Database):
    await add_user(db, 1)
    watch = WatchlistRepo(db)

    async def batch() -> None:
        async with db.transaction():
            await asyncio.gather(*(watch.add(1, f"C{i}") for i in range(5)))

    await asyncio.wait_for(batch(), 5)  # would deadlock if children waited for the lock
    assert await watch.count_for_user(1) == 5


async def test_200_concurrent_writers_stay_consistent(db: Database):
    users = 20
    for uid in range(1, users + 1):
        await add_user(db, uid)
    watch, limits, outbox = WatchlistRepo(db), ThresholdRepo(db), OutboxRepo(db)

    async def worker(i: int) -> list[int]:
        uid = i % users + 1
        assert await watch.add(uid, f"C{i}")
        await limits.set(uid, f"C{i}", "whale", float(i))
        await limits.set(uid, "*", "score", 70)  # same key from many coroutines: an upsert
        # every (user, signal) is offered twice, by two different coroutines
        prev = (i - 1) % 200
        return await outbox.enqueue_many(
            [message(uid, f"sig-{i}", i % 3), message(prev % users + 1, f"sig-{prev}", prev % 3)]
        )

    results = await asyncio.gather(*(worker(i) for i in range(200)))
    new_ids = [row_id for ids in results for row_id in ids]
    assert len(new_ids) == len(set(new_ids)) == 200
    assert await db.fetchval("SELECT COUNT(*) FROM watchlist") == 200
    assert await db.fetchval("SELECT COUNT(*) FROM thresholds WHERE key = 'whale'") == 200
    assert await db.fetchval("SELECT COUNT(*) FROM thresholds WHERE symbol = '*'") == users
    assert await db.fetchval("SELECT COUNT(*) FROM outbox") == 200
    assert await db.fetchval("SELECT COUNT(DISTINCT user_id || '/' || signal_id) FROM outbox") == 200
    assert sum([await watch.count_for_user(u) for u in range(1, users + 1)]) == 200
    overrides = await limits.all_overrides()
    assert sum(len(v) for v in overrides.values()) == 200 + users
    assert await db.fetchval("PRAGMA integrity_check") == "ok"


# ---------------------------------------------------------------------------- users & access


async def test_upsert_on_start_creates_then_reactivates_keeping_language(db: Database):
    users = UserRepo(db)
    created = await users.upsert_on_start(42, 420, "id")
    assert (created.chat_id, created.language, created.active, created.role) == (420, "id", True, "user")
    assert created.tiers == ("URGENT", "WATCH", "INFO") and created.silent_tiers == ("INFO",)
    assert (created.hourly_cap, created.tz, created.quiet_start) == (50, "UTC", None)
    assert await users.set_active(42, False)
    assert await users.set_language(42, "en")
    again = await users.upsert_on_start(42, 421, "id")
    assert (again.chat_id, again.language, again.active) == (421, "en", True)
    assert await users.count() == 1 and await users.count(active_only=True) == 1
    await users.upsert_on_start(43, 430, "en")
    await users.set_active(43, False)
    assert [u.id for u in await users.list_users()] == [42, 43]
    assert [u.id for u in await users.list_users(active_only=True)] == [42]


async def test_user_setters_validate_and_report_missing_users(db: Database):
    users = UserRepo(db)
    assert await users.set_language(999, "en") is False
    await add_user(db, 1)
    with pytest.raises(ValueError):
        await users.set_quiet(1, "25:00", "07:00")
    with pytest.raises(ValueError):
        await users.set_quiet(1, "22:00", None)
    with pytest.raises(ValueError):
        await users.set_tz(1, "Mars/Olympus")
    with pytest.raises(ValueError):
        await users.set_role(1, "owner")
    with pytest.raises(ValueError):
        await users.set_tiers(1, ["URGENT,WATCH"], [])
    assert await users.set_tiers(1, ["urgent", "URGENT", "INFO"], [])
    assert await users.set_quiet(1, None, None)
    user = await users.get(1)
    assert user is not None and user.tiers == ("URGENT", "INFO") and user.silent_tiers == ()


async def test_access_allow_deny(db: Database):
    access = AccessRepo(db)
    assert await access.allow(5, by=1) is True
    assert await access.allow(5, by=2) is False  # the first grant is kept
    assert await access.is_allowed(5) and not await access.is_allowed(6)
    assert [(a.user_id, a.allowed_by) for a in await access.list()] == [(5, 1)]
    assert await access.deny(5) is True and await access.deny(5) is False
    assert not await access.is_allowed(5)


# ---------------------------------------------------------------------------- watchlist & thresholds


async def test_watchlist_routing_queries(db: Database):
    for uid in (1, 2, 3):
        await add_user(db, uid)
    watch = WatchlistRepo(db)
    assert await watch.add(1, "BTC") and not await watch.add(1, "BTC")
    await watch.add(2, "BTC")
    await watch.add(3, "ETH")
    await watch.set_symbol_mute(2, "BTC", 123)
    await UserRepo(db).set_active(3, False)
    subs = await watch.users_for_symbol_page("BTC", 0, 50)
    assert [(s.user.id, s.user.chat_id, s.symbol_muted_until) for s in subs] == [(1, 10, 0), (2, 20, 123)]
    assert await watch.users_for_symbol_page("ETH", 0, 50) == []  # inactive users are not routed to
    assert await watch.all_symbols() == {"BTC"}
    assert await watch.remove(1, "BTC") and not await watch.remove(1, "BTC")
    assert await watch.set_symbol_mute(1, "BTC", 5) is False
    with pytest.raises(ConstraintError, match="user 77 is not registered"):
        await watch.add(77, "BTC")


async def test_deleting_a_user_cascades(db: Database):
    await add_user(db, 1)
    await WatchlistRepo(db).add(1, "BTC")
    await ThresholdRepo(db).set(1, "*", "score", 75)
    await OutboxRepo(db).enqueue_many([message(1, "s")])
    await db.execute("DELETE FROM users WHERE id = 1")
    for table in ("watchlist", "thresholds", "outbox"):
        assert await db.fetchval(f"SELECT COUNT(*) FROM {table}") == 0


async def test_thresholds_set_get_reset(db: Database):
    await add_user(db, 1)
    await add_user(db, 2)
    limits = ThresholdRepo(db)
    await limits.set(1, "*", "score", 70)
    await limits.set(1, "*", "score", 75)  # overwrite
    await limits.set(1, "BTC", "cascade", 3e6)
    await limits.set(1, "BTC", "whale", 50_000)
    await limits.set(2, "ETH", "whale", 30_000)
    assert await limits.get_all(1) == {("*", "score"): 75.0, ("BTC", "cascade"): 3e6, ("BTC", "whale"): 5e4}
    with pytest.raises(ValueError):
        await limits.set(1, "BTC", "whale", float("nan"))
    assert await limits.reset(1, "BTC", "whale") == 1
    assert await limits.reset(1, symbol="BTC") == 1
    assert await limits.all_overrides() == {1: {("*", "score"): 75.0}, 2: {("ETH", "whale"): 3e4}}
    assert await limits.reset(1) == 1
    assert await limits.get_all(1) == {}


# ---------------------------------------------------------------------------- signals


async def test_signals_recent_and_idempotent_insert(db: Database):
    signals = SignalRepo(db)
    for i, symbol in enumerate(["BTC", "ETH", "BTC", "SOL", "BTC"]):
        assert await signals.insert(
            f"s{i}", "VOLUME_SPIKE", symbol, "NEUTRAL", "INFO", 50, 1000 + i, None, None, b"{}"
        )
    assert not await signals.insert("s0", "VOLUME_SPIKE", "BTC", "NEUTRAL", "INFO", 50, 1, None, None, b"{}")
    assert [s.id for s in await signals.recent(["BTC", "SOL"], 3)] == ["s4", "s3", "s2"]
    assert [s.id for s in await signals.recent(iter(["ETH"]), 10)] == ["s1"]
    assert await signals.recent([], 10) == []
    assert await signals.get("missing") is None


# ---------------------------------------------------------------------------- outbox


async def test_outbox_accepts_a_user_signal_pair_at_most_once(db: Database):
    await add_user(db, 1)
    await add_user(db, 2)
    outbox = OutboxRepo(db)
    first = await outbox.enqueue_many([message(1, "a"), message(1, "a"), message(2, "a")])
    assert len(first) == 2
    again = await outbox.enqueue_many([message(1, "a"), message(2, "a"), message(1, "b")])
    assert len(again) == 1 and again[0] > max(first)
    assert await outbox.enqueue_many([]) == []
    # even after the row was sent, the same pair is not queued again
    claimed = await outbox.claim([*first, *again], 2**62)
    assert await outbox.mark_sent_many([row.id for row in claimed], 1, 1000) == 3
    assert await outbox.enqueue_many([message(1, "a")]) == []
    assert await db.fetchval("SELECT COUNT(*) FROM outbox") == 3


async def test_outbox_rejects_unknown_user_atomically(db: Database):
    await add_user(db, 1)
    outbox = OutboxRepo(db)
    with pytest.raises(ConstraintError, match="not registered"):
        await outbox.enqueue_many([message(1, "a"), message(99, "a")])
    assert await db.fetchval("SELECT COUNT(*) FROM outbox") == 0


async def test_due_pages_rows_in_send_order_and_claim_is_atomic(db: Database):
    """The sender's read: due pending rows by priority then FIFO, a page at a time (keyset on
    (priority, id)); claiming marks them 'sending' in one statement and returns them as claimed,
    and a row claimed once is never returned by a second claim."""
    await add_user(db, 1)
    outbox = OutboxRepo(db)
    priorities = [2, 0, 1, 0, 2, 1, 0]
    ids = await outbox.enqueue_many([message(1, f"s{i}", p) for i, p in enumerate(priorities)])
    expected = [ids[i] for i in sorted(range(len(ids)), key=lambda i: (priorities[i], i))]
    now = 2**62
    got: list[int] = []
    after = None
    while page := await outbox.due(now, 3, after=after):
        assert all(m.state == "pending" and m.attempts == 0 for m in page)
        got += [m.id for m in page]
        after = (page[-1].priority, page[-1].id)
    assert got == expected
    assert await outbox.due(now, 0) == []
    # what an update rewrote before the claim is what the claim returns
    assert await outbox.replace_pending_text(expected[0], "newest figures")
    claimed = await outbox.claim([expected[2], expected[0], expected[1]], 2**62)
    assert [m.id for m in claimed] == expected[:3]  # send order, whatever the order asked
    assert all(m.state == "sending" and m.attempts == 1 for m in claimed)
    assert claimed[0].text == "newest figures"
    assert not await outbox.replace_pending_text(expected[0], "too late")  # being sent
    assert await outbox.claim(expected[:3], 2**62) == []  # never twice
    assert [m.id for m in await outbox.due(now, 10)] == expected[3:]  # claimed rows are not due
    assert await outbox.claim([], 2**62) == []
    assert (await outbox.counts_by_state()) == {"pending": 4, "sending": 3, "sent": 0, "failed": 0}


async def test_retry_waits_for_next_attempt_and_states_are_guarded(db: Database):
    await add_user(db, 1)
    outbox = OutboxRepo(db)
    now = 1_000 * NS
    a_id, b_id, c_id = await outbox.enqueue_many(
        [message(1, "a", 0, enqueued_ns=now), message(1, "b", 1, enqueued_ns=now),
         message(1, "c", 2, enqueued_ns=now)]
    )
    claimed = await outbox.claim([a_id, b_id, c_id], 2**62)
    assert [m.id for m in claimed] == [a_id, b_id, c_id]
    assert await outbox.mark_retry_many([a_id], "502 Bad Gateway", now + 5 * NS) == 1
    # a 429's wait is no failure: the claim is not counted towards the backoff
    assert await outbox.mark_retry_many([c_id], "429 Too Many Requests", now + 2 * NS, failed=False) == 1
    assert await outbox.mark_sent_many([b_id], now + NS // 2, 555) == 1
    assert await outbox.mark_sent_many([b_id], now + NS, 556) == 0  # already sent
    assert await outbox.mark_retry_many([b_id], "late", 0) == 0  # not 'sending'
    assert await outbox.due(now + NS, 10) == []  # retries not due yet ...
    assert await outbox.next_due_ns(now + NS) == now + 2 * NS  # ... this is when the next one is
    assert [m.id for m in await outbox.due(now + 2 * NS, 10)] == [c_id]
    [retried, other] = await outbox.claim([a_id, c_id], 2**62)
    assert (retried.id, retried.attempts, retried.last_error) == (a_id, 2, "502 Bad Gateway")
    assert (other.id, other.attempts) == (c_id, 1)
    assert await outbox.next_due_ns(now + 2 * NS) is None
    assert await outbox.mark_failed_many([a_id], "Forbidden: bot was blocked by the user") == 1
    assert await outbox.mark_failed_many([a_id], "again") == 0
    failed = await outbox.get(a_id)
    assert failed is not None
    assert (failed.state, failed.last_error) == ("failed", "Forbidden: bot was blocked by the user")
    sent = await outbox.get(b_id)
    assert sent is not None and (sent.state, sent.sent_ns, sent.message_id) == ("sent", now + NS // 2, 555)
    assert [(t.outbox_id, t.sent_ns) for t in await outbox.delivery_timings_since(now)] == [(b_id, now + NS // 2)]
    assert await outbox.delivery_timings_since(now + NS) == []
    assert await outbox.counts_by_state() == {"pending": 0, "sending": 1, "sent": 1, "failed": 1}
    assert await outbox.purge_finished(now + 1) == 2


async def test_claim_never_takes_a_row_before_its_retry_is_due(db: Database):
    """A stale read of a row (due when read, put back to wait for a retry since) must not send
    it early: ``claim`` takes only rows due at the time it is given."""
    await add_user(db, 1)
    outbox = OutboxRepo(db)
    now = 1_000 * NS
    [a_id] = await outbox.enqueue_many([message(1, "a", 0, enqueued_ns=now)])
    [stale] = await outbox.due(now, 10)  # read while due
    assert [m.id for m in await outbox.claim([a_id], now)] == [a_id]
    assert await outbox.mark_retry_many([a_id], "502", now + 5 * NS) == 1
    assert await outbox.claim([stale.id], now + 4 * NS) == []  # backoff not over
    assert (await outbox.get(a_id)).state == "pending"  # type: ignore[union-attr]
    [again] = await outbox.claim([stale.id], now + 5 * NS)
    assert (again.id, again.attempts) == (a_id, 2)


async def test_due_for_chat_reads_one_chat_between_two_keys(db: Database):
    await add_user(db, 1)
    await add_user(db, 2)
    outbox = OutboxRepo(db)
    ids = await outbox.enqueue_many([message(1 + i % 2, f"s{i}", 1) for i in range(8)])
    mine = ids[0::2]  # user 1's chat (10)
    rows = await outbox.due_for_chat(10, 2**62, 10, after=(1, mine[0]))
    assert [m.id for m in rows] == mine[1:]
    rows = await outbox.due_for_chat(10, 2**62, 10, after=(1, mine[0]), before=(1, mine[3]))
    assert [m.id for m in rows] == mine[1:3]
    assert [m.id for m in await outbox.due_for_chat(10, 2**62, 1, after=(0, 0))] == mine[:1]


async def test_reply_is_cleared_and_pending_rows_of_a_user_fail_together(db: Database):
    await add_user(db, 1)
    await add_user(db, 2)
    outbox = OutboxRepo(db)
    a, b, c = await outbox.enqueue_many([
        message(1, "a", reply_to_signal_id="earlier", reply_to_message_id=7), message(1, "b"),
        message(2, "c")])
    assert await outbox.clear_reply(a)
    row = await outbox.get(a)
    assert row is not None and (row.reply_to_signal_id, row.reply_to_message_id) == (None, None)
    await outbox.claim([b], 2**62)
    assert await outbox.fail_pending_for_user(1, "Forbidden") == [a]  # the row being sent is not
    assert [m.id for m in await outbox.due(2**62, 10)] == [c]


async def test_requeue_inflight_after_crash(tmp_path: Path):
    path = tmp_path / "teleglas.db"
    async with await Database.open(path) as database:
        await add_user(database, 1)
        outbox = OutboxRepo(database)
        await outbox.enqueue_many([message(1, f"s{i}") for i in range(5)])
        claimed = await outbox.claim([m.id for m in await outbox.due(2**62, 3)], 2**62)
        await outbox.mark_sent_many([claimed[0].id], 1, 1)
        # crash: two rows stay 'sending'
    async with await Database.open(path) as database:
        outbox = OutboxRepo(database)
        assert await outbox.counts_by_state() == {"pending": 2, "sending": 2, "sent": 1, "failed": 0}
        assert await outbox.requeue_inflight() == 2
        assert await outbox.requeue_inflight() == 0
        assert await outbox.counts_by_state() == {"pending": 4, "sending": 0, "sent": 1, "failed": 0}
        again = await outbox.claim([m.id for m in await outbox.due(2**62, 10)], 2**62)
        assert sorted(m.attempts for m in again) == [1, 1, 2, 2]
