"""Group chats as subscribers, and their forum topic routes (issue 14)."""
from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database
from storage.errors import ConstraintError
from storage.repos.common import now_s, unknown_user
from storage.repos.users import USER_COLUMNS, User, check_language, user_from_row

CHAT_TYPES = ("private", "group", "supergroup")
TOPIC_ALL = "*"  # topics.route for "every alert"


@dataclass(frozen=True, slots=True)
class GroupChat:
    """What is stored about a group subscriber beyond its ``User`` row (issue 14)."""

    id: int  # negative Telegram chat id
    chat_type: str  # group | supergroup
    title: str | None
    added_by: int | None  # the user who added the bot or ran /start there
    active: bool


class ChatRepo:
    """Groups and supergroups as subscribers: a ``users`` row keyed by the (negative) chat id,
    so every per-subscriber table works for them unchanged; plus forum topic routes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def register_group(self, chat_id: int, chat_type: str, title: str | None,
                             language: str, added_by: int | None) -> User:
        """Create the group's row, or reactivate it keeping its settings (title refreshed;
        ``added_by`` kept from the first time)."""
        if chat_id >= 0:
            raise ValueError(f"group chat ids are negative, got {chat_id}")
        if chat_type not in CHAT_TYPES[1:]:
            raise ValueError(f"not a group chat type: {chat_type!r}")
        now = now_s()
        title = None if title is None else str(title)[:128]
        row = await self._db.fetchone(
            "INSERT INTO users (id, chat_id, language, chat_type, title, added_by, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET active = 1, chat_type = excluded.chat_type, "
            "title = COALESCE(excluded.title, title), added_by = COALESCE(added_by, excluded.added_by), "
            "updated_at = excluded.updated_at "
            f"RETURNING {USER_COLUMNS}",
            (chat_id, chat_id, check_language(language), chat_type, title, added_by, now, now),
        )
        assert row is not None
        return user_from_row(row)

    async def get(self, chat_id: int) -> GroupChat | None:
        row = await self._db.fetchone(
            "SELECT id, chat_type, title, added_by, active FROM users WHERE id = ? AND id < 0",
            (chat_id,),
        )
        return None if row is None else GroupChat(row[0], row[1], row[2], row[3], bool(row[4]))

    async def groups(self, *, active_only: bool = False) -> list[GroupChat]:
        where = " AND active = 1" if active_only else ""
        rows = await self._db.fetchall(
            f"SELECT id, chat_type, title, added_by, active FROM users WHERE id < 0{where} ORDER BY id"
        )
        return [GroupChat(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    async def migrate(self, old_id: int, new_id: int) -> bool:
        """A group upgraded to a supergroup (``migrate_to_chat_id``): its settings, watchlist,
        thresholds, topics, access entries and outbox rows move to the new id in one
        transaction; nothing is lost. A row the new id already has (the supergroup spoke before
        the upgrade notice was handled) takes the old group's settings; watchlists are merged.
        False when the old id is unknown (already moved: the call is idempotent)."""
        if old_id == new_id:
            return False
        async with self._db.transaction():
            old = await self._db.fetchone("SELECT 1 FROM users WHERE id = ?", (old_id,))
            if old is None:
                return False
            settings = ("language, role, active, tiers, silent_tiers, muted_until, quiet_start, "
                        "quiet_end, quiet_urgent_pierces, tz, hourly_cap, title, added_by, outcome_replies")
            exists = await self._db.fetchone("SELECT 1 FROM users WHERE id = ?", (new_id,))
            if exists is None:
                await self._db.execute(
                    f"INSERT INTO users (id, chat_id, chat_type, {settings}, created_at, updated_at) "
                    f"SELECT ?, ?, 'supergroup', {settings}, created_at, ? FROM users WHERE id = ?",
                    (new_id, new_id, now_s(), old_id),
                )
            else:
                sets = ", ".join(f"{c.strip()} = o.{c.strip()}" for c in settings.split(","))
                await self._db.execute(
                    f"UPDATE users SET {sets}, chat_type = 'supergroup', updated_at = ? "
                    "FROM (SELECT * FROM users WHERE id = ?) AS o WHERE users.id = ?",
                    (now_s(), old_id, new_id),
                )
            await self._db.execute(
                "INSERT OR IGNORE INTO watchlist (user_id, symbol, muted_until, added_at) "
                "SELECT ?, symbol, muted_until, added_at FROM watchlist WHERE user_id = ?",
                (new_id, old_id),
            )
            await self._db.execute(
                "INSERT INTO thresholds (user_id, symbol, key, value) "
                "SELECT ?, symbol, key, value FROM thresholds WHERE user_id = ? "
                "ON CONFLICT(user_id, symbol, key) DO UPDATE SET value = excluded.value",
                (new_id, old_id),
            )
            await self._db.execute(
                "INSERT OR IGNORE INTO topics (chat_id, route, thread_id) "
                "SELECT ?, route, thread_id FROM topics WHERE chat_id = ?",
                (new_id, old_id),
            )
            # outbox rows follow (pending ones are then sent to the new id); a signal the new id
            # already has a row for keeps that row
            await self._db.execute(
                "UPDATE OR IGNORE outbox SET user_id = ?, chat_id = ? WHERE user_id = ?",
                (new_id, new_id, old_id),
            )
            for table, column in (("access", "allowed_by"), ("blocked", "blocked_by")):
                await self._db.execute(
                    f"INSERT OR IGNORE INTO {table} (user_id, {column}, created_at) "
                    f"SELECT ?, {column}, created_at FROM {table} WHERE user_id = ?",
                    (new_id, old_id),
                )
                await self._db.execute(f"DELETE FROM {table} WHERE user_id = ?", (old_id,))
            await self._db.execute("DELETE FROM users WHERE id = ?", (old_id,))  # cascades the rest
        return True

    # ---- forum topics ------------------------------------------------------------------------
    async def set_topic(self, chat_id: int, route: str, thread_id: int) -> None:
        if not route or len(route) > 32:
            raise ValueError(f"not a topic route: {route!r}")
        if thread_id < 1:
            raise ValueError(f"not a message_thread_id: {thread_id!r}")
        try:
            await self._db.execute(
                "INSERT INTO topics (chat_id, route, thread_id) VALUES (?, ?, ?) "
                "ON CONFLICT(chat_id, route) DO UPDATE SET thread_id = excluded.thread_id",
                (chat_id, route, int(thread_id)),
            )
        except ConstraintError as e:
            raise unknown_user(chat_id, e) from e

    async def topics(self, chat_id: int) -> dict[str, int]:
        rows = await self._db.fetchall(
            "SELECT route, thread_id FROM topics WHERE chat_id = ? ORDER BY route", (chat_id,)
        )
        return {r[0]: r[1] for r in rows}

    async def clear_topic(self, chat_id: int, route: str) -> bool:
        return await self._db.execute(
            "DELETE FROM topics WHERE chat_id = ? AND route = ?", (chat_id, route)
        ) == 1

    async def clear_topics(self, chat_id: int, *, thread_id: int | None = None) -> int:
        """Forget every route of the chat (``/topic off``), or only those to ``thread_id`` (a
        deleted or closed topic)."""
        if thread_id is None:
            return await self._db.execute("DELETE FROM topics WHERE chat_id = ?", (chat_id,))
        return await self._db.execute(
            "DELETE FROM topics WHERE chat_id = ? AND thread_id = ?", (chat_id, int(thread_id))
        )
