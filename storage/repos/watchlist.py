"""Watchlists: who watches which symbol (routing reads subscribers by symbol)."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from storage.db import Database
from storage.errors import ConstraintError
from storage.repos.common import check_symbol, now_s, unknown_user
from storage.repos.users import N_USER_COLUMNS, USER_COLUMNS_U, User, user_from_row


@dataclass(frozen=True, slots=True)
class WatchEntry:
    symbol: str
    muted_until: int  # epoch s; this symbol only


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A user watching a symbol, with everything routing needs in one row."""

    user: User
    symbol_muted_until: int


class WatchlistRepo:
    """Symbols are stored exactly as given; callers pass canonical symbols (engine.symbols)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, user_id: int, symbol: str) -> bool:
        """False when the symbol was already on the list."""
        try:
            changed = await self._db.execute(
                "INSERT OR IGNORE INTO watchlist (user_id, symbol, added_at) VALUES (?, ?, ?)",
                (user_id, check_symbol(symbol), now_s()),
            )
        except ConstraintError as e:
            raise unknown_user(user_id, e) from e
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

    async def users_for_symbol_page(self, symbol: str, after_user_id: int, limit: int) -> list[Subscriber]:
        """Active users watching ``symbol``, one page at a time (keyset: pass the last id of the
        previous page, 0 to start); mutes are NOT filtered: routing decides with 'now'. Order:
        users (positive ids) ascending, then groups (negative chat ids) ascending, so a cursor
        of 0 still reaches the groups; each part is one range of the watchlist(symbol, user_id)
        index."""
        limit = int(limit)
        sql = (f"SELECT {USER_COLUMNS_U}, w.muted_until FROM watchlist w "
               "JOIN users u ON u.id = w.user_id "
               "WHERE w.symbol = ? AND w.user_id > ? AND w.user_id < ? AND u.active = 1 "
               "ORDER BY w.user_id LIMIT ?")
        rows: list[sqlite3.Row] = []
        if after_user_id >= 0:
            rows = list(await self._db.fetchall(sql, (symbol, int(after_user_id), 2**63 - 1, limit)))
            after_user_id = -(2**63)
        if len(rows) < limit:
            rows += await self._db.fetchall(sql, (symbol, int(after_user_id), 0, limit - len(rows)))
        return [Subscriber(user_from_row(r), r[N_USER_COLUMNS]) for r in rows]

    async def all_symbols(self) -> set[str]:
        """Distinct symbols watched by active users (what the feeds must subscribe to)."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT w.symbol FROM watchlist w JOIN users u ON u.id = w.user_id "
            "WHERE u.active = 1"
        )
        return {r[0] for r in rows}
