"""Repositories: the only code that writes SQL for the tables in ``storage.migrations``.

Each repository takes the ``Database`` and returns plain slotted dataclasses, so callers never
see rows or SQL. They are the seam for a later PostgreSQL backend (same method signatures).
Wall-clock columns are epoch seconds (``created_at``/``updated_at``/mutes); signal event times
are epoch ms; delivery timestamps are epoch ns (latency is measured, not assumed).
"""
from __future__ import annotations

import math
import re
import sqlite3
import time
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from storage.db import Database
from storage.errors import ConstraintError

ALL_SYMBOLS = "*"  # thresholds.symbol value meaning "every symbol"
ROLES = ("user", "admin")
OUTBOX_STATES = ("pending", "sending", "sent", "failed")
MAX_ERROR_LEN = 500

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _now_s() -> int:
    return int(time.time())


# ---------------------------------------------------------------------------- users


@dataclass(frozen=True, slots=True)
class User:
    id: int  # Telegram user id
    chat_id: int
    language: str
    role: str  # user | admin
    active: bool
    tiers: tuple[str, ...]  # tiers that reach the user
    silent_tiers: tuple[str, ...]  # tiers delivered with disable_notification
    muted_until: int  # epoch s; all symbols
    quiet_start: str | None  # 'HH:MM' in ``tz``
    quiet_end: str | None
    quiet_urgent_pierces: bool
    tz: str
    hourly_cap: int
    created_at: int
    updated_at: int
    outcome_replies: bool = True  # a silent reply in the alert's thread when a stop hunt resolves

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_group(self) -> bool:
        """A group or supergroup subscriber (Telegram group chat ids are negative)."""
        return self.id < 0

    def is_muted(self, now_s: int) -> bool:
        return self.muted_until > now_s


_USER_COLUMNS = (
    "id, chat_id, language, role, active, tiers, silent_tiers, muted_until, quiet_start, "
    "quiet_end, quiet_urgent_pierces, tz, hourly_cap, created_at, updated_at, outcome_replies"
)
_N_USER_COLUMNS = len(_USER_COLUMNS.split(","))
_USER_COLUMNS_U = ", ".join(f"u.{c.strip()}" for c in _USER_COLUMNS.split(","))


def _user(row: sqlite3.Row, offset: int = 0) -> User:
    r = tuple(row)[offset : offset + _N_USER_COLUMNS]
    return User(
        id=r[0],
        chat_id=r[1],
        language=r[2],
        role=r[3],
        active=bool(r[4]),
        tiers=_split_tiers(r[5]),
        silent_tiers=_split_tiers(r[6]),
        muted_until=r[7],
        quiet_start=r[8],
        quiet_end=r[9],
        quiet_urgent_pierces=bool(r[10]),
        tz=r[11],
        hourly_cap=r[12],
        created_at=r[13],
        updated_at=r[14],
        outcome_replies=bool(r[15]),
    )


def _split_tiers(text: str) -> tuple[str, ...]:
    return tuple(t for t in text.split(",") if t)


def _join_tiers(tiers: Iterable[str]) -> str:
    """Tier names (str or str-Enum) -> 'A,B' in the given order, without duplicates."""
    names: list[str] = []
    for tier in tiers:
        name = str(tier.value if isinstance(tier, Enum) else tier).strip().upper()
        if not name or "," in name:
            raise ValueError(f"not a tier name: {tier!r}")
        if name not in names:
            names.append(name)
    return ",".join(names)


def _check_language(language: str) -> str:
    if not isinstance(language, str) or not 1 <= len(language.strip()) <= 16:
        raise ValueError(f"not a language code: {language!r}")
    return language.strip()


class UserRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int) -> User | None:
        row = await self._db.fetchone(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return None if row is None else _user(row)

    async def upsert_on_start(self, user_id: int, chat_id: int, language: str) -> User:
        """/start: create the user, or reactivate them and update chat_id (language is kept)."""
        now = _now_s()
        row = await self._db.fetchone(
            "INSERT INTO users (id, chat_id, language, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET chat_id = excluded.chat_id, active = 1, "
            "updated_at = excluded.updated_at "
            f"RETURNING {_USER_COLUMNS}",
            (user_id, chat_id, _check_language(language), now, now),
        )
        assert row is not None  # an upsert always returns its row
        return _user(row)

    async def _update(self, user_id: int, **columns: object) -> bool:
        # column names come from this module only, never from callers' data
        sets = ", ".join(f"{name} = ?" for name in columns)
        changed = await self._db.execute(
            f"UPDATE users SET {sets}, updated_at = ? WHERE id = ?",
            (*columns.values(), _now_s(), user_id),
        )
        return changed == 1

    async def set_language(self, user_id: int, language: str) -> bool:
        """Returns False when the user does not exist (same for every setter)."""
        return await self._update(user_id, language=_check_language(language))

    async def set_active(self, user_id: int, active: bool) -> bool:
        return await self._update(user_id, active=int(bool(active)))

    async def set_role(self, user_id: int, role: str) -> bool:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        return await self._update(user_id, role=role)

    async def set_tiers(self, user_id: int, tiers: Iterable[str], silent_tiers: Iterable[str]) -> bool:
        return await self._update(
            user_id, tiers=_join_tiers(tiers), silent_tiers=_join_tiers(silent_tiers)
        )

    async def set_outcome_replies(self, user_id: int, on: bool) -> bool:
        """The silent reply in an alert's thread when its stop hunt resolves: on or off."""
        return await self._update(user_id, outcome_replies=int(bool(on)))

    async def set_mute(self, user_id: int, until_epoch_s: int) -> bool:
        """Mute every symbol until ``until_epoch_s``; 0 unmutes."""
        if until_epoch_s < 0:
            raise ValueError("mute end must be >= 0")
        return await self._update(user_id, muted_until=int(until_epoch_s))

    async def set_quiet(
        self, user_id: int, start: str | None, end: str | None, urgent_pierces: bool = True
    ) -> bool:
        """Quiet hours 'HH:MM'..'HH:MM' in the user's tz (may wrap midnight); None, None clears."""
        if (start is None) != (end is None):
            raise ValueError("quiet hours need both start and end, or neither")
        if start is not None and end is not None:
            for value in (start, end):
                if not _HHMM.match(value):
                    raise ValueError(f"quiet hours must be HH:MM (00:00-23:59), got {value!r}")
            if start == end:
                raise ValueError("quiet hours start and end must differ")
        return await self._update(
            user_id, quiet_start=start, quiet_end=end, quiet_urgent_pierces=int(bool(urgent_pierces))
        )

    async def set_tz(self, user_id: int, tz: str) -> bool:
        """``tz`` must be an IANA zone name ('UTC', 'Asia/Jakarta')."""
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as e:
            raise ValueError(f"unknown time zone: {tz!r}") from e
        return await self._update(user_id, tz=tz)

    async def set_hourly_cap(self, user_id: int, cap: int) -> bool:
        if cap < 1:
            raise ValueError("hourly cap must be at least 1")
        return await self._update(user_id, hourly_cap=int(cap))

    async def list_users(self, *, active_only: bool = False) -> list[User]:
        where = " WHERE active = 1" if active_only else ""
        rows = await self._db.fetchall(f"SELECT {_USER_COLUMNS} FROM users{where} ORDER BY id")
        return [_user(r) for r in rows]

    async def count(self, *, active_only: bool = False) -> int:
        where = " WHERE active = 1" if active_only else ""
        return int(await self._db.fetchval(f"SELECT COUNT(*) FROM users{where}"))


# ---------------------------------------------------------------------------- access


@dataclass(frozen=True, slots=True)
class AccessEntry:
    user_id: int
    allowed_by: int | None
    created_at: int


class AccessRepo:
    """Users an admin allowed in ``ACCESS=private`` mode (admins themselves come from settings)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def allow(self, user_id: int, by: int | None) -> bool:
        """True when newly allowed; allowing again keeps the first grant."""
        changed = await self._db.execute(
            "INSERT OR IGNORE INTO access (user_id, allowed_by, created_at) VALUES (?, ?, ?)",
            (user_id, by, _now_s()),
        )
        return changed == 1

    async def deny(self, user_id: int) -> bool:
        return await self._db.execute("DELETE FROM access WHERE user_id = ?", (user_id,)) == 1

    async def is_allowed(self, user_id: int) -> bool:
        return await self._db.fetchone("SELECT 1 FROM access WHERE user_id = ?", (user_id,)) is not None

    async def list(self) -> list[AccessEntry]:
        rows = await self._db.fetchall(
            "SELECT user_id, allowed_by, created_at FROM access ORDER BY created_at, user_id"
        )
        return [AccessEntry(*r) for r in rows]

    async def block(self, user_id: int, by: int | None) -> bool:
        """Deny a user (any ACCESS mode) and drop their allow entry. True when newly blocked."""
        async with self._db.transaction():
            await self._db.execute("DELETE FROM access WHERE user_id = ?", (user_id,))
            changed = await self._db.execute(
                "INSERT OR IGNORE INTO blocked (user_id, blocked_by, created_at) VALUES (?, ?, ?)",
                (user_id, by, _now_s()),
            )
        return changed == 1

    async def unblock(self, user_id: int) -> bool:
        return await self._db.execute("DELETE FROM blocked WHERE user_id = ?", (user_id,)) == 1

    async def is_blocked(self, user_id: int) -> bool:
        return await self._db.fetchone(
            "SELECT 1 FROM blocked WHERE user_id = ?", (user_id,)
        ) is not None

    async def list_blocked(self) -> list[AccessEntry]:
        rows = await self._db.fetchall(
            "SELECT user_id, blocked_by, created_at FROM blocked ORDER BY created_at, user_id"
        )
        return [AccessEntry(*r) for r in rows]


# ---------------------------------------------------------------------------- group chats

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
        now = _now_s()
        title = None if title is None else str(title)[:128]
        row = await self._db.fetchone(
            "INSERT INTO users (id, chat_id, language, chat_type, title, added_by, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET active = 1, chat_type = excluded.chat_type, "
            "title = COALESCE(excluded.title, title), added_by = COALESCE(added_by, excluded.added_by), "
            "updated_at = excluded.updated_at "
            f"RETURNING {_USER_COLUMNS}",
            (chat_id, chat_id, _check_language(language), chat_type, title, added_by, now, now),
        )
        assert row is not None
        return _user(row)

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
                    (new_id, new_id, _now_s(), old_id),
                )
            else:
                sets = ", ".join(f"{c.strip()} = o.{c.strip()}" for c in settings.split(","))
                await self._db.execute(
                    f"UPDATE users SET {sets}, chat_type = 'supergroup', updated_at = ? "
                    "FROM (SELECT * FROM users WHERE id = ?) AS o WHERE users.id = ?",
                    (_now_s(), old_id, new_id),
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
            raise _unknown_user(chat_id, e) from e

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


# ---------------------------------------------------------------------------- watchlist


@dataclass(frozen=True, slots=True)
class WatchEntry:
    symbol: str
    muted_until: int  # epoch s; this symbol only


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A user watching a symbol, with everything routing needs in one row."""

    user: User
    symbol_muted_until: int


def _check_symbol(symbol: str, *, allow_all: bool = False) -> str:
    if not isinstance(symbol, str) or not symbol or len(symbol) > 32 or symbol != symbol.strip():
        raise ValueError(f"not a symbol: {symbol!r}")
    if symbol == ALL_SYMBOLS and not allow_all:
        raise ValueError(f"{ALL_SYMBOLS!r} is not a watchable symbol")
    return symbol


def _unknown_user(user_id: int, e: ConstraintError) -> ConstraintError:
    if "FOREIGN KEY" in str(e):
        return ConstraintError(f"user {user_id} is not registered (send /start first)")
    return e


class WatchlistRepo:
    """Symbols are stored exactly as given; callers pass canonical symbols (engine.symbols)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, user_id: int, symbol: str) -> bool:
        """False when the symbol was already on the list."""
        try:
            changed = await self._db.execute(
                "INSERT OR IGNORE INTO watchlist (user_id, symbol, added_at) VALUES (?, ?, ?)",
                (user_id, _check_symbol(symbol), _now_s()),
            )
        except ConstraintError as e:
            raise _unknown_user(user_id, e) from e
        return changed == 1

    async def remove(self, user_id: int, symbol: str) -> bool:
        changed = await self._db.execute(
            "DELETE FROM watchlist WHERE user_id = ? AND symbol = ?", (user_id, symbol)
        )
        return changed == 1

    async def list_for_user(self, user_id: int) -> list[WatchEntry]:
        rows = await self._db.fetchall(
            "SELECT symbol, muted_until FROM watchlist WHERE user_id = ? ORDER BY symbol",
            (user_id,),
        )
        return [WatchEntry(*r) for r in rows]

    async def count_for_user(self, user_id: int) -> int:
        return int(
            await self._db.fetchval("SELECT COUNT(*) FROM watchlist WHERE user_id = ?", (user_id,))
        )

    async def set_symbol_mute(self, user_id: int, symbol: str, until_epoch_s: int) -> bool:
        """Mute one symbol until ``until_epoch_s`` (0 unmutes); False if not on the list."""
        if until_epoch_s < 0:
            raise ValueError("mute end must be >= 0")
        changed = await self._db.execute(
            "UPDATE watchlist SET muted_until = ? WHERE user_id = ? AND symbol = ?",
            (int(until_epoch_s), user_id, symbol),
        )
        return changed == 1

    async def users_for_symbol(self, symbol: str) -> list[Subscriber]:
        """Active users watching ``symbol`` (mutes are NOT filtered: routing decides with 'now')."""
        # CROSS JOIN pins watchlist as the outer loop: once ANALYZE has run (PRAGMA optimize at
        # close) the planner may otherwise scan every user to skip the ORDER BY sort
        rows = await self._db.fetchall(
            f"SELECT {_USER_COLUMNS_U}, w.muted_until FROM watchlist w "
            "CROSS JOIN users u ON u.id = w.user_id "
            "WHERE w.symbol = ? AND u.active = 1 ORDER BY w.user_id",  # index order: no sort
            (symbol,),
        )
        return [Subscriber(_user(r), r[_N_USER_COLUMNS]) for r in rows]

    async def users_for_symbol_page(self, symbol: str, after_user_id: int, limit: int) -> list[Subscriber]:
        """Like ``users_for_symbol``, one page at a time (keyset: pass the last id of the previous
        page, 0 to start). Order: users (positive ids) ascending, then groups (negative chat ids)
        ascending, so a cursor of 0 still reaches the groups; each part is one range of the
        watchlist(symbol, user_id) index."""
        limit = int(limit)
        sql = (f"SELECT {_USER_COLUMNS_U}, w.muted_until FROM watchlist w "
               "JOIN users u ON u.id = w.user_id "
               "WHERE w.symbol = ? AND w.user_id > ? AND w.user_id < ? AND u.active = 1 "
               "ORDER BY w.user_id LIMIT ?")
        rows: list = []
        if after_user_id >= 0:
            rows = list(await self._db.fetchall(sql, (symbol, int(after_user_id), 2**63 - 1, limit)))
            after_user_id = -(2**63)
        if len(rows) < limit:
            rows += await self._db.fetchall(sql, (symbol, int(after_user_id), 0, limit - len(rows)))
        return [Subscriber(_user(r), r[_N_USER_COLUMNS]) for r in rows]

    async def all_symbols(self) -> set[str]:
        """Distinct symbols watched by active users (what the feeds must subscribe to)."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT w.symbol FROM watchlist w JOIN users u ON u.id = w.user_id "
            "WHERE u.active = 1"
        )
        return {r[0] for r in rows}


# ---------------------------------------------------------------------------- thresholds


ThresholdMap = dict[tuple[str, str], float]  # (symbol or '*', key) -> value


class ThresholdRepo:
    """Per-user overrides of detector thresholds; '*' as symbol applies to every symbol."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def set(self, user_id: int, symbol: str, key: str, value: float) -> None:
        if not isinstance(key, str) or not key:
            raise ValueError(f"not a threshold key: {key!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"threshold value must be finite, got {value!r}")
        try:
            await self._db.execute(
                "INSERT INTO thresholds (user_id, symbol, key, value) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(user_id, symbol, key) DO UPDATE SET value = excluded.value",
                (user_id, _check_symbol(symbol, allow_all=True), key, value),
            )
        except ConstraintError as e:
            raise _unknown_user(user_id, e) from e

    async def get_all(self, user_id: int) -> ThresholdMap:
        rows = await self._db.fetchall(
            "SELECT symbol, key, value FROM thresholds WHERE user_id = ? ORDER BY symbol, key",
            (user_id,),
        )
        return {(r[0], r[1]): r[2] for r in rows}

    async def reset(self, user_id: int, symbol: str | None = None, key: str | None = None) -> int:
        """Delete the user's overrides (optionally only one symbol and/or key); returns how many."""
        sql = "DELETE FROM thresholds WHERE user_id = ?"
        params: list[object] = [user_id]
        if symbol is not None:
            sql += " AND symbol = ?"
            params.append(symbol)
        if key is not None:
            sql += " AND key = ?"
            params.append(key)
        return await self._db.execute(sql, params)

    async def for_watchers_of(self, symbol: str) -> dict[int, ThresholdMap]:
        """Overrides that can apply to ``symbol`` ('*' and the symbol itself) of the users
        watching it: cost grows with the symbol's watchers, not with all users."""
        result: dict[int, ThresholdMap] = {}
        # CROSS JOIN pins watchlist(symbol) as the outer loop; with ANALYZE statistics the
        # planner may otherwise scan the whole thresholds table
        for r in await self._db.fetchall(
            "SELECT t.user_id, t.symbol, t.key, t.value FROM watchlist w "
            "CROSS JOIN thresholds t ON t.user_id = w.user_id AND t.symbol IN (w.symbol, '*') "
            "WHERE w.symbol = ?",
            (symbol,),
        ):
            result.setdefault(r[0], {})[(r[1], r[2])] = r[3]
        return result

    async def all_overrides(self) -> dict[int, ThresholdMap]:
        """Every user's overrides, for routing caches: {user_id: {(symbol, key): value}}."""
        result: dict[int, ThresholdMap] = {}
        for r in await self._db.fetchall(
            "SELECT user_id, symbol, key, value FROM thresholds ORDER BY user_id"
        ):
            result.setdefault(r[0], {})[(r[1], r[2])] = r[3]
        return result


# ---------------------------------------------------------------------------- signals


@dataclass(frozen=True, slots=True)
class StoredSignal:
    id: str
    kind: str
    symbol: str
    direction: str
    tier: str
    confidence: int
    ts_event: int  # epoch ms
    recv_ns: int | None
    signal_ns: int | None
    payload: bytes  # JSON of the whole signal
    created_at: int


_SIGNAL_COLUMNS = (
    "id, kind, symbol, direction, tier, confidence, ts_event, recv_ns, signal_ns, payload, "
    "created_at"
)


def _enum_value(value: object) -> str:
    return str(value.value if isinstance(value, Enum) else value)


class SignalRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(
        self,
        id: str,
        kind: str,
        symbol: str,
        direction: str,
        tier: str,
        confidence: int,
        ts_event: int,
        recv_ns: int | None,
        signal_ns: int | None,
        payload: bytes,
    ) -> bool:
        """Store a signal; False when that id was already stored (idempotent)."""
        changed = await self._db.execute(
            f"INSERT OR IGNORE INTO signals ({_SIGNAL_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                id, _enum_value(kind), symbol, _enum_value(direction), _enum_value(tier),
                int(confidence), int(ts_event), recv_ns, signal_ns, bytes(payload), _now_s(),
            ),
        )
        return changed == 1

    async def set_fanout_done(self, id: str, done: bool) -> bool:
        """Delivery writes a signal's outbox rows in pages; False until the last page is in."""
        changed = await self._db.execute(
            "UPDATE signals SET fanout_done = ? WHERE id = ?", (int(bool(done)), id)
        )
        return changed == 1

    async def fanout_unfinished(self) -> list[StoredSignal]:
        """Signals whose fan-out was cut off (a crash between pages), oldest first."""
        rows = await self._db.fetchall(
            f"SELECT {_SIGNAL_COLUMNS} FROM signals WHERE fanout_done = 0 ORDER BY created_at, id"
        )
        return [StoredSignal(*r) for r in rows]

    async def get(self, id: str) -> StoredSignal | None:
        row = await self._db.fetchone(f"SELECT {_SIGNAL_COLUMNS} FROM signals WHERE id = ?", (id,))
        return None if row is None else StoredSignal(*row)

    async def recent(self, symbols: Iterable[str], limit: int = 10) -> list[StoredSignal]:
        """Newest first (by event time) among ``symbols``."""
        wanted = sorted(set(symbols))
        if not wanted or limit <= 0:
            return []
        marks = ", ".join("?" * len(wanted))
        rows = await self._db.fetchall(
            f"SELECT {_SIGNAL_COLUMNS} FROM signals WHERE symbol IN ({marks}) "
            "ORDER BY ts_event DESC, id LIMIT ?",
            (*wanted, int(limit)),
        )
        return [StoredSignal(*r) for r in rows]


# ---------------------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class Outcome:
    signal_id: str
    result: str  # OPEN | WIN_T2 | WIN_T1 | LOSS | EXPIRED | NOT_FILLED | HIT | MISS | FLAT | UNSCORED
    mfe: float | None  # percent
    mae: float | None  # percent
    resolved_ts: int | None  # epoch ms
    details: bytes | None  # JSON: the outcome's summary and the tracker state to resume it
    final: bool = True
    hit: bool | None = None
    r: float | None = None
    ttr_s: float | None = None


_OUTCOME_COLUMNS = "signal_id, result, mfe, mae, resolved_ts, details, final, hit, r, ttr_s"


def _outcome(row: sqlite3.Row) -> Outcome:
    return Outcome(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]),
                   None if row[7] is None else bool(row[7]), row[8], row[9])


@dataclass(frozen=True, slots=True)
class OutcomeWrite:
    """One outcome as the live tracker hands it over, with its signal's row (stored first when
    delivery has not stored it yet: the signal row is ``INSERT OR IGNORE``)."""

    signal_id: str
    kind: str
    symbol: str
    direction: str
    tier: str
    confidence: int
    ts_event: int
    recv_ns: int | None
    signal_ns: int | None
    signal_payload: bytes
    result: str
    final: bool
    hit: bool | None
    r: float | None
    mfe: float | None
    mae: float | None
    ttr_s: float | None
    resolved_ts: int | None
    details: bytes


@dataclass(frozen=True, slots=True)
class OpenOutcome:
    """A stored outcome that was still open: its signal's JSON and the tracker state."""

    signal_id: str
    signal_payload: bytes
    details: bytes | None


@dataclass(frozen=True, slots=True)
class OutcomeStat:
    """One signal with its outcome, for /stats (aggregated by the caller)."""

    signal_id: str
    kind: str
    symbol: str
    tier: str
    ts_event: int
    result: str
    hit: bool | None
    r: float | None
    mfe: float | None
    ttr_s: float | None
    engine_ms: float | None = None  # receive -> signal, when both times are stored


class OutcomeRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        signal_id: str,
        result: str,
        mfe: float | None,
        mae: float | None,
        resolved_ts: int | None,
        details: bytes | None = None,
    ) -> None:
        """Store (or replace) the final outcome of a stored signal."""
        try:
            await self._db.execute(
                "INSERT INTO outcomes (signal_id, result, mfe, mae, resolved_ts, details, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(signal_id) DO UPDATE SET "
                "result = excluded.result, mfe = excluded.mfe, mae = excluded.mae, "
                "resolved_ts = excluded.resolved_ts, details = excluded.details, "
                "updated_at = excluded.updated_at",
                (signal_id, result, mfe, mae, resolved_ts,
                 None if details is None else bytes(details), _now_s()),
            )
        except ConstraintError as e:
            if "FOREIGN KEY" in str(e):
                raise ConstraintError(f"signal {signal_id} is not stored") from e
            raise

    async def save_many(self, writes: Iterable[OutcomeWrite]) -> int:
        """Upsert outcomes (and INSERT OR IGNORE their signals) in one transaction. A final row
        is never reopened: a late write of an earlier state cannot undo a result."""
        rows = list(writes)
        if not rows:
            return 0
        now = _now_s()
        async with self._db.transaction():
            await self._db.executemany(
                f"INSERT OR IGNORE INTO signals ({_SIGNAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(w.signal_id, w.kind, w.symbol, w.direction, w.tier, int(w.confidence), int(w.ts_event),
                  w.recv_ns, w.signal_ns, bytes(w.signal_payload), now) for w in rows],
            )
            await self._db.executemany(
                "INSERT INTO outcomes (signal_id, result, mfe, mae, resolved_ts, details, final, hit, r, "
                "ttr_s, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(signal_id) DO UPDATE SET result = excluded.result, mfe = excluded.mfe, "
                "mae = excluded.mae, resolved_ts = excluded.resolved_ts, details = excluded.details, "
                "final = excluded.final, hit = excluded.hit, r = excluded.r, ttr_s = excluded.ttr_s, "
                "updated_at = excluded.updated_at WHERE outcomes.final = 0",
                [(w.signal_id, w.result, w.mfe, w.mae, w.resolved_ts, bytes(w.details), int(w.final),
                  None if w.hit is None else int(w.hit), w.r, w.ttr_s, now) for w in rows],
            )
        return len(rows)

    async def open_outcomes(self) -> list[OpenOutcome]:
        """Outcomes that were still open (to resume after a restart), oldest signal first."""
        rows = await self._db.fetchall(
            "SELECT o.signal_id, s.payload, o.details FROM outcomes o JOIN signals s ON s.id = o.signal_id "
            "WHERE o.final = 0 ORDER BY s.ts_event, o.signal_id"
        )
        return [OpenOutcome(r[0], r[1], r[2]) for r in rows]

    async def get(self, signal_id: str) -> Outcome | None:
        row = await self._db.fetchone(
            f"SELECT {_OUTCOME_COLUMNS} FROM outcomes WHERE signal_id = ?", (signal_id,)
        )
        return None if row is None else _outcome(row)

    async def counts(self, since_ts_event_ms: int = 0) -> dict[str, int]:
        """{result: n} over signals whose event time is >= ``since_ts_event_ms``."""
        rows = await self._db.fetchall(
            "SELECT o.result, COUNT(*) FROM outcomes o JOIN signals s ON s.id = o.signal_id "
            "WHERE s.ts_event >= ? GROUP BY o.result",
            (since_ts_event_ms,),
        )
        return {r[0]: r[1] for r in rows}

    async def stats_rows(self, since_ts_event_ms: int, *, symbols: Iterable[str] | None = None,
                         kind: str | None = None, received_by: int | None = None,
                         limit: int = 50_000) -> list[OutcomeStat]:
        """Signals since a time (optionally of some symbols / one kind / only those whose alert
        was SENT to the subscriber ``received_by``) with their outcomes, newest first; a signal
        without an outcome row is left out."""
        where = ["s.ts_event >= ?"]
        params: list[object] = [int(since_ts_event_ms)]
        if received_by is not None:  # through UNIQUE(user_id, signal_id)
            where.append("EXISTS (SELECT 1 FROM outbox b WHERE b.user_id = ? AND b.signal_id = s.id "
                         "AND b.state = 'sent' AND b.edit_of IS NULL)")
            params.append(int(received_by))
        if symbols is not None:
            wanted = sorted(set(symbols))
            if not wanted:
                return []
            where.append(f"s.symbol IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        if kind is not None:
            where.append("s.kind = ?")
            params.append(kind)
        rows = await self._db.fetchall(
            "SELECT s.id, s.kind, s.symbol, s.tier, s.ts_event, o.result, o.hit, o.r, o.mfe, o.ttr_s, "
            "(s.signal_ns - s.recv_ns) / 1e6 "
            "FROM signals s JOIN outcomes o ON o.signal_id = s.id "
            f"WHERE {' AND '.join(where)} ORDER BY s.ts_event DESC LIMIT ?",
            (*params, int(limit)),
        )
        return [OutcomeStat(r[0], r[1], r[2], r[3], r[4], r[5], None if r[6] is None else bool(r[6]),
                            r[7], r[8], r[9], r[10]) for r in rows]


# ---------------------------------------------------------------------------- outbox


@dataclass(frozen=True, slots=True)
class NewOutboxMessage:
    """One rendered alert for one user, as routing hands it to the outbox."""

    user_id: int
    chat_id: int
    signal_id: str
    tier: str
    priority: int  # lower is sent first
    text: str
    silent: bool = False
    enqueued_ns: int | None = None  # None: now
    # for the sender (alert buttons) and per-delivery latency; optional for older callers
    symbol: str | None = None
    lang: str | None = None
    exchange_ms: int | None = None  # event time at the exchange, epoch ms
    recv_ns: int | None = None  # when the event was received
    signal_ns: int | None = None  # when the engine emitted the signal
    # alert threads: the earlier signal this row answers (sent as a reply to its message) and
    # that message's id in this chat when already known
    reply_to_signal_id: str | None = None
    reply_to_message_id: int | None = None
    edit_of: int | None = None  # an edit of the message that carried this outbox row
    thread_id: int | None = None  # forum topic (message_thread_id); None: the general topic


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    user_id: int
    chat_id: int
    signal_id: str
    tier: str
    priority: int
    text: str
    silent: bool
    state: str  # pending | sending | sent | failed
    attempts: int
    last_error: str | None
    enqueued_ns: int
    sent_ns: int | None
    next_attempt_ns: int
    message_id: int | None
    symbol: str | None = None
    lang: str | None = None
    exchange_ms: int | None = None
    recv_ns: int | None = None
    signal_ns: int | None = None
    reply_to_signal_id: str | None = None
    reply_to_message_id: int | None = None
    edit_of: int | None = None
    thread_id: int | None = None


_OUTBOX_COLUMNS = (
    "id, user_id, chat_id, signal_id, tier, priority, text, silent, state, attempts, "
    "last_error, enqueued_ns, sent_ns, next_attempt_ns, message_id, symbol, lang, exchange_ms, "
    "recv_ns, signal_ns, reply_to_signal_id, reply_to_message_id, edit_of, thread_id"
)


@dataclass(frozen=True, slots=True)
class EarlierDelivery:
    """Where one user's row of an earlier signal stands (for threading a later one to it)."""

    user_id: int
    chat_id: int
    state: str  # pending | sending | sent | failed
    message_id: int | None  # set once sent
    thread_id: int | None = None  # the forum topic it went to (a reply stays in it)


# rows of one signal for a set of users: SEARCH through UNIQUE(user_id, signal_id), one probe
# per user, whatever the size of the outbox
_EARLIER_CHUNK = 500  # user ids per statement (well under SQLite's bound-parameter limit)


@dataclass(frozen=True, slots=True)
class DeliveryTiming:
    """The timestamps of one sent delivery: exchange -> receive -> signal -> enqueue -> sent."""

    outbox_id: int
    user_id: int
    tier: str
    exchange_ms: int | None
    recv_ns: int | None
    signal_ns: int | None
    enqueued_ns: int
    sent_ns: int


def _outbox(row: sqlite3.Row) -> OutboxMessage:
    r = list(row)
    r[7] = bool(r[7])
    return OutboxMessage(*r)


def _prefix_filter(prefix: str | None) -> tuple[str, tuple[object, ...]]:
    """SQL (and its parameter) that leaves out rows whose signal_id starts with ``prefix``."""
    if not prefix:
        return "", ()
    # substr, not LIKE: a '%' or '_' in the prefix must not act as a wildcard
    return "AND substr(signal_id, 1, ?) != ?", (len(prefix), prefix)


def _error_text(error: object) -> str:
    return str(error)[:MAX_ERROR_LEN]


class OutboxRepo:
    """Durable delivery queue. A row accepted here is sent or explicitly failed, never dropped.

    States: pending -> (claim_next) sending -> mark_sent | mark_retry (-> pending) | mark_failed.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue_many(self, rows: Iterable[NewOutboxMessage]) -> list[int]:
        """Insert the rows; a (user, signal) already queued is skipped. Returns the new ids."""
        now = time.time_ns()
        params = [
            (
                m.user_id, m.chat_id, m.signal_id, _enum_value(m.tier),
                int(m.priority), m.text, int(bool(m.silent)),
                now if m.enqueued_ns is None else int(m.enqueued_ns),
                m.symbol, m.lang, m.exchange_ms, m.recv_ns, m.signal_ns,
                m.reply_to_signal_id, m.reply_to_message_id, m.edit_of, m.thread_id,
            )
            for m in rows
        ]
        if not params:
            return []
        async with self._db.transaction():
            # AUTOINCREMENT ids only grow and the write lock is ours, so every row above the
            # current maximum is one we inserted (INSERT OR IGNORE skipped the duplicates).
            before = int(await self._db.fetchval("SELECT COALESCE(MAX(id), 0) FROM outbox"))
            try:
                await self._db.executemany(
                    "INSERT OR IGNORE INTO outbox (user_id, chat_id, signal_id, tier, priority, "
                    "text, silent, enqueued_ns, symbol, lang, exchange_ms, recv_ns, signal_ns, "
                    "reply_to_signal_id, reply_to_message_id, edit_of, thread_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    params,
                )
            except ConstraintError as e:
                if "FOREIGN KEY" in str(e):
                    raise ConstraintError(
                        "outbox rows name a user that is not registered; nothing was queued"
                    ) from e
                raise
            rows_new = await self._db.fetchall(
                "SELECT id FROM outbox WHERE id > ? ORDER BY id", (before,)
            )
        return [r[0] for r in rows_new]

    async def claim_next(self, limit: int, *, now_ns: int | None = None) -> list[OutboxMessage]:
        """Take up to ``limit`` due pending rows, by priority then FIFO, marking them 'sending'."""
        if limit <= 0:
            return []
        now = time.time_ns() if now_ns is None else now_ns
        # one statement: selecting and marking cannot be split by another claimer
        rows = await self._db.fetchall(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id IN ("
            "  SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_ns <= ?"
            "  ORDER BY priority, id LIMIT ?"
            f") RETURNING {_OUTBOX_COLUMNS}",
            (now, int(limit)),
        )
        # RETURNING order is unspecified
        return sorted((_outbox(r) for r in rows), key=lambda m: (m.priority, m.id))

    async def get(self, id: int) -> OutboxMessage | None:
        row = await self._db.fetchone(f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE id = ?", (id,))
        return None if row is None else _outbox(row)

    async def mark_sent(self, id: int, sent_ns: int, message_id: int | None) -> bool:
        """False when the row is not 'sending' (already finished or never claimed)."""
        changed = await self._db.execute(
            "UPDATE outbox SET state = 'sent', sent_ns = ?, message_id = ?, last_error = NULL "
            "WHERE id = ? AND state = 'sending'",
            (sent_ns, message_id, id),
        )
        return changed == 1

    async def mark_retry(self, id: int, error: object, next_attempt_ns: int) -> bool:
        """Back to 'pending', not before ``next_attempt_ns``."""
        changed = await self._db.execute(
            "UPDATE outbox SET state = 'pending', last_error = ?, next_attempt_ns = ? "
            "WHERE id = ? AND state = 'sending'",
            (_error_text(error), int(next_attempt_ns), id),
        )
        return changed == 1

    async def mark_failed(self, id: int, error: object) -> bool:
        """Give up on a row explicitly (pending or sending)."""
        changed = await self._db.execute(
            "UPDATE outbox SET state = 'failed', last_error = ? "
            "WHERE id = ? AND state IN ('pending', 'sending')",
            (_error_text(error), id),
        )
        return changed == 1

    async def requeue_inflight(self) -> int:
        """At startup: rows a crash left 'sending' go back to 'pending'. Returns how many.

        The message may have reached Telegram before the crash; at-least-once is the choice
        here because a lost alert is worse than a rare duplicate.
        """
        return await self._db.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_ns = 0 WHERE state = 'sending'"
        )

    async def counts_by_state(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTBOX_STATES, 0)
        for r in await self._db.fetchall("SELECT state, COUNT(*) FROM outbox GROUP BY state"):
            counts[r[0]] = r[1]
        return counts

    async def latencies_since(self, since_ns: int) -> list[tuple[int, int]]:
        """(enqueued_ns, sent_ns) of rows sent at or after ``since_ns``, oldest first."""
        rows = await self._db.fetchall(
            "SELECT enqueued_ns, sent_ns FROM outbox WHERE state = 'sent' AND sent_ns >= ? "
            "ORDER BY sent_ns",
            (since_ns,),
        )
        return [(r[0], r[1]) for r in rows]

    # ---- delivery (bot/delivery): batch state changes and the figures it reports

    async def pending(self, limit: int) -> list[OutboxMessage]:
        """Up to ``limit`` pending rows (due or not), by priority then FIFO; nothing is claimed."""
        if limit <= 0:
            return []
        rows = await self._db.fetchall(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE state = 'pending' "
            "ORDER BY priority, id LIMIT ?",
            (int(limit),),
        )
        return [_outbox(r) for r in rows]

    async def claim(self, ids: Iterable[int]) -> set[int]:
        """Mark these pending rows 'sending' (attempts + 1); returns the ids actually claimed.

        A row that is no longer pending (sent, failed, or claimed elsewhere) is not returned,
        so a caller never sends a row twice.
        """
        wanted = [int(i) for i in ids]
        if not wanted:
            return set()
        marks = ", ".join("?" * len(wanted))
        rows = await self._db.fetchall(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1 "
            f"WHERE state = 'pending' AND id IN ({marks}) RETURNING id",
            wanted,
        )
        return {r[0] for r in rows}

    async def claim_texts(self, ids: Iterable[int]) -> dict[int, str]:
        """``claim`` that also returns each claimed row's text AS CLAIMED: an update that
        rewrote a pending row's text (``replace_pending_text``) is what goes out."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return {}
        marks = ", ".join("?" * len(wanted))
        rows = await self._db.fetchall(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1 "
            f"WHERE state = 'pending' AND id IN ({marks}) RETURNING id, text",
            wanted,
        )
        return {r[0]: r[1] for r in rows}

    # ---- edits: an update of a signal's event rewrites what its recipients got

    async def rows_of_signal(self, signal_id: str) -> list[OutboxMessage]:
        """Every (new-message) row of one signal, by id."""
        rows = await self._db.fetchall(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE signal_id = ? AND edit_of IS NULL "
            "ORDER BY id",
            (signal_id,),
        )
        return [_outbox(r) for r in rows]

    async def replace_pending_text(self, id: int, text: str) -> bool:
        """New text for a row not yet claimed; False when it is being sent or finished."""
        return await self._db.execute(
            "UPDATE outbox SET text = ? WHERE id = ? AND state = 'pending'", (text, int(id))
        ) == 1

    async def pending_edit_of(self, original_id: int) -> int | None:
        """The pending edit row of an original row's message, if one waits."""
        return await self._db.fetchval(
            "SELECT id FROM outbox WHERE edit_of = ? AND state = 'pending' ORDER BY id DESC LIMIT 1",
            (int(original_id),),
        )

    async def message_rows(self, chat_id: int, message_id: int) -> list[OutboxMessage]:
        """The rows one Telegram message carried (several when alerts were coalesced)."""
        rows = await self._db.fetchall(
            # '+state': the (chat, message) index, not the state index a week of sent rows share
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE chat_id = ? AND message_id = ? "
            "AND edit_of IS NULL AND +state = 'sent' ORDER BY priority, id",
            (int(chat_id), int(message_id)),
        )
        return [_outbox(r) for r in rows]

    async def set_text(self, id: int, text: str) -> bool:
        return await self._db.execute(
            "UPDATE outbox SET text = ? WHERE id = ?", (text, int(id))
        ) == 1

    async def mark_sent_many(self, ids: Iterable[int], sent_ns: int, message_id: int | None) -> int:
        """Several rows delivered in one message (coalesced); returns how many were 'sending'."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return 0
        marks = ", ".join("?" * len(wanted))
        return await self._db.execute(
            "UPDATE outbox SET state = 'sent', sent_ns = ?, message_id = ?, last_error = NULL "
            f"WHERE state = 'sending' AND id IN ({marks})",
            (int(sent_ns), message_id, *wanted),
        )

    async def mark_retry_many(self, ids: Iterable[int], error: object, next_attempt_ns: int) -> int:
        wanted = [int(i) for i in ids]
        if not wanted:
            return 0
        marks = ", ".join("?" * len(wanted))
        return await self._db.execute(
            "UPDATE outbox SET state = 'pending', last_error = ?, next_attempt_ns = ? "
            f"WHERE state = 'sending' AND id IN ({marks})",
            (_error_text(error), int(next_attempt_ns), *wanted),
        )

    async def mark_failed_many(self, ids: Iterable[int], error: object) -> int:
        wanted = [int(i) for i in ids]
        if not wanted:
            return 0
        marks = ", ".join("?" * len(wanted))
        return await self._db.execute(
            "UPDATE outbox SET state = 'failed', last_error = ? "
            f"WHERE state IN ('pending', 'sending') AND id IN ({marks})",
            (_error_text(error), *wanted),
        )

    async def fail_pending_for_user(self, user_id: int, error: object) -> list[int]:
        """Give up on every pending row of a user (e.g. the user blocked the bot)."""
        rows = await self._db.fetchall(
            "UPDATE outbox SET state = 'failed', last_error = ? "
            "WHERE user_id = ? AND state = 'pending' RETURNING id",
            (_error_text(error), user_id),
        )
        return sorted(r[0] for r in rows)

    async def enqueued_since(self, since_ns: int, *,
                             exclude_prefix: str | None = None) -> list[tuple[int, int]]:
        """(user_id, enqueued_ns) of rows accepted at or after ``since_ns`` and not given up;
        rows whose signal_id starts with ``exclude_prefix`` are left out."""
        skip, params = _prefix_filter(exclude_prefix)
        rows = await self._db.fetchall(
            "SELECT user_id, enqueued_ns FROM outbox WHERE enqueued_ns >= ? AND state != 'failed' "
            f"AND edit_of IS NULL {skip} ORDER BY enqueued_ns",
            (int(since_ns), *params),
        )
        return [(r[0], r[1]) for r in rows]

    async def delivery_timings_since(self, since_ns: int, *,
                                     exclude_prefix: str | None = None) -> list[DeliveryTiming]:
        """Per-delivery timestamps of rows sent at or after ``since_ns``, oldest first; rows
        whose signal_id starts with ``exclude_prefix`` are left out."""
        skip, params = _prefix_filter(exclude_prefix)
        rows = await self._db.fetchall(
            "SELECT id, user_id, tier, exchange_ms, recv_ns, signal_ns, enqueued_ns, sent_ns "
            f"FROM outbox WHERE sent_ns >= ? AND state = 'sent' AND edit_of IS NULL {skip} "
            "ORDER BY sent_ns, id",
            (int(since_ns), *params),
        )
        return [DeliveryTiming(*r) for r in rows]

    # ---- alert threads: a later signal is sent as a reply to the earlier alert of its thread

    async def earlier_deliveries(self, signal_id: str,
                                 user_ids: Iterable[int]) -> dict[int, EarlierDelivery]:
        """The rows of ``signal_id`` (an earlier alert) of these users, by user id; a user who
        was never sent that signal (filtered out, or no longer in the outbox) is absent."""
        wanted = sorted({int(u) for u in user_ids})
        found: dict[int, EarlierDelivery] = {}
        for start in range(0, len(wanted), _EARLIER_CHUNK):
            chunk = wanted[start:start + _EARLIER_CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = await self._db.fetchall(
                "SELECT user_id, chat_id, state, message_id, thread_id FROM outbox "
                f"WHERE user_id IN ({marks}) AND signal_id = ?",
                (*chunk, signal_id),
            )
            for r in rows:
                found[r[0]] = EarlierDelivery(r[0], r[1], r[2], r[3], r[4])
        return found

    async def clear_thread(self, chat_id: int, thread_id: int) -> int:
        """A forum topic is gone: the chat's rows still to be sent there go to the general topic."""
        return await self._db.execute(
            "UPDATE outbox SET thread_id = NULL WHERE chat_id = ? AND thread_id = ? "
            "AND state IN ('pending', 'sending')",
            (int(chat_id), int(thread_id)),
        )

    async def outcome_recipients(self, signal_id: str) -> list[OutboxMessage]:
        """The rows of ``signal_id`` that were SENT (new messages, not edits) to chats that are
        still active, still the user's chat, and have outcome replies on (/tiers): who gets the
        reply in the alert's thread when its outcome is final."""
        cols = ", ".join(f"o.{c.strip()}" for c in _OUTBOX_COLUMNS.split(","))
        rows = await self._db.fetchall(
            f"SELECT {cols} FROM outbox o JOIN users u ON u.id = o.user_id "
            "WHERE o.signal_id = ? AND o.edit_of IS NULL AND o.state = 'sent' "
            "AND o.message_id IS NOT NULL AND u.active = 1 AND u.outcome_replies = 1 "
            "AND u.chat_id = o.chat_id ORDER BY o.id",
            (signal_id,),
        )
        return [_outbox(r) for r in rows]

    async def sent_message_id(self, user_id: int, signal_id: str, chat_id: int) -> int | None:
        """The Telegram message that carried ``signal_id`` to this user in ``chat_id``, if sent."""
        return await self._db.fetchval(
            "SELECT message_id FROM outbox WHERE user_id = ? AND signal_id = ? "
            "AND state = 'sent' AND chat_id = ?",
            (int(user_id), signal_id, int(chat_id)),
        )

    async def set_reply_to(self, id: int, message_id: int) -> bool:
        """Record the message a row replies to, once it was looked up at send time."""
        changed = await self._db.execute(
            "UPDATE outbox SET reply_to_message_id = ? WHERE id = ?", (int(message_id), int(id))
        )
        return changed == 1

    async def open_count(self, signal_id: str) -> int:
        """Rows of one signal still 'pending' or 'sending' (read through the state index, so
        the cost follows the backlog, not the table)."""
        return int(await self._db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending') AND signal_id = ?",
            (signal_id,),
        ))

    async def counts_for_signal(self, signal_id: str, *, min_id: int = 0) -> dict[str, int]:
        """Rows of one signal by state (ids >= ``min_id``: its rows' lowest id, when known)."""
        counts = {"pending": 0, "sending": 0, "sent": 0, "failed": 0}
        for r in await self._db.fetchall(
            "SELECT state, COUNT(*) FROM outbox WHERE id >= ? AND signal_id = ? GROUP BY state",
            (int(min_id), signal_id),
        ):
            counts[r[0]] = r[1]
        return counts

    async def purge_finished(self, before_ns: int, *, receipts_before_ns: int | None = None) -> int:
        """Delete finished rows enqueued before ``before_ns`` (keeps the table small).

        With ``receipts_before_ns`` (older), a SENT alert row (not an edit, not a broadcast) is
        kept until then as a receipt — its text blanked — so /stats can tell "the alerts that
        reached me" over 30 days; everything else goes at ``before_ns``."""
        if receipts_before_ns is None:
            return await self._db.execute(
                "DELETE FROM outbox WHERE state IN ('sent', 'failed') AND enqueued_ns < ?",
                (before_ns,),
            )
        removed = await self._db.execute(
            "DELETE FROM outbox WHERE enqueued_ns < ? AND (state = 'failed' OR (state = 'sent' "
            "AND (edit_of IS NOT NULL OR signal_id LIKE 'broadcast:%')))",
            (before_ns,),
        )
        await self._db.execute(
            "UPDATE outbox SET text = '' WHERE state = 'sent' AND enqueued_ns < ? AND text != ''",
            (before_ns,),
        )
        return removed + await self._db.execute(
            "DELETE FROM outbox WHERE state = 'sent' AND enqueued_ns < ?", (receipts_before_ns,),
        )
