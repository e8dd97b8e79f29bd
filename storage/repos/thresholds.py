"""Per-user overrides of detector thresholds ('*' = every symbol)."""
from __future__ import annotations

import math

from storage.db import Database
from storage.errors import ConstraintError
from storage.repos.common import check_symbol, unknown_user

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
                (user_id, check_symbol(symbol, allow_all=True), key, value),
            )
        except ConstraintError as e:
            raise unknown_user(user_id, e) from e

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

    async def for_watchers_of(self, symbol: str, *, active_only: bool = False) -> dict[int, ThresholdMap]:
        """Overrides that can apply to ``symbol`` ('*' and the symbol itself) of the users
        watching it: cost grows with the symbol's watchers, not with all users.
        ``active_only``: only users who are active (the detector floors' rule), in the same query."""
        result: dict[int, ThresholdMap] = {}
        # CROSS JOIN pins watchlist(symbol) as the outer loop; with ANALYZE statistics the
        # planner may otherwise scan the whole thresholds table
        active = "CROSS JOIN users u ON u.id = w.user_id AND u.active = 1 " if active_only else ""
        for r in await self._db.fetchall(
            "SELECT t.user_id, t.symbol, t.key, t.value FROM watchlist w "
            f"{active}"
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
