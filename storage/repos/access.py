"""Access lists: users an admin allowed (``ACCESS=private``) or blocked."""
from __future__ import annotations

import builtins
from dataclasses import dataclass

from storage.db import Database
from storage.repos.common import now_s


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
            (user_id, by, now_s()),
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
                (user_id, by, now_s()),
            )
        return changed == 1

    async def unblock(self, user_id: int) -> bool:
        return await self._db.execute("DELETE FROM blocked WHERE user_id = ?", (user_id,)) == 1

    async def is_blocked(self, user_id: int) -> bool:
        return await self._db.fetchone(
            "SELECT 1 FROM blocked WHERE user_id = ?", (user_id,)
        ) is not None

    async def list_blocked(self) -> builtins.list[AccessEntry]:  # ``list`` is a method here
        rows = await self._db.fetchall(
            "SELECT user_id, blocked_by, created_at FROM blocked ORDER BY created_at, user_id"
        )
        return [AccessEntry(*r) for r in rows]
