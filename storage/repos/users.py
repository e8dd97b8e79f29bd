"""Users: a subscriber's settings (language, tiers, mutes, quiet hours, time zone, cap)."""
from __future__ import annotations

import re
import sqlite3
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from storage.db import Database
from storage.repos.common import now_s

ROLES = ("user", "admin")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


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


USER_COLUMNS = (
    "id, chat_id, language, role, active, tiers, silent_tiers, muted_until, quiet_start, "
    "quiet_end, quiet_urgent_pierces, tz, hourly_cap, created_at, updated_at, outcome_replies"
)
N_USER_COLUMNS = len(USER_COLUMNS.split(","))
USER_COLUMNS_U = ", ".join(f"u.{c.strip()}" for c in USER_COLUMNS.split(","))


def user_from_row(row: sqlite3.Row, offset: int = 0) -> User:
    r = tuple(row)[offset : offset + N_USER_COLUMNS]
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


def check_language(language: str) -> str:
    if not isinstance(language, str) or not 1 <= len(language.strip()) <= 16:
        raise ValueError(f"not a language code: {language!r}")
    return language.strip()


class UserRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int) -> User | None:
        row = await self._db.fetchone(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return None if row is None else user_from_row(row)

    async def upsert_on_start(self, user_id: int, chat_id: int, language: str) -> User:
        """/start: create the user, or reactivate them and update chat_id (language is kept)."""
        now = now_s()
        row = await self._db.fetchone(
            "INSERT INTO users (id, chat_id, language, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET chat_id = excluded.chat_id, active = 1, "
            "updated_at = excluded.updated_at "
            f"RETURNING {USER_COLUMNS}",
            (user_id, chat_id, check_language(language), now, now),
        )
        assert row is not None  # an upsert always returns its row
        return user_from_row(row)

    async def _update(self, user_id: int, **columns: object) -> bool:
        # column names come from this module only, never from callers' data
        sets = ", ".join(f"{name} = ?" for name in columns)
        changed = await self._db.execute(
            f"UPDATE users SET {sets}, updated_at = ? WHERE id = ?",
            (*columns.values(), now_s(), user_id),
        )
        return changed == 1

    async def set_language(self, user_id: int, language: str) -> bool:
        """Returns False when the user does not exist (same for every setter)."""
        return await self._update(user_id, language=check_language(language))

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
        rows = await self._db.fetchall(f"SELECT {USER_COLUMNS} FROM users{where} ORDER BY id")
        return [user_from_row(r) for r in rows]

    async def count(self, *, active_only: bool = False) -> int:
        where = " WHERE active = 1" if active_only else ""
        return int(await self._db.fetchval(f"SELECT COUNT(*) FROM users{where}"))
