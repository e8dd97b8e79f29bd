"""Groups as subscribers in storage (issue 14): migration 7 keeps old data, a group row works with
every per-subscriber table, and a group's upgrade to a supergroup moves everything to the new id."""
from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest

from storage import (AccessRepo, ChatRepo, Database, OutboxRepo, OutboxRow, ThresholdRepo,
                     UserRepo, WatchlistRepo)
from storage.migrations import apply_migrations

GROUP, SUPER = -4001, -1004001


async def test_v6_database_keeps_users_and_outbox_through_migration_7(tmp_path: Path):
    path = tmp_path / "v6.db"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await apply_migrations(conn, target=6)
        await conn.execute("INSERT INTO users (id, chat_id, created_at, updated_at) VALUES (5, 5, 1, 1)")
        await conn.execute(
            "INSERT INTO outbox (user_id, chat_id, signal_id, tier, priority, text, enqueued_ns) "
            "VALUES (5, 5, 's1', 'WATCH', 1, 'hi', 1)")
    async with await Database.open(path) as db:
        user = await UserRepo(db).get(5)
        assert user is not None and not user.is_group
        assert await db.fetchval("SELECT chat_type FROM users WHERE id = 5") == "private"
        assert await db.fetchval("SELECT thread_id FROM outbox WHERE user_id = 5") is None
        assert await ChatRepo(db).topics(5) == {}


async def test_group_is_a_subscriber_with_its_own_settings(tmp_path: Path):
    async with await Database.open(tmp_path / "g.db") as db:
        chats = ChatRepo(db)
        group = await chats.register_group(GROUP, "group", "Desk", "id", added_by=7)
        assert group.is_group and group.language == "id" and group.chat_id == GROUP
        assert await WatchlistRepo(db).add(GROUP, "BTC")
        await ThresholdRepo(db).set(GROUP, "*", "score", 70)
        subs = await WatchlistRepo(db).users_for_symbol_page("BTC", 0, 50)
        assert [s.user.id for s in subs] == [GROUP]
        # registering again (re-added) keeps settings and the first adder
        await UserRepo(db).set_active(GROUP, False)
        again = await chats.register_group(GROUP, "group", None, "en", added_by=9)
        assert again.active and again.language == "id"
        info = await chats.get(GROUP)
        assert (info.title, info.added_by, info.chat_type) == ("Desk", 7, "group")
        with pytest.raises(ValueError):
            await chats.register_group(5, "group", "x", "en", None)


async def test_upgrade_to_supergroup_moves_everything(tmp_path: Path):
    async with await Database.open(tmp_path / "m.db") as db:
        chats, users = ChatRepo(db), UserRepo(db)
        await chats.register_group(GROUP, "group", "Desk", "id", added_by=7)
        await users.set_tiers(GROUP, ["URGENT"], [])
        await users.set_quiet(GROUP, "23:00", "07:00")
        await users.set_tz(GROUP, "Asia/Jakarta")
        await WatchlistRepo(db).add(GROUP, "BTC")
        await WatchlistRepo(db).add(GROUP, "ETH")
        await WatchlistRepo(db).set_symbol_mute(GROUP, "ETH", 2_000_000_000)
        await ThresholdRepo(db).set(GROUP, "BTC", "cascade", 5e6)
        await AccessRepo(db).allow(GROUP, by=1000)
        outbox = OutboxRepo(db)
        [oid] = await outbox.enqueue_many([OutboxRow(
            user_id=GROUP, chat_id=GROUP, signal_id="s1", tier="WATCH", priority=1, text="alert")])

        assert await chats.migrate(GROUP, SUPER)
        assert not await chats.migrate(GROUP, SUPER)  # idempotent
        assert await users.get(GROUP) is None
        moved = await users.get(SUPER)
        assert (moved.chat_id, moved.language, moved.tiers, moved.tz) == (SUPER, "id", ("URGENT",), "Asia/Jakarta")
        assert (moved.quiet_start, moved.quiet_end) == ("23:00", "07:00")
        assert (await chats.get(SUPER)).chat_type == "supergroup"
        assert [(w.symbol, w.muted_until) for w in await WatchlistRepo(db).list_for_user(SUPER)] == [
            ("BTC", 0), ("ETH", 2_000_000_000)]
        assert await ThresholdRepo(db).get_all(SUPER) == {("BTC", "cascade"): 5e6}
        assert await AccessRepo(db).is_allowed(SUPER) and not await AccessRepo(db).is_allowed(GROUP)
        row = await outbox.get(oid)
        assert (row.user_id, row.chat_id, row.state) == (SUPER, SUPER, "pending")


async def test_upgrade_merges_into_a_row_the_supergroup_already_has(tmp_path: Path):
    async with await Database.open(tmp_path / "m2.db") as db:
        chats = ChatRepo(db)
        await chats.register_group(GROUP, "group", "Desk", "id", added_by=7)
        await WatchlistRepo(db).add(GROUP, "BTC")
        await chats.register_group(SUPER, "supergroup", "Desk", "en", added_by=None)
        await WatchlistRepo(db).add(SUPER, "SOL")
        await chats.set_topic(SUPER, "*", 5)
        assert await chats.migrate(GROUP, SUPER)
        moved = await UserRepo(db).get(SUPER)
        assert moved.language == "id"
        assert {w.symbol for w in await WatchlistRepo(db).list_for_user(SUPER)} == {"BTC", "SOL"}
        assert await chats.topics(SUPER) == {"*": 5}


async def test_topic_routes(tmp_path: Path):
    async with await Database.open(tmp_path / "t.db") as db:
        chats = ChatRepo(db)
        await chats.register_group(SUPER, "supergroup", "Forum", "en", added_by=7)
        await chats.set_topic(SUPER, "*", 3)
        await chats.set_topic(SUPER, "stophunt", 9)
        await chats.set_topic(SUPER, "stophunt", 11)
        assert await chats.topics(SUPER) == {"*": 3, "stophunt": 11}
        assert await chats.clear_topics(SUPER, thread_id=11) == 1
        assert await chats.topics(SUPER) == {"*": 3}
        assert await chats.clear_topics(SUPER) == 1
        with pytest.raises(Exception, match="not registered"):
            await chats.set_topic(-77, "*", 3)
